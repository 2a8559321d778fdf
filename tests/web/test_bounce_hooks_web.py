"""The bounce webhooks over HTTP: public (no session, key or CSRF token) but signed; a signed report
is recorded and consent acts on it in the request; unsigned, badly signed and stale requests are
refused and logged with the client's address, and a flood of them is throttled; every bad body
gets a 4xx that says why, never a 5xx; and Mailgun's own format works the same way."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from leadloop.capture import hook_signatures as sig
from leadloop.consent.decision import Reason
from leadloop.consent.gate import may_send
from leadloop.store.tables import Activity, ConsentEvent, Person, Suppression
from tests.conftest import count
from tests.fixtures.consent import consenting
from tests.fixtures.web import Web

SECRET = "the-secret-we-share-with-the-sender"
KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
BOUNCES = "/api/v1/hooks/bounces"
MAILGUN = "/api/v1/hooks/mailgun"


@pytest.fixture
def hooks(make_web: Callable[..., Web]) -> Web:
    return make_web(bounce_webhook_secret=SECRET, mailgun_webhook_signing_key=KEY)


def _stranger(web: Web) -> TestClient:
    """A provider's server: no cookie, no session, no API key, no CSRF token."""
    return TestClient(web.app, follow_redirects=False)


def _post(
    web: Web,
    payload: Any,
    *,
    secret: str = SECRET,
    age_s: int = 0,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = int(web.clock().timestamp()) - age_s
    signed = {
        sig.TIMESTAMP_HEADER: str(ts),
        sig.SIGNATURE_HEADER: sig.sign(secret, ts, body),
        "content-type": "application/json",
    }
    return _stranger(web).post(BOUNCES, content=body, headers={**signed, **(headers or {})})


def _batch(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events)}


HARD = {"type": "bounce", "email": "ann@acme.com", "permanent": True, "id": "evt-1", "reason": "550 5.1.1"}


def _reason(web: Web, pid: int) -> Reason:
    with web.db.write() as s:
        return may_send(s, pid, "newsletter", web.clock()).reason


def _suppressed(web: Web) -> list[tuple[str, str]]:
    with web.db.read() as s:
        rows = s.execute(sa.select(Suppression.value, Suppression.source)).all()
    return [(value, source) for value, source in rows]


def _log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_a_signed_report_is_recorded_and_the_gate_refuses_the_address_in_the_same_request(hooks: Web) -> None:
    ann = consenting(hooks.db, hooks.clock, "ann@acme.com")
    r = _post(hooks, _batch(HARD, {"type": "delivered", "email": "ann@acme.com"}))
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 2, "recorded": 1, "duplicates": 0, "unknown": 0, "ignored": 1}
    assert "set-cookie" not in r.headers
    assert (
        _suppressed(hooks) == [("ann@acme.com", "bounce")]
        and _reason(hooks, ann) == Reason.SUPPRESSED_ADDRESS
    )


def test_a_retried_webhook_counts_once(hooks: Web) -> None:
    consenting(hooks.db, hooks.clock, "ann@acme.com")
    assert _post(hooks, _batch(HARD)).json()["recorded"] == 1
    hooks.clock.advance(minutes=3)  # the retry is signed again, later
    assert _post(hooks, _batch(HARD)).json() == {
        "received": 1,
        "recorded": 0,
        "duplicates": 1,
        "unknown": 0,
        "ignored": 0,
    }
    with hooks.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Activity.type == "email_bounce_hard")) == 1


def test_a_complaint_unsubscribes_the_person_from_everything(hooks: Web) -> None:
    ann = consenting(hooks.db, hooks.clock, "ann@acme.com")
    r = _post(hooks, _batch({"type": "complaint", "email": "ann@acme.com", "id": "fbl-9"}))
    assert r.status_code == 200 and r.json()["recorded"] == 1
    with hooks.db.read() as s:
        last = s.execute(sa.select(ConsentEvent).order_by(ConsentEvent.id.desc()).limit(1)).scalar_one()
        opt_in = s.scalar(sa.select(Person.email_opt_in).where(Person.id == ann))
    assert (last.scope, last.status, last.source, opt_in) == ("*", "withdrawn", "complaint", False)
    assert _suppressed(hooks) == [("ann@acme.com", "complaint")]


