"""Sessions and secrets (security issue, part 3): the probe's findings, each as a test."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from typer.testing import CliRunner

from leadloop.auth import sessions
from leadloop.auth.secret import InsecureSecretKey
from leadloop.cli import app as cli
from leadloop.settings import Settings
from leadloop.store.tables import User, WebSession
from leadloop.web.app import create_app
from tests.conftest import count
from tests.fixtures.web import Web

OLD_DEFAULT_KEY = "dev-only-secret-change-me"


def _starlette_cookie(key: str, data: dict[str, object]) -> str:
    # What Starlette's SessionMiddleware accepted: base64 JSON, signed with the secret key.
    return TimestampSigner(key).sign(base64.b64encode(json.dumps(data).encode())).decode()


def test_a_cookie_forged_with_the_old_default_key_signs_nobody_in(web: Web) -> None:
    web.user("admin")  # user #1
    client = TestClient(web.app, cookies={"leadloop_session": _starlette_cookie(OLD_DEFAULT_KEY, {"uid": 1})})
    for path in ("/leads", "/team"):
        r = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


def test_the_app_factory_refuses_a_well_known_or_short_key(make_web) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InsecureSecretKey, match="published placeholder"):
        make_web(secret_key=OLD_DEFAULT_KEY)
    with pytest.raises(InsecureSecretKey, match="at least 32"):
        make_web(secret_key="short")


def test_serve_beyond_localhost_needs_a_key(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("LEADLOOP_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    out = CliRunner().invoke(
        cli, ["serve", "--host", "0.0.0.0", "--database-url", f"sqlite:///{tmp_path}/x.db"]
    )
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "LEADLOOP_SECRET_KEY is not set" in text and "secrets.token_urlsafe(32)" in text
    assert not (tmp_path / "x.db").exists()  # refused before touching anything


def test_logout_ends_the_session_on_the_server(web: Web) -> None:
    client = web.browser_client("rep")
    cookie = client.cookies["leadloop_session"]
    assert client.get("/leads").status_code == 200
    client.post("/logout", follow_redirects=False)
    replay = TestClient(web.app, cookies={"leadloop_session": cookie})
    r = replay.get("/leads", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with web.db.read() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(WebSession).where(WebSession.user_id.is_not(None))
            )
            == 0
        )


def test_the_cookie_is_an_opaque_token(web: Web) -> None:
    client = web.browser_client("rep")
    cookie = client.cookies["leadloop_session"]
    csrf = client.headers["X-CSRF-Token"]
    assert csrf not in cookie and "." not in cookie  # no signed payload
    padded = cookie + "=" * (-len(cookie) % 4)
    assert b"uid" not in base64.urlsafe_b64decode(padded)
    with web.db.read() as s:
        ids = s.scalars(sa.select(WebSession.id)).all()
    assert cookie not in ids  # at rest it is an HMAC, not the token


def test_signing_in_gives_a_new_token(web: Web) -> None:
    """A token planted before sign-in (session fixation) is worth nothing after it."""
    from tests.fixtures.web import PASSWORD, csrf_from

    email = web.user("rep")
    client = TestClient(web.app)
    token = csrf_from(client.get("/login").text)
    before = client.cookies["leadloop_session"]
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert client.cookies["leadloop_session"] != before
    planted = TestClient(web.app, cookies={"leadloop_session": before})
    assert planted.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("overrides", [{"public_url": "https://leads.example.com"}, {"secure_cookies": True}])
def test_the_cookie_is_secure_over_https(make_web, overrides: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    web = make_web(**overrides)
    r = TestClient(web.app, base_url="https://testserver").get("/login")
    cookie = r.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_cookie_is_not_secure_on_plain_http_by_default(web: Web) -> None:
    assert "Secure" not in TestClient(web.app).get("/login").headers["set-cookie"]


def test_deactivating_a_user_signs_them_out(web: Web) -> None:
    client = web.browser_client("rep")
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "users",
            "deactivate",
            "rep-web@test.example",
            "--database-url",
            str(web.db.engine.url.render_as_string(hide_password=False)),
        ],
    )
    assert out.exit_code == 0, out.output
    assert client.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303
    with web.db.read() as s:
        uid = s.scalar(sa.select(User.id).where(User.email == "rep-web@test.example"))
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(WebSession).where(WebSession.user_id == uid)) == 0
        )


def test_end_all_for_a_user_ends_every_browser(web: Web) -> None:
    one = web.browser_client("rep")
    with web.db.read() as s:
        uid = s.scalar(sa.select(User.id).where(User.email == "rep-web@test.example"))
    with web.db.write() as s:
        assert sessions.end_all_for(s, int(uid or 0)) >= 1
    assert one.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303


def test_an_idle_session_ends(web: Web) -> None:
    client = web.browser_client("rep")
    web.clock.advance(hours=7)
    assert client.get("/leads").status_code == 200  # and this request counts as activity
    web.clock.advance(hours=7)
    assert client.get("/leads").status_code == 200
    web.clock.advance(hours=8, seconds=1)
    assert client.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303


def test_a_session_ends_at_its_absolute_limit_however_busy(make_web) -> None:  # type: ignore[no-untyped-def]
    web = make_web(session_idle_s=3600, session_max_age_s=3 * 3600)
    client = web.browser_client("rep")
    for _ in range(3):
        web.clock.advance(minutes=50)
        assert client.get("/leads", follow_redirects=False).status_code == 200
    web.clock.advance(minutes=50)  # 3 h 20 min after sign-in: past the 3 h limit, though never idle
    assert client.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303


def test_csrf_token_lives_in_the_session_row(web: Web) -> None:
    client = web.browser_client("marketing")
    with web.db.read() as s:
        tokens = s.scalars(sa.select(WebSession.csrf_token).where(WebSession.user_id.is_not(None))).all()
    assert client.headers["X-CSRF-Token"] in tokens
    assert client.post("/api/v1/leads", json={"email": "a@acme.com"}).status_code == 200
    client.headers["X-CSRF-Token"] = "forged"
    assert client.post("/api/v1/leads", json={"email": "b@acme.com"}).status_code == 403


def test_expired_rows_are_cleared_as_new_sessions_start(web: Web) -> None:
    web.browser_client("rep")
    web.clock.advance(days=30)
    web.browser_client("marketing")
    assert count(web.db, WebSession) == 1


def test_no_two_apps_share_a_generated_key(db, clock) -> None:  # type: ignore[no-untyped-def]
    """Without a key, each process makes its own: a cookie from one is nothing to another."""
    settings = Settings(database_url=str(db.engine.url), log_json=True)
    one, two = create_app(settings, clock=clock, db=db), create_app(settings, clock=clock, db=db)
    web_one = Web(one, db, clock)
    client = web_one.browser_client("rep")
    other = TestClient(two, cookies={"leadloop_session": client.cookies["leadloop_session"]})
    assert other.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303


def test_an_admin_reset_forces_a_new_password_and_signs_the_user_out(web: Web) -> None:
    from leadloop.auth.handlers import reset_password
    from tests.fixtures.web import csrf_from

    client = web.browser_client("rep")
    with web.db.write() as s:
        reset_password(s, email="rep-web@test.example", new_password="temporary-pass-42", now=web.clock())
    assert client.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303
    fresh = TestClient(web.app)
    token = csrf_from(fresh.get("/login").text)
    fresh.post(
        "/login", data={"email": "rep-web@test.example", "password": "temporary-pass-42", "csrf_token": token}
    )
    r = fresh.get("/leads", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    assert fresh.get("/api/v1/leads").status_code == 403  # nothing else until then
    page = fresh.get("/account/password")
    token = csrf_from(page.text)
    weak = fresh.post(
        "/account/password",
        data={
            "current": "temporary-pass-42",
            "new": "password1234",
            "repeat": "password1234",
            "csrf_token": token,
        },
    )
    assert weak.status_code == 422 and "most guessed" in weak.text
    done = fresh.post(
        "/account/password",
        data={
            "current": "temporary-pass-42",
            "new": "a fine new passphrase",
            "repeat": "a fine new passphrase",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    assert fresh.get("/leads", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303
    again = TestClient(web.app)
    token = csrf_from(again.get("/login").text)
    again.post(
        "/login",
        data={"email": "rep-web@test.example", "password": "a fine new passphrase", "csrf_token": token},
    )
    assert again.get("/leads").status_code == 200
