"""What a hit on a pixel or a click link becomes: the activity to append. Pure.

A person's hit is an `email_open` or `email_click`; a machine's (classify.py) is an
`email_open_machine` or `email_click_machine`, with the reasons in its payload. Either carries the
message (the outbox key of its send, under `message`, the name a sequence's "opened" branch reads),
the user agent, how long after the send it came, and what the message belongs to.

Repeats are one activity: the dedupe key is the type, the message (and, for a click, the URL) and
the window the hit falls in, one hour for opens and ten minutes for a link. A mail client that
fetches the pixel each time the message is shown, or a double click, adds nothing to the timeline
or the score; a second look the next morning does. The windows are fixed slots, not sliding: two
hits either side of a slot's end are two activities, which the scoring model's daily caps bound
anyway. Person and machine have their own keys, so a scanner's early fetch never hides the open
that follows it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadloop.mailtrack.classify import Request, Rules, Sibling, machine_reasons
from leadloop.mailtrack.tokens import CLICK, OPEN, Claim

WINDOWS = {OPEN: timedelta(hours=1), CLICK: timedelta(minutes=10)}
TYPES = {OPEN: ("email_open", "email_open_machine"), CLICK: ("email_click", "email_click_machine")}
MAX_AGENT = 300


@dataclass(frozen=True)
class Hit:
    """The activity one hit becomes."""

    type: str
    at: datetime
    dedupe_key: str
    payload: dict[str, Any]
    url: str | None = None
    campaign: str | None = None

    @property
    def machine(self) -> bool:
        return bool(self.payload.get("machine"))


def dedupe_key(activity_type: str, message: str, url: str | None, at: datetime, window: timedelta) -> str:
    """`track:` keeps it apart from every other door's keys (mail-in's `mail:`, a visit's `visit:`)."""
    digest = hashlib.sha256(f"{message}\x1f{url or ''}".encode()).hexdigest()[:24]
    return f"track:{activity_type}:{digest}:{int(at.timestamp() // window.total_seconds())}"


def judge(
    claim: Claim, request: Request, *, at: datetime, siblings: tuple[Sibling, ...] = (), rules: Rules
) -> Hit:
    """The activity this hit becomes, a person's or a machine's."""
    machine = machine_reasons(
        claim.kind, request, sent_at=claim.sent_at, at=at, url=claim.url, siblings=siblings, rules=rules
    )
    person_type, machine_type = TYPES[claim.kind]
    kind = machine_type if machine else person_type
    s = claim.source
    payload: dict[str, Any] = {
        "message": claim.message,
        "user_agent": request.user_agent[:MAX_AGENT],
        "seconds_after_send": int((at - claim.sent_at).total_seconds()),
        **({"sequence": s.sequence} if s.sequence else {}),
        **({"step": s.step} if s.step else {}),
        **({"machine": list(machine)} if machine else {}),
    }
    return Hit(
        kind,
        at,
        dedupe_key(kind, claim.message, claim.url, at, WINDOWS[claim.kind]),
        payload,
        claim.url,
        s.campaign,
    )
