"""Error pages keep the navigation for whoever is signed in: a 404 no route's guard saw, a role a
guard refused, input a route could not read, and a crash; a stranger gets none."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.web import Web

HTML = {"accept": "text/html"}


def _error(client: TestClient, path: str, status: int) -> tuple[object, str]:
    r = client.get(path, headers=HTML)
    assert r.status_code == status, r.text
    assert r.template.name == "error.html"  # type: ignore[attr-defined]
    return r.context["who"], r.text  # type: ignore[attr-defined]


def test_a_missing_page_keeps_the_signed_in_navigation(web: Web) -> None:
    client = web.browser_client("rep")
    who, html = _error(client, "/no-such-page", 404)
    assert getattr(who, "role", None) == "rep"
    assert 'href="/inbox"' in html and 'action="/logout"' in html


def test_a_refused_role_and_a_bad_id_keep_it_too(web: Web) -> None:
    client = web.browser_client("rep")
    who, html = _error(client, "/team", 403)  # managers only: the guard refused before setting anyone
    assert getattr(who, "role", None) == "rep" and 'href="/leads"' in html
    who, _ = _error(client, "/leads/not-a-number", 422)
    assert getattr(who, "role", None) == "rep"
    who, _ = _error(client, "/leads/99999999", 404)
    assert getattr(who, "role", None) == "rep"


def test_a_crash_keeps_the_navigation(web: Web) -> None:
    @web.app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("a bug")

    client = web.browser_client("manager")
    client = TestClient(web.app, raise_server_exceptions=False, cookies=client.cookies)
    r = client.get("/boom-for-test", headers=HTML)
    assert r.status_code == 500 and "Something broke on our side" in r.text
    assert 'href="/team"' in r.text  # a manager's navigation


def test_a_stranger_gets_no_navigation(web: Web) -> None:
    who, html = _error(TestClient(web.app), "/no-such-page", 404)
    assert who is None
    assert 'href="/inbox"' not in html and 'href="/login"' in html
