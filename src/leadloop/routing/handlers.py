"""Routing use cases: load, decide (pure), write once. A lead that reaches MQL is routed in the same
transaction; SLA clocks become timers; notifications go to the outbox in that transaction too.
Sales accepts or rejects; a rejection returns the lead to marketing with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.repository import managers_of, require_may_work
from leadloop.auth.model import Role
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.core.events import (
    ActivitiesAppended,
    Event,
    LeadAssigned,
    LeadHandedBack,
    LeadQualified,
    LeadReachedMQL,
    SlaBreached,
    SlaEscalated,
    TouchLogged,
)
from leadloop.core.labels import label
from leadloop.core.logging import get_logger
from leadloop.core.reactions import publish
from leadloop.jobs import outbox
from leadloop.jobs.timers import Due, TimerHandler, cancel_many, schedule_many
from leadloop.lifecycle.handlers import Move, OwnerRef, move, move_many
from leadloop.lifecycle.model import OPEN, IllegalTransition, Stage, Trigger, transition
from leadloop.lifecycle.repository import SALES_INBOX, nurture_queue_id, queue_id
from leadloop.partners.model import PARTNER_ACCEPT, accept_due
from leadloop.routing import comeback, digest
from leadloop.routing import repository as repo
from leadloop.routing.calendar import add_business
from leadloop.routing.document import RuleSet, SlaPolicy
from leadloop.routing.rules import PICKED_WHY, Decision, decide, sla_policy
from leadloop.store.bulk import chunks, connection
from leadloop.store.memo import per_transaction
from leadloop.store.tables import Account, Lead, Partner, RoutingDecision, Team, User

log = get_logger("leadloop.routing")
SLA_TIMERS = ("sla_remind", "sla_due", "sla_escalate", "sla_reassign")
# What the owner does: a buyer writing in (email_reply) is a signal, not the rep answering it.
TOUCH_TYPES = ("call", "meeting", "email_sent")
DIGEST_EVERY = timedelta(minutes=30)  # escalations to one manager gathered into one e-mail per this
ROUTE_CHUNK = 500  # MQLs whose leads, accounts and places are read together (under every IN limit)


def route_lead(
    session: Session,
    lead_id: int,
    *,
    now: datetime,
    reason: str = "mql",
    exclude: frozenset[int] = frozenset(),
) -> Decision | None:
    """Give the lead its owner. For "mql" only a lead still waiting in marketing's queue is routed,
    so routing the same MQL twice does nothing."""
    decision, events = _route(session, lead_id, now=now, reason=reason, exclude=exclude)
    publish(session, events, now=now)
    return decision


def _route(
    session: Session,
    lead_id: int,
    *,
    now: datetime,
    reason: str,
    exclude: frozenset[int] = frozenset(),
    exclude_partner: int | None = None,
    qualified: LeadQualified | None = None,
    hand_raise: str | None = None,
    reactivated: LeadReachedMQL | None = None,
    batch: _Batch | None = None,
) -> tuple[Decision | None, list[Event]]:
    """`batch`: what `_load` read (and on PostgreSQL locked) for the MQLs routed together."""
    if batch is not None and lead_id in batch.lead_ids:
        lead = session.get(Lead, lead_id)  # in the session: `_load` read it
    elif session.get_bind().dialect.name == "postgresql":  # SQLite's one writer holds the lock already
        lead = session.scalars(sa.select(Lead).where(Lead.id == lead_id).with_for_update()).first()
    else:
        lead = session.get(Lead, lead_id)
    if lead is None:
        return None, []
    if reason == "mql" and (lead.stage != "mql" or lead.owner_team_id != nurture_queue_id(session, now=now)):
        return None, []
    account = session.get(Account, lead.account_id)
    assert account is not None
    rs, rs_id = repo.active_rules(session)
    known = batch is not None and account.id in batch.places
    place = batch.places[account.id] if batch is not None and known else repo.place_of(session, account)
    facts = repo.facts_for(lead, account, place)
    users, away = _people(session, rs, rs_id, now)
    resolve = {e: (u.id, None if u.active else "inactive") for e, u in users.items()}
    pools = repo.pool_candidates(session, rs, users, away, now)
    if qualified is not None and qualified.to_user_id is not None:
        decision = _picked(session, qualified)
    else:
        decision = decide(
            rs,
            facts,
            sticky=repo.sticky_owner(session, account),
            pools=pools,
            resolve=resolve,
            exclude=exclude,
            qualified_by=qualified.by_email if qualified is not None else None,
            # Reassigning a handed-over lead never sends it back; a hand-raiser goes to a rep at once.
            past_desk=lead.stage != "mql" or hand_raise is not None,
            earlier=comeback.earlier_owner(session, lead.id, now=now) if reactivated is not None else None,
        )
        if qualified is not None:
            decision.summary = f"qualified by {qualified.by_email} → {decision.summary}"
    note = None
    if reactivated is not None:  # the owner is told why it is back; the audit says it first
        note = comeback.alert(session, lead, account, reactivated)
        back = f"back from {label(reactivated.reactivated_from, 'stage').lower()}"
        decision.path.insert(0, {"step": "reactivated", "result": back, "why": note})
    policy = sla_policy(rs, facts, hand_raise=hand_raise)
    if hand_raise is not None:
        _fast_tracked(decision, hand_raise, policy)
    events = _apply(
        session,
        lead,
        account,
        decision,
        rs_id=rs_id,
        reason=reason,
        now=now,
        policy=policy,
        away=away,
        exclude_partner=exclude_partner,
        qualified=qualified,
        note=note,
    )
    return decision, [*events, LeadAssigned(lead.id, decision.name, reason, now, note=note)]


def _picked(session: Session, q: LeadQualified) -> Decision:
    """The BDR chose the field rep (the qualification desk checked who may be chosen)."""
    rep = session.get(User, q.to_user_id)
    assert rep is not None
    return Decision(
        "user",
        rep.email,
        rep.id,
        summary=f"qualified by {q.by_email} → {rep.email} ({PICKED_WHY})",
        path=[
            {"step": "qualification desk", "result": "qualified", "why": f"handed over by {q.by_email}"},
            {"step": f"user {rep.email}", "result": "assigned", "why": PICKED_WHY},
        ],
    )


def _apply(
    session: Session,
    lead: Lead,
    account: Account,
    d: Decision,
    *,
    rs_id: int | None,
    reason: str,
    now: datetime,
    policy: SlaPolicy | None,
    away: dict[int, list[tuple[datetime, datetime]]],
    exclude_partner: int | None = None,
    by_user_id: int | None = None,
    qualified: LeadQualified | None = None,
    note: str | None = None,
) -> list[Event]:
    # Work out the owner before touching the lead: its three owner columns change together (one-owner CHECK).
    user_id = team_id = partner_id = None
    if d.kind == "user" and d.user_id is not None:
        user_id = d.user_id
    elif (
        d.kind == "partner"
        and (pid := repo.partner_id(session, d.name)) is not None
        and pid != exclude_partner
    ):
        partner_id = pid
    else:
        if d.kind == "partner":
            why = (
                "no such partner"
                if exclude_partner is None
                else "the partner let the accept deadline pass"
                if reason == "partner_missed"
                else "the partner handed it back"
            )
            d.path.append({"step": f"partner {d.name}", "result": "skipped", "why": f"{why}; queued instead"})
        team_id = queue_id(session, d.name if d.kind == "queue" else SALES_INBOX, now=now)
    trigger = Trigger.ROUTED if qualified is None else Trigger.HANDED_OVER
    try:  # refused before the lead is touched (the move below would refuse it after)
        transition(Stage(lead.stage), trigger)
    except IllegalTransition:
        raise IllegalTransition(lead.stage, trigger, lead_id=lead.id) from None
    # The assignment's columns are set first: the move's one flush writes them with the stage and
    # owner, and the rest of the routing is prepared statements.
    owner = session.get(User, user_id) if user_id is not None else None
    lead.assigned_at, lead.first_touch_at, lead.sla_breached_at = now, None, None
    lead.sla_policy = lead.sla_due_at = None
    if partner_id is not None:  # the partner's tier says how long they have to accept
        tier = session.scalar(sa.select(Partner.tier).where(Partner.id == partner_id)) or "registered"
        lead.sla_policy, lead.sla_due_at = f"partner ({tier})", accept_due(tier, now)
    cal = (
        repo.calendar_for(owner, away.get(owner.id, [])) if owner is not None and policy is not None else None
    )
    if cal is not None and policy is not None:
        lead.sla_policy = policy.name
        lead.sla_due_at = add_business(cal, now, policy.first_touch_minutes)
    events = move(
        session,
        lead,
        trigger,
        now=now,
        reason=f"{reason}: {d.summary}"[:500],
        by_user_id=qualified.by_user_id if qualified is not None else by_user_id,
        owner=OwnerRef(user_id, team_id, partner_id),
    )
    if reason != "mql":  # a new MQL has no clocks yet; a reassigned lead's old ones stop
        cancel_many(session, (*SLA_TIMERS, PARTNER_ACCEPT), [f"lead:{lead.id}"], now=now)
    if partner_id is not None and lead.sla_due_at is not None:
        schedule_many(
            session, [(PARTNER_ACCEPT, f"lead:{lead.id}", lead.sla_due_at, {"partner_id": partner_id})]
        )
    if d.pool is not None:
        repo.save_credits(session, d.pool, d.pool_credits, chosen=d.user_id, now=now)
    if cal is not None and policy is not None and owner is not None:
        marks = {
            "sla_remind": policy.remind_at,
            "sla_due": policy.first_touch_minutes,
            "sla_escalate": policy.escalate_at,
            "sla_reassign": policy.reassign_at,
        }
        payload = {"owner_user_id": owner.id, "policy": policy.name, "escalate_to": policy.escalate_to}
        schedule_many(
            session,
            [
                (kind, f"lead:{lead.id}", add_business(cal, now, minutes), payload)
                for kind, minutes in marks.items()
                if minutes is not None
            ],
        )
    decision_id = repo.record_decision(
        session,
        lead_id=lead.id,
        at=now,
        reason=reason,
        ruleset_id=rs_id,
        owner_user_id=lead.owner_user_id,
        owner_team_id=lead.owner_team_id,
        owner_partner_id=lead.owner_partner_id,
        summary=d.summary[:500],
        path=d.path + ([{"step": "alert", "result": "raised", "why": d.alert}] if d.alert else []),
    )
    if d.alert:
        log.warning("routing.alert", lead_id=lead.id, alert=d.alert)
        outbox.webhook(
            session,
            f"alert:{decision_id}",
            "routing.alert",
            {"lead_id": lead.id, "alert": d.alert},
            f":warning: {d.alert} (lead {lead.id})",
            now=now,
        )
    _notify_assigned(session, lead, account, owner, decision_id, now=now, qualified=qualified, note=note)
    return events


def _notify_assigned(
    session: Session,
    lead: Lead,
    account: Account,
    owner: User | None,
    decision_id: int,
    *,
    now: datetime,
    qualified: LeadQualified | None = None,
    note: str | None = None,
) -> None:
    """`note`: what to say first (a reactivation: which activity brought it back, after how long)."""
    title = f"{account.name} · {lead.product}" + (f" (grade {lead.grade})" if lead.grade else "")
    due = f"; first touch due {lead.sla_due_at:%Y-%m-%d %H:%M} UTC" if lead.sla_due_at else ""
    if owner is not None:
        # A qualified lead comes with what the BDR learnt on the call: the reason to call first.
        if qualified:
            subject = f"Qualified lead for you: {title}"
        else:
            subject = f"Reactivated lead for you: {title}" if note else f"New lead: {title}"
        handed = f"\n\nQualified by {qualified.by_email}:\n{qualified.brief}" if qualified else ""
        first = f"{note}.\n\n" if note else ""
        outbox.email(
            session,
            f"assigned:{decision_id}",
            to=owner.email,
            subject=subject,
            body=f"{first}{title} is yours{due}.{handed}",
            link=f"/leads/{lead.id}",
            now=now,
        )
    data = {
        "lead_id": lead.id,
        "account": account.name,
        "product": lead.product,
        "grade": lead.grade,
        "owner": owner.email if owner else None,
        "sla_due_at": lead.sla_due_at.isoformat() if lead.sla_due_at else None,
        **({"qualified_by": qualified.by_email, "brief": qualified.brief} if qualified else {}),
        **({"reactivated": note} if note else {}),
    }
    outbox.webhook(
        session,
        f"assigned-hook:{decision_id}",
        "lead.assigned",
        data,
        f"New lead {title} → {owner.email if owner else 'queue'}{due}",
        link=f"/leads/{lead.id}",
        now=now,
    )


def on_handed_back(session: Session, events: list[LeadHandedBack], now: datetime) -> list[Event]:
    """Reaction: a partner rejected a lead or let its accept deadline pass: route it again, never to
    that partner, and raise an alert for a missed deadline."""
    out: list[Event] = []
    for e in events:
        decision, events_ = _route(
            session, e.lead_id, now=now, reason=f"partner_{e.why}", exclude_partner=e.partner_id
        )
        out.extend(events_)
        if e.why == "missed" and decision is not None:
            alert = (
                f"{_partner_name(session, e.partner_id)} did not accept lead #{e.lead_id} in time;"
                f" now with {_owner_name(session, e.lead_id)}"
            )
            log.warning("routing.alert", lead_id=e.lead_id, alert=alert)
            outbox.webhook(
                session,
                f"partner-missed:{e.lead_id}:{now.isoformat()}",
                "routing.alert",
                {"lead_id": e.lead_id, "alert": alert},
                f":warning: {alert}",
                now=now,
            )
    return out


def _partner_name(session: Session, partner_id: int) -> str:
    name = session.scalar(sa.select(Partner.name).where(Partner.id == partner_id))
    return f"partner {name}" if name else f"partner #{partner_id}"


def _owner_name(session: Session, lead_id: int) -> str:
    """Who holds the lead now, as routing left it (the decision's name is what a rule chose: a
    partner that was skipped leaves the lead in a queue)."""
    lead = session.get_one(Lead, lead_id)
    if lead.owner_user_id is not None:
        user = session.get_one(User, lead.owner_user_id)
        return user.name or user.email
    if lead.owner_partner_id is not None:
        return _partner_name(session, lead.owner_partner_id)
    name = session.scalar(sa.select(Team.name).where(Team.id == lead.owner_team_id))
    return f"the {name} queue" if name else "no one"


def on_qualified(session: Session, events: list[LeadQualified], now: datetime) -> list[Event]:
    """Reaction: a BDR qualified a lead: hand it to a field rep (the one picked, or the field-sales
    rules' choice, never back to the desk), through the lifecycle, with the rep's SLA clock."""
    out: list[Event] = []
    for e in events:
        out.extend(
            _route(
                session, e.lead_id, now=now, reason="handover", exclude=frozenset({e.by_user_id}), qualified=e
            )[1]
        )
    return out


def on_mql(session: Session, events: list[LeadReachedMQL], now: datetime) -> list[Event]:
    """Reaction: at MQL, routing runs at once, in the capture's own transaction (speed-to-lead); a
    hand-raise gets the fastest SLA tier; a lead a hand-raise brought back from remarketing goes to
    its earlier owner first, who is told why it is back."""
    out: list[Event] = []
    for part in chunks(events, ROUTE_CHUNK):  # a model's activation may make 100,000 MQLs at once
        batch = _load(session, [e.lead_id for e in part])
        for e in part:
            out.extend(
                _route(
                    session,
                    e.lead_id,
                    now=now,
                    reason="mql",
                    batch=batch,
                    hand_raise=e.hand_raise,
                    reactivated=e if e.reactivated_from is not None else None,
                )[1]
            )
    return out


@dataclass(frozen=True)
class _Batch:
    """What `_load` read for MQLs routed together."""

    held: list[object]  # the leads and accounts: the session keeps only weak references to them
    lead_ids: frozenset[int]
    places: dict[int, repo.Place | None]  # by account id


def _load(session: Session, lead_ids: list[int]) -> _Batch | None:
    """Read a batch's leads, their accounts and where those are with one query each (an import's
    batch routes hundreds): each lead's `session.get` then finds them in the session. On
    PostgreSQL the leads are locked here, in id order, instead of one by one as they are routed."""
    if len(lead_ids) < 2:
        return None
    q = sa.select(Lead).where(Lead.id.in_(lead_ids)).order_by(Lead.id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    leads = list(session.scalars(q))
    accounts = list(
        session.scalars(sa.select(Account).where(Account.id.in_({lead.account_id for lead in leads})))
    )
    return _Batch(
        [*leads, *accounts], frozenset(lead.id for lead in leads), repo.places_of(session, accounts)
    )


def _people(
    session: Session, rs: RuleSet, rs_id: int | None, now: datetime
) -> tuple[dict[str, User], dict[int, list[tuple[datetime, datetime]]]]:
    """The rules' people and their absences, read once per transaction for one rule set: a batch
    of MQLs (the form lane's group commit, an import's batch) routes them all against the same
    facts, and routing changes neither."""
    held: dict[str, Any] = per_transaction(session, ("routing.people", rs_id), dict)
    # The absences read at a moment (those ending in the 30 days before it) hold every absence a
    # later moment needs, and each calendar checks them against its own `now`; a moment before
    # the one read (the demo replays history in one transaction) reads them again.
    if not held or now < held["at"]:
        users = repo.users_by_email(session, rs.users())
        held.update(at=now, found=(users, repo.away_spans(session, {u.id for u in users.values()}, now)))
    found: tuple[dict[str, User], dict[int, list[tuple[datetime, datetime]]]] = held["found"]
    return found


def _fast_tracked(d: Decision, hand_raise: str, policy: SlaPolicy | None) -> None:
    """Say in the audit why this lead skipped the queue and which clock it got."""
    what = hand_raise.replace("_", " ")
    clock = (
        f"the fastest SLA tier, {policy.name} ({policy.first_touch_minutes:g} min to first touch)"
        if policy is not None
        else "no SLA tier is defined in the routing rules"
    )
    d.path.insert(0, {"step": "hand-raise", "result": "sent to sales at once", "why": f"{what}: {clock}"})
    d.summary = f"hand-raise ({what}) · {d.summary}"


def on_activities(session: Session, events: list[ActivitiesAppended], now: datetime) -> list[Event]:
    """Reaction: a logged call, meeting or e-mail on an assigned lead's account is its first touch:
    the SLA clock stops (its timers are cancelled) and the lifecycle records the touch."""
    touches = [
        r for e in events for r in e.rows if r.get("type") in TOUCH_TYPES and r.get("account_id") is not None
    ]
    if not touches:
        return []
    first: dict[int, datetime] = {}  # account -> its earliest touch in this batch
    for r in touches:
        first[r["account_id"]] = min(first.get(r["account_id"], r["occurred_at"]), r["occurred_at"])
    waiting = session.execute(
        sa.select(Lead.id, Lead.account_id, Lead.assigned_at, Lead.stage).where(
            Lead.account_id.in_(list(first)),
            Lead.first_touch_at.is_(None),
            Lead.assigned_at.is_not(None),
            sa.or_(Lead.owner_user_id.is_not(None), Lead.owner_partner_id.is_not(None)),
        )
    ).all()
    touched = [
        (lead_id, stage, first[acct])
        for lead_id, acct, assigned, stage in waiting
        if assigned and assigned <= first[acct]
    ]
    if not touched:
        return []
    connection(session).execute(
        sa.update(Lead).where(Lead.id == sa.bindparam("lid")).values(first_touch_at=sa.bindparam("at")),
        [{"lid": lead_id, "at": at} for lead_id, _, at in touched],
    )
    cancel_many(
        session, (*SLA_TIMERS, PARTNER_ACCEPT), [f"lead:{lead_id}" for lead_id, _, _ in touched], now=now
    )
    # The SLA facts above hold whatever the stage (a call synced after the CRM converted the lead
    # still answered the assignment); the lifecycle records a touch of a lead still with sales.
    return move_many(
        session,
        [Move(lead_id, stage, Trigger.TOUCHED, at) for lead_id, stage, at in touched if stage in OPEN],
        now=now,
    )


def log_call(
    session: Session, lead_id: int, who: User, *, now: datetime, note: str | None = None
) -> list[Event]:
    """A rep logged a call on a lead: capture appends it (a reaction), which stops the SLA clock."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    # A call stops the owner's SLA clock: only whoever may work the lead may log one on it.
    _may_work(session, lead, who, doing="log a call on")
    logged = TouchLogged(
        lead.id, lead.account_id, lead.product, "call", who.email, note[:2000] if note else None, now
    )
    return publish(session, [logged], now=now)


