"""What consent does when something happens elsewhere (wired in leadloop.bootstrap): a door
captured an opt-in or opt-out, identity merged or unmerged two people, an inquiry arrived (implied
consent, when it is on) or a system told us of an unsubscribe; and the timer of implied consent
running out. Each runs in the transaction of what it reacts to."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadloop.consent.handlers import record_plan
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
)
from leadloop.jobs.timers import Due

UNSUBSCRIBE_ACTIVITY = "unsubscribe"  # an ESP or CRM posting that someone unsubscribed there


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
    """An `unsubscribe` activity (another system's) withdraws everything; an inquiry gives implied
    consent for `implied_consent_days` from when it happened, when that setting is on."""
    policy = policy_of(session)
    inquiries = policy.inquiry_types if policy.implied_days > 0 else frozenset()
    rows = [
        r
        for e in events
        for r in e.rows
        if r.get("person_id") and (r["type"] == UNSUBSCRIBE_ACTIVITY or r["type"] in inquiries)
    ]
    if not rows:
        return []
    plan = Plan(states_of(session, {r["person_id"] for r in rows}), now)
    for r in sorted(rows, key=lambda r: (as_utc(r["occurred_at"]), r.get("id") or 0)):
        pid = r["person_id"]
        if r["type"] == UNSUBSCRIBE_ACTIVITY:
            plan.add(
                pid,
                withdraw(plan.states(pid), ALL, source="activity", now=now, detail=f"{r['source']} activity"),
            )
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
