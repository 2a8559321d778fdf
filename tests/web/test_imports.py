"""Import in the app: upload, check the mapping, run in the background, progress, rejects, history,
and every bad file the issue names (asserted on templates and their context)."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.auth.handlers import create_user
from leadloop.capture import runs
from leadloop.capture.importer import execute_run
from leadloop.store.tables import Activity, Campaign, ImportIssue, ImportRun, Lead, Person
from leadloop.web.context import AppContext
from tests.conftest import count
from tests.fixtures.web import Web

MESSY = Path(__file__).resolve().parents[1] / "fixtures" / "files" / "messy-trade-show.csv"


@pytest.fixture
def imports_web(make_web: Callable[..., Web], tmp_path: Path) -> Web:
    web = make_web(import_dir=str(tmp_path / "uploads"))

    def run_now(ctx: AppContext, run_id: int, token: str) -> None:
        # The app runs it in a thread; here it runs before the redirect, so the test can look.
        execute_run(ctx.db, run_id, token, now=ctx.clock, batch_size=4)

    web.app.state.import_runner = run_now
    with web.db.write() as s:
        for email, name in (
            ("rep1@demo.leadloop.dev", "Rita Rep"),
            ("rep2@demo.leadloop.dev", "Rafael Rep"),
            ("rep3@demo.leadloop.dev", "Rosa Rep"),
        ):
            create_user(s, email=email, name=name, role="rep", password=None, now=web.clock())
        s.execute(
            sa.insert(Campaign).values(
                name="Trade show – Web Summit", channel="event", created_at=web.clock()
            )
        )
    return web


def _upload(client: TestClient, name: str, data: bytes) -> Any:
    return client.post(
        "/imports",
        files={"file": (name, data, "text/csv")},
        headers={"accept": "text/html"},  # as a browser's form post
        follow_redirects=False,
    )


def _run_id(r: Any) -> int:
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def _form(context: dict[str, Any], **changes: str) -> dict[str, str]:
    """The mapping page's form as the browser would post it, with some choices changed."""
    run = context["view"].run
    data = {"entity": run.entity, "encoding": run.encoding, "action": "check"}
    if run.campaign_id:
        data["campaign_id"] = str(run.campaign_id)
    for c in context["preview"].columns:
        data[f"col_{c.index}"] = c.field
    for s in context["stage_rows"]:
        data[f"stage_value_{s.n}"], data[f"stage_{s.n}"] = s.value, s.chosen
    for o in context["owner_rows"]:
        data[f"owner_value_{o.n}"], data[f"owner_{o.n}"] = o.value, str(o.chosen or ("" if o.why else "-"))
    data.update(changes)
    return data