def _may_work(session: Session, lead: Lead, who: User, *, doing: str) -> None:
    require_may_work(session, Role(who.role), who.id, lead, doing=doing)


def _owned(session: Session, lead_id: int, who: User) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    _may_work(session, lead, who, doing="accept or reject")
    if lead.stage not in OPEN:
        raise InvalidInput(
            f"lead #{lead_id} is {lead.stage}; only an open lead (mql, handed over, sal, sql) can be accepted or"
            " rejected"
        )
    return lead


def accept(session: Session, lead_id: int, who: User, *, now: datetime) -> Lead:
    lead = _owned(session, lead_id, who)
    events = move(session, lead, Trigger.ACCEPTED, now=now, by_user_id=who.id)
    session.add(
        RoutingDecision(
            lead_id=lead.id,
            at=now,
            reason="accepted",
            owner_user_id=lead.owner_user_id,
            summary=f"accepted by {who.email}",
            path=[],
        )
    )
    publish(session, events, now=now)
    return lead


def reject(
    session: Session, lead_id: int, who: User, reason: str, *, now: datetime, note: str | None = None
) -> Lead:
    """Back to marketing's nurture queue with the reason (from the rule set's list)."""
    rs, _ = repo.active_rules(session)
    if reason not in rs.reject_reasons:
        raise InvalidInput(f"unknown reason {reason!r}; choose one of: {', '.join(rs.reject_reasons)}")
    lead = _owned(session, lead_id, who)
    events = move(session, lead, Trigger.REJECTED, now=now, reason=reason, by_user_id=who.id)
    cancel_many(session, (*SLA_TIMERS, PARTNER_ACCEPT), [f"lead:{lead.id}"], now=now)
    session.add(
        RoutingDecision(
            lead_id=lead.id,
            at=now,
            reason="rejected",
            owner_team_id=lead.owner_team_id,
            summary=f"rejected by {who.email}: {reason}" + (f" ({note})" if note else ""),
            path=[],
        )
    )
    publish(session, events, now=now)
    return lead


