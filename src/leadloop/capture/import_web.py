"""Import in the app: upload a CSV file, check what its columns and rows become (and the peer CRM's
stages and owners), run it in the background with a progress bar, download its rejects; the
history of every import, from here or from `leadloop import`.

The run is a thread of the server process (`leadloop serve` runs one process; the sweeper is a
thread there too), claimed through its `import_runs` row: it goes on when the browser is closed,
and a run whose server died reads as interrupted and can be resumed (ADR 0024)."""

from __future__ import annotations

import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from leadloop.capture import run_state, runs
from leadloop.capture.carryover import load_users
from leadloop.capture.importer import count_lines, execute_run
from leadloop.capture.preview import CUSTOM, IGNORE, Preview, preview
from leadloop.contract.csvio import CsvWriter, sniff
from leadloop.contract.headers import map_headers
from leadloop.contract.peers import NOT_CARRIED, STAGE_LABELS, UserRef, default_stage, match_owner
from leadloop.contract.vocab import CARRIED_FIELDS, ENTITY_FIELDS, REQUIRED_COLUMNS
from leadloop.core.errors import Conflict, ImportFileError, InvalidInput, NotFound
from leadloop.core.logging import get_logger
from leadloop.store.tables import ImportRun
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, Writer

router = APIRouter()
log = get_logger("leadloop.imports")

ENTITY_LABELS = {
    "people": "People (contacts, leads)",
    "accounts": "Accounts (companies)",
    "activities": "Activities (events, visits, calls)",
    "opportunities": "Opportunities (deals)",
    "contact_roles": "Contact roles on opportunities",
    "campaigns": "Campaigns",
}
ENCODINGS = {
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO 8859-1)",
    "utf-16": "UTF-16",
}
SEPARATORS = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "bar (|)"}
_FIELD_LABELS = {
    "external_id": "ID in the other system",
    "account_external_id": "account's ID in the other system",
    "email_opt_in": "e-mail consent",
    "owner": "owner (carried to the lead)",
    "lifecycle_stage": "lifecycle stage (carried to the lead)",
    "lead_status": "lead status (carried to the lead)",
    "industry": "industry (the account's)",
    "employees": "employees (the account's)",
    "annual_revenue": "annual revenue (the account's)",
}
_MAX_VALUES = 100  # distinct stage or owner values shown for mapping (the rest: warnings in the run)


