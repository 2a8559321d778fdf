"""Admin pages under /admin: users (create, role, reset password, deactivate), teams (members and
their manager), calendars and out-of-office, API keys (create, list, revoke). Each action calls the
use case the CLI calls and is recorded in the audit log, in the same transaction. A new password or
key is shown once, in the answer to the POST that made it, and never stored in clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadloop.admin import views
from leadloop.auth import audit
from leadloop.auth import handlers as auth
from leadloop.auth.model import KeyScope, Principal, Role
from leadloop.contract.normalise import parse_datetime
from leadloop.core.errors import InvalidInput, LeadloopError, NotFound
from leadloop.core.labels import ROLES
from leadloop.routing import staff
from leadloop.routing.calendar import DAYS
from leadloop.routing.handlers import add_away, deactivate_user, set_manager
from leadloop.store.tables import User
from leadloop.web.context import AppContext
from leadloop.web.deps import Admin, Ctx, Id

router = APIRouter(prefix="/admin", include_in_schema=False)

Text = Annotated[str, Form(max_length=320)]
LongText = Annotated[str, Form(max_length=2000)]
OptionalId = Annotated[str, Form(max_length=12)]

SAVED = {
    "role": "Role changed.",
    "deactivated": "User deactivated; their open leads were routed again and they are signed out.",
    "team": "Team saved.",
    "team_created": "Team created.",
    "manager": "Manager saved.",
    "calendar": "Calendar saved.",
    "away": "Out of office saved.",
    "away_removed": "Out of office removed.",
    "revoked": "API key revoked.",
}
ROLE_LABELS = dict(ROLES)  # every role, in the words of core/labels.py
SCOPE_LABELS = {
    KeyScope.FULL.value: "Full (read and write)",
    KeyScope.READ.value: "Read only",
    KeyScope.CAPTURE.value: "Capture only (a website's forms)",
}
DAY_LABELS = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


def _context(session: Session, page: str, ctx: AppContext) -> dict[str, Any]:
    people = views.users(session)
    data: dict[str, Any] = {
        "page": page,
        "users": people,
        "roles": ROLE_LABELS,
        "scopes": SCOPE_LABELS,
        "days": DAY_LABELS,
    }
    if page == "teams":
        data["teams"] = views.teams(session, people)
        data["managers"] = [u for u in people if u.active and u.role in ("manager", "admin")]
    if page == "calendars":
        data["away"] = staff.upcoming_away(session, now=ctx.clock())
    if page == "keys":
        data["keys"] = views.api_keys(session)
    return data


def _render(
    request: Request,
    ctx: AppContext,
    page: str,
    *,
    error: str | None = None,
    secret: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    with ctx.db.read() as session:
        data = _context(session, page, ctx)
    saved = SAVED.get(str(request.query_params.get("saved", "")))
    response = ctx.templates.TemplateResponse(
        request,
        f"admin_{page}.html",
        {**data, "error": error, "secret": secret, "form": form or {}, "saved": saved},
        status_code=status_code,
    )
    if secret:
        response.headers["Cache-Control"] = "no-store"  # a password or key shown once stays out of caches
    return response


def _act(
    request: Request,
    ctx: AppContext,
    page: str,
    work: Callable[[Session, datetime], Any],
    *,
    saved: str,
    form: dict[str, Any] | None = None,
) -> Response:
    """One admin action: one transaction, then back to the page with what happened; an error keeps
    what was typed and says what to fix."""
    try:
        with ctx.db.write() as session:
            work(session, ctx.clock())
    except LeadloopError as exc:
        return _render(request, ctx, page, error=str(exc), form=form, status_code=exc.status_code)
    return RedirectResponse(f"/admin/{page}?saved={saved}", status_code=303)


def _audit(
    session: Session, kind: str, who: Principal, now: datetime, subject: str | None, detail: Any = None
) -> None:
    audit.record(session, kind, at=now, actor_user_id=who.user_id, subject=subject, detail=detail or None)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user #{user_id}")
    return user


def _optional_id(value: str, field: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) < 2**31:
        raise InvalidInput(f"{field}: choose one from the list")
    return int(text)


@router.get("", response_class=HTMLResponse)
def admin_index(request: Request, ctx: Ctx, who: Admin) -> Response:
    return ctx.templates.TemplateResponse(request, "admin.html", {"page": "index"})


# Users


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, ctx: Ctx, who: Admin) -> Response:
    return _render(request, ctx, "users")


@router.post("/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    ctx: Ctx,
    who: Admin,
    email: Text = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "rep",
    team_id: OptionalId = "",
) -> Response:
    form = {"email": email, "name": name, "role": role, "team_id": team_id}
    try:
        with ctx.db.write() as session:
            uid, password = auth.add_user(
                session,
                email=email,
                name=name,
                role=role,
                now=ctx.clock(),
                by_user_id=who.user_id,
                team_id=_optional_id(team_id, "team"),
            )
            address = session.get_one(User, uid).email
    except LeadloopError as exc:
        return _render(request, ctx, "users", error=str(exc), form=form, status_code=exc.status_code)
    return _render(
        request,
        ctx,
        "users",
        secret={
            "what": f"{address} can sign in with this temporary password",
            "value": password,
            "then": "They choose their own at the first sign-in. It is shown once: copy it now.",
        },
    )


@router.post("/users/{user_id}/role", response_class=HTMLResponse)
def change_role(
    request: Request, ctx: Ctx, who: Admin, user_id: Id, role: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    def work(session: Session, now: datetime) -> None:
        user = _user(session, user_id)
        if user.id == who.user_id and role != Role.ADMIN.value:
            raise InvalidInput("you cannot take the admin role from yourself; ask another admin")
        auth.set_role(session, email=user.email, role=role, now=now, by_user_id=who.user_id)

    return _act(request, ctx, "users", work, saved="role")


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(request: Request, ctx: Ctx, who: Admin, user_id: Id) -> Response:
    password = auth.temporary_password()
    try:
        with ctx.db.write() as session:
            user = _user(session, user_id)
            auth.reset_password(
                session, email=user.email, new_password=password, now=ctx.clock(), by_user_id=who.user_id
            )
            address = user.email
    except LeadloopError as exc:
        return _render(request, ctx, "users", error=str(exc), status_code=exc.status_code)
    return _render(
        request,
        ctx,
        "users",
        secret={
            "what": f"{address}'s temporary password",
            "value": password,
            "then": "They are signed out everywhere and choose their own at the next sign-in. Shown once.",
        },
    )


@router.post("/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, ctx: Ctx, who: Admin, user_id: Id) -> Response:
    def work(session: Session, now: datetime) -> None:
        if user_id == who.user_id:
            raise InvalidInput("you cannot deactivate yourself; ask another admin")
        _user(session, user_id)
        deactivate_user(session, user_id, now=now)
        auth.deactivated(session, user_id, now=now, by_user_id=who.user_id, via="web")

    return _act(request, ctx, "users", work, saved="deactivated")


# Teams


@router.get("/teams", response_class=HTMLResponse)
def teams_page(request: Request, ctx: Ctx, who: Admin) -> Response:
    return _render(request, ctx, "teams")


@router.post("/teams", response_class=HTMLResponse)
def create_team(
    request: Request, ctx: Ctx, who: Admin, name: Annotated[str, Form(max_length=300)] = ""
) -> Response:
    def work(session: Session, now: datetime) -> None:
        team = staff.create_team(session, name, now=now)
        _audit(session, "team.created", who, now, team.name)

    return _act(request, ctx, "teams", work, saved="team_created", form={"name": name})


@router.post("/users/{user_id}/team", response_class=HTMLResponse)
def set_team(request: Request, ctx: Ctx, who: Admin, user_id: Id, team_id: OptionalId = "") -> Response:
    def work(session: Session, now: datetime) -> None:
        user = staff.set_team(session, user_id, _optional_id(team_id, "team"))
        _audit(session, "user.team_changed", who, now, user.email, {"team_id": user.team_id})

    return _act(request, ctx, "teams", work, saved="team")


@router.post("/users/{user_id}/manager", response_class=HTMLResponse)
def set_user_manager(
    request: Request, ctx: Ctx, who: Admin, user_id: Id, manager_id: OptionalId = ""
) -> Response:
    def work(session: Session, now: datetime) -> None:
        user = _user(session, user_id)
        before = user.manager_id
        set_manager(session, user_id, _optional_id(manager_id, "manager"))
        _audit(session, "user.manager_changed", who, now, user.email, {"from": before, "to": user.manager_id})

    return _act(request, ctx, "teams", work, saved="manager")


@router.post("/teams/{team_id}/manager", response_class=HTMLResponse)
def set_team_manager(
    request: Request, ctx: Ctx, who: Admin, team_id: Id, manager_id: OptionalId = ""
) -> Response:
    """Every member of the team (but the manager) reports to this manager: SLA escalations go there
    and the manager sees the team's leads."""

    def work(session: Session, now: datetime) -> None:
        manager = _optional_id(manager_id, "manager")
        if manager is None:
            raise InvalidInput("manager: choose the team's manager from the list")
        members = [u for u in views.users(session) if u.team_id == team_id and u.id != manager]
        for m in members:
            set_manager(session, m.id, manager)
            _audit(
                session,
                "user.manager_changed",
                who,
                now,
                m.email,
                {"from": m.manager_id, "to": manager, "team_id": team_id},
            )

    return _act(request, ctx, "teams", work, saved="manager")


