"""What sequences react to, wired in `leadloop.bootstrap`, inside the transaction that raised it.

Enter: a new lead not ready for sales (`inquiry`, the same day), a lead sales sent back
(`LeadRecycled`, by its reason), an MQL that cooled, a lead that moved to a stage a sequence names,
an activity a sequence names (a form, a download).

Leave (goals): a reply, a meeting, an unsubscribe, a hard bounce or a complaint by the person; the
lead reaching MQL, or a salesperson owning it. An enrolment that ends here has its timer settled in
the same transaction, so a step due at that moment finds it ended and sends nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import (
    ActivitiesAppended,
    Event,
    LeadAssigned,
    LeadCooled,
    LeadMoved,
    LeadOpened,
    LeadReachedMQL,
    LeadRecycled,
    PersonErased,
    SegmentEntered,
)
from leadloop.lifecycle.model import DEFAULT_PRODUCT, OPEN, WITH_MARKETING, Stage
from leadloop.nurture import repository as repo
from leadloop.nurture.handlers import cancel_sends, exit_enrolments, on_signal
from leadloop.nurture.model import Signal, strength
from leadloop.segments.queries import changed_people
from leadloop.store.tables import Segment as SegmentRow

# The person's own activities that end their enrolments, and the reason each gives.
EXIT_ON: dict[str, str] = {
    "email_reply": "replied",
    "meeting": "meeting_booked",
    "unsubscribe": "unsubscribed",
    "email_bounce_hard": "hard_bounce",
    "email_complaint": "complaint",
    "spam_complaint": "complaint",
}
# Where a lead may be for its people to enter a sequence: with marketing, or lost (remarketing).
MAX_REFERENCES = 50  # of a reply's In-Reply-To and References, the ones looked up

ENTERABLE = WITH_MARKETING | {Stage.LOST}


def _start(
    session: Session, signal: Signal, lead_ids: list[int], stages: frozenset[Stage], *, now: datetime
) -> None:
    """Enrol the people of these leads in the sequences `signal` starts, for the leads still where
    a sequence may take them (a hand-raise may have made one an MQL in the same capture, before
    this reaction ran). Nothing is read when no active sequence wants the signal."""
    active = repo.active_sequences(session)
    if not any(strength(doc.triggers, signal) for _, doc in active):
        return
    now_at = repo.lead_stages(session, lead_ids)
    leads = [i for i in dict.fromkeys(lead_ids) if now_at.get(i) in stages]
    contacts = repo.lead_contacts(session, leads)
    people = [(pid, lead_id) for lead_id in leads for pid in contacts.get(lead_id, [])]
    on_signal(session, signal, people, now=now)


def on_lead_opened(session: Session, events: list[LeadOpened], now: datetime) -> list[Event]:
    """A new inquiry that is not ready for sales starts its sequence now (the first step at the next
    sweep, inside the send window)."""
    _start(session, Signal("inquiry"), [e.lead_id for e in events], frozenset({Stage.INQUIRY}), now=now)
    return []


def on_lead_recycled(session: Session, events: list[LeadRecycled], now: datetime) -> list[Event]:
    """Sales rejected or disqualified a lead (or it went back to nurture): the sequence for its reason."""
    by_reason: dict[str | None, list[int]] = defaultdict(list)
    for e in events:
        by_reason[e.reason].append(e.lead_id)
    for reason, lead_ids in by_reason.items():
        _start(session, Signal("recycled", reason), lead_ids, ENTERABLE, now=now)
    return []


def on_lead_cooled(session: Session, events: list[LeadCooled], now: datetime) -> list[Event]:
    _start(session, Signal("cooled"), [e.lead_id for e in events], ENTERABLE, now=now)
    return []


def on_lead_moved(session: Session, events: list[LeadMoved], now: datetime) -> list[Event]:
    """A lead moved to a stage (lost, nurture, recycled...): the sequences that name it."""
    by_stage: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if e.previous is not None and e.previous != e.stage:
            by_stage[e.stage].append(e.lead_id)
    for stage, lead_ids in by_stage.items():
        _start(session, Signal("stage", stage), lead_ids, frozenset({Stage(stage)}), now=now)
    return []


def on_activities(session: Session, events: list[ActivitiesAppended], now: datetime) -> list[Event]:
    """The person's goals first (a reply ends their sequences), then the activities that start one."""
    rows = [r for e in events for r in e.rows if r.get("person_id") is not None]
    if not rows:
        return []
    exits: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        if (reason := EXIT_ON.get(r.get("type") or "")) is not None:
            exits[reason].add(r["person_id"])
    for reason, people in exits.items():
        exit_enrolments(session, reason=reason, person_ids=sorted(people), now=now)
    # A reply names the drip e-mail it answers: that enrolment ends, whoever wrote from where.
    answered = {
        str(m)
        for r in rows
        if r.get("type") == "email_reply"
        for m in ((r.get("payload") or {}).get("in_reply_to") or ())[:MAX_REFERENCES]
    }
    if answered:
        enrolment_ids = repo.enrolments_answered(session, answered)
        if enrolment_ids:
            exit_enrolments(session, reason="replied", enrolment_ids=enrolment_ids, now=now)
    _start_on_activities(session, [r for r in rows if r.get("type") not in EXIT_ON], now=now)
    return []


