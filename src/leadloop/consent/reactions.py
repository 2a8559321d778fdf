"""What consent does when something happens elsewhere (wired in leadloop.bootstrap): a door
captured an opt-in or opt-out, identity merged or unmerged two people, an inquiry arrived (implied
consent, when it is on), a system told us of an unsubscribe, an address bounced hard, a person
complained, or mail-in received a mailto unsubscribe; and the timer of implied consent running
out. Each runs in the transaction of what it reacts to."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from leadloop.consent import suppression, tokens
from leadloop.consent.handlers import ForeignToken, record_plan, subscriber
from leadloop.consent.mail import send_confirmation
from leadloop.consent.model import (
    ALL,
    Basis,
    Plan,
    Status,
    expire,
    grant,
    merge,
    merge_detail,
    unmerge,
    withdraw,
)
from leadloop.consent.policy import policy_of
from leadloop.consent.repository import lock_person, log_of, states_of
from leadloop.core.clock import as_utc
from leadloop.core.events import (
    ActivitiesAppended,
    ConsentStated,
    Event,
    PeopleMerged,
    PeopleUnmerged,
    PersonErased,
    UnsubscribeMailed,
)
from leadloop.core.logging import get_logger
from leadloop.jobs.timers import Due
from leadloop.store.bulk import select_in
from leadloop.store.tables import Person

log = get_logger("leadloop.consent")

UNSUBSCRIBE_ACTIVITY = "unsubscribe"  # an ESP or CRM posting that someone unsubscribed there
BOUNCE_ACTIVITY = "email_bounce_hard"  # the address does not work (RFC 3464, a provider's webhook)
COMPLAINT_ACTIVITY = "email_complaint"  # the person marked our mail as spam (a feedback loop)
# Activity type -> the source its withdrawal from everything is logged with.
WITHDRAWS = {UNSUBSCRIBE_ACTIVITY: "activity", COMPLAINT_ACTIVITY: "complaint"}
# Activity type -> the source its suppression is listed with.
SUPPRESSES = {BOUNCE_ACTIVITY: "bounce", COMPLAINT_ACTIVITY: "complaint"}


def on_consent_stated(session: Session, events: list[ConsentStated], now: datetime) -> list[Event]:
    """The contract's `email_opt_in` as a door captured it: false withdraws everything; true
    consents to every type unless the person withdrew and this is not their own tick (ADR 0004).
    With double opt-in on, a ticked box waits for the person's confirmation by mail."""
    policy = policy_of(session)
    plan = Plan(states_of(session, {pid for e in events for pid, _ in e.entries}), now)
    confirm: set[int] = set()
    for e in events:
        for pid, opted_in in e.entries:
            if not opted_in:
                plan.add(pid, withdraw(plan.states(pid), ALL, source=e.source, now=now))
                continue
            pending = e.explicit and policy.double_opt_in
            for code in policy.codes:
                change = plan.add(
                    pid,
                    grant(
                        plan.states(pid),
                        code,
                        basis=Basis.CONSENT,
                        explicit=e.explicit,
                        source=e.source,
                        now=now,
                        pending=pending,
                    ),
                )
                if change is not None and change.status == Status.PENDING:
                    confirm.add(pid)
    raised = record_plan(session, plan, "capture", now=now)
    for pid in sorted(confirm):
        send_confirmation(session, pid, now=now)
    return raised


def on_people_merged(session: Session, events: list[PeopleMerged], now: datetime) -> list[Event]:
    """The survivor keeps the most restrictive of both (an opt-out on either side wins)."""
    codes = policy_of(session).codes
    raised: list[Event] = []
    for e in events:
        states = states_of(session, (e.survivor_id, e.merged_id))
        plan = Plan({e.survivor_id: states[e.survivor_id]}, now)
        detail = merge_detail(e.merged_id)
        for change in merge(states[e.survivor_id], states[e.merged_id], codes, now=now, detail=detail):
            plan.add(e.survivor_id, change)
        raised.extend(record_plan(session, plan, "merge", now=now))
    return raised


def on_people_unmerged(session: Session, events: list[PeopleUnmerged], now: datetime) -> list[Event]:
    """What the merge changed on the survivor is taken back; an opt-out given since stays with
    both (it may have been either's)."""
    raised: list[Event] = []
    for e in events:
        states = states_of(session, (e.survivor_id, e.merged_id))
        plan = Plan(states, now)
        mine, theirs = unmerge(
            log_of(session, e.survivor_id),
            states[e.merged_id],
            survivor_id=e.survivor_id,
            merged_id=e.merged_id,
            now=now,
        )
        for change in mine:
            plan.add(e.survivor_id, change)
        for change in theirs:
            plan.add(e.merged_id, change)
        raised.extend(record_plan(session, plan, "unmerge", now=now))
    return raised


