"""Editing people and accounts: `PATCH /api/v1/people/{id}` and `/api/v1/accounts/{id}`, and the
Edit form the person and account pages load (`_edit_record.html`), posted as a plain form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadloop.access.repository import require_editor, require_visible
from leadloop.auth.model import Principal
from leadloop.core.errors import InvalidInput, LeadloopError, PermissionDenied
from leadloop.edits.handlers import Edited, edit_account, edit_person, history
from leadloop.edits.model import ACCOUNT_FIELDS, LABELS, PERSON_FIELDS, EditRefused, as_json
from leadloop.edits.schemas import AccountUpdate, PersonUpdate
from leadloop.store.tables import Account, Person
from leadloop.web.deps import Ctx, Id, Staff, viewer_scope

router = APIRouter()


@dataclass(frozen=True)
class Kind:
    entity: str
    table: type[Person] | type[Account]
    fields: dict[str, int]
    page: str  # /people or /accounts


PERSON = Kind("person", Person, PERSON_FIELDS, "/people")
ACCOUNT = Kind("account", Account, ACCOUNT_FIELDS, "/accounts")


def _answer(done: Edited, row: Any, kind: Kind) -> dict[str, Any]:
    return {
        "id": done.entity_id,
        "updated_at": done.updated_at,
        "changed": {f: {"from": as_json(a), "to": as_json(b)} for f, (a, b) in done.changed.items()},
        kind.entity: {f: as_json(getattr(row, f)) for f in kind.fields},
    }


def _patch(
    ctx: Ctx, who: Principal, kind: Kind, row_id: int, body: PersonUpdate | AccountUpdate
) -> dict[str, Any]:
    edit = edit_person if kind is PERSON else edit_account
    with ctx.db.write() as session:
        done = edit(
            session,
            row_id,
            body.given(),
            expected_updated_at=body.updated_at,
            who=who,
            scope=viewer_scope(session, ctx, who),
            now=ctx.clock(),
        )
        return _answer(done, session.get_one(kind.table, row_id), kind)


@router.patch("/api/v1/people/{person_id}", tags=["warehouse"])
def patch_person(person_id: Id, body: PersonUpdate, ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Change a person's fields by hand: recorded with who and when, and kept over later imports."""
    return _patch(ctx, who, PERSON, person_id, body)


@router.patch("/api/v1/accounts/{account_id}", tags=["warehouse"])
def patch_account(account_id: Id, body: AccountUpdate, ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Change an account's fields by hand: recorded with who and when, and kept over later imports."""
    return _patch(ctx, who, ACCOUNT, account_id, body)


def _form_page(
    request: Request,
    ctx: Ctx,
    kind: Kind,
    row_id: int,
    *,
    values: dict[str, Any],
    updated_at: str,
    errors: dict[str, str],
    edits: list[Any],
    title: str,
    status_code: int = 200,
) -> Any:
    fragment = request.headers.get("hx-request") == "true" and not errors
    return ctx.templates.TemplateResponse(
        request,
        "_edit_form.html" if fragment else "edit_record.html",
        {
            "kind": kind.entity,
            "action": f"{kind.page}/{row_id}/edit",
            "back": f"{kind.page}/{row_id}",
            "fields": [(f, LABELS[f], values.get(f)) for f in kind.fields],
            "updated_at": updated_at,
            "errors": errors,
            "edits": edits,
            "title": title,
            "labels": LABELS,
        },
        status_code=status_code,
    )


def _title(row: Any, kind: Kind) -> str:
    if kind is ACCOUNT:
        return str(row.name)
    return " ".join(p for p in (row.first_name, row.last_name) if p) or row.email or f"person #{row.id}"


def _edit_form(request: Request, ctx: Ctx, who: Principal, kind: Kind, row_id: int) -> Any:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), kind.table, row_id)
        row: Any = session.get_one(kind.table, row_id)
        try:
            require_editor(session, who, row.id if kind is ACCOUNT else row.account_id, noun=kind.entity)
        except PermissionDenied:
            if request.headers.get("hx-request") == "true":
                return HTMLResponse("")  # the page shows no Edit form to someone who may not edit
            raise
        values = {f: as_json(getattr(row, f)) for f in kind.fields}
        edits = history(session, kind.entity, row_id)
        return _form_page(
            request,
            ctx,
            kind,
            row_id,
            values=values,
            updated_at=row.updated_at.isoformat(),
            errors={},
            edits=edits,
            title=_title(row, kind),
        )


async def _save(request: Request, ctx: Ctx, who: Principal, kind: Kind, row_id: int) -> Any:
    form = await request.form()
    given = {f: str(v) for f, v in form.items() if f in kind.fields and isinstance(v, str)}
    version = str(form.get("updated_at") or "")
    errors: dict[str, str] = {}
    try:
        try:
            expected = datetime.fromisoformat(version)
        except ValueError:
            raise InvalidInput("the form is missing its version: reload the page and edit again") from None
        if expected.tzinfo is None:
            raise InvalidInput("the form's version has no time zone: reload the page and edit again")
        with ctx.db.write() as session:
            edit = edit_person if kind is PERSON else edit_account
            edit(
                session,
                row_id,
                given,
                expected_updated_at=expected,
                who=who,
                scope=viewer_scope(session, ctx, who),
                now=ctx.clock(),
            )
    except EditRefused as exc:
        errors = exc.errors
        status = 422
    except LeadloopError as exc:
        if exc.status_code in (403, 404):
            raise
        errors, status = {"": str(exc)}, exc.status_code
    if not errors:
        return RedirectResponse(f"{kind.page}/{row_id}", status_code=303)
    # What the person typed stays in the form (bad input loses nothing), with the reasons beside it.
    with ctx.db.read() as session:
        row = session.get_one(kind.table, row_id)
        return _form_page(
            request,
            ctx,
            kind,
            row_id,
            values=given,
            updated_at=version,
            errors=errors,
            edits=history(session, kind.entity, row_id),
            title=_title(row, kind),
            status_code=status,
        )


@router.get("/people/{person_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def person_edit_form(request: Request, person_id: Id, ctx: Ctx, who: Staff) -> Any:
    return _edit_form(request, ctx, who, PERSON, person_id)


@router.post("/people/{person_id}/edit", response_class=HTMLResponse, include_in_schema=False)
async def person_edit(request: Request, person_id: Id, ctx: Ctx, who: Staff) -> Any:
    return await _save(request, ctx, who, PERSON, person_id)


@router.get("/accounts/{account_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def account_edit_form(request: Request, account_id: Id, ctx: Ctx, who: Staff) -> Any:
    return _edit_form(request, ctx, who, ACCOUNT, account_id)


@router.post("/accounts/{account_id}/edit", response_class=HTMLResponse, include_in_schema=False)
async def account_edit(request: Request, account_id: Id, ctx: Ctx, who: Staff) -> Any:
    return await _save(request, ctx, who, ACCOUNT, account_id)
