"""The pure parts of bounces and complaints: the webhook signatures (ours and Mailgun's), the
bodies both webhooks take, a delivery report as an activity, and a DSN's status and diagnostic."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadloop.capture import hook_formats as formats
from leadloop.capture import hook_signatures as sig
from leadloop.capture.mail import Mail, parse
from leadloop.capture.mail_events import MailEvent, Report, activity_of
from leadloop.consent.reactions import suppression_reason
from leadloop.core.bounds import UnstorableText
from tests.fixtures.mails import bounce

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SECRET = "a-shared-secret-of-some-length"
KEY = "mailgun-signing-key-0123456789abcdef"
BODY = b'{"events": [{"type": "bounce", "email": "ann@acme.com", "permanent": true}]}'


def _ts(delta_s: float = 0) -> str:
    return str(int(NOW.timestamp() + delta_s))


def _check(
    body: bytes = BODY, *, secret: str = SECRET, ts: str | None = None, signature: str | None = None
) -> None:
    ts = ts if ts is not None else _ts()
    sig.check(
        secret,
        timestamp=ts,
        signature=signature if signature is not None else sig.sign(SECRET, int(ts), BODY),
        body=body,
        now=NOW,
    )


# Our signature


def test_a_body_signed_with_the_secret_just_now_passes() -> None:
    _check()
    value = sig.sign(SECRET, int(_ts()), BODY)
    assert value.startswith("sha256=") and len(value) == 7 + 64
    _check(signature=value.upper().replace("SHA256=", "sha256="))  # hex in capitals is the same digest


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """What the README tells a sender to compute, computed independently."""
    expected = hmac.new(SECRET.encode(), _ts().encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert sig.sign(SECRET, int(_ts()), BODY) == f"sha256={expected}"


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(sig.BadSignature, match="shared secret"):
        _check(secret="another-secret-of-some-length")


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(sig.BadSignature):
        _check(BODY.replace(b"true", b"false"))


def test_a_timestamp_changed_after_signing_is_refused() -> None:
    """The timestamp is signed with the body: a replay cannot be made fresh by a new header."""
    with pytest.raises(sig.BadSignature):
        _check(ts=_ts(-10), signature=sig.sign(SECRET, int(_ts()), BODY))


@pytest.mark.parametrize("delta", [-301, -3600, 301, 86_400])
def test_a_signature_older_or_further_ahead_than_five_minutes_is_refused(delta: int) -> None:
    ts = _ts(delta)
    with pytest.raises(sig.StaleSignature, match="at most 300 s"):
        _check(ts=ts, signature=sig.sign(SECRET, int(ts), BODY))


@pytest.mark.parametrize("delta", [-299, 0, 299])
def test_a_signature_within_five_minutes_passes(delta: int) -> None:
    ts = _ts(delta)
    _check(ts=ts, signature=sig.sign(SECRET, int(ts), BODY))


@pytest.mark.parametrize(
    ("ts", "signature"),
    [("", "sha256=00"), (None, None), ("1e9", "sha256=00"), ("-1", "sha256=00"), ("9" * 40, "sha256=00")],
)
def test_a_missing_or_unreadable_timestamp_or_signature_is_refused(
    ts: str | None, signature: str | None
) -> None:
    with pytest.raises(sig.BadSignature):
        sig.check(SECRET, timestamp=ts, signature=signature, body=BODY, now=NOW)


def test_a_signature_with_characters_no_digest_has_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(sig.BadSignature):
        _check(signature="sha256=ünïcode")


# Mailgun's signature


def _block(key: str = KEY, *, ts: str | None = None, token: str = "t" * 50) -> dict[str, str]:
    ts = ts or _ts()
    return {"timestamp": ts, "token": token, "signature": sig.mailgun_signature(key, ts, token)}


def test_mailguns_signature_is_hmac_sha256_of_timestamp_and_token() -> None:
    block = _block()
    expected = hmac.new(
        KEY.encode(), (block["timestamp"] + block["token"]).encode(), hashlib.sha256
    ).hexdigest()
    assert block["signature"] == expected
    assert sig.check_mailgun(KEY, block, now=NOW) == "t" * 50


def test_mailguns_signature_under_another_key_or_with_another_token_is_refused() -> None:
    with pytest.raises(sig.BadSignature, match="signing key"):
        sig.check_mailgun(KEY, _block("another-key"), now=NOW)
    forged = {**_block(), "token": "u" * 50}
    with pytest.raises(sig.BadSignature):
        sig.check_mailgun(KEY, forged, now=NOW)


def test_an_old_mailgun_signature_is_refused_as_a_replay() -> None:
    with pytest.raises(sig.StaleSignature):
        sig.check_mailgun(KEY, _block(ts=_ts(-600)), now=NOW)


@pytest.mark.parametrize(
    "block",
    [
        None,
        "sig",
        [],
        {},
        {"timestamp": _ts(), "token": "t"},
        {"timestamp": True, "token": "t", "signature": "s"},
    ],
)
def test_a_missing_or_broken_mailgun_signature_block_is_refused(block: Any) -> None:
    with pytest.raises(sig.BadSignature):
        sig.check_mailgun(KEY, block, now=NOW)


def test_a_mailgun_timestamp_sent_as_a_number_is_read() -> None:
    block: dict[str, Any] = _block()
    block["timestamp"] = int(block["timestamp"])
    assert sig.check_mailgun(KEY, block, now=NOW)


# Our JSON shape


def _events(*events: dict[str, Any]) -> formats.Parsed:
    return formats.parse_generic({"events": list(events)}, now=NOW)


def test_the_generic_shape_reads_bounces_complaints_and_unsubscribes() -> None:
    parsed = _events(
        {
            "type": "bounce",
            "email": " Ann@Acme.com ",
            "permanent": True,
            "id": "evt-1",
            "occurred_at": "2026-11-01T11:58:00Z",
            "reason": "550 5.1.1\n  no such user",
            "message_id": "<m-1@mail.test>",
        },
        {"type": "bounce", "email": "bob@acme.com", "permanent": False, "occurred_at": 1793534000},
        {"type": "complaint", "email": "cy@acme.com"},
        {"type": "unsubscribe", "email": "di@acme.com"},
        {"type": "delivered", "email": "ed@acme.com"},
    )
    hard, soft, complaint, unsubscribe = parsed.events
    assert parsed.ignored == 1
    assert (hard.kind, hard.address, hard.permanent, hard.key) == (
        Report.BOUNCE,
        "ann@acme.com",
        True,
        "id:evt-1",
    )
    assert hard.occurred_at == datetime(2026, 11, 1, 11, 58, tzinfo=UTC)
    assert (hard.reason, hard.message_id) == ("550 5.1.1 no such user", "<m-1@mail.test>")
    assert (soft.permanent, soft.occurred_at) == (False, datetime.fromtimestamp(1793534000, tz=UTC))
    assert (complaint.kind, unsubscribe.kind) == (Report.COMPLAINT, Report.UNSUBSCRIBE)
    assert complaint.occurred_at is None


def test_without_an_id_the_same_content_is_the_same_key_and_other_content_another() -> None:
    one = {
        "type": "bounce",
        "email": "ann@acme.com",
        "permanent": True,
        "occurred_at": "2026-11-01T11:00:00Z",
    }
    a, b, c = _events(one, dict(one), {**one, "occurred_at": "2026-11-01T11:01:00Z"}).events
    assert a.key == b.key != c.key


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ({"type": "opened", "email": "ann@acme.com"}, "events[0]: type: 'opened' is not one of bounce"),
        ({"email": "ann@acme.com"}, "events[0]: type: None is not one of"),
        ({"type": "bounce", "email": "ann@acme.com"}, "permanent: give true"),
        ({"type": "bounce", "email": "ann@acme.com", "permanent": "yes"}, "permanent: give true"),
        ({"type": "complaint"}, "email: missing"),
        ({"type": "complaint", "email": "not an address"}, "'not an address' is not an e-mail address"),
        ({"type": "complaint", "email": "a@b.co" + "x" * 400}, "is not an e-mail address"),
        ({"type": "complaint", "email": "ann@acme.com", "occurred_at": "yesterday"}, "neither ISO 8601"),
        (
            {"type": "complaint", "email": "ann@acme.com", "occurred_at": "2027-01-01T00:00:00Z"},
            "in the future",
        ),
        ({"type": "complaint", "email": "ann@acme.com", "occurred_at": 1e300}, "neither ISO 8601"),
        ({"type": "complaint", "email": "ann@acme.com", "reason": 550}, "reason: give a string"),
        ({"type": "complaint", "email": "ann@acme.com", "id": {"x": 1}}, "id: give the sender's event id"),
        ("bounce", "an event must be a JSON object"),
    ],
)
def test_a_wrong_event_refuses_the_batch_and_says_where(event: Any, says: str) -> None:
    good = {"type": "complaint", "email": "ok@acme.com"}
    with pytest.raises(formats.PayloadError, match="nothing was recorded") as err:
        formats.parse_generic({"events": [event, good]}, now=NOW)
    assert says in str(err.value)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"events": {}},
        {"events": []},
        {"events": [{"type": "complaint", "email": "a@acme.com"}] * 1001},
    ],
)
def test_a_body_that_is_not_a_batch_is_refused(body: Any) -> None:
    with pytest.raises(formats.PayloadError):
        formats.parse_generic(body, now=NOW)


def test_a_refusal_names_at_most_twenty_events() -> None:
    with pytest.raises(formats.PayloadError) as err:
        formats.parse_generic({"events": [{"type": "x"}] * 50}, now=NOW)
    assert (
        "events[19]" in str(err.value)
        and "events[20]" not in str(err.value)
        and "and 30 more" in str(err.value)
    )


def test_a_body_that_is_not_json_or_cannot_be_stored_is_refused_with_why() -> None:
    for raw in (b"", b"{", b"\xff\xfe", b"[" * 100_000):
        with pytest.raises(formats.NotJson) as err:
            formats.read_json(raw)
        assert err.value.status_code == 400
    with pytest.raises(UnstorableText):
        formats.read_json(json.dumps({"events": [{"reason": "a\x00b"}]}).encode())


# Mailgun's body (the shapes of documentation.mailgun.com, "Webhook Payloads")


def _mailgun(event_data: dict[str, Any]) -> formats.Parsed:
    return formats.parse_mailgun({"signature": _block(), "event-data": event_data}, token="t" * 50, now=NOW)


FAILED = {
    "event": "failed",
    "id": "G9Bn5sl1TC6nu79C8C0bwg",
    "timestamp": 1793534100.389832,
    "severity": "permanent",
    "reason": "bounce",
    "recipient": "Invalid@Example.com",
    "log-level": "error",
    "message": {"headers": {"to": "invalid@example.com", "message-id": "20261101.1@mg.ourco.io"}},
    "delivery-status": {
        "attempt-no": 1,
        "code": 550,
        "message": "5.1.1 The email account that you tried to reach does not exist.",
        "description": "",
    },
}


def test_a_permanent_mailgun_failure_is_a_hard_bounce() -> None:
    (event,) = _mailgun(FAILED).events
    assert (event.kind, event.address, event.permanent) == (Report.BOUNCE, "invalid@example.com", True)
    assert event.reason == "550 5.1.1 The email account that you tried to reach does not exist."
    # Keyed by the signed token, never by the unsigned event id: a token is single-use.
    assert event.message_id == "20261101.1@mg.ourco.io" and event.key == "token:" + "t" * 50
    assert event.occurred_at == datetime.fromtimestamp(1793534100.389832, tz=UTC)


def test_a_temporary_mailgun_failure_is_a_soft_bounce() -> None:
    data = {**FAILED, "severity": "temporary", "delivery-status": {"code": 498, "description": "No MX"}}
    (event,) = _mailgun(data).events
    assert (event.permanent, event.reason) == (False, "498 No MX")


def test_a_mailgun_complaint_and_unsubscribe_and_the_events_we_do_not_record() -> None:
    (complaint,) = _mailgun(
        {"event": "complained", "recipient": "ann@acme.com", "timestamp": 1793534000}
    ).events
    (unsubscribe,) = _mailgun({"event": "unsubscribed", "recipient": "ann@acme.com"}).events
    assert (complaint.kind, unsubscribe.kind) == (Report.COMPLAINT, Report.UNSUBSCRIBE)
    assert complaint.key == "token:" + "t" * 50  # the request's own token
    for other in ("delivered", "opened", "clicked", "accepted", "rejected", "stored"):
        assert _mailgun({"event": other, "recipient": "ann@acme.com"}) == formats.Parsed(ignored=1)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"event": "failed", "severity": "permanent"}, "event-data.recipient: missing"),
        ({"event": "failed", "recipient": "ann@acme.com"}, "severity: None is neither"),
        ({"event": "complained", "recipient": "nobody"}, "is not an e-mail address"),
        ({"recipient": "ann@acme.com"}, "event-data.event: missing"),
        ({"event": "complained", "recipient": "ann@acme.com", "timestamp": "soon"}, "neither ISO 8601"),
    ],
)
def test_a_mailgun_event_we_cannot_read_is_refused(data: dict[str, Any], says: str) -> None:
    with pytest.raises(formats.PayloadError, match=says):
        _mailgun(data)
    with pytest.raises(formats.PayloadError, match="event-data: missing"):
        formats.parse_mailgun({"signature": _block()}, token="t", now=NOW)
    with pytest.raises(formats.PayloadError):
        formats.mailgun_signature_block(["not", "an", "object"])


# A report as an activity


def test_a_report_becomes_its_activity_with_the_address_and_a_key_of_source_and_address() -> None:
    hard = MailEvent(
        Report.BOUNCE, "ann@acme.com", key="id:1", reason="550", occurred_at=NOW - timedelta(hours=1)
    )
    a = activity_of(hard, prefix="hook", now=NOW)
    assert (a.type, a.email, a.channel, a.occurred_at) == (
        "email_bounce_hard",
        "ann@acme.com",
        "email",
        hard.occurred_at,
    )
    assert a.payload == {"address": "ann@acme.com", "permanent": True, "reason": "550"}
    assert a.dedupe_key == activity_of(hard, prefix="hook", now=NOW + timedelta(days=1)).dedupe_key
    assert a.dedupe_key != activity_of(hard, prefix="mailgun", now=NOW).dedupe_key
    other = MailEvent(Report.BOUNCE, "bob@acme.com", key="id:1")
    assert activity_of(other, prefix="hook", now=NOW).dedupe_key != a.dedupe_key
    soft = MailEvent(Report.BOUNCE, "ann@acme.com", key="id:2", permanent=False)
    assert activity_of(soft, prefix="hook", now=NOW).type == "email_bounce_soft"
    assert (
        activity_of(MailEvent(Report.COMPLAINT, "a@b.co", key="k"), prefix="p", now=NOW).type
        == "email_complaint"
    )
    assert (
        activity_of(MailEvent(Report.UNSUBSCRIBE, "a@b.co", key="k"), prefix="p", now=NOW).type
        == "unsubscribe"
    )


def test_a_report_from_the_future_happened_now() -> None:
    ahead = MailEvent(Report.COMPLAINT, "ann@acme.com", key="k", occurred_at=NOW + timedelta(hours=2))
    assert activity_of(ahead, prefix="p", now=NOW).occurred_at == NOW


def test_the_suppression_reason_says_what_when_and_through_which_door() -> None:
    row = {
        "type": "email_bounce_hard",
        "occurred_at": NOW,
        "source": "mailgun",
        "payload": {"reason": "550 5.1.1"},
    }
    assert suppression_reason(row) == "hard bounce on 2026-11-01 (mailgun): 550 5.1.1"
    assert (
        suppression_reason({**row, "type": "email_complaint", "payload": {}})
        == "spam complaint on 2026-11-01 (mailgun)"
    )


# An RFC 3464 report keeps the status and what the server said


def test_a_delivery_report_keeps_its_status_and_diagnostic() -> None:
    raw = bounce(failed="gone@polar-signal.se").replace(
        b"Status: 5.1.1\r\n",
        b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <gone@polar-signal.se> no such user\r\n",
    )
    mail = parse(raw)
    assert isinstance(mail, Mail)
    (b,) = mail.bounces
    assert (b.recipient, b.permanent, b.status) == ("gone@polar-signal.se", True, "5.1.1")
    assert b.diagnostic == "550 5.1.1 <gone@polar-signal.se> no such user"
