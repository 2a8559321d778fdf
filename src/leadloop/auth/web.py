"""Sign in and out, and the audit log. The login form is public; it carries a CSRF token like every
other form."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadloop.auth import audit
from leadloop.auth import handlers as auth
from leadloop.auth.model import Role
from leadloop.core.errors import LeadloopError
from leadloop.core.logging import get_logger
from leadloop.web.deps import Admin, Ctx, Myself, check_csrf, csrf_token

router = APIRouter()
log = get_logger("leadloop.auth")


def _safe_next(value: str | None) -> str:
    # Only a path on this site: "//evil.example" and "https://..." are refused.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"  # home: each role's own day


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, ctx: Ctx, next: str | None = None) -> Any:
    return ctx.templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "csrf": csrf_token(request)}
    )


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login(
    request: Request, ctx: Ctx, email: str = Form(""), password: str = Form(""), next: str = Form("/")
) -> Any:
    await check_csrf(request)
    ip, account = _ip(request), email.strip().lower()
    now_s = ctx.now_s()
    # Both buckets are charged on every attempt: per IP stops one sender trying many accounts,
    # per account stops many senders (a botnet) trying one.
    by_ip, by_account = ctx.login_limiter.take(ip, now_s), ctx.login_account_limiter.take(account, now_s)
    error = None
    limited = not (by_ip.allowed and by_account.allowed)
    if limited:
        wait = max(by_ip.retry_after_s, by_account.retry_after_s)
        error = f"Too many sign-in attempts. Try again in {max(1, round(wait))} s."
        with ctx.db.write() as session:
            audit.record(
                session,
                "login.limited",
                at=ctx.clock(),
                subject=account,
                ip=ip,
                detail={"by": "ip" if not by_ip.allowed else "account"},
            )
    else:
        with ctx.db.write() as session:
            principal = auth.authenticate(session, email, password)
            audit.record(
                session,
                "login" if principal else "login.failed",
                at=ctx.clock(),
                actor_user_id=principal.user_id if principal else None,
                subject=account,
                ip=ip,
            )
        if principal is not None:
            # A new uid always gets a new session token (web/sessions.py), with a fresh CSRF token.
            request.session.clear()
            request.session["uid"] = principal.user_id
            csrf_token(request)
            log.info("auth.login", user_id=principal.user_id)
            if principal.role is Role.PARTNER and _safe_next(next) in ("/", "/leads"):
                next = "/partner"  # the leads list is the company's; a partner's home is the portal
            return RedirectResponse(_safe_next(next), status_code=303)
        error = "That e-mail and password do not match an active user."
    return ctx.templates.TemplateResponse(
        request,
        "login.html",
        {"next": _safe_next(next), "error": error, "csrf": csrf_token(request), "email": email},
        status_code=429 if limited else 401,
    )


@router.post("/logout", include_in_schema=False)
def logout(request: Request, ctx: Ctx, who: Myself) -> Any:
    with ctx.db.write() as session:
        audit.record(session, "logout", at=ctx.clock(), actor_user_id=who.user_id, ip=_ip(request))
    request.session.clear()  # deletes the session's row: the cookie is worth nothing from now on
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password", response_class=HTMLResponse, include_in_schema=False)
def password_form(request: Request, ctx: Ctx, who: Myself) -> Any:
    return ctx.templates.TemplateResponse(
        request, "password.html", {"error": None, "forced": who.must_change_password}
    )


@router.post("/account/password", response_class=HTMLResponse, include_in_schema=False)
def change_password(
    request: Request,
    ctx: Ctx,
    who: Myself,
    current: str = Form(""),
    new: str = Form(""),
    repeat: str = Form(""),
) -> Any:
    try:
        if new != repeat:
            raise LeadloopError("the two new passwords differ")
        with ctx.db.write() as session:
            auth.change_password(session, user_id=who.user_id, current=current, new=new, now=ctx.clock())
    except LeadloopError as exc:
        return ctx.templates.TemplateResponse(
            request, "password.html", {"error": str(exc), "forced": who.must_change_password}, status_code=422
        )
    request.session.clear()  # every session of theirs has ended: they sign in with the new password
    return RedirectResponse("/login?next=/leads", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, ctx: Ctx, who: Admin, kind: str | None = None) -> Any:
    with ctx.db.read() as session:
        entries = audit.recent(session, kind=kind or None)
    return ctx.templates.TemplateResponse(
        request, "audit.html", {"entries": entries, "kind": kind or "", "kinds": audit.KINDS}
    )


@router.get("/api/v1/audit")
def audit_api(ctx: Ctx, who: Admin, kind: str | None = None, limit: int = 200) -> dict[str, Any]:
    """Security events, newest first (admins only)."""
    with ctx.db.read() as session:
        entries = audit.recent(session, kind=kind, limit=max(1, min(limit, 1000)))
    return {"events": [asdict(e) for e in entries]}