def test_a_report_about_an_address_nobody_holds_is_acknowledged_and_creates_nobody(hooks: Web) -> None:
    r = _post(hooks, _batch({**HARD, "email": "stranger@nowhere.example.org"}))
    assert r.status_code == 200 and r.json()["unknown"] == 1
    assert count(hooks.db, Person) == 0 and count(hooks.db, Activity) == 0 and _suppressed(hooks) == []


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("unsigned", {"headers": {sig.TIMESTAMP_HEADER: "", sig.SIGNATURE_HEADER: ""}}),
        ("wrong secret", {"secret": "not-the-secret-we-share-at-all"}),
        ("six minutes old", {"age_s": 360}),
        ("garbage signature", {"headers": {sig.SIGNATURE_HEADER: "sha256=deadbeef"}}),
        ("not a timestamp", {"headers": {sig.TIMESTAMP_HEADER: "yesterday"}}),
    ],
)
def test_a_request_not_signed_by_our_sender_is_refused_and_logged(
    hooks: Web, capsys: pytest.CaptureFixture[str], case: str, kwargs: dict[str, Any]
) -> None:
    consenting(hooks.db, hooks.clock, "ann@acme.com")
    capsys.readouterr()
    r = _post(hooks, _batch(HARD), **kwargs)
    assert r.status_code == 401, (case, r.text)
    assert r.json()["detail"]
    refused = [line for line in _log_lines(capsys) if line.get("event") == "hooks.bad_signature"]
    assert refused and refused[0]["ip"] == "testclient" and refused[0]["hook"] == "bounces"
    assert _suppressed(hooks) == [] and count(hooks.db, Activity) == 1  # only Ann's own record_created


def test_a_body_changed_after_signing_is_refused(hooks: Web) -> None:
    consenting(hooks.db, hooks.clock, "ann@acme.com")
    body = json.dumps(_batch(HARD)).encode()
    ts = int(hooks.clock().timestamp())
    tampered = body.replace(b"ann@acme.com", b"bob@acme.com")
    r = _stranger(hooks).post(
        BOUNCES,
        content=tampered,
        headers={sig.TIMESTAMP_HEADER: str(ts), sig.SIGNATURE_HEADER: sig.sign(SECRET, ts, body)},
    )
    assert r.status_code == 401 and _suppressed(hooks) == []


def test_a_flood_of_bad_signatures_is_throttled_per_client_and_logged(
    make_web: Callable[..., Web], capsys: pytest.CaptureFixture[str]
) -> None:
    web = make_web(bounce_webhook_secret=SECRET, bounce_webhook_per_minute=1, bounce_webhook_burst=5)
    capsys.readouterr()
    codes = [
        _post(web, _batch(HARD), secret="an-attackers-guess-at-the-secret").status_code for _ in range(30)
    ]
    assert codes == [401] * 5 + [429] * 25
    last = _post(web, _batch(HARD))  # even a good signature waits its turn from this address
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
    events = [line["event"] for line in _log_lines(capsys)]
    assert events.count("hooks.bad_signature") == 5 and events.count("hooks.throttled") == 26


@pytest.mark.parametrize(
    ("raw", "status", "says"),
    [
        (b"{not json", 400, "not JSON"),
        (b"", 400, "not JSON"),
        (b"[" * 5_000 + b"]" * 5_000, 400, "nested too deep"),
        (b"[" * 40 + b"]" * 40, 422, "nested more than 32"),
        (json.dumps(["a", "list"]).encode(), 422, '{"events": [...]}'),
        (json.dumps(_batch({"type": "opened", "email": "ann@acme.com"})).encode(), 422, "events[0]: type"),
        (json.dumps(_batch({**HARD, "email": "no-at-sign"})).encode(), 422, "events[0]: email"),
        (json.dumps(_batch({**HARD, "reason": "a\x00b"})).encode(), 422, "cannot be stored"),
    ],
)
def test_a_bad_body_gets_a_4xx_that_says_why_and_records_nothing(
    hooks: Web, raw: bytes, status: int, says: str
) -> None:
    consenting(hooks.db, hooks.clock, "ann@acme.com")
    r = _post(hooks, None, raw=raw)
    assert r.status_code == status, r.text
    assert says in str(r.json()["detail"])
    assert _suppressed(hooks) == []


