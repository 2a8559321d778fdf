"""Recording a hit: load who it is about, decide what it was (model.py), and hand the activity to
capture through the `MailTracked` event, in one transaction. The caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.core.events import MailTracked
from leadloop.core.reactions import publish
from leadloop.mailtrack import repository as repo
from leadloop.mailtrack.classify import Request
from leadloop.mailtrack.model import Hit, judge
from leadloop.mailtrack.policy import policy_of
from leadloop.mailtrack.tokens import Claim, expired


@dataclass(frozen=True, slots=True)
class Recorded:
    """What became of a hit: the activity (None when nothing was recorded) and why."""

    hit: Hit | None
    why: str


def record_hit(session: Session, claim: Claim, request: Request, *, now: datetime) -> Recorded:
    """Record an open or a click of a genuine link. Nothing is recorded for a link older than
    LEADLOOP_MAILTRACK_LINK_DAYS, a person who no longer exists, was erased, or objected to tracking;
    the pixel and the redirect answer the same either way."""
    policy = policy_of(session)
    if expired(claim, now, policy.link_days):
        return Recorded(None, "expired")
    who = repo.recipient(session, claim.person_id)
    if who is None:
        return Recorded(None, "unknown person")
    if who.erased or who.objected:
        return Recorded(None, "erased" if who.erased else "objected to tracking")
    near = repo.siblings(session, who.person_id, claim.message, now, policy.rules.burst) if claim.url else ()
    hit = judge(claim, request, at=now, siblings=near, rules=policy.rules)
    publish(
        session,
        [
            MailTracked(
                who.person_id,
                who.account_id,
                hit.type,
                hit.at,
                hit.dedupe_key,
                hit.payload,
                url=hit.url,
                campaign=hit.campaign,
            )
        ],
        now=now,
    )
    return Recorded(hit, "machine" if hit.machine else "person")
