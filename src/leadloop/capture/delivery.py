"""Recording delivery reports (bounces, complaints, a provider's unsubscribes) as activities, for
every door that brings them: mail-in's RFC 3464 reports and the bounce webhooks. Consent reacts to
the activities in the same transaction (ADR 0031).

Only an address someone holds is recorded: a report about an address nobody holds creates nobody
(a bounce is not a buyer's signal, and a forged webhook must not fill the warehouse) and is
counted as `unknown`. The same report twice (a provider's retry) is one activity, by its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.capture.activities import ingest_activities
from leadloop.capture.log import Link
from leadloop.capture.mail_events import MailEvent, activity_of
from leadloop.capture.model import ActivityIn
from leadloop.capture.repository import people_by_email


@dataclass(slots=True)
class Recorded:
    received: int = 0
    recorded: int = 0  # new activities
    duplicates: int = 0  # recorded before (a retry)
    unknown: int = 0  # about an address nobody holds: nothing recorded
    ignored: int = 0  # acknowledged, nothing to record (a delivery, a provider's other events)
    people: list[str] | None = None  # the addresses recorded, for mail-in's answer

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "unknown": self.unknown,
            "ignored": self.ignored,
        }


def record_mail_events(
    session: Session, events: list[MailEvent], *, now: datetime, source: str, prefix: str, ignored: int = 0
) -> Recorded:
    """Append one activity per report about a known address, in the caller's transaction.
    `source` is the activity's (mail, webhook, mailgun); `prefix` names the source in the key."""
    done = Recorded(received=len(events) + ignored, ignored=ignored)
    known = people_by_email(session, {e.address for e in events})
    items: list[ActivityIn] = []
    links: list[Link] = []
    for e in events:
        if e.address not in known:
            done.unknown += 1
            continue
        items.append(activity_of(e, prefix=prefix, now=now))
        links.append(known[e.address])
    done.people = sorted({e.address for e in events if e.address in known})
    if items:
        result = ingest_activities(session, items, now=now, source=source, person_ids=links)
        done.recorded = sum(1 for o in result.outcomes if o.status == "created")
        done.duplicates = sum(1 for o in result.outcomes if o.status == "duplicate")
    return done