def test_a_body_of_any_content_type_is_read_as_the_signed_bytes(hooks: Web) -> None:
    consenting(hooks.db, hooks.clock, "ann@acme.com")
    r = _post(hooks, _batch(HARD), headers={"content-type": "text/plain"})
    assert r.status_code == 200 and r.json()["recorded"] == 1
    nul = json.dumps(_batch({**HARD, "id": "2", "reason": "a\x00b"})).encode()
    assert _post(hooks, None, raw=nul, headers={"content-type": "text/plain"}).status_code == 422


def test_a_huge_body_is_refused_before_it_is_read(hooks: Web) -> None:
    big = json.dumps(_batch(*[HARD] * 3_000)).encode()
    assert len(big) > 256 * 1024
    r = _post(hooks, None, raw=big)
    assert r.status_code == 413 and "262,144" in r.json()["detail"]


def test_without_a_secret_the_webhooks_answer_503_and_take_nothing(make_web: Callable[..., Web]) -> None:
    web = make_web()
    consenting(web.db, web.clock, "ann@acme.com")
    r = _post(web, _batch(HARD))
    assert r.status_code == 503 and "LEADLOOP_BOUNCE_WEBHOOK_SECRET" in r.json()["detail"]
    r = _stranger(web).post(MAILGUN, json=_mailgun_body({"event": "complained", "recipient": "ann@acme.com"}))
    assert r.status_code == 503 and "LEADLOOP_MAILGUN_WEBHOOK_SIGNING_KEY" in r.json()["detail"]
    assert _suppressed(web) == []


def test_a_short_secret_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from leadloop.settings import Settings

    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(bounce_webhook_secret="short")


# Mailgun


def _mailgun_body(
    event_data: dict[str, Any], *, key: str = KEY, age_s: int = 0, now: float = 0, token: str | None = None
) -> dict[str, Any]:
    ts = str(int(now) - age_s)
    token = token or secrets.token_hex(25)  # Mailgun signs every request with a token of its own
    return {
        "signature": {"timestamp": ts, "token": token, "signature": sig.mailgun_signature(key, ts, token)},
        "event-data": event_data,
    }


def _mailgun(web: Web, event_data: dict[str, Any], **kwargs: Any) -> Response:
    body = _mailgun_body(event_data, now=web.clock().timestamp(), **kwargs)
    return _stranger(web).post(MAILGUN, json=body)


FAILED = {
    "event": "failed",
    "id": "G9Bn5sl1TC6nu79C8C0bwg",
    "severity": "permanent",
    "reason": "bounce",
    "recipient": "ann@acme.com",
    "message": {"headers": {"message-id": "20261101.1@mg.ourco.io"}},
    "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist."},
}


def test_a_mailgun_permanent_failure_suppresses_the_address(hooks: Web) -> None:
    ann = consenting(hooks.db, hooks.clock, "ann@acme.com")
    body = _mailgun_body(
        {**FAILED, "timestamp": hooks.clock().timestamp() - 30}, now=hooks.clock().timestamp()
    )
    r = _stranger(hooks).post(MAILGUN, json=body)
    assert r.status_code == 200 and r.json()["recorded"] == 1
    assert (
        _suppressed(hooks) == [("ann@acme.com", "bounce")]
        and _reason(hooks, ann) == Reason.SUPPRESSED_ADDRESS
    )
    with hooks.db.read() as s:
        payload = s.scalars(sa.select(Activity.payload).where(Activity.type == "email_bounce_hard")).one()
        source = s.scalars(sa.select(Activity.source).where(Activity.type == "email_bounce_hard")).one()
    assert payload["reason"] == "550 5.1.1 The email account does not exist." and source == "mailgun"
    again = _stranger(hooks).post(MAILGUN, json=body)  # the same signed request again: Mailgun's retry
    assert again.json()["duplicates"] == 1


