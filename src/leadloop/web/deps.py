"""Request dependencies: the context, the principal, role guards and CSRF."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from leadloop.access.model import Scope
from leadloop.access.repository import scope_of
from leadloop.auth import handlers as auth
from leadloop.auth.model import (
    ADMINS,
    ALL_ROLES,
    MANAGERS,
    PARTNERS,
    QUALIFIERS,
    STAFF,
    WRITERS,
    Principal,
    Role,
    scope_refuses,
)
from leadloop.core.bounds import MAX_ID
from leadloop.core.errors import LeadloopError, PermissionDenied
from leadloop.web.context import AppContext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(LeadloopError):
    status_code = 401


class PasswordMustChange(LeadloopError):
    status_code = 403


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Cookie-authenticated writes must carry the session's token, in a header (HTMX, fetch) or
    in the form. API keys are not cookies, so they need none."""
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise PermissionDenied("the form's security token is missing or stale: reload the page and try again")


def _api_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


class RoleGuard:
    """The roles a route allows. Every route but the public ones declares one (a test checks)."""

    def __init__(self, roles: frozenset[Role], *, while_password_must_change: bool = False) -> None:
        self.roles = roles
        self.while_password_must_change = while_password_must_change

    async def __call__(self, request: Request) -> Principal:
        ctx: AppContext = request.app.state.ctx
        principal: Principal | None = None
        token = _api_token(request)
        with ctx.db.read() as session:
            if token:
                principal = auth.principal_for_api_key(session, token)
                if principal is None:
                    raise NotAuthenticated("the API key is not valid or was revoked")
            elif (uid := request.session.get("uid")) is not None:
                principal = auth.principal_for_user(session, int(uid))
        if principal is None:
            raise NotAuthenticated("please sign in")
        if principal.via == "session" and request.method not in SAFE_METHODS:
            await check_csrf(request)
        if principal.must_change_password and not self.while_password_must_change:
            raise PasswordMustChange(
                "an admin reset your password: choose your own at /account/password before going on"
            )
        if principal.via == "api_key":
            route = request.scope.get("route")
            refused = scope_refuses(
                principal.key_scope, request.method, getattr(route, "path", request.url.path)
            )
            if refused:
                raise PermissionDenied(refused)
            _touch_key(ctx, token or "")
        if not principal.may(self.roles):
            raise PermissionDenied(
                f"your role ({principal.role.value}) may not do this; it needs one of: "
                + ", ".join(sorted(r.value for r in self.roles))
            )
        request.state.principal = principal
        return principal


_touched: dict[str, float] = {}  # key -> when this process last wrote its last-used time


def _touch_key(ctx: AppContext, token: str) -> None:
    """The key's last-used time, written at most once a minute per process: a write transaction on
    every API call would queue all of them behind SQLite's one writer."""
    if ctx.now_s() - _touched.get(token[:24], -1e9) < 60:
        return
    _touched[token[:24]] = ctx.now_s()
    with ctx.db.write() as session:
        auth.touch_api_key(session, token, now=ctx.clock())


def require(roles: frozenset[Role], *, while_password_must_change: bool = False) -> Any:
    return Depends(RoleGuard(roles, while_password_must_change=while_password_must_change))


AnyUser = Annotated[Principal, require(ALL_ROLES)]
# Signing out and choosing a new password stay open to a user whose password an admin reset.
Myself = Annotated[Principal, require(ALL_ROLES, while_password_must_change=True)]
Staff = Annotated[Principal, require(STAFF)]
Writer = Annotated[Principal, require(WRITERS)]
Admin = Annotated[Principal, require(ADMINS)]
Manager = Annotated[Principal, require(MANAGERS)]
PartnerUser = Annotated[Principal, require(PARTNERS)]


# Ids in paths and queries: an int the database can hold, or a 422 that says so (a larger one
# used to reach SQLite, which cannot bind an int over 2**63, as a 500).
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="a record's id")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="a record's id")]
Page = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=500)]
Days = Annotated[int, Query(ge=1, le=3650)]


def viewer_scope(session: Session, ctx: AppContext, who: Principal) -> Scope:
    """Whose leads, people and accounts this person may see (access/): every page and API asks here."""
    return scope_of(session, who, share_team=ctx.settings.share_team_leads)


# The qualification desk (issue 13, item 3): BDRs, their managers and admins.
Qualifier = Annotated[Principal, require(QUALIFIERS)]


def signed_in(request: Request) -> Principal | None:
    """Who is signed in to the browser, without refusing anyone: the navigation of an error page.
    A route's guard sets the principal when it lets the request in; a 404 never reached a guard and
    a refused role was stopped by one, so the session is read again here. None for a stranger and
    for a user who must choose a new password first (their only page is that form)."""
    who: Principal | None = getattr(request.state, "principal", None)
    if who is not None:
        return who
    if "session" not in request.scope or (uid := request.session.get("uid")) is None:
        return None
    ctx: AppContext = request.app.state.ctx
    try:
        with ctx.db.read() as session:
            who = auth.principal_for_user(session, int(uid))
    except Exception:  # the page reports an error already; the database may be it
        return None
    return None if who is None or who.must_change_password else who
