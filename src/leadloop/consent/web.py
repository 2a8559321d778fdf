"""Consent for staff: a person's consent on their page and in the API (status, may-send, history),
staff recording what a person told them, the headers a sender puts on a message, and the
suppression list (an admin page and its API). Thin: each route calls one use case or query."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadloop.access.repository import require_visible
from leadloop.auth import audit
from leadloop.auth.model import ADMINS, WRITERS, Principal
from leadloop.consent import handlers, suppression
from leadloop.consent.gate import may_send, preferences_url, unsubscribe_headers
from leadloop.consent.policy import policy_of
from leadloop.consent.queries import ConsentView, consent_view
from leadloop.consent.schemas import (
    ConsentChange,
    ConsentRead,
    DecisionRead,
    HeadersRead,
    HistoryRead,
    SubscriptionTypeRead,
    SuppressionCreate,
    SuppressionRead,
    TypeRead,
)
from leadloop.core.errors import LeadloopError, PermissionDenied
from leadloop.store.tables import Person
from leadloop.web.context import AppContext
from leadloop.web.deps import Admin, Ctx, Id, Staff, Writer, viewer_scope

router = APIRouter()

TypeCode = Annotated[
    str, Query(alias="type", min_length=1, max_length=40, description="a subscription type's code")
]


def _visible(session: Session, ctx: AppContext, who: Principal, person_id: int) -> None:
    require_visible(session, viewer_scope(session, ctx, who), Person, person_id)


def _read(view: ConsentView) -> ConsentRead:
    return ConsentRead(
        person_id=view.person_id,
        email_opt_in=view.email_opt_in,
        erased=view.erased,
        suppressed=view.suppressed.value if view.suppressed else None,
        types=[
            TypeRead(
                code=t.code,
                label=t.label,
                status=t.status,
                basis=t.basis,
                since=t.since,
                expires_at=t.expires_at,
                may_send=_decision(t.decision),
            )
            for t in view.types
        ],
        history=[HistoryRead.model_validate(h.__dict__) for h in view.history],
    )


def _decision(d: Any) -> DecisionRead:
    return DecisionRead(allowed=d.allowed, reason=d.reason.value, words=d.words)


def _record(session: Session, who: Principal, person_id: int, change: ConsentChange, now: datetime) -> None:
    if change.action == "grant" and not who.may(ADMINS):
        raise PermissionDenied(
            "recording a grant of consent is for admins; anyone who may load data can withdraw"
        )
    handlers.record_by_staff(
        session,
        person_id,
        scope=change.scope,
        action=change.action,
        basis=change.basis,
        note=change.note,
        by_user_id=who.user_id,
        now=now,
    )
    audit.record(
        session,
        "consent.recorded",
        at=now,
        actor_user_id=who.user_id,
        subject=f"person #{person_id}",
        detail={"scope": change.scope, "action": change.action, "basis": change.basis},
    )


# The person page's consent panel (loaded into /people/{id}) and its form.


@router.get("/people/{person_id}/consent", response_class=HTMLResponse, include_in_schema=False)
def consent_panel(
    request: Request, person_id: Id, ctx: Ctx, who: Staff, error: str | None = None
) -> Response:
    with ctx.db.read() as session:
        _visible(session, ctx, who, person_id)
        view = consent_view(session, person_id, now=ctx.clock())
        types = policy_of(session).types
    return ctx.templates.TemplateResponse(
        request,
        "consent/_person.html",
        {
            "c": view,
            "types": types,
            "asked": person_id,
            "may_withdraw": who.may(WRITERS),
            "may_grant": who.may(ADMINS),
            "is_admin": who.may(ADMINS),
            "error": error,
        },
    )


@router.post("/people/{person_id}/consent", response_class=HTMLResponse, include_in_schema=False)
def consent_form(
    request: Request,
    person_id: Id,
    ctx: Ctx,
    who: Writer,
    scope: Annotated[str, Form(max_length=40)] = "*",
    action: Annotated[str, Form(max_length=10)] = "withdraw",
    basis: Annotated[str, Form(max_length=24)] = "consent",
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        change = ConsentChange.model_validate(
            {"scope": scope, "action": action, "basis": basis, "note": note or None}
        )
        with ctx.db.write() as session:
            _visible(session, ctx, who, person_id)
            _record(session, who, person_id, change, ctx.clock())
    except (LeadloopError, ValueError) as exc:
        message = str(exc) if isinstance(exc, LeadloopError) else "choose a type and grant or withdraw"
        return consent_panel(request, person_id, ctx, who, error=message)
    return RedirectResponse(f"/people/{person_id}#consent", status_code=303)


# The API.


@router.get("/api/v1/subscription-types", tags=["consent"])
def subscription_types(ctx: Ctx, who: Staff) -> list[SubscriptionTypeRead]:
    with ctx.db.read() as session:
        return [SubscriptionTypeRead(code=t.code, label=t.label) for t in policy_of(session).types]


@router.get("/api/v1/people/{person_id}/consent", tags=["consent"])
def consent_api(person_id: Id, ctx: Ctx, who: Staff) -> ConsentRead:
    """Where each subscription type stands, whether a message of it may go now and why, and the log."""
    with ctx.db.read() as session:
        _visible(session, ctx, who, person_id)
        return _read(consent_view(session, person_id, now=ctx.clock()))


@router.post("/api/v1/people/{person_id}/consent", tags=["consent"])
def record_consent_api(person_id: Id, change: ConsentChange, ctx: Ctx, who: Writer) -> ConsentRead:
    """Record what the person told staff. A grant never overrides the person's own withdrawal."""
    with ctx.db.write() as session:
        _visible(session, ctx, who, person_id)
        _record(session, who, person_id, change, ctx.clock())
    with ctx.db.read() as session:
        return _read(consent_view(session, person_id, now=ctx.clock()))


