"""Sign in and out. The login form is public; it carries a CSRF token like every other form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadloop.auth import handlers as auth
from leadloop.auth.model import Role
from leadloop.core.logging import get_logger
from leadloop.web.deps import AnyUser, Ctx, check_csrf, csrf_token

router = APIRouter()
log = get_logger("leadloop.auth")


def _safe_next(value: str | None) -> str:
    # Only a path on this site: "//evil.example" and "https://..." are refused.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/leads"


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, ctx: Ctx, next: str | None = None) -> Any:
    return ctx.templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "csrf": csrf_token(request)}
    )


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login(
    request: Request, ctx: Ctx, email: str = Form(""), password: str = Form(""), next: str = Form("/leads")
) -> Any:
    await check_csrf(request)
    ip = request.client.host if request.client else "unknown"
    decision = ctx.login_limiter.take(ip, ctx.now_s())
    error = None
    if not decision.allowed:
        error = f"Too many sign-in attempts. Try again in {max(1, round(decision.retry_after_s))} s."
    else:
        with ctx.db.read() as session:
            principal = auth.authenticate(session, email, password)
        if principal is not None:
            request.session.clear()
            request.session["uid"] = principal.user_id
            csrf_token(request)  # a fresh token for the new session
            log.info("auth.login", user_id=principal.user_id)
            if principal.role is Role.PARTNER and _safe_next(next) == "/leads":
                next = "/partner"  # the leads list is the company's; a partner's home is the portal
            return RedirectResponse(_safe_next(next), status_code=303)
        error = "That e-mail and password do not match an active user."
    return ctx.templates.TemplateResponse(
        request,
        "login.html",
        {"next": _safe_next(next), "error": error, "csrf": csrf_token(request), "email": email},
        status_code=429 if not decision.allowed else 401,
    )


@router.post("/logout", include_in_schema=False)
def logout(request: Request, who: AnyUser) -> Any:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