def _start_on_activities(session: Session, rows: list[dict[str, Any]], *, now: datetime) -> None:
    if not rows:
        return
    wanted = {t for _, doc in repo.active_sequences(session) for t in doc.triggers.activities}
    rows = [r for r in rows if r.get("type") in wanted]
    if not rows:
        return
    pairs = {(r["account_id"], r.get("product") or DEFAULT_PRODUCT) for r in rows if r.get("account_id")}
    leads = repo.leads_of(session, pairs)
    by_type: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for r in rows:
        lead = (
            leads.get((r["account_id"], r.get("product") or DEFAULT_PRODUCT)) if r.get("account_id") else None
        )
        if lead is not None and lead[1] not in ENTERABLE:
            continue  # sales has this lead: no drip beside the rep
        by_type[r["type"]].append((r["person_id"], lead[0] if lead else None))
    for kind, people in by_type.items():
        on_signal(session, Signal("activity", kind), people, now=now)


def on_mql(session: Session, events: list[LeadReachedMQL], now: datetime) -> list[Event]:
    exit_enrolments(session, reason="reached_mql", lead_ids=[e.lead_id for e in events], now=now)
    return []


def on_assigned(session: Session, events: list[LeadAssigned], now: datetime) -> list[Event]:
    """A salesperson owns the lead now (not a queue): the drip steps aside for the rep."""
    owned = [
        lead_id
        for lead_id, owner in repo.lead_owners(session, [e.lead_id for e in events]).items()
        if owner is not None
    ]
    if owned:
        exit_enrolments(session, reason="owned_by_sales", lead_ids=owned, now=now)
    return []


def on_people_opted_out(session: Session, events: list[Any], now: datetime) -> list[Event]:
    """For an opt-out event with a `person_id` (and maybe `person_ids`, and `scopes`: the subscription
    types, "*" for all), such as consent's ConsentWithdrawn or an erasure: the person's enrolments in
    sequences of those types end in the transaction that recorded it. An opt-out from everything
    (an erasure is one) also takes them off every direct-mail list not yet sent: a list exported
    after it never names them (one already exported is the print house's)."""
    ended: dict[str, set[int]] = defaultdict(set)
    off_lists: set[int] = set()
    for e in events:
        people = {e.person_id, *getattr(e, "person_ids", ())}
        scopes = set(getattr(e, "scopes", ("*",)))
        if "*" in scopes:
            off_lists |= people
        for enrolment_id, subscription in repo.active_by_subscription(session, sorted(people)):
            if "*" in scopes or subscription in scopes:
                ended["unsubscribed"].add(enrolment_id)
    repo.drop_listed(session, off_lists)
    for reason, ids in ended.items():
        exit_enrolments(session, reason=reason, enrolment_ids=sorted(ids), now=now)
    # What a step queued a moment ago and the sweeper has not sent yet goes nowhere; an erasure also
    # empties what was kept of the messages (address, body, subject).
    for e in events:
        cancel_sends(
            session,
            sorted({e.person_id, *getattr(e, "person_ids", ())}),
            scopes=set(getattr(e, "scopes", ("*",))),
            erased=isinstance(e, PersonErased),
            now=now,
        )
    return []


def on_segments_entered(session: Session, events: list[SegmentEntered], now: datetime) -> list[Event]:
    """People entered a segment: the sequences that name it enrol them. Only a segment some active
    sequence names has its entrants read (a rebuild that lets a million in costs nothing otherwise)."""
    active = repo.active_sequences(session)
    for e in events:
        name = session.scalar(sa.select(SegmentRow.name).where(SegmentRow.id == e.segment_id))
        if name is None or not any(strength(doc.triggers, Signal("segment", name)) for _, doc in active):
            continue
        people = [int(p) for p in session.scalars(changed_people(e))]
        on_segment_entered(session, name, people, now=now)
    return []


def on_segment_entered(session: Session, segment: str, person_ids: Sequence[int], *, now: datetime) -> None:
    """People entered a segment (by name): the sequences that name it, for those whose account sales
    is not working (no drip beside the rep)."""
    active = repo.active_sequences(session)
    signal = Signal("segment", segment)
    if not person_ids or not any(strength(doc.triggers, signal) for _, doc in active):
        return
    busy = repo.with_sales(session, person_ids, [*OPEN, Stage.OPPORTUNITY])
    on_signal(session, signal, [(p, None) for p in person_ids if p not in busy], now=now)