def on_activities(session: Session, events: list[ActivitiesAppended], now: datetime) -> list[Event]:
    """An `unsubscribe` activity (another system's) withdraws everything; so does a complaint (the
    person marked our mail as spam), which also suppresses the address, as a hard bounce does; an
    inquiry gives implied consent for `implied_consent_days` from when it happened, when that
    setting is on. A soft bounce changes nothing (ADR 0031)."""
    policy = policy_of(session)
    inquiries = policy.inquiry_types if policy.implied_days > 0 else frozenset()
    rows = [
        r
        for e in events
        for r in e.rows
        if r.get("person_id")
        and (r["type"] in WITHDRAWS or r["type"] in SUPPRESSES or r["type"] in inquiries)
    ]
    if not rows:
        return []
    _suppress(session, [r for r in rows if r["type"] in SUPPRESSES], now=now)
    withdrawing = sorted({r["person_id"] for r in rows if r["type"] in WITHDRAWS})
    for pid in withdrawing:  # in id order: two such batches never wait on each other's locks
        lock_person(session, pid)
    plan = Plan(states_of(session, {r["person_id"] for r in rows}), now)
    for r in sorted(rows, key=lambda r: (as_utc(r["occurred_at"]), r.get("id") or 0)):
        pid = r["person_id"]
        if r["type"] in WITHDRAWS:
            source, detail = WITHDRAWS[r["type"]], f"{r.get('source') or 'an'} activity"
            plan.add(pid, withdraw(plan.states(pid), ALL, source=source, now=now, detail=detail))
            continue
        if r["type"] not in inquiries:
            continue
        until = as_utc(r["occurred_at"]) + timedelta(days=policy.implied_days)
        for code in policy.codes:
            change = grant(
                plan.states(pid),
                code,
                basis=Basis.IMPLIED,
                explicit=False,
                source="inquiry",
                now=now,
                expires_at=until,
                detail=r["type"],
            )
            plan.add(pid, change)
    return record_plan(session, plan, "activity", now=now)


def _suppress(session: Session, rows: list[dict[str, Any]], *, now: datetime) -> None:
    """The address each bounce or complaint was about (its payload's `address`; else the person's
    address now) goes on the suppression list, once."""
    unnamed = {r["person_id"] for r in rows if not _address_of(r)}
    current = dict(select_in(session, (Person.id, Person.email), Person.id, unnamed)) if unnamed else {}
    added = suppression.suppress_addresses(
        session,
        [
            (address, SUPPRESSES[r["type"]], suppression_reason(r))
            for r in rows
            if (address := _address_of(r) or current.get(r["person_id"]))
        ],
        now=now,
    )
    if added:
        log.info("consent.suppressed", count=len(added), why=sorted({SUPPRESSES[r["type"]] for r in rows}))


def _address_of(row: dict[str, Any]) -> str | None:
    payload = row.get("payload")
    found = payload.get("address") if isinstance(payload, dict) else None
    return found if isinstance(found, str) and found else None


def suppression_reason(row: dict[str, Any]) -> str:
    """The list's reason column: what, on which day, through which door, and what the server said
    (e.g. `hard bounce on 2026-11-01 (mailgun): 550 5.1.1 no such user`)."""
    payload = row.get("payload")
    said = payload.get("reason") if isinstance(payload, dict) else None
    what = "hard bounce" if row["type"] == BOUNCE_ACTIVITY else "spam complaint"
    head = f"{what} on {as_utc(row['occurred_at']):%Y-%m-%d} ({row.get('source') or 'activity'})"
    return f"{head}: {said}" if isinstance(said, str) and said.strip() else head


def on_unsubscribe_mailed(session: Session, events: list[UnsubscribeMailed], now: datetime) -> list[Event]:
    """The List-Unsubscribe mailto (RFC 2369): the token in the subject says who; a token that was
    altered, is too old or is not for an address we hold changes nothing (logged, like a bad link)."""
    raised: list[Event] = []
    for e in events:
        try:
            who = subscriber(session, e.token, now=now, lock=True)
        except (tokens.BadToken, tokens.ExpiredToken, ForeignToken) as exc:
            log.info("consent.mailto_refused", why=type(exc).__name__)
            continue
        plan = Plan({who.person_id: who.states}, now)
        plan.add(who.person_id, withdraw(who.states, ALL, source="unsubscribe", now=now, detail="mailto"))
        raised.extend(record_plan(session, plan, "unsubscribe", now=now))
        log.info("consent.unsubscribed", person_id=who.person_id, how="mailto")
    return raised


def consent_expires(session: Session, due: Due, now: datetime) -> list[Event]:
    """The timer of a person's implied consent: what ran out is recorded; the timer re-arms itself
    (repository) for the next one, if any."""
    pid = int(due.subject.removeprefix("person:"))
    lock_person(session, pid)
    states = states_of(session, [pid])[pid]
    plan = Plan({pid: states}, now)
    for change in expire(states, now=now):
        plan.add(pid, change)
    return record_plan(session, plan, "expiry", now=now)


def on_person_erased(session: Session, events: list[PersonErased], now: datetime) -> list[Event]:
    """An erased person is withdrawn from everything, in the log (the proof outlives their data)."""
    plan = Plan(states_of(session, {e.person_id for e in events}), now)
    for e in events:
        plan.add(e.person_id, withdraw(plan.states(e.person_id), ALL, source="erasure", now=now))
    return record_plan(session, plan, "erasure", now=now)