def test_marketing_imports_the_messy_trade_show_list(imports_web: Web) -> None:
    web = imports_web
    client = web.browser_client("marketing")
    page = client.get("/imports")
    assert page.template.name == "imports.html" and page.context["runs"] == []  # type: ignore[attr-defined]
    run_id = _run_id(_upload(client, "messe.csv", MESSY.read_bytes()))

    draft = client.get(f"/imports/{run_id}")
    ctx = draft.context  # type: ignore[attr-defined]
    assert draft.template.name == "import.html" and ctx["mode"] == "draft"  # type: ignore[attr-defined]
    assert ctx["error"] is None
    seen = ctx["preview"]
    assert (seen.encoding, seen.delimiter, ctx["view"].run.entity) == ("latin-1", ";", "people")
    fields = {c.header: c.field for c in seen.columns}
    assert fields["Website URL"] == "website" and fields["Contact owner"] == "owner"
    assert fields["Lifecycle Stage"] == "lifecycle_stage" and fields["Lead Status"] == "lead_status"
    assert fields["Annual Revenue"] == "annual_revenue" and fields["Country/Region"] == "country"
    # The sample shows what each row becomes: Oesterreich is Austria, Müller reads as Müller.
    mueller = next(r for r in seen.rows if r.line == 3)
    assert ("country", "AT") in mueller.becomes and ("last_name", "Müller") in mueller.becomes
    stages = {s.value: s.chosen for s in ctx["stage_rows"]}
    assert stages["Sales Qualified Lead"] == "sql" and stages["Customer"] == "won"
    assert stages["Sonstiges"] == ""  # nobody taught us this one: the page asks
    owners = {o.value: (o.chosen, o.why) for o in ctx["owner_rows"]}
    assert owners["Pieter Unknown"] == (None, "no user is called 'Pieter Unknown'")
    rita = owners["Rita Rep"][0]
    assert rita is not None and owners["rep2@demo.leadloop.dev"][0] is not None

    with web.db.read() as s:
        campaign_id = s.scalar(sa.select(Campaign.id))
    sonstiges = next(x.n for x in ctx["stage_rows"] if x.value == "Sonstiges")
    r = client.post(
        f"/imports/{run_id}",
        data=_form(ctx, action="start", campaign_id=str(campaign_id), **{f"stage_{sonstiges}": "nurture"}),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/imports/{run_id}"

    done = client.get(f"/imports/{run_id}")
    view = done.context["view"]  # type: ignore[attr-defined]
    assert done.context["mode"] == "run" and view.state == "done" and view.percent == 100  # type: ignore[attr-defined]
    assert (view.run.rows_done, view.run.rows_rejected) == (20, 3)
    assert view.accepted == 17 and view.run.rows_warned >= 3
    assert {i.line for i in done.context["rejects"]} == {13, 14, 17}  # type: ignore[attr-defined]
    progress = client.get(f"/imports/{run_id}/progress")
    assert progress.template.name == "_import_progress.html"  # type: ignore[attr-defined]
    assert "hx-trigger" not in progress.text  # a finished run is not polled

    rejects = client.get(f"/imports/{run_id}/rejects.csv")
    assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
    assert rejects.content.startswith("\ufeff".encode())  # a BOM: Excel reads it as UTF-8
    table = list(csv.reader(io.StringIO(rejects.text.removeprefix("\ufeff"))))
    assert table[0][:4] == ["Line", "Reason", "Record ID", "First Name"]
    by_line = {row[0]: row for row in table[1:]}
    assert by_line["13"][2] == "TS-12" and "mark@@example.com" in by_line["13"]
    assert by_line["17"][1].startswith("ragged row: 20 cells where the header has 18")

    with web.db.read() as s:
        people = {p.external_id: p for p in s.scalars(sa.select(Person))}
        # Nobody lost to a country spelling; the unknown country is kept as typed.
        assert people["TS-02"].country == "AT" and people["TS-03"].country == "DE"
        assert people["TS-20"].country == "AT" and people["TS-10"].country == "NL"
        assert people["TS-14"].country is None and people["TS-14"].attributes["country_raw"] == "Atlantis"
        # The trade-show list: every row that landed is a member of the campaign, no 1970.
        linked = s.scalars(
            sa.select(Activity.occurred_at).where(
                Activity.type == "list_import", Activity.campaign_id == campaign_id
            )
        ).all()
        assert len(linked) == 17 and min(linked).year == 2026
        greta = next(p for p in people.values() if p.email == "greta.lindqvist@polarsignal.se")
        lead = s.scalars(sa.select(Lead).where(Lead.account_id == greta.account_id)).one()
        assert lead.stage == "sql" and lead.owner_user_id == rita
    history = client.get("/imports")
    row = history.context["runs"][0]  # type: ignore[attr-defined]
    assert (row.run.id, row.user, row.campaign, row.state) == (
        run_id,
        "Marketing",
        "Trade show – Web Summit",
        "done",
    )


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("empty.csv", b"", "empty.csv is empty"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "has a NUL byte at byte 8"),
        ("book.csv", b"PK\x03\x04\x14\x00\x06\x00", "is a zip or Excel workbook, not CSV"),
        ("headers.csv", b"Email,First Name,Last Name\r\n", "has a header row but no rows under it"),
        ("blank-rows.csv", b"Email;Name\r\n;\r\n\r\n", "has a header row but no rows under it"),
        (
            "wide.csv",
            (",".join(f"c{i}" for i in range(600)) + "\n1\n").encode(),
            "has 600 columns in its header",
        ),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_the_reason(
    imports_web: Web, name: str, data: bytes, says: str
) -> None:
    client = imports_web.browser_client("marketing")
    r = _upload(client, name, data)
    assert r.status_code in (413, 422) and r.template.name == "imports.html"  # type: ignore[attr-defined]
    assert says in r.context["error"]  # type: ignore[attr-defined]
    assert count(imports_web.db, ImportRun) == 0
    assert list((Path(imports_web.app.state.ctx.settings.import_dir)).glob("*")) == []  # nothing kept


def test_a_file_over_the_limit_is_refused_with_the_limit_stated(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    web = make_web(import_dir=str(tmp_path), max_import_bytes=2 * 1024 * 1024)
    client = web.browser_client("marketing")
    r = _upload(client, "big.csv", b"Email\r\n" + b"someone@example.com\r\n" * 120_000)
    assert r.status_code == 413 and 'id="error"' in r.text  # the error page, navigation and all
    assert "larger than 2 MB, the limit for an import in the app" in r.text
    assert count(web.db, ImportRun) == 0


def test_a_200_mb_upload_is_refused_before_a_byte_is_read(web: Web) -> None:
    """Content-Length says 200 MB: the answer comes before the body is read (the default limit)."""
    received: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/imports",
        "raw_path": b"/imports",
        "query_string": b"",
        "headers": [
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", str(200 * 1024 * 1024).encode()),
            (b"accept", b"text/html"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    # In a thread of its own: a browser test in the same worker may hold a running event loop here.
    worker = threading.Thread(target=lambda: asyncio.run(web.app(scope, receive, send)))  # type: ignore[arg-type]
    worker.start()
    worker.join(timeout=60)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    assert start["status"] == 413 and received == []
    assert "larger than 50 MB, the limit for an import in the app" in body


def test_a_column_mapped_twice_is_refused_and_nothing_starts(imports_web: Web) -> None:
    client = imports_web.browser_client("marketing")
    run_id = _run_id(_upload(client, "p.csv", b"Email,Work mail,Name\r\na@acme.com,b@acme.com,Ann\r\n"))
    ctx = client.get(f"/imports/{run_id}").context  # type: ignore[attr-defined]
    r = client.post(f"/imports/{run_id}", data=_form(ctx, action="start", col_0="email", col_1="email"))
    assert r.status_code == 422 and r.context["mode"] == "draft"  # type: ignore[attr-defined]
    assert "columns 'Email' and 'Work mail' both map to 'email'" in r.context["error"]  # type: ignore[attr-defined]
    with imports_web.db.read() as s:
        assert s.get_one(ImportRun, run_id).status == "draft"
    assert count(imports_web.db, Person) == 0


def test_a_row_with_ten_thousand_columns_is_rejected_and_the_rest_land(imports_web: Web) -> None:
    client = imports_web.browser_client("marketing")
    wide = "wide@acme.com,Wide," + ",".join("x" * 3 for _ in range(9_998))
    data = f"Email,Name,Company\r\nann@acme.com,Ann,Acme\r\n{wide}\r\nbob@acme.com,Bob,Acme\r\n".encode()
    run_id = _run_id(_upload(client, "wide-row.csv", data))
    ctx = client.get(f"/imports/{run_id}").context  # type: ignore[attr-defined]
    client.post(f"/imports/{run_id}", data=_form(ctx, action="start"))
    with imports_web.db.read() as s:
        run = s.get_one(ImportRun, run_id)
        assert (run.status, run.rows_done, run.rows_created, run.rows_rejected) == ("done", 3, 2, 1)
        issue = s.scalars(sa.select(ImportIssue).where(ImportIssue.run_id == run_id)).one()
        assert (
            issue.message == "ragged row: 10000 cells where the header has 3"
            and len(issue.cells or []) == 10_000
        )


def test_latin1_umlauts_and_semicolons_are_read_as_written(imports_web: Web) -> None:
    client = imports_web.browser_client("marketing")
    data = "E-Mail;Vorname;Nachname;Land\r\njuergen@alpen.at;Jürgen;Müller;Österreich\r\n".encode("latin-1")
    run_id = _run_id(_upload(client, "umlaute.csv", data))
    ctx = client.get(f"/imports/{run_id}").context  # type: ignore[attr-defined]
    view = ctx["view"]
    assert (view.run.encoding, view.encoding, view.separator) == (
        "latin-1",
        "Latin-1 (ISO 8859-1)",
        "semicolon (;)",
    )
    row = ctx["preview"].rows[0]
    assert (
        row.outcome == "lands"
        and ("first_name", "Jürgen") in row.becomes
        and ("country", "AT") in row.becomes
    )


def test_an_activity_row_without_a_time_takes_the_imports_time_with_a_warning(imports_web: Web) -> None:
    web = imports_web
    client = web.browser_client("marketing")
    data = b"email,type,occurred_at\r\nann@acme.com,webinar_attended,\r\nann@acme.com,page_view,2026-10-01T10:00:00Z\r\n"
    run_id = _run_id(_upload(client, "events.csv", data))
    ctx = client.get(f"/imports/{run_id}").context  # type: ignore[attr-defined]
    assert ctx["view"].run.entity == "activities"
    client.post(f"/imports/{run_id}", data=_form(ctx, action="start"))
    page = client.get(f"/imports/{run_id}")
    warning = page.context["warnings"][0]  # type: ignore[attr-defined]
    assert (
        warning.line == 2
        and "no time given; the import's time (2026-11-01 12:00 UTC) was used" in warning.message
    )
    with web.db.read() as s:
        run = s.get_one(ImportRun, run_id)
        when = s.scalar(sa.select(Activity.occurred_at).where(Activity.type == "webinar_attended"))
        assert when == run.started_at == web.clock()


def test_a_run_whose_server_died_reads_interrupted_and_resumes_where_it_stopped(imports_web: Web) -> None:
    web = imports_web
    client = web.browser_client("marketing")
    run_id = _run_id(_upload(client, "messe.csv", MESSY.read_bytes()))
    ctx = client.get(f"/imports/{run_id}").context  # type: ignore[attr-defined]
    started: list[tuple[int, str]] = []
    web.app.state.import_runner = lambda c, rid, token: started.append((rid, token))  # the thread never runs
    client.post(f"/imports/{run_id}", data=_form(ctx, action="start"))
    assert client.get(f"/imports/{run_id}").context["view"].state == "running"  # type: ignore[attr-defined]
    # Run the first 8 rows as the dead server had, then stop beating.
    with pytest.raises(RuntimeError):
        execute_run(web.db, run_id, started[0][1], now=_dies_after(web, 3), batch_size=4)
    web.clock.advance(minutes=3)
    page = client.get(f"/imports/{run_id}")
    view = page.context["view"]  # type: ignore[attr-defined]
    assert (view.state, view.resumable) == ("interrupted", True) and 0 < view.run.rows_done < 20
    assert "Resume the import" in page.text
    done_before = view.run.rows_done
    web.app.state.import_runner = lambda c, rid, token: execute_run(
        c.db, rid, token, now=c.clock, batch_size=4
    )
    r = client.post(f"/imports/{run_id}/resume", follow_redirects=False)
    assert r.status_code == 303
    view = client.get(f"/imports/{run_id}").context["view"]  # type: ignore[attr-defined]
    assert (view.state, view.run.rows_done, view.run.rows_rejected) == ("done", 20, 3) and done_before < 20
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 16  # 17 rows, Greta twice
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(ImportIssue).where(ImportIssue.kind == "reject"))
            == 3
        )
    again = client.post(f"/imports/{run_id}/resume")
    assert again.status_code == 409


def _dies_after(web: Web, batches: int) -> Callable[[], Any]:
    """A clock for the runner that fails once it has seen `batches` batches through (the kill)."""
    calls = {"n": 0}

    def now() -> Any:
        calls["n"] += 1
        if calls["n"] > batches + 1:
            raise RuntimeError("the server was killed")
        return web.clock()

    return now


def test_only_marketing_and_admins_import(imports_web: Web) -> None:
    rep = imports_web.browser_client("rep")
    assert rep.get("/imports").status_code == 403
    assert _upload(rep, "p.csv", b"Email\r\na@acme.com\r\n").status_code == 403
    admin = imports_web.browser_client("admin")
    assert admin.get("/imports").status_code == 200


def test_the_command_line_import_shows_in_the_history(imports_web: Web, tmp_path: Path) -> None:
    from leadloop.capture.importer import RunLink, run_import

    path = tmp_path / "cli.csv"
    path.write_text("Email\r\nann@acme.com\r\nnot-an-email\r\n")
    with imports_web.db.write() as s:
        run_id = runs.create(
            s,
            runs.NewRun(
                entity="people",
                filename="cli.csv",
                file_sha256="x",
                encoding="utf-8",
                delimiter=",",
                source="cli",
            ),
            now=imports_web.clock(),
            status="running",
            claim="t",
        )
    run_import(imports_web.db, "people", path, now=imports_web.clock, run=RunLink(run_id, "t"))
    client = imports_web.browser_client("marketing")
    row = client.get("/imports").context["runs"][0]  # type: ignore[attr-defined]
    assert (row.run.source, row.state, row.run.rows_created, row.run.rows_rejected) == ("cli", "done", 1, 1)
    assert "command line" in client.get("/imports").text
