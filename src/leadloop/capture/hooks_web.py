"""The bounce webhooks: `POST /api/v1/hooks/bounces` (our signed JSON shape) and
`POST /api/v1/hooks/mailgun` (Mailgun's). Public: no session, no API key, no CSRF token; the
signature under a shared secret is the only authority (ADR 0031).

In order, before anything is stored: a body over 256 KB is refused (413, web/bounds.py, before
it is read when its length is declared); the webhook must be configured (503 otherwise: an
unsigned report is never taken); the client address is rate-limited (429 with Retry-After), before
a signature is computed or the database touched; the signature must be ours and fresh (401, logged
with the client address); the body must be JSON (415 for a form, 400 not JSON) of the shape (422
saying where it is wrong; nothing is recorded). Then each report becomes an activity in one
transaction, and consent reacts in it. Bad input gets a 4xx that says what to fix, never a 5xx.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import SecretStr

from leadloop.capture import hook_formats as formats
from leadloop.capture import hook_signatures as signatures
from leadloop.capture.delivery import Recorded, record_mail_events
from leadloop.core.errors import InvalidInput
from leadloop.core.logging import get_logger
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx

router = APIRouter(prefix="/api/v1/hooks", include_in_schema=False)
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
log = get_logger("leadloop.hooks")


@router.post("/bounces")
async def bounces(request: Request, ctx: Ctx) -> Response:
    """Bounces, complaints and unsubscribes in our JSON shape, signed (README)."""
    secret = _secret(ctx.settings.bounce_webhook_secret)
    if secret is None:
        return _off(
            "the bounce webhook is off: set LEADLOOP_BOUNCE_WEBHOOK_SECRET to the secret you share "
            "with the sender"
        )
    if (throttled := _throttled(request, ctx, "bounces")) is not None:
        return throttled
    if (form := _form(request, "bounces")) is not None:
        return form
    body = await request.body()
    now = ctx.clock()
    try:
        signatures.check(
            secret,
            timestamp=request.headers.get(signatures.TIMESTAMP_HEADER),
            signature=request.headers.get(signatures.SIGNATURE_HEADER),
            body=body,
            now=now,
            max_age_s=ctx.settings.bounce_webhook_max_age_s,
        )
    except signatures.BadSignature as exc:
        return _unsigned(request, "bounces", exc)
    try:
        parsed = formats.parse_generic(formats.read_json(body), now=now)
    except InvalidInput as exc:
        return _invalid(request, "bounces", exc)
    return await _record(ctx, "bounces", parsed, source="webhook", prefix="hook")


@router.post("/mailgun")
async def mailgun(request: Request, ctx: Ctx) -> Response:
    """Mailgun's webhooks (JSON, 2018 on): failed, complained and unsubscribed are recorded."""
    key = _secret(ctx.settings.mailgun_webhook_signing_key)
    if key is None:
        return _off(
            "the Mailgun webhook is off: set LEADLOOP_MAILGUN_WEBHOOK_SIGNING_KEY to the HTTP webhook "
            "signing key of your Mailgun account"
        )
    if (throttled := _throttled(request, ctx, "mailgun")) is not None:
        return throttled
    if (form := _form(request, "mailgun")) is not None:
        return form
    body = await request.body()
    now = ctx.clock()
    try:
        data = formats.read_json(body)
        block = formats.mailgun_signature_block(data)
    except InvalidInput as exc:
        return _invalid(request, "mailgun", exc)
    try:
        token = signatures.check_mailgun(key, block, now=now, max_age_s=ctx.settings.bounce_webhook_max_age_s)
    except signatures.BadSignature as exc:
        return _unsigned(request, "mailgun", exc)
    try:
        parsed = formats.parse_mailgun(data, token=token, now=now)
    except InvalidInput as exc:
        return _invalid(request, "mailgun", exc)
    return await _record(ctx, "mailgun", parsed, source="mailgun", prefix="mailgun")


def _secret(value: SecretStr | None) -> str | None:
    found = value.get_secret_value() if value is not None else ""
    return found or None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _off(why: str) -> Response:
    return JSONResponse({"detail": why}, status_code=503)


def _throttled(request: Request, ctx: AppContext, hook: str) -> Response | None:
    decision = ctx.hook_limiter.take(_client(request), ctx.now_s())
    if decision.allowed:
        return None
    log.warning("hooks.throttled", hook=hook, ip=_client(request))
    wait = max(1, math.ceil(decision.retry_after_s))
    return JSONResponse(
        {"detail": f"too many requests from this address; try again in {wait} s"},
        status_code=429,
        headers={"Retry-After": str(wait)},
    )


def _form(request: Request, hook: str) -> Response | None:
    """A form body was read as a form already (web/bounds.py checks every form's text), so its raw
    bytes, which a signature covers, are gone; and no sender we take posts one: Mailgun's form
    webhooks are its legacy ones, before its JSON webhooks of 2018."""
    if not request.headers.get("content-type", "").startswith(FORMS):
        return None
    log.info("hooks.refused", hook=hook, ip=_client(request), reason="a form body")
    return JSONResponse(
        {"detail": "send the body as JSON (Content-Type: application/json); a form body is not taken"},
        status_code=415,
    )


def _unsigned(request: Request, hook: str, exc: signatures.BadSignature) -> Response:
    log.warning("hooks.bad_signature", hook=hook, ip=_client(request), why=type(exc).__name__)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)


def _invalid(request: Request, hook: str, exc: InvalidInput) -> Response:
    log.info("hooks.refused", hook=hook, ip=_client(request), reason=str(exc)[:300])
    return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)


async def _record(
    ctx: AppContext, hook: str, parsed: formats.Parsed, *, source: str, prefix: str
) -> Response:
    def work() -> Recorded:
        with ctx.db.write() as session:
            return record_mail_events(
                session, parsed.events, now=ctx.clock(), source=source, prefix=prefix, ignored=parsed.ignored
            )

    done = await run_in_threadpool(work)
    log.info("hooks.recorded", hook=hook, **done.as_dict())
    return JSONResponse(done.as_dict())