def import_dir(ctx: AppContext) -> Path:
    path = Path(ctx.settings.import_dir or Path(tempfile.gettempdir()) / "leadloop-imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Runner(Protocol):
    def __call__(self, ctx: AppContext, run_id: int, token: str) -> None: ...


def run_in_thread(ctx: AppContext, run_id: int, token: str) -> None:
    """The run goes on in this server process whatever the browser does; a smaller batch than the
    command line's keeps the writer lock short for the people using the app meanwhile."""
    threading.Thread(
        target=execute_run,
        args=(ctx.db, run_id, token),
        kwargs={
            "now": ctx.clock,
            "batch_size": min(ctx.settings.import_batch_size, 500),
            "max_chars": ctx.settings.max_field_chars,
            "custom": ctx.custom_limits,
        },
        name=f"leadloop-import-{run_id}",
        daemon=True,  # a stopped server leaves the run to read as interrupted, to be resumed
    ).start()


def _runner(request: Request) -> Runner:
    runner: Runner = getattr(request.app.state, "import_runner", run_in_thread)
    return runner


def field_label(name: str) -> str:
    return _FIELD_LABELS.get(name, name.replace("_", " "))


def _targets(entity: str) -> list[tuple[str, str]]:
    fields = [*ENTITY_FIELDS[entity], *CARRIED_FIELDS.get(entity, ())]
    if entity == "people":
        fields.append("email_opt_out")
    return [(f, field_label(f)) for f in fields]


def _guess_entity(headers: list[str]) -> str:
    """The entity whose required columns the headers have, with the most columns it understands."""
    best, best_n = "people", -1
    for entity in ENTITY_LABELS:
        columns = map_headers(entity, headers, {})
        present = {f for f in columns.values() if not f.startswith("_x_")}
        if all(present.intersection(group) for group in REQUIRED_COLUMNS[entity]) and len(present) > best_n:
            best, best_n = entity, len(present)
    return best


# ---------------------------------------------------------------- upload and history


@router.get("/imports", response_class=HTMLResponse, include_in_schema=False)
def imports_page(request: Request, ctx: Ctx, who: Writer) -> Response:
    return _history(request, ctx, error=None)


def _history(request: Request, ctx: AppContext, *, error: str | None, status: int = 200) -> Response:
    now = ctx.clock()
    with ctx.db.read() as session:
        rows = runs.history(session, limit=100)
    return ctx.templates.TemplateResponse(
        request,
        "imports.html",
        {
            "runs": [_view(r.run, now, user=r.user_name, campaign=r.campaign_name) for r in rows],
            "error": error,
            "max_bytes": ctx.settings.max_import_bytes,
            "max_mb": ctx.settings.max_import_bytes // (1024 * 1024),
        },
        status_code=status,
    )


@router.post("/imports", include_in_schema=False)
async def upload(
    request: Request, ctx: Ctx, who: Writer, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    """The file is copied to the import directory a chunk at a time (Starlette has spooled it to a
    temporary file already; neither holds it in memory), checked, and becomes a draft run."""
    if file is None or not file.filename:
        return _history(request, ctx, error="Choose a CSV file to import.", status=422)
    name = Path(file.filename).name[:200] or "upload.csv"
    stored = import_dir(ctx) / f"{secrets.token_hex(12)}.csv"
    size = 0
    with open(stored, "wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > ctx.settings.max_import_bytes:  # a client that sent no Content-Length
                out.close()
                stored.unlink(missing_ok=True)
                return _history(request, ctx, error=_too_large(ctx), status=413)
            out.write(chunk)
    try:
        found = sniff(stored)
        if not _has_rows(stored, found.encoding):
            raise ImportFileError(f"{name} has a header row but no rows under it: there is nothing to import")
    except ImportFileError as exc:
        stored.unlink(missing_ok=True)
        return _history(request, ctx, error=str(exc).replace(stored.name, name), status=422)
    entity = _guess_entity(found.headers)
    with ctx.db.write() as session:
        run_id = runs.create(
            session,
            runs.NewRun(
                entity=entity,
                filename=name,
                file_sha256=found.sha256,
                encoding=found.encoding,
                delimiter=found.delimiter,
                source="web",
                file_bytes=size,
                user_id=who.user_id,
                stored_path=str(stored),
                rows_total=max(count_lines(stored) - 1, 0),
            ),
            now=ctx.clock(),
        )
        runs.choose(
            session,
            run_id,
            entity=entity,
            mapping={},
            choices={"headers": found.headers},
            campaign_id=None,
            encoding=found.encoding,
            delimiter=found.delimiter,
        )
    log.info("import.uploaded", run_id=run_id, bytes=size, entity=entity, by=who.user_id)
    return RedirectResponse(f"/imports/{run_id}", status_code=303)


def _too_large(ctx: AppContext) -> str:
    mb = ctx.settings.max_import_bytes / 1024 / 1024
    return (
        f"The file is larger than {mb:,.0f} MB, the limit for an import in the app; nothing was saved. "
        "Split it into smaller files, or import it on the server with `leadloop import`."
    )


def _has_rows(path: Path, encoding: str) -> bool:
    with open(path, encoding=encoding, newline="") as fh:
        next(fh, None)
        return any(line.strip().strip(",;\t|").strip() for line in fh)


# ---------------------------------------------------------------- one run


@dataclass(frozen=True)
class RunView:
    run: ImportRun
    state: str
    label: str
    percent: int
    resumable: bool
    user: str | None = None
    campaign: str | None = None

    @property
    def accepted(self) -> int:
        return self.run.rows_created + self.run.rows_updated + self.run.rows_unchanged

    @property
    def separator(self) -> str:
        return SEPARATORS.get(self.run.delimiter, repr(self.run.delimiter))

    @property
    def encoding(self) -> str:
        return ENCODINGS.get(self.run.encoding, self.run.encoding)


def _view(run: ImportRun, now: Any, *, user: str | None = None, campaign: str | None = None) -> RunView:
    state = run_state.state(run.status, run.heartbeat_at, now)
    return RunView(
        run,
        state,
        run_state.label(state),
        run_state.percent(run.rows_done, run.rows_total, state),
        run_state.resumable(state),
        user,
        campaign,
    )


def _load(ctx: AppContext, run_id: int) -> tuple[RunView, list[UserRef], list[tuple[int, str]]]:
    now = ctx.clock()
    with ctx.db.read() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise NotFound(f"import #{run_id} does not exist")
        session.expunge(run)
        users = load_users(session)
        campaigns = runs.campaigns(session)
        campaign = runs.campaign_name(session, run.campaign_id)
        user = next((u.name for u in users if u.id == run.user_id), None)
    return _view(run, now, user=user, campaign=campaign), users, campaigns


@router.get("/imports/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run_page(request: Request, ctx: Ctx, who: Writer, run_id: Id) -> Response:
    view, users, campaigns = _load(ctx, run_id)
    if view.state == "draft":
        return _draft(request, ctx, view, users, campaigns)
    with ctx.db.read() as session:
        rejects = runs.issues(session, run_id, "reject", limit=20)
        warnings = runs.issues(session, run_id, "warning", limit=50)
    return ctx.templates.TemplateResponse(
        request,
        "import.html",
        {"view": view, "rejects": rejects, "warnings": warnings, "mode": "run", **_summary(view)},
    )


def _summary(view: RunView) -> dict[str, Any]:
    s = view.run.summary or {}
    return {
        "warning_kinds": sorted((s.get("warnings") or {}).items(), key=lambda kv: -kv[1]),
        "owners_missing": sorted((s.get("owners_missing") or {}).items(), key=lambda kv: -kv[1]),
        "stages_unknown": sorted((s.get("stages_unknown") or {}).items(), key=lambda kv: -kv[1]),
        "carried": {k: s.get(k, 0) for k in ("leads_opened", "stages_moved", "owners_set", "owners_kept")},
    }


@dataclass(frozen=True)
class ValueChoice:
    n: int
    value: str
    count: int
    chosen: str  # a stage, NOT_CARRIED, or "" (not known: the person must choose)
    guessed: str


@dataclass(frozen=True)
class OwnerChoice:
    n: int
    value: str
    count: int
    chosen: int | None
    why: str | None  # why no user was found


def _draft(
    request: Request,
    ctx: AppContext,
    view: RunView,
    users: list[UserRef],
    campaigns: list[tuple[int, str]],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    run = view.run
    try:
        seen = preview(
            run.stored_path or "",
            run.entity,
            overrides=dict(run.mapping or {}),
            encoding=run.encoding,
            now=ctx.clock(),
            max_chars=ctx.settings.max_field_chars,
            custom=ctx.custom_limits,
        )
    except ImportFileError as exc:
        seen = Preview(run.entity, run.encoding, run.delimiter, [], error=str(exc))
    choices = run.choices or {}
    chosen_stages: dict[str, str] = choices.get("stages") or {}
    chosen_owners: dict[str, int | None] = choices.get("owners") or {}
    stage_rows = [
        ValueChoice(
            n,
            value,
            count,
            chosen_stages.get(value, default_stage(value) or ""),
            default_stage(value) or "",
        )
        for n, (value, count) in enumerate(seen.stage_values.most_common(_MAX_VALUES))
    ]
    owner_rows = []
    for n, (value, count) in enumerate(seen.owner_values.most_common(_MAX_VALUES)):
        if value in chosen_owners:
            chosen = chosen_owners[value]
            owner_rows.append(OwnerChoice(n, value, count, int(chosen) if chosen else None, None))
        else:
            uid, why = match_owner(value, users)
            owner_rows.append(OwnerChoice(n, value, count, uid, None if uid else why))
    return ctx.templates.TemplateResponse(
        request,
        "import.html",
        {
            "mode": "draft",
            "view": view,
            "preview": seen,
            "error": error or seen.error,
            "entities": ENTITY_LABELS,
            "encodings": ENCODINGS,
            "targets": _targets(run.entity),
            "custom": CUSTOM,
            "ignore": IGNORE,
            "stage_rows": stage_rows,
            "stage_labels": STAGE_LABELS,
            "not_carried": NOT_CARRIED,
            "owner_rows": owner_rows,
            "users": sorted(users, key=lambda u: u.name.casefold()),
            "campaigns": campaigns,
            "field_label": field_label,
        },
        status_code=status,
    )


def _int_or_none(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number < 2**31 else None


@dataclass
class _Form:
    entity: str
    encoding: str
    mapping: dict[str, str]
    stages: dict[str, str]
    owners: dict[str, int | None]
    campaign_id: int | None
    action: str


def _read_form(form: Any, run: ImportRun, users: list[UserRef], campaigns: list[tuple[int, str]]) -> _Form:
    """The mapping page's choices, each checked against what the page offered."""
    entity = str(form.get("entity") or run.entity)
    if entity not in ENTITY_LABELS:
        raise InvalidInput(f"{entity!r} is not something an import can bring in")
    encoding = str(form.get("encoding") or run.encoding)
    if encoding not in ENCODINGS and encoding != run.encoding:
        raise InvalidInput(f"{encoding!r} is not one of the encodings offered")
    headers: list[str] = (run.choices or {}).get("headers") or []
    allowed = {f for f, _ in _targets(entity)} | {CUSTOM, IGNORE}
    mapping: dict[str, str] = {}
    if entity == run.entity:  # another entity starts from its own automatic mapping
        for i, header in enumerate(headers):
            target = form.get(f"col_{i}")
            if target is None or not header.strip():
                continue
            target = str(target)
            if target not in allowed:
                raise InvalidInput(f"column {header!r}: {target!r} is not a field of {entity}")
            mapping[header.strip()] = "_x_" + header.strip() if target == CUSTOM else target
    stages: dict[str, str] = {}
    for key in form:
        if key.startswith("stage_value_"):
            n = key.removeprefix("stage_value_")
            value, stage = str(form.get(key))[:100], str(form.get(f"stage_{n}") or "")
            if stage and stage not in STAGE_LABELS and stage != NOT_CARRIED:
                raise InvalidInput(f"{stage!r} is not one of Leadloop's stages")
            if stage:
                stages[value] = stage
    user_ids = {u.id for u in users}
    owners: dict[str, int | None] = {}
    for key in form:
        if key.startswith("owner_value_"):
            n = key.removeprefix("owner_value_")
            value, chosen = str(form.get(key))[:320], str(form.get(f"owner_{n}") or "")
            if not chosen:  # nobody matched and nobody chosen: reported as not found in the run
                continue
            uid = _int_or_none(chosen)
            if chosen != NOT_CARRIED and uid not in user_ids:
                raise InvalidInput(f"owner {value!r}: choose one of the users listed")
            owners[value] = uid if chosen != NOT_CARRIED else None
    campaign_id = _int_or_none(form.get("campaign_id") or "")
    if form.get("campaign_id") and campaign_id not in {c for c, _ in campaigns}:
        raise InvalidInput("choose one of the campaigns listed, or none")
    return _Form(entity, encoding, mapping, stages, owners, campaign_id, str(form.get("action") or "check"))


@router.post("/imports/{run_id}", include_in_schema=False)
async def run_choose(request: Request, ctx: Ctx, who: Writer, run_id: Id) -> Response:
    """Save the mapping and look again ("check"), or save it and start the run ("start")."""
    view, users, campaigns = _load(ctx, run_id)
    if view.state != "draft":
        raise Conflict(f"import #{run_id} has started already; its mapping can no longer change")
    form = await request.form()
    try:
        chosen = _read_form(form, view.run, users, campaigns)
    except InvalidInput as exc:
        return _draft(request, ctx, view, users, campaigns, error=str(exc), status=422)
    with ctx.db.write() as session:
        runs.choose(
            session,
            run_id,
            entity=chosen.entity,
            mapping=chosen.mapping,
            choices={
                "headers": (view.run.choices or {}).get("headers") or [],
                "stages": chosen.stages,
                "owners": chosen.owners,
            },
            campaign_id=chosen.campaign_id,
            encoding=chosen.encoding,
            delimiter=view.run.delimiter,
        )
    if chosen.action != "start":
        return RedirectResponse(f"/imports/{run_id}#mapping", status_code=303)
    view, users, campaigns = _load(ctx, run_id)
    seen = preview(
        view.run.stored_path or "",
        view.run.entity,
        overrides=dict(view.run.mapping or {}),
        encoding=view.run.encoding,
        now=ctx.clock(),
        sample=0,
        scan=0,
    )
    if seen.error:  # the mapping cannot run (a field mapped twice, a required column missing)
        return _draft(request, ctx, view, users, campaigns, error=seen.error, status=422)
    return _start(request, ctx, run_id, who.user_id)


def _start(request: Request, ctx: AppContext, run_id: int, by: int) -> Response:
    token = secrets.token_hex(16)
    with ctx.db.write() as session:
        taken = runs.claim(session, run_id, token, now=ctx.clock())
    if not taken:
        raise Conflict(f"import #{run_id} is running already; its page shows how far it is")
    log.info("import.started", run_id=run_id, by=by)
    _runner(request)(ctx, run_id, token)
    return RedirectResponse(f"/imports/{run_id}", status_code=303)


@router.post("/imports/{run_id}/resume", include_in_schema=False)
def run_resume(request: Request, ctx: Ctx, who: Writer, run_id: Id) -> Response:
    """Go on from the last batch that landed (an interrupted or failed run)."""
    view, _, _ = _load(ctx, run_id)
    if not view.resumable:
        raise Conflict(
            f"import #{run_id} is {view.label.lower()}; only an interrupted or failed import resumes"
        )
    if not view.run.stored_path or not Path(view.run.stored_path).is_file():
        raise Conflict(
            f"the file of import #{run_id} is no longer on the server; upload it again (rows already "
            "imported are updated, not duplicated)"
        )
    return _start(request, ctx, run_id, who.user_id)


@router.get("/imports/{run_id}/progress", response_class=HTMLResponse, include_in_schema=False)
def run_progress(request: Request, ctx: Ctx, who: Writer, run_id: Id) -> Response:
    """The progress bar alone, polled by HTMX every second until the run ends."""
    view, _, _ = _load(ctx, run_id)
    response = ctx.templates.TemplateResponse(
        request, "_import_progress.html", {"view": view, **_summary(view)}
    )
    if view.state != "running" and request.headers.get("hx-request"):
        # It ended while the page watched: the whole page again, with its rejects and warnings.
        response.headers["HX-Refresh"] = "true"
    return response


def _issues_csv(ctx: AppContext, run_id: int, kind: str) -> Iterator[str]:
    """The rows as the file had them, with the reason beside each (formula cells neutralised)."""

    class _Buffer:
        def __init__(self) -> None:
            self.parts: list[str] = []

        def write(self, text: str) -> int:
            self.parts.append(text)
            return len(text)

        def take(self) -> str:
            out, self.parts = "".join(self.parts), []
            return out

    with ctx.db.read() as session:
        run = runs.get(session, run_id)
        if run is None:
            return
        headers: list[str] = list((run.choices or {}).get("headers") or [])
        buf = _Buffer()
        buf.write("\ufeff")  # UTF-8 with a BOM: Excel reads "Gómez", not "GÃ³mez"
        if kind == "reject":
            writer = CsvWriter(buf, ["Line", "Reason", *headers])  # type: ignore[arg-type]
        else:
            writer = CsvWriter(buf, ["Line", "Warning"])  # type: ignore[arg-type]
        yield buf.take()
        for n, issue in enumerate(runs.each_issue(session, run_id, kind), start=1):
            writer.write([issue.line, issue.message, *(issue.cells or [])])
            if n % 500 == 0:
                yield buf.take()
        yield buf.take()


def _download(ctx: AppContext, run_id: int, kind: str, suffix: str) -> Response:
    with ctx.db.read() as session:
        run = runs.get(session, run_id)
        if run is None:
            raise NotFound(f"import #{run_id} does not exist")
        stem = Path(run.filename).stem[:80] or "import"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)
    return StreamingResponse(
        _issues_csv(ctx, run_id, kind),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{safe}.{suffix}.csv"'},
    )


@router.get("/imports/{run_id}/rejects.csv", include_in_schema=False)
def run_rejects(ctx: Ctx, who: Writer, run_id: Id) -> Response:
    return _download(ctx, run_id, "reject", "rejects")


@router.get("/imports/{run_id}/warnings.csv", include_in_schema=False)
def run_warnings(ctx: Ctx, who: Writer, run_id: Id) -> Response:
    return _download(ctx, run_id, "warning", "warnings")
