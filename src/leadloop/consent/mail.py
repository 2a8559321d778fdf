"""The double opt-in confirmation mail. It leaves through the outbox in the transaction that made
the consent pending, and, like every message we send a person, carries a working one-click
unsubscribe (a confirmation mail is where people most often want out)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.consent import tokens
from leadloop.consent.gate import header_values, links, recipient
from leadloop.consent.policy import policy_of
from leadloop.jobs import outbox

SUBJECT = "Please confirm your subscription"


def send_confirmation(session: Session, person_id: int, *, now: datetime) -> bool:
    """Enqueue the confirmation mail (one per person a day); False when there is nobody to send it
    to (no address, an erased person, a suppressed address)."""
    found = recipient(session, person_id)
    if found is None or not found.email or found.erased or found.suppressed is not None:
        return False
    policy = policy_of(session)
    confirm = (
        f"{policy.public_url}/c/{tokens.make(policy.key, tokens.CONFIRM, found.person_id, found.email, now)}"
    )
    url, mailto = links(policy, found.person_id, found.email, now)
    body = (
        "You asked to hear from us. Please confirm that this is your address:\n\n"
        f"{confirm}\n\n"
        f"The link works for {policy.confirm_days} days. If you did not ask, ignore this message: "
        "without your confirmation you get nothing more from us.\n\n"
        f"Never mail me again: {url}\n"
    )
    outbox.email(
        session,
        f"consent-confirm:{found.person_id}:{tokens.day_of(now)}",
        to=found.email,
        subject=SUBJECT,
        body=body,
        now=now,
        headers=header_values(url, mailto),
    )
    return True