# Calendars and out of office


@router.get("/calendars", response_class=HTMLResponse)
def calendars_page(request: Request, ctx: Ctx, who: Admin) -> Response:
    return _render(request, ctx, "calendars")


@router.post("/users/{user_id}/calendar", response_class=HTMLResponse)
async def save_calendar(request: Request, ctx: Ctx, who: Admin, user_id: Id) -> Response:
    form = await request.form()
    timezone = str(form.get("timezone") or "").strip()[:64]
    holidays = str(form.get("holidays") or "").strip()[:13]
    hours = {d: str(form.get(f"hours_{d}") or "")[:100] for d in DAYS}

    def work(session: Session, now: datetime) -> None:
        user = staff.set_calendar(session, user_id, timezone=timezone or None, hours=hours, holidays=holidays)
        _audit(
            session,
            "user.calendar_changed",
            who,
            now,
            user.email,
            {"timezone": user.timezone, "hours": user.working_hours, "holidays": holidays or None},
        )

    return _act(
        request,
        ctx,
        "calendars",
        work,
        saved="calendar",
        form={
            "user_id": user_id,
            "timezone": timezone,
            "holidays": holidays,
            **{f"hours_{d}": h for d, h in hours.items()},
        },
    )


@router.post("/users/{user_id}/away", response_class=HTMLResponse)
def save_away(
    request: Request,
    ctx: Ctx,
    who: Admin,
    user_id: Id,
    starts: Annotated[str, Form(max_length=40)] = "",
    ends: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    def work(session: Session, now: datetime) -> None:
        user = _user(session, user_id)
        start = _moment(starts, "from")
        end = _moment(ends, "until")
        add_away(session, user_id, start, end, note=note.strip() or None)
        _audit(
            session,
            "user.away_added",
            who,
            now,
            user.email,
            {"from": start.isoformat(), "until": end.isoformat(), "note": note.strip() or None},
        )

    return _act(
        request,
        ctx,
        "calendars",
        work,
        saved="away",
        form={"away_user_id": user_id, "starts": starts, "ends": ends, "note": note},
    )


def _moment(text: str, field: str) -> datetime:
    found = parse_datetime(text.replace("T", " ") if text else None, field=field)
    if found is None:
        raise InvalidInput(f"{field}: give a date and time, e.g. 2026-12-24 00:00")
    return found if found.tzinfo else found.replace(tzinfo=UTC)


@router.post("/away/{away_id}/delete", response_class=HTMLResponse)
def remove_away(request: Request, ctx: Ctx, who: Admin, away_id: Id) -> Response:
    def work(session: Session, now: datetime) -> None:
        row = staff.remove_away(session, away_id)
        user = session.get(User, row.user_id)
        _audit(
            session,
            "user.away_removed",
            who,
            now,
            user.email if user else None,
            {"from": row.starts_at.isoformat(), "until": row.ends_at.isoformat()},
        )

    return _act(request, ctx, "calendars", work, saved="away_removed")


# API keys


@router.get("/keys", response_class=HTMLResponse)
def keys_page(request: Request, ctx: Ctx, who: Admin) -> Response:
    return _render(request, ctx, "keys")


@router.post("/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    ctx: Ctx,
    who: Admin,
    user_email: Text = "",
    name: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[str, Form(max_length=20)] = "full",
) -> Response:
    form = {"user_email": user_email, "name": name, "scope": scope}
    try:
        if not name.strip():
            raise InvalidInput("name: say what the key is for (e.g. 'Website forms')")
        with ctx.db.write() as session:
            token = auth.create_api_key(
                session,
                user_email=user_email,
                name=name.strip(),
                now=ctx.clock(),
                scope=scope,
                by_user_id=who.user_id,
            )
    except LeadloopError as exc:
        return _render(request, ctx, "keys", error=str(exc), form=form, status_code=exc.status_code)
    return _render(
        request,
        ctx,
        "keys",
        secret={
            "what": f"API key “{name.strip()}” for {user_email.strip().lower()} ({SCOPE_LABELS.get(scope, scope)})",
            "value": token,
            "then": "Send it as 'Authorization: Bearer <key>'. It is shown once: copy it now.",
        },
    )


@router.post("/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(request: Request, ctx: Ctx, who: Admin, key_id: Id) -> Response:
    def work(session: Session, now: datetime) -> None:
        auth.revoke_api_key(session, key_id, now=now, by_user_id=who.user_id)

    return _act(request, ctx, "keys", work, saved="revoked")
