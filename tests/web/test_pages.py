"""Pages: login, CSRF, leads list (server-side sort/filter/paging), person and account, errors."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.leads.queries import LeadsPage
from tests.fixtures.web import PASSWORD, Web, csrf_from, post_lead


def _seed_leads(web: Web, n: int) -> None:
    api = web.api_client()
    for i in range(n):
        post_lead(
            api,
            email=f"buyer{i}@company{i:02d}.com",
            company=f"Company {i:02d}",
            activity_type="demo_request",
            product="analytics" if i % 2 else "platform",
            occurred_at=f"2026-10-{i % 28 + 1:02d}T10:00:00Z",
        )


def test_login_page_and_wrong_password(web: Web) -> None:
    web.user("rep", "rita@test.example")
    client = TestClient(web.app)
    page = client.get("/login")
    assert page.template.name == "login.html"  # type: ignore[attr-defined]
    r = client.post(
        "/login", data={"email": "rita@test.example", "password": "wrong", "csrf_token": csrf_from(page.text)}
    )
    assert (
        r.status_code == 401 and r.context["error"] == "That e-mail and password do not match an active user."
    )  # type: ignore[attr-defined]


def test_login_redirects_only_inside_the_site(web: Web) -> None:
    web.user("rep", "rita@test.example")
    client = TestClient(web.app)
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "email": "rita@test.example",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"  # home: each role's own day


def test_pages_send_anonymous_visitors_to_login(web: Web) -> None:
    r = TestClient(web.app).get("/leads?stage=mql", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/leads"


def test_form_posts_need_the_csrf_token(web: Web) -> None:
    client = web.browser_client("marketing")
    del client.headers["X-CSRF-Token"]
    r = client.post("/api/v1/leads", json={"email": "a@acme.com"})
    assert r.status_code == 403 and "security token" in r.json()["detail"]
    r = client.post("/logout", data={"csrf_token": "forged"}, headers={"accept": "text/html"})
    assert r.status_code == 403 and r.template.name == "error.html"  # type: ignore[attr-defined]


def test_login_form_itself_needs_the_token(web: Web) -> None:
    web.user("rep", "rita@test.example")
    r = TestClient(web.app).post("/login", data={"email": "rita@test.example", "password": PASSWORD})
    assert r.status_code == 403


def test_leads_list_sorts_filters_and_pages_on_the_server(web: Web) -> None:
    _seed_leads(web, 30)
    client = web.browser_client("marketing")  # inquiries are marketing's: a rep sees only theirs
    r = client.get("/leads")
    page: LeadsPage = r.context["page"]  # type: ignore[attr-defined]
    assert r.template.name == "leads.html" and page.total == 30 and len(page.rows) == 25 and page.pages == 2  # type: ignore[attr-defined]
    # Default order is priority: the time-invariant key, so the hottest lead *now* comes first.
    assert page.filter.sort == "priority"
    assert [row.score for row in page.rows] == sorted((row.score for row in page.rows), reverse=True)
    assert page.rows[0].score > page.rows[-1].score
    r = client.get("/leads", params={"sort": "account", "dir": "asc", "page": 2})
    page = r.context["page"]  # type: ignore[attr-defined]
    assert [row.account for row in page.rows] == [f"Company {i:02d}" for i in range(25, 30)]
    r = client.get("/leads", params={"product": "analytics", "q": "company 1"})
    page = r.context["page"]  # type: ignore[attr-defined]
    # Each word anywhere (the search is word by word): 01, 11, 13, 15, 17, 19 and 21 have "company" and "1".
    assert {row.product for row in page.rows} == {"analytics"} and page.total == 7
    r = client.get("/leads", params={"sort": "'; drop table leads; --", "per_page": 7, "stage": "bogus"})
    page = r.context["page"]  # type: ignore[attr-defined]
    assert (page.filter.sort, page.filter.per_page, page.filter.stage) == ("priority", 25, None)
    partial = client.get("/leads", params={"page": 2}, headers={"HX-Request": "true"})
    assert partial.template.name == "_leads_table.html"  # type: ignore[attr-defined]


def test_person_and_account_pages_show_the_timeline(web: Web) -> None:
    api = web.api_client()
    pid = api.post(
        "/api/v1/leads", json={"email": "ann@acme.com", "first_name": "Ann", "activity_type": "form_submit"}
    ).json()["person_id"]
    api.post(
        "/api/v1/activities", json={"type": "pricing_page_view", "email": "ann@acme.com", "url": "/pricing"}
    )
    client = web.browser_client("marketing")  # an unowned inquiry's person is marketing's to see
    r = client.get(f"/people/{pid}")
    view = r.context["view"]  # type: ignore[attr-defined]
    assert r.template.name == "person.html" and view.activity_total == 2  # type: ignore[attr-defined]
    assert [t.type for t in view.timeline] == ["pricing_page_view", "form_submit"]
    r = client.get(f"/accounts/{view.account.id}")
    assert r.context["view"].account.domain == "acme.com" and len(r.context["view"].people) == 1  # type: ignore[attr-defined]
    r = client.get("/people", params={"q": "ann"})
    assert [p.email for p in r.context["listing"].rows] == ["ann@acme.com"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/people/987654", "/accounts/987654", "/no/such/page"])
def test_errors_are_pages_a_person_can_read(web: Web, path: str) -> None:
    client = web.browser_client()
    r = client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 404 and r.template.name == "error.html"  # type: ignore[attr-defined]
    assert r.context["title"] == "Not found"  # type: ignore[attr-defined]


def test_bad_query_values_get_an_error_page(web: Web) -> None:
    r = web.browser_client().get("/leads", params={"page": "zero"}, headers={"accept": "text/html"})
    assert r.status_code == 422 and r.template.name == "error.html"  # type: ignore[attr-defined]
    assert any(d.startswith("page:") for d in r.context["detail"])  # type: ignore[attr-defined]


def test_healthz_reports_the_database(web: Web) -> None:
    r = TestClient(web.app).get("/healthz")
    assert r.status_code == 200 and r.json()["database"] == "reachable"


def test_healthz_says_when_the_database_is_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from leadloop.settings import Settings
    from leadloop.web.app import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/missing-dir/x.db"))
    r = TestClient(app).get("/healthz")
    assert r.status_code == 503 and r.json()["database"] == "unreachable"


def test_readyz_checks_the_database_redis_and_the_timers(web: Web, make_web) -> None:  # type: ignore[no-untyped-def]
    from leadloop.jobs.timers import schedule

    body = TestClient(web.app).get("/readyz").json()
    if not web.db.is_sqlite:  # PostgreSQL runs the job engine: without a worker, nothing is sent
        assert body["status"] == "degraded" and body["engine_workers"] == 0
        assert "start `leadloop worker`" in body["notes"][0]
        with web.db.write() as s:  # a worker's heartbeat
            s.execute(sa.text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
        body = TestClient(web.app).get("/readyz").json()
        assert body["engine_workers"] == 1
    else:
        assert "engine_workers" not in body  # the sweeper runs in the web process
    assert body["status"] == "ok" and body["redis"] == "not configured" and body["forms_waiting"] == 0
    # A timer due five minutes ago and not done: no worker keeps up.
    with web.db.write() as s:
        schedule(s, "sla_due", "lead:1", web.clock.at - timedelta(minutes=5))
    r = TestClient(web.app).get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "degraded"
    assert r.json()["timers_oldest_due_s"] == 300.0
    assert "timers behind" in r.json()["notes"][0]
    # Redis configured but nobody listening there: still serving, with per-process limits.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lonely = make_web(redis_url=f"redis://127.0.0.1:{port}/0")
    body = TestClient(lonely.app).get("/readyz").json()
    assert body["redis"] == "unreachable" and "rate limits count per process" in " ".join(body["notes"])


def test_readyz_is_503_without_the_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from leadloop.settings import Settings
    from leadloop.web.app import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/missing-dir/x.db"))
    r = TestClient(app).get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable" and r.json()["forms_waiting"] is None


def test_logs_are_json_lines_with_the_request_id(web: Web, capsys: pytest.CaptureFixture[str]) -> None:
    client = TestClient(web.app)
    r = client.get("/healthz", headers={"X-Request-ID": "req-abc-123"})
    assert r.headers["x-request-id"] == "req-abc-123"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [ln for ln in lines if ln.get("event") == "http.request" and ln.get("path") == "/healthz"]
    assert access and access[-1]["request_id"] == "req-abc-123" and access[-1]["status"] == 200
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 32