def deactivate_user(session: Session, user_id: int, *, now: datetime) -> int:
    """A rep who leaves never orphans a lead: every open lead they own is routed again without them."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user #{user_id}")
    user.active = False
    ids = list(
        session.scalars(sa.select(Lead.id).where(Lead.owner_user_id == user_id, Lead.stage.in_(sorted(OPEN))))
    )
    for lead_id in ids:
        route_lead(session, lead_id, now=now, reason="rep_removed", exclude=frozenset({user_id}))
    return len(ids)


# SLA timers: each re-checks the lead, so a touch or a reassignment in between makes it a no-op.


def _still_waiting(session: Session, due: Due) -> Lead | None:
    lead = session.get(Lead, int(due.subject.split(":", 1)[1]))
    if lead is None or lead.first_touch_at is not None or lead.stage not in ("mql", "handed_over"):
        return None
    if lead.owner_user_id != due.payload.get("owner_user_id"):
        return None
    return lead


def sla_timer(session: Session, due: Due, now: datetime, *, every: timedelta = DIGEST_EVERY) -> list[Event]:
    """Remind the owner, mark the breach, escalate (into the manager's digest of `every`), or
    reassign: whichever this timer is. A breach and an escalation are published as events, for the
    in-app notifications to react to."""
    lead = _still_waiting(session, due)
    if lead is None:
        return []
    raised: list[Event] = []
    owner = session.get(User, lead.owner_user_id)
    assert owner is not None
    account = session.get(Account, lead.account_id)
    title = f"{account.name if account else lead.account_id} · {lead.product}"
    link = f"/leads/{lead.id}"
    if due.kind == "sla_remind":
        outbox.email(
            session,
            f"remind:{lead.id}:{due.due_at.isoformat()}",
            to=owner.email,
            subject=f"Reminder: first touch due for {title}",
            body=f"First touch is due {lead.sla_due_at:%H:%M} UTC.",
            link=link,
            now=now,
        )
        outbox.webhook(
            session,
            f"remind-hook:{lead.id}:{due.due_at.isoformat()}",
            "sla.warning",
            {"lead_id": lead.id, "owner": owner.email},
            f"SLA warning: {title} ({owner.email})",
            link=link,
            now=now,
        )
    elif due.kind == "sla_due":
        lead.sla_breached_at = lead.sla_due_at or now
        raised.append(
            SlaBreached(
                lead.id,
                owner.id,
                tuple(managers_of(session, owner.id)),
                lead.sla_policy,
                lead.sla_breached_at,
                now,
            )
        )
        outbox.email(
            session,
            f"breach:{lead.id}:{due.due_at.isoformat()}",
            to=owner.email,
            subject=f"SLA breached: {title}",
            body=f"The first-touch deadline ({lead.sla_policy}) has passed.",
            link=link,
            now=now,
        )
        outbox.webhook(
            session,
            f"breach-hook:{lead.id}:{due.due_at.isoformat()}",
            "sla.breach",
            {"lead_id": lead.id, "owner": owner.email, "policy": lead.sla_policy},
            f":rotating_light: SLA breached: {title} ({owner.email})",
            link=link,
            now=now,
        )
    elif due.kind == "sla_escalate":
        target = _escalation_target(session, owner, str(due.payload.get("escalate_to", "manager")))
        # One digest per manager per interval, not one e-mail per lead (routing/digest.py).
        if target is not None:
            start, end = digest.window(now, every)
            schedule_many(
                session,
                [
                    (
                        digest.DIGEST,
                        digest.subject_of(target.id, end),
                        end,
                        {"manager_id": target.id, "start": start.isoformat()},
                    )
                ],
            )
        session.add(
            RoutingDecision(
                lead_id=lead.id,
                at=now,
                reason="sla_escalated",
                owner_user_id=owner.id,
                summary=f"escalated to {target.email if target else 'nobody (no manager)'}",
                path=[
                    {
                        "step": "sla",
                        "result": "escalated",
                        "why": f"no first touch ({lead.sla_policy})",
                        "to": target.id if target else None,
                    }
                ],
            )
        )
        raised.append(SlaEscalated(lead.id, owner.id, target.id if target else None, lead.sla_policy, now))
    elif due.kind == "sla_reassign":
        route_lead(
            session,
            lead.id,
            now=now,
            reason="sla_reassign",
            exclude=frozenset({owner.id}),
        )
    publish(session, raised, now=now)
    return raised


def sla_timer_handlers(every: timedelta) -> dict[str, TimerHandler]:
    """The SLA timers and the managers' digest, with the digest interval the settings give."""

    def timer(session: Session, due: Due, now: datetime) -> list[Event]:
        return sla_timer(session, due, now, every=every)

    def send(session: Session, due: Due, now: datetime) -> list[Event]:
        return sla_digest(session, due, now, every=every)

    return {**dict.fromkeys(SLA_TIMERS, timer), digest.DIGEST: send}


def sla_digest(session: Session, due: Due, now: datetime, *, every: timedelta = DIGEST_EVERY) -> list[Event]:
    """One e-mail to a manager listing the leads escalated to them in the window that ended at the
    timer's due time. Its outbox key names the manager and the window: running twice sends once."""
    manager = session.get(User, int(due.payload.get("manager_id", 0)))
    if manager is None:
        return []
    end = due.due_at
    start = end - every
    rows = session.execute(
        sa.select(
            RoutingDecision.lead_id, RoutingDecision.at, RoutingDecision.path, Lead, Account.name, User.name
        )
        .join(Lead, Lead.id == RoutingDecision.lead_id)
        .join(Account, Account.id == Lead.account_id)
        .outerjoin(User, User.id == RoutingDecision.owner_user_id)
        .where(
            RoutingDecision.reason == "sla_escalated",
            RoutingDecision.at >= start,
            RoutingDecision.at < end,
        )
        .order_by(RoutingDecision.at, RoutingDecision.id)
    ).all()
    items = [
        digest.Escalation(
            manager.id, lead_id, at, f"{account} · {lead.product}", owner or "", lead.sla_policy
        )
        for lead_id, at, path, lead, account, owner in rows
        if any(step.get("to") == manager.id for step in path or [])
    ]
    grouped = digest.group(items, every).get((manager.id, end), [])
    if not grouped:
        return []
    subject, body = digest.digest_text(manager.name or manager.email, grouped, start=start, end=end)
    outbox.email(
        session,
        f"sla-digest:{digest.subject_of(manager.id, end)}",
        to=manager.email,
        subject=subject,
        body=body,
        link="/leads?sla=overdue",
        now=now,
    )
    return []


def _escalation_target(session: Session, owner: User, escalate_to: str) -> User | None:
    if escalate_to != "manager":
        return session.scalars(
            sa.select(User).where(sa.func.lower(User.email) == escalate_to.lower())
        ).first()
    seen = {owner.id}
    manager = session.get(User, owner.manager_id) if owner.manager_id else None
    while manager is not None and not manager.active:  # an inactive manager passes it up the chain
        if manager.id in seen or manager.manager_id is None:
            return None
        seen.add(manager.id)
        manager = session.get(User, manager.manager_id)
    return manager


def set_manager(session: Session, user_id: int, manager_id: int | None) -> None:
    """Refuses a chain that would loop back (escalation would never end)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user #{user_id}")
    chain = [user.email]
    current = manager_id
    while current is not None:
        m = session.get(User, current)
        if m is None:
            raise NotFound(f"there is no user #{current}")
        chain.append(m.email)
        if m.id == user_id:
            raise InvalidInput("that manager chain is a cycle: " + " → ".join(chain))
        current = m.manager_id
    user.manager_id = manager_id


def add_away(
    session: Session, user_id: int, start: datetime, end: datetime, *, note: str | None = None
) -> None:
    """Out of office. A span that overlaps one already recorded is refused with both dates, so two
    calendars of absences never disagree about the same day."""
    from leadloop.store.tables import OutOfOffice

    if end <= start:
        raise InvalidInput("an out-of-office span must end after it starts")
    clash = session.execute(
        sa.select(OutOfOffice.starts_at, OutOfOffice.ends_at).where(
            OutOfOffice.user_id == user_id, OutOfOffice.starts_at < end, OutOfOffice.ends_at > start
        )
    ).first()
    if clash is not None:
        raise InvalidInput(
            f"overlaps the absence already recorded from {clash[0]:%Y-%m-%d %H:%M} to {clash[1]:%Y-%m-%d %H:%M} UTC"
        )
    session.add(OutOfOffice(user_id=user_id, starts_at=start, ends_at=end, note=note))