def test_a_captured_mailgun_signature_replayed_with_another_event_records_nothing(hooks: Web) -> None:
    """Mailgun signs its token, not the event: within the age limit a captured signature could carry
    any event. The token is single-use, so the forged one is a duplicate and Bob stays reachable."""
    consenting(hooks.db, hooks.clock, "ann@acme.com")
    bob = consenting(hooks.db, hooks.clock, "bob@acme.com")
    token = secrets.token_hex(25)
    now = hooks.clock().timestamp()
    real = _stranger(hooks).post(MAILGUN, json=_mailgun_body(FAILED, now=now, token=token))
    assert real.json()["recorded"] == 1
    forged = _mailgun_body({**FAILED, "id": "forged", "recipient": "bob@acme.com"}, now=now, token=token)
    replay = _stranger(hooks).post(MAILGUN, json=forged)
    assert replay.status_code == 200 and replay.json()["recorded"] == 0
    assert _suppressed(hooks) == [("ann@acme.com", "bounce")] and _reason(hooks, bob) == Reason.CONSENT


def test_a_mailgun_temporary_failure_a_complaint_and_other_events(hooks: Web) -> None:
    ann = consenting(hooks.db, hooks.clock, "ann@acme.com")
    soft = _mailgun(hooks, {**FAILED, "id": "t-1", "severity": "temporary"})
    assert soft.json()["recorded"] == 1 and _suppressed(hooks) == [] and _reason(hooks, ann) == Reason.CONSENT
    opened = _mailgun(hooks, {"event": "opened", "recipient": "ann@acme.com", "id": "o-1"})
    assert opened.status_code == 200 and opened.json()["ignored"] == 1
    complained = _mailgun(hooks, {"event": "complained", "recipient": "ann@acme.com", "id": "c-1"})
    assert complained.json()["recorded"] == 1
    assert _suppressed(hooks) == [("ann@acme.com", "complaint")]
    with hooks.db.write() as s:
        assert not may_send(s, ann, "events", hooks.clock()).allowed


@pytest.mark.parametrize(
    ("case", "kwargs", "status"),
    [
        ("another key", {"key": "key-not-ours-at-all"}, 401),
        ("ten minutes old", {"age_s": 600}, 401),
    ],
)
def test_a_mailgun_request_not_signed_with_our_key_or_stale_is_refused(
    hooks: Web, capsys: pytest.CaptureFixture[str], case: str, kwargs: dict[str, Any], status: int
) -> None:
    consenting(hooks.db, hooks.clock, "ann@acme.com")
    capsys.readouterr()
    r = _mailgun(hooks, FAILED, **kwargs)
    assert r.status_code == status, case
    assert any(line.get("event") == "hooks.bad_signature" for line in _log_lines(capsys))
    assert _suppressed(hooks) == []


def test_mailgun_bodies_that_cannot_be_taken_get_a_4xx(hooks: Web) -> None:
    client = _stranger(hooks)
    assert client.post(MAILGUN, json={"event-data": FAILED}).status_code == 401  # no signature
    legacy = {"content-type": "application/x-www-form-urlencoded"}  # Mailgun's webhooks before 2018
    r = client.post(MAILGUN, content=b"token=x&timestamp=1&signature=y", headers=legacy)
    assert r.status_code == 415 and "JSON" in r.json()["detail"]
    assert _post(hooks, None, raw=b"events=1", headers=legacy).status_code == 415
    assert (
        client.post(MAILGUN, content=b"{nope", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert client.post(MAILGUN, json=["x"]).status_code == 422
    missing = _mailgun_body({"event": "failed", "severity": "permanent"}, now=hooks.clock().timestamp())
    r = client.post(MAILGUN, json=missing)
    assert r.status_code == 422 and "event-data.recipient" in r.json()["detail"]
    assert _suppressed(hooks) == []
