"""What a delivery report says about one address, whichever door brought it: an RFC 3464 report
that mail-in read, a bounce webhook in our own JSON shape, or a provider's (Mailgun). Each becomes
one activity on the person who holds the address, so that consent reacts to every source alike
(a hard bounce suppresses the address, a complaint unsubscribes the person; ADR 0031).

Pure: a `MailEvent` in, the `ActivityIn` to append out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from leadloop.capture.model import ActivityIn

# A sender's clock runs a little ahead; a report from further in the future happened now.
_FUTURE = timedelta(minutes=10)


class Report(StrEnum):
    BOUNCE = "bounce"  # the message did not arrive: `permanent` (hard) or not (soft)
    COMPLAINT = "complaint"  # the person marked it as spam (a mailbox provider's feedback loop)
    UNSUBSCRIBE = "unsubscribe"  # the person unsubscribed through the provider's own link


@dataclass(frozen=True, slots=True)
class MailEvent:
    kind: Report
    address: str  # normalised (lower case)
    key: str  # the source's own id of this event: a retried delivery carries the same one
    permanent: bool = True  # a bounce: hard (True) or soft
    occurred_at: datetime | None = None
    reason: str | None = None  # what the receiving server or the provider said, bounded
    message_id: str | None = None  # the message it is about, when the report names it

    @property
    def activity_type(self) -> str:
        if self.kind is Report.BOUNCE:
            return "email_bounce_hard" if self.permanent else "email_bounce_soft"
        if self.kind is Report.COMPLAINT:
            return "email_complaint"
        return "unsubscribe"


def activity_of(event: MailEvent, *, prefix: str, now: datetime) -> ActivityIn:
    """The activity for one report. Its key is the source's key and the address (`prefix` names
    the source), so the same report delivered twice is one activity."""
    at = event.occurred_at if event.occurred_at is not None and event.occurred_at <= now + _FUTURE else now
    payload: dict[str, object] = {"address": event.address}
    if event.kind is Report.BOUNCE:
        payload["permanent"] = event.permanent
    if event.reason:
        payload["reason"] = event.reason
    if event.message_id:
        payload["message_id"] = event.message_id
    return ActivityIn(
        type=event.activity_type,
        occurred_at=at,
        email=event.address,
        channel="email",
        payload=payload,
        dedupe_key=f"{prefix}:{report_key(event.key, event.address)}",
    )


def report_key(key: str, address: str) -> str:
    """One event of one report. A signature token (Mailgun's) is single-use whatever it carries."""
    scope = "" if key.startswith("token:") else address
    return hashlib.sha256(f"{key}\x00{scope}".encode()).hexdigest()[:40]
