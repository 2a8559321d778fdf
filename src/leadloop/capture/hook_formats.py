"""The bodies the bounce webhooks take, read into `MailEvent`s. Pure: bytes or JSON in, events (or a
named refusal that says where the body is wrong) out.

Ours, the generic shape (README, "Bounces and complaints"):

    {"events": [{"type": "bounce", "email": "ann@acme.com", "permanent": true,
                 "id": "evt-81", "occurred_at": "2026-11-01T12:00:00Z",
                 "reason": "550 5.1.1 no such user", "message_id": "<m-1@mail.acme.com>"}]}

`type` is bounce (with `permanent`: true for a hard bounce, false for a soft one), complaint,
unsubscribe, or delivered (acknowledged, nothing recorded). `id` is the sender's event id: a retry
with the same id is one event (without it, the event's content is its key). A batch with any event
wrong is refused whole, each wrong event named, so a sender can fix and resend it.

Mailgun's (documentation.mailgun.com, "Webhook Payloads"): one event per request,
`{"signature": {...}, "event-data": {"event": "failed", "severity": "permanent", "recipient": ...,
"timestamp": 1534110422.39, "id": ..., "delivery-status": {"code": 550, "message": ...},
"message": {"headers": {"message-id": ...}}}}`; `failed` is a bounce (its severity says hard or
soft), `complained` a complaint, `unsubscribed` an unsubscribe; other events are acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadloop.capture.mail_events import MailEvent, Report
from leadloop.contract.normalise import normalise_email, parse_datetime
from leadloop.core.bounds import check_tree
from leadloop.core.errors import InvalidInput

MAX_EVENTS = 1_000  # in one generic batch
MAX_ERRORS = 20  # named in one refusal; the rest are counted
GENERIC_TYPES = ("bounce", "complaint", "unsubscribe", "delivered")
_ACKNOWLEDGED = frozenset({"delivered"})
_FUTURE = timedelta(minutes=10)
MAILGUN_EVENTS = {"failed": Report.BOUNCE, "complained": Report.COMPLAINT, "unsubscribed": Report.UNSUBSCRIBE}


class PayloadError(InvalidInput):
    """The body is not what this webhook takes; the sentence says where."""


class NotJson(PayloadError):
    """The body cannot be read as JSON at all."""

    status_code = 400


@dataclass(frozen=True, slots=True)
class Parsed:
    events: list[MailEvent] = field(default_factory=list)
    ignored: int = 0  # acknowledged, nothing to record (a delivery, a provider's other events)


def read_json(body: bytes) -> Any:
    """The body as JSON, with text every database can store (UnstorableText names the field)."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise NotJson("the body is JSON nested too deep") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise NotJson(f"the body is not JSON: {str(exc)[:120]}") from None
    check_tree(data, ("body",))
    return data


def parse_generic(data: Any, *, now: datetime) -> Parsed:
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise PayloadError('the body must be a JSON object {"events": [...]}')
    items: list[Any] = data["events"]
    if not items:
        raise PayloadError("events: the list is empty; send at least one event")
    if len(items) > MAX_EVENTS:
        raise PayloadError(f"events: {len(items):,} in one request; at most {MAX_EVENTS:,}")
    events: list[MailEvent] = []
    ignored = 0
    errors: list[str] = []
    for i, item in enumerate(items):
        try:
            event = _generic_event(item, now=now)
        except PayloadError as exc:
            errors.append(f"events[{i}]: {exc}")
            continue
        if event is None:
            ignored += 1
        else:
            events.append(event)
    if errors:
        more = f"; and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        raise PayloadError("; ".join(errors[:MAX_ERRORS]) + more + "; nothing was recorded")
    return Parsed(events, ignored)