@router.get("/api/v1/people/{person_id}/may-send", tags=["consent"])
def may_send_api(person_id: Id, ctx: Ctx, who: Staff, subscription_type: TypeCode) -> DecisionRead:
    """The send gate every marketing message passes, asked by hand."""
    with ctx.db.read() as session:
        _visible(session, ctx, who, person_id)
        return _decision(may_send(session, person_id, subscription_type, ctx.clock(), lock=False))


@router.get("/api/v1/people/{person_id}/unsubscribe-headers", tags=["consent"])
def headers_api(person_id: Id, ctx: Ctx, who: Admin) -> HeadersRead:
    """The List-Unsubscribe headers a message to this person carries (RFC 8058), and the link to
    their preference centre: for a sender outside Leadloop, or to send a person their link by hand."""
    with ctx.db.read() as session:
        _visible(session, ctx, who, person_id)
        now = ctx.clock()
        return HeadersRead(
            headers=unsubscribe_headers(session, person_id, now=now),
            preferences_url=preferences_url(session, person_id, now=now),
        )


# The suppression list: addresses and whole domains no marketing message ever goes to.


def _entry(e: suppression.Entry) -> SuppressionRead:
    return SuppressionRead.model_validate(e.__dict__)


@router.get("/api/v1/suppressions", tags=["consent"])
def suppressions_api(
    ctx: Ctx, who: Admin, q: Annotated[str, Query(max_length=320)] = ""
) -> list[SuppressionRead]:
    with ctx.db.read() as session:
        return [_entry(e) for e in suppression.listing(session, q=q)]


@router.post("/api/v1/suppressions", tags=["consent"], status_code=201)
def add_suppression_api(body: SuppressionCreate, ctx: Ctx, who: Admin) -> SuppressionRead:
    with ctx.db.write() as session:
        entry = _add(session, who, body.value, body.reason, "api", ctx.clock())
    return _entry(entry)


@router.delete("/api/v1/suppressions/{suppression_id}", tags=["consent"])
def remove_suppression_api(suppression_id: Id, ctx: Ctx, who: Admin) -> SuppressionRead:
    with ctx.db.write() as session:
        entry = _remove(session, who, suppression_id, ctx.clock())
    return _entry(entry)


def _add(
    session: Session, who: Principal, value: str, reason: str | None, source: str, now: datetime
) -> suppression.Entry:
    entry = suppression.add(session, value, reason=reason, source=source, now=now, by_user_id=who.user_id)
    audit.record(session, "suppression.added", at=now, actor_user_id=who.user_id, subject=entry.value)
    return entry


def _remove(session: Session, who: Principal, suppression_id: int, now: datetime) -> suppression.Entry:
    entry = suppression.remove(session, suppression_id)
    audit.record(session, "suppression.removed", at=now, actor_user_id=who.user_id, subject=entry.value)
    return entry


def _admin_page(
    request: Request,
    ctx: AppContext,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    q = str(request.query_params.get("q", ""))[:320]
    with ctx.db.read() as session:
        entries = suppression.listing(session, q=q)
    saved = {"added": "Added to the suppression list.", "removed": "Removed from the suppression list."}
    return ctx.templates.TemplateResponse(
        request,
        "consent/suppressions.html",
        {
            "page": "suppressions",
            "entries": entries,
            "q": q,
            "saved": saved.get(str(request.query_params.get("saved", ""))),
            "error": error,
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/admin/suppressions", response_class=HTMLResponse, include_in_schema=False)
def suppressions_page(request: Request, ctx: Ctx, who: Admin) -> Response:
    return _admin_page(request, ctx)


@router.post("/admin/suppressions", response_class=HTMLResponse, include_in_schema=False)
def add_suppression_page(
    request: Request,
    ctx: Ctx,
    who: Admin,
    value: Annotated[str, Form(max_length=320)] = "",
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        with ctx.db.write() as session:
            _add(session, who, value, reason or None, "admin", ctx.clock())
    except LeadloopError as exc:
        form = {"value": value, "reason": reason}
        return _admin_page(request, ctx, error=str(exc), form=form, status_code=exc.status_code)
    return RedirectResponse("/admin/suppressions?saved=added", status_code=303)


@router.post(
    "/admin/suppressions/{suppression_id}/delete", response_class=HTMLResponse, include_in_schema=False
)
def remove_suppression_page(request: Request, suppression_id: Id, ctx: Ctx, who: Admin) -> Response:
    try:
        with ctx.db.write() as session:
            _remove(session, who, suppression_id, ctx.clock())
    except LeadloopError as exc:
        return _admin_page(request, ctx, error=str(exc), status_code=exc.status_code)
    return RedirectResponse("/admin/suppressions?saved=removed", status_code=303)
