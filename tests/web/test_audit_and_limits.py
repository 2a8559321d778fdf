"""The audit log of security events, and sign-in limits per IP and per account."""

from __future__ import annotations

import socket
import uuid

import pytest
from fastapi.testclient import TestClient

from leadloop.web.limits import SharedBuckets, make_limiter
from tests.fixtures.web import PASSWORD, Web, csrf_from

REDIS_URL = "redis://127.0.0.1:6379/15"


def _try_login(client: TestClient, email: str, password: str) -> int:
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=False
    )
    return r.status_code


def test_sign_ins_failures_logouts_and_keys_are_audited(web: Web) -> None:
    email = web.user("rep", "rita@test.example")
    anon = TestClient(web.app)
    assert _try_login(anon, email, "wrong password!") == 401
    web.api_client("marketing")  # makes a key
    web.browser_client("rep").post("/logout")
    events = web.browser_client("admin").get("/api/v1/audit").json()["events"]
    kinds = [(e["kind"], e["subject"]) for e in reversed(events)]
    assert ("login.failed", "rita@test.example") in kinds
    assert ("login", "admin-web@test.example") in kinds
    assert ("api_key.created", "marketing-api@test.example") in kinds
    logout = next(e for e in events if e["kind"] == "logout")
    assert logout["actor"] == "rep-web@test.example" and logout["ip"] == "testclient"


def test_only_admins_read_the_audit_log(web: Web) -> None:
    assert web.browser_client("manager").get("/api/v1/audit").status_code == 403
    page = web.browser_client("admin").get("/admin/audit?kind=login")
    assert page.status_code == 200 and page.template.name == "audit.html"  # type: ignore[attr-defined]
    kinds = {e.kind for e in page.context["entries"]}  # type: ignore[attr-defined]
    assert kinds == {"login"}


def test_one_account_is_limited_whichever_ip_guesses(make_web) -> None:  # type: ignore[no-untyped-def]
    web = make_web(login_burst=3, login_attempts_per_minute=1)
    email = web.user("rep", "rita@test.example")
    codes = []
    for i in range(5):
        # A different sender each time (a botnet): only the per-account bucket can stop it.
        client = TestClient(web.app, client=(f"198.51.100.{i}", 1000))
        codes.append(_try_login(client, email, "guess-" + str(i)))
    assert codes == [401, 401, 401, 429, 429]
    # The right password is refused too while the account is limited, and another account is not.
    assert _try_login(TestClient(web.app, client=("203.0.113.5", 1)), email, PASSWORD) == 429
    other = web.user("rep", "otto@test.example")
    assert _try_login(TestClient(web.app, client=("203.0.113.6", 1)), other, PASSWORD) == 303


def test_one_ip_is_limited_across_accounts(make_web) -> None:  # type: ignore[no-untyped-def]
    web = make_web(login_burst=3, login_attempts_per_minute=1)
    client = TestClient(web.app, client=("198.51.100.9", 1000))
    codes = [_try_login(client, f"u{i}@test.example", "guess") for i in range(4)]
    assert codes == [401, 401, 401, 429]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable at 127.0.0.1:6379")
def test_redis_buckets_are_shared_between_processes() -> None:
    name = f"test-{uuid.uuid4().hex}"
    # Two limiters with their own connections stand for two worker processes.
    one = make_limiter(REDIS_URL, name=name, rate_per_s=0.001, burst=3)
    two = make_limiter(REDIS_URL, name=name, rate_per_s=0.001, burst=3)
    assert isinstance(one, SharedBuckets)
    taken = [one.take("1.2.3.4", 0).allowed, two.take("1.2.3.4", 0).allowed, one.take("1.2.3.4", 0).allowed]
    refused = two.take("1.2.3.4", 0)
    assert taken == [True, True, True] and not refused.allowed and refused.retry_after_s > 0
    assert one.take("5.6.7.8", 0).allowed  # another key has its own bucket
    one.shared.client.delete(f"leadloop:rl:{name}:1.2.3.4", f"leadloop:rl:{name}:5.6.7.8")  # type: ignore[attr-defined]


@pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable at 127.0.0.1:6379")
def test_the_app_limits_sign_ins_through_redis(make_web) -> None:  # type: ignore[no-untyped-def]
    web = make_web(redis_url=REDIS_URL, login_burst=2, login_attempts_per_minute=0.01)
    email = f"{uuid.uuid4().hex[:8]}@test.example"
    web.user("rep", email)
    second_process = make_web(redis_url=REDIS_URL, login_burst=2, login_attempts_per_minute=0.01)
    # A fresh address each run: buckets outlive a run in Redis, and the SQLite and PostgreSQL runs of
    # this test share one Redis at the same time (one of 250 addresses collided now and then).
    tag = uuid.uuid4().hex
    ip = f"2001:db8::{tag[:4]}:{tag[4:8]}:{tag[8:12]}"
    assert _try_login(TestClient(web.app, client=(ip, 1)), email, "guess") == 401
    assert _try_login(TestClient(second_process.app, client=(ip, 1)), email, "guess") == 401
    assert _try_login(TestClient(web.app, client=(ip, 1)), email, "guess") == 429
