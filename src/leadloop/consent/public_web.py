"""The pages a person reaches from a link in our mail, with no account, cookie or session: one-click
unsubscribe (RFC 8058), the preference centre, and the double opt-in confirmation.

The signed token in the path is the only authority, so these routes carry no role guard and no
CSRF check (the guard is where the app checks CSRF, web/deps.py; a cross-site POST can do nothing
here that the link's holder could not). Their pages are standalone: the app's layout would start a
session for its CSRF token. A GET never changes anything, so a link scanner that opens every URL
in a mail unsubscribes nobody; the change is a POST (the mail client's one-click, or the button).
A link that was altered, is too old or is not for anyone we hold gets a page that says so, and
nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from leadloop.consent import handlers, tokens
from leadloop.consent.handlers import ForeignToken, Subscriber
from leadloop.consent.model import ALL, Status, effective, withdraw
from leadloop.consent.policy import policy_of
from leadloop.core.logging import get_logger
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx

router = APIRouter(include_in_schema=False)
log = get_logger("leadloop.consent")

# Not bounded here: a token too long to be ours gets the same friendly page as any other bad link
# (tokens.read refuses it before reading it), not the app's validation error.
Token = Annotated[str, Path()]
Chosen = Annotated[list[str] | None, Form()]  # the body limit bounds it; codes not offered are ignored
LINK_PROBLEMS = (tokens.BadToken, tokens.ExpiredToken, ForeignToken)


def mask(address: str) -> str:
    """a•••@acme.com: enough for the person to recognise, little for whoever the link reached."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def _page(request: Request, ctx: AppContext, name: str, data: dict[str, Any], status: int = 200) -> Response:
    response = ctx.templates.TemplateResponse(request, f"consent/{name}.html", data, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token must not leave in a Referer
    return response


def _bad_link(request: Request, ctx: AppContext, exc: Exception) -> Response:
    log.info("consent.link_refused", why=type(exc).__name__)
    expired = isinstance(exc, tokens.ExpiredToken)
    return _page(request, ctx, "bad_link", {"expired": expired, "why": str(exc)}, 410 if expired else 400)


def _types(session: Session, who: Subscriber, now: Any) -> list[dict[str, Any]]:
    policy = policy_of(session)
    out = []
    for t in policy.types:
        state = effective(who.states, t.code, now)
        out.append(
            {"code": t.code, "label": t.label, "on": state is not None and state.status == Status.GRANTED}
        )
    return out


def _read(ctx: AppContext, work: Callable[[Session], Any]) -> Any:
    with ctx.db.read() as session:
        return work(session)


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: Token, ctx: Ctx) -> Response:
    """A page with a button; opening it changes nothing."""
    now = ctx.clock()
    try:
        who = _read(ctx, lambda s: handlers.subscriber(s, token, now=now))
    except LINK_PROBLEMS as exc:
        return _bad_link(request, ctx, exc)
    already = withdraw(who.states, ALL, source="", now=now) is None  # nothing left to withdraw
    return _page(
        request, ctx, "unsubscribe", {"token": token, "address": mask(who.address), "already": already}
    )


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe_now(request: Request, token: Token, ctx: Ctx) -> Response:
    """RFC 8058 one-click (the body says List-Unsubscribe=One-Click; it is not needed), or the
    button on the page. In effect when this transaction commits, before the answer is sent."""
    now = ctx.clock()
    try:
        with ctx.db.write() as session:
            who = handlers.unsubscribe(session, token, now=now)
    except LINK_PROBLEMS as exc:
        return _bad_link(request, ctx, exc)
    log.info("consent.unsubscribed", person_id=who.person_id)
    return _page(request, ctx, "done", {"token": token, "address": mask(who.address), "what": "unsubscribed"})


@router.get("/u/{token}/preferences", response_class=HTMLResponse)
def preferences_page(request: Request, token: Token, ctx: Ctx) -> Response:
    now = ctx.clock()
    try:
        who, types = _read(ctx, lambda s: _with_types(s, token, now))
    except LINK_PROBLEMS as exc:
        return _bad_link(request, ctx, exc)
    return _page(request, ctx, "preferences", {"token": token, "address": mask(who.address), "types": types})


def _with_types(session: Session, token: str, now: Any) -> tuple[Subscriber, list[dict[str, Any]]]:
    who = handlers.subscriber(session, token, now=now)
    return who, _types(session, who, now)


@router.post("/u/{token}/preferences", response_class=HTMLResponse)
def save_preferences(request: Request, token: Token, ctx: Ctx, types: Chosen = None) -> Response:
    now = ctx.clock()
    try:
        with ctx.db.write() as session:
            who = handlers.set_preferences(session, token, {t[:40] for t in (types or [])[:100]}, now=now)
            chosen = _types(session, who, now)
    except LINK_PROBLEMS as exc:
        return _bad_link(request, ctx, exc)
    return _page(
        request,
        ctx,
        "preferences",
        {"token": token, "address": mask(who.address), "types": chosen, "saved": True},
    )


@router.get("/c/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: Token, ctx: Ctx) -> Response:
    """Double opt-in: a page with a button (a scanner opening the link confirms nothing)."""
    now = ctx.clock()
    try:
        who = _read(ctx, lambda s: handlers.subscriber(s, token, now=now, purpose=tokens.CONFIRM))
    except LINK_PROBLEMS as exc:
        return _bad_link(request, ctx, exc)
    return _page(request, ctx, "confirm", {"token": token, "address": mask(who.address)})


@router.post("/c/{token}", response_class=HTMLResponse)
def confirm_now(request: Request, token: Token, ctx: Ctx) -> Response:
    now = ctx.clock()
    try:
        with ctx.db.write() as session:
            who = handlers.confirm_subscription(session, token, now=now)
    except LINK_PROBLEMS as exc:
        return _bad_link(request, ctx, exc)
    return _page(request, ctx, "done", {"address": mask(who.address), "what": "confirmed"})
