"""The open pixel and the click redirect: public, reached from a message by anyone's mail client,
with no account, cookie, session or CSRF token. The signed token in the path is the only authority
(consent/public_web.py is the same kind of door), so these routes carry no role guard.

- `GET|HEAD /o/<token>.gif` always answers the same 1x1 GIF, never cached, whatever the token: a
  bad one records nothing and the answer says nothing about why.
- `GET|HEAD /r/<token>` redirects (302) to the URL signed inside the token and nowhere else; a token
  that was altered, cut short or made for a pixel gets a friendly page (400), never a redirect. A
  HEAD is answered like a GET and recorded as a machine's (link checkers ask with HEAD).

Recording never stands between a person and their page: if it fails, that is logged and the pixel
or the redirect is answered all the same.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from leadloop.core.logging import get_logger
from leadloop.mailtrack import handlers
from leadloop.mailtrack.classify import Request as HitRequest
from leadloop.mailtrack.policy import policy_in
from leadloop.mailtrack.tokens import CLICK, OPEN, BadLink, Claim
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx

router = APIRouter(include_in_schema=False)
log = get_logger("leadloop.mailtrack")

# The smallest transparent GIF: 1x1, one colour, that colour transparent.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
# Not bounded here: a token too long to be ours is refused by tokens.read before it is read, and
# gets the same answer as any other bad token rather than the app's validation error. `path`, so a
# token with a slash in it still reaches these routes (and their answers) instead of a 404.
Token = Annotated[str, Path()]
# Characters a Location header may carry as they are; anything else (a space, a non-ASCII letter
# in an IRI) is percent-encoded, and an existing %XX escape is kept as it is.
_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def _pixel() -> Response:
    return Response(
        PIXEL,
        media_type="image/gif",
        headers={
            "Cache-Control": "no-store",
            "Cross-Origin-Resource-Policy": "cross-origin",  # webmail shows it inside its own page
        },
    )


def _hit(request: Request) -> HitRequest:
    return HitRequest(
        method=request.method,
        user_agent=request.headers.get("user-agent", ""),
        ip=request.client.host if request.client else None,
    )


def _record(ctx: AppContext, claim: Claim, request: Request) -> None:
    try:
        with ctx.db.write() as session:
            done = handlers.record_hit(session, claim, _hit(request), now=ctx.clock())
    except Exception:  # the person gets their page or pixel whatever happens to our bookkeeping
        log.exception("mailtrack.record_failed", kind=claim.kind)
        return
    log.info(
        "mailtrack.hit",
        kind=claim.kind,
        outcome=done.why,
        type=done.hit.type if done.hit else None,
        machine=(done.hit.payload.get("machine") if done.hit else None),
    )


@router.api_route("/o/{token:path}.gif", methods=["GET", "HEAD"])
def open_pixel(request: Request, token: Token, ctx: Ctx) -> Response:
    try:
        claim = policy_in(ctx.db.info).signer.read(OPEN, token)
    except BadLink:
        log.info("mailtrack.bad_pixel")
        return _pixel()
    _record(ctx, claim, request)
    return _pixel()


@router.api_route("/r/{token:path}", methods=["GET", "HEAD"])
def click(request: Request, token: Token, ctx: Ctx) -> Response:
    try:
        claim = policy_in(ctx.db.info).signer.read(CLICK, token)
        target = location(claim.url or "")
    except BadLink as exc:
        log.info("mailtrack.bad_link", why=str(exc))
        response = ctx.templates.TemplateResponse(request, "mailtrack/bad_link.html", {}, status_code=400)
        response.headers["Cache-Control"] = "no-store"
        return response
    _record(ctx, claim, request)
    return Response(
        status_code=302,
        headers={"Location": target, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def location(url: str) -> str:
    """The Location header for a signed destination. Only an absolute http(s) URL is followed: the
    signature already says we wrote it, and this says that what we wrote is a web page."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise BadLink("this link does not lead to a web page") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise BadLink("this link does not lead to a web page")
    return quote(url, safe=_SAFE)