def _generic_event(item: Any, *, now: datetime) -> MailEvent | None:
    if not isinstance(item, dict):
        raise PayloadError("an event must be a JSON object")
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in GENERIC_TYPES:
        raise PayloadError(f"type: {_shown(kind)} is not one of {', '.join(GENERIC_TYPES)}")
    address = _address(item.get("email"), "email")
    occurred = _when(item.get("occurred_at"), now=now)
    if kind in _ACKNOWLEDGED:
        return None
    permanent = item.get("permanent", None)
    if kind == "bounce" and not isinstance(permanent, bool):
        raise PayloadError("permanent: give true (a hard bounce) or false (a soft one)")
    given_id = item.get("id")
    if isinstance(given_id, bool) or not isinstance(given_id, (str, int, type(None))):
        raise PayloadError("id: give the sender's event id as a string")
    reason = _text(item.get("reason"), "reason", 300)
    message_id = _text(item.get("message_id"), "message_id", 300)
    key = (
        f"id:{given_id}"
        if given_id is not None and str(given_id).strip()
        else f"content:{kind}|{permanent}|{item.get('occurred_at')}|{message_id}"
    )
    return MailEvent(
        Report(kind),
        address,
        key=key[:400],
        permanent=permanent is not False,
        occurred_at=occurred,
        reason=reason,
        message_id=message_id,
    )


def mailgun_signature_block(data: Any) -> Any:
    """Where Mailgun puts its signature (checked before anything else of the body is read)."""
    if not isinstance(data, dict):
        raise PayloadError('the body must be a JSON object {"signature": {...}, "event-data": {...}}')
    return data.get("signature")


def parse_mailgun(data: dict[str, Any], *, token: str, now: datetime) -> Parsed:
    """The one event of a signed Mailgun request; `token` (the signature's) keys it when Mailgun
    gives no event id."""
    item = data.get("event-data")
    if not isinstance(item, dict):
        raise PayloadError('event-data: missing; Mailgun sends {"signature": {...}, "event-data": {...}}')
    name = item.get("event")
    if not isinstance(name, str) or not name:
        raise PayloadError("event-data.event: missing")
    kind = MAILGUN_EVENTS.get(name)
    if kind is None:
        return Parsed(ignored=1)
    address = _address(item.get("recipient"), "event-data.recipient")
    severity = item.get("severity")
    if kind is Report.BOUNCE and severity not in ("permanent", "temporary"):
        raise PayloadError(f"event-data.severity: {_shown(severity)} is neither permanent nor temporary")
    status = item.get("delivery-status")
    status = status if isinstance(status, dict) else {}
    said = status.get("message") or status.get("description") or item.get("reason")
    code = status.get("code")
    reason = " ".join(str(p) for p in (code, said) if p not in (None, "")) or None
    headers = item.get("message", {}).get("headers", {}) if isinstance(item.get("message"), dict) else {}
    message_id = headers.get("message-id") if isinstance(headers, dict) else None
    # Mailgun signs the token, not the event: the token alone keys it, so a captured signature
    # replayed with another event (another address) within the age limit records nothing new.
    key = f"token:{token}"
    return Parsed(
        [
            MailEvent(
                kind,
                address,
                key=key[:400],
                permanent=severity != "temporary",
                occurred_at=_when(item.get("timestamp"), now=now),
                reason=" ".join(reason.split())[:300] if reason else None,
                message_id=_text(message_id, "message-id", 300) if isinstance(message_id, str) else None,
            )
        ]
    )


def _address(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{name}: missing; give the address the report is about")
    if len(value) > 320:
        raise PayloadError(f"{name}: {len(value):,} characters is not an e-mail address")
    try:
        found = normalise_email(value)
    except InvalidInput as exc:
        raise PayloadError(f"{name}: {_shown(value)} is not an e-mail address ({str(exc)[:160]})") from None
    if found is None:
        raise PayloadError(f"{name}: {_shown(value)} is not an e-mail address")
    return found.address


def _when(value: Any, *, now: datetime) -> datetime | None:
    """ISO 8601 (a value without a zone is UTC) or unix seconds; None when not given."""
    if value is None:
        return None
    at: datetime | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            at = datetime.fromtimestamp(float(value), tz=UTC)
        except (ValueError, OverflowError, OSError):
            at = None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            at = parse_datetime(value, field="occurred_at")
        except InvalidInput:
            at = None
    if at is None:
        raise PayloadError(f"occurred_at: {_shown(value)} is neither ISO 8601 nor unix seconds")
    if at > now + _FUTURE:
        raise PayloadError(f"occurred_at: {at.isoformat()} is in the future")
    return at


def _text(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{name}: give a string")
    text = " ".join(value.split())
    return text[:limit] or None


def _shown(value: Any) -> str:
    return repr(value)[:60]
