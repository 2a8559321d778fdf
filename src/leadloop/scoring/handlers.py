"""Scoring as activities land, inside the capture's transaction: person fit and engagement, the
account x product engagement that opens a lead when it crosses the model's threshold, and MQL.

Load -> decide with the pure rules (fit.py, engagement.py, decay.py) -> write. Nothing here reads
the clock: `now` comes in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import ActivitiesAppended, Event, LeadOpened, LeadReachedMQL
from leadloop.jobs.timers import schedule
from leadloop.lifecycle.handlers import Move, NewLead, move_many, open_leads
from leadloop.lifecycle.model import DEFAULT_PRODUCT, WITH_MARKETING, Trigger
from leadloop.scoring.decay import Decaying, decay_rate, epoch, from_epoch
from leadloop.scoring.document import ACCOUNT_FIELDS, PERSON_FIELDS, ScoringModel
from leadloop.scoring.engagement import weight_for
from leadloop.scoring.fit import GRADE_ORDER, FitResult, evaluate_fit, grade_for
from leadloop.scoring.hand_raise import fast_track, raised_by
from leadloop.scoring.hand_raise import reason as hand_raise_reason
from leadloop.scoring.repository import active_model
from leadloop.store.bulk import chunks, connection, select_in
from leadloop.store.tables import Account, AccountEngagement, Activity, Lead, Person

# Stages from which rising engagement makes a lead an MQL again (the lifecycle's table agrees).
MQL_FROM = tuple(sorted(WITH_MARKETING))
# The fields fit rules may test: defined once, with the document that names them.
PERSON_FIT_FIELDS = PERSON_FIELDS
ACCOUNT_FIT_FIELDS = ACCOUNT_FIELDS
# What scoring a batch reads of its people and accounts: not the whole rows (their JSON attributes
# cost more to decode than the rest of the read).
_PERSON_READ = tuple(
    getattr(Person, f)
    for f in ("id", "account_id", "engagement_s", "engagement_t0", *dict.fromkeys(PERSON_FIT_FIELDS))
)
_ACCOUNT_READ = tuple(getattr(Account, f) for f in ("id", *dict.fromkeys(ACCOUNT_FIT_FIELDS)))


def buying_role(seniority: str | None) -> str:
    s = (seniority or "").casefold()
    if s in ("c-level", "vp", "director", "owner", "partner", "head"):
        return "decision maker"
    if s in ("manager", "team lead"):
        return "manager"
    return "practitioner" if s else "unknown"


def _grade_ok(grade: str | None, minimum: str) -> bool:
    return grade is not None and GRADE_ORDER.index(grade) <= GRADE_ORDER.index(minimum)


@dataclass(frozen=True)
class _Raised:
    """The batch's first "talk to me" on a group: its type, when, which activity, and in words."""

    kind: str
    at: float
    activity_id: int
    what: str


@dataclass
class _Group:
    score: Decaying
    opened_at: float | None = None  # first moment in this batch the value reached the open threshold
    mql_at: float | None = None
    stored: bool = False  # a row exists in account_engagement
    hand_raise: _Raised | None = None


def on_activities(session: Session, events: list[ActivitiesAppended], now: datetime) -> list[Event]:
    """Reaction: score what capture appended."""
    return apply_activities(session, [row for e in events for row in e.rows], now=now)


def apply_activities(session: Session, fresh: list[dict[str, Any]], *, now: datetime) -> list[Event]:
    """`fresh`: the activity rows this transaction inserted (with ids)."""
    if not fresh:
        return []
    model, _ = active_model(session)
    rate = decay_rate(model.engagement.half_life_days)
    conn = connection(session)

    person_ids = {r["person_id"] for r in fresh if r["person_id"] is not None}
    people = {p.id: p for p in select_in(session, _PERSON_READ, Person.id, person_ids)}
    account_ids = {r["account_id"] for r in fresh if r["account_id"] is not None} | {
        p.account_id for p in people.values() if p.account_id is not None
    }
    accounts = {a.id: a for a in select_in(session, _ACCOUNT_READ, Account.id, account_ids)}

    # Fit of every person touched, from their own fields and their account's.
    fits: dict[int, FitResult] = {}
    for pid, p in people.items():
        acct = accounts.get(p.account_id) if p.account_id else None
        fits[pid] = evaluate_fit(
            model,
            {f: getattr(p, f) for f in PERSON_FIT_FIELDS},
            {f: getattr(acct, f) for f in ACCOUNT_FIT_FIELDS} if acct else {},
        )

    # Engagement: the batch's weighted, capped signals in time order.
    counts = _stored_same_day(session, fresh, model)
    person_scores = {pid: Decaying(p.engagement_s, p.engagement_t0) for pid, p in people.items()}
    groups = _load_groups(session, fresh)
    clusters = _cluster_history(session, fresh, model, now=now)
    for r in sorted(fresh, key=lambda r: (r["occurred_at"], r["id"])):
        product = r["product"] or DEFAULT_PRODUCT
        what = (
            raised_by(
                model,
                r["type"],
                r["occurred_at"],
                r["id"],
                now=now,
                excluded_by=fits[r["person_id"]].excluded_by if r["person_id"] in fits else None,
                history=clusters.get((r["account_id"], r["type"]), ()),
            )
            if r["account_id"] is not None
            else None
        )
        if what is not None:
            g = groups[(r["account_id"], product)]
            g.hand_raise = g.hand_raise or _Raised(r["type"], epoch(r["occurred_at"]), r["id"], what)
        w = weight_for(model, r["type"], r["product"])
        if not w:
            continue
        cap = model.engagement.caps_per_day.get(r["type"])
        if cap is not None:
            day = (r["person_id"], r["type"], r["occurred_at"].date())
            counts[day] += 1
            if counts[day] > cap:
                continue
        t = epoch(r["occurred_at"])
        if r["person_id"] in person_scores:
            person_scores[r["person_id"]] = person_scores[r["person_id"]].add(w, t, rate)
        if r["account_id"] is not None:
            g = groups[(r["account_id"], product)]
            g.score = g.score.add(w, t, rate)
            value = g.score.value_at(t, rate)
            if g.opened_at is None and value >= model.engagement.lead_open_threshold:
                g.opened_at = t
            if g.mql_at is None and value >= model.engagement.mql_threshold:
                g.mql_at = t

    if people:
        conn.execute(
            _UPDATE_PERSON,
            [
                {
                    "id": pid,
                    "fit": fits[pid].score,
                    "grade": fits[pid].grade,
                    "excluded": fits[pid].excluded_by,
                    "s": person_scores[pid].s,
                    "t0": person_scores[pid].t0,
                    "key": person_scores[pid].rank_key(rate),
                }
                for pid in people
            ],
        )
    _save_groups(session, groups, rate)
    return _leads(session, model, rate, groups, now=now)


_UPDATE_PERSON = sa.text(
    "UPDATE people SET fit_score = :fit, grade = :grade, excluded_by = :excluded,"
    " engagement_s = :s, engagement_t0 = :t0, engagement_key = :key WHERE id = :id"
)


def _stored_same_day(
    session: Session, fresh: list[dict[str, Any]], model: ScoringModel
) -> Counter[tuple[Any, ...]]:
    """How many capped signals each (person, type, day) already had before this batch."""
    caps = model.engagement.caps_per_day
    capped = [r for r in fresh if r["type"] in caps and r["person_id"] is not None]
    counts: Counter[tuple[Any, ...]] = Counter()
    if not capped:
        return counts
    fresh_ids = {r["id"] for r in fresh}
    start = min(r["occurred_at"] for r in capped).replace(hour=0, minute=0, second=0, microsecond=0)
    end = max(r["occurred_at"] for r in capped) + timedelta(days=1)
    stmt = sa.select(Activity.id, Activity.person_id, Activity.type, Activity.occurred_at).where(
        Activity.person_id.in_({r["person_id"] for r in capped}),
        Activity.type.in_(set(caps)),
        Activity.occurred_at >= start,
        Activity.occurred_at < end,
    )
    for aid, pid, kind, at in session.execute(stmt):
        if aid not in fresh_ids:
            counts[(pid, kind, at.date())] += 1
    return counts


def _cluster_history(
    session: Session, fresh: list[dict[str, Any]], model: ScoringModel, *, now: datetime
) -> dict[tuple[int, str], list[tuple[datetime, int]]]:
    """For the model's hand-raise clusters: every activity of a cluster's type on the accounts this
    batch touched, from the widest window before the batch's first fresh one to its last, as
    (when, id) per (account, type), sorted. One query per chunk of accounts, none without a cluster."""
    windows = {c.type: c.within_days for c in model.hand_raise.clusters}
    fresh_for = timedelta(days=model.hand_raise.fresh_for_days)
    candidates = [
        r
        for r in fresh
        if r["type"] in windows and r["account_id"] is not None and now - r["occurred_at"] <= fresh_for
    ]
    if not candidates:
        return {}
    types = {r["type"] for r in candidates}
    start = min(r["occurred_at"] for r in candidates) - timedelta(days=max(windows[t] for t in types))
    end = max(r["occurred_at"] for r in candidates)
    out: defaultdict[tuple[int, str], list[tuple[datetime, int]]] = defaultdict(list)
    for part in chunks(sorted({r["account_id"] for r in candidates})):
        stmt = sa.select(Activity.id, Activity.account_id, Activity.type, Activity.occurred_at).where(
            Activity.account_id.in_(part),
            Activity.type.in_(sorted(types)),
            Activity.occurred_at >= start,
            Activity.occurred_at <= end,
        )
        for aid, account_id, kind, at in session.execute(stmt):
            if account_id is not None:  # (the query asks for accounts; the column may be null)
                out[(account_id, kind)].append((at, aid))
    for rows in out.values():
        rows.sort()
    return out


def _load_groups(session: Session, fresh: list[dict[str, Any]]) -> defaultdict[tuple[int, str], _Group]:
    keys = {(r["account_id"], r["product"] or DEFAULT_PRODUCT) for r in fresh if r["account_id"] is not None}
    rows = select_in(
        session, (AccountEngagement.__table__,), AccountEngagement.account_id, {k[0] for k in keys}
    )
    groups: defaultdict[tuple[int, str], _Group] = defaultdict(lambda: _Group(Decaying()))
    for row in rows:
        if (row.account_id, row.product) in keys:
            groups[(row.account_id, row.product)] = _Group(Decaying(row.s, row.t0), stored=True)
    return groups


def _save_groups(session: Session, groups: dict[tuple[int, str], _Group], rate: float) -> None:
    if not groups:
        return
    conn = connection(session)
    rows = [
        (
            {"account_id": a, "product": p, "s": g.score.s, "t0": g.score.t0, "key": g.score.rank_key(rate)},
            g.stored,
        )
        for (a, p), g in groups.items()
    ]
    new = [r for r, stored in rows if not stored]
    old = [r for r, stored in rows if stored]
    if new:
        table: sa.Table = AccountEngagement.__table__  # type: ignore[assignment]
        conn.execute(table.insert(), new)
    if old:
        conn.execute(_UPDATE_GROUP, old)


_UPDATE_GROUP = sa.text(
    "UPDATE account_engagement SET s = :s, t0 = :t0, key = :key WHERE account_id = :account_id AND product = :product"
)
_UPDATE_LEAD_SCORE = sa.text(
    "UPDATE leads SET engagement_s = :s, engagement_t0 = :t0, engagement_key = :key, fit_score = :fit, grade = :grade,"
    " buying_roles = :roles WHERE id = :id"
).bindparams(sa.bindparam("roles", type_=sa.JSON()))


def _account_fit(
    session: Session, account_ids: set[int], model: ScoringModel
) -> dict[int, tuple[float | None, list[str]]]:
    """An account's lead fit is its best engaged contact's; its buying roles, those of every engaged contact."""
    best: dict[int, float | None] = {}
    roles: dict[int, set[str]] = defaultdict(set)
    rows = select_in(
        session,
        (Person.account_id, Person.fit_score, Person.seniority, Person.engagement_s),
        Person.account_id,
        account_ids,
    )
    for r in rows:
        current = best.get(r.account_id)
        if r.fit_score is not None and (current is None or r.fit_score > current):
            best[r.account_id] = r.fit_score
        if r.engagement_s > 0:
            roles[r.account_id].add(buying_role(r.seniority))
    return {a: (best.get(a), sorted(roles.get(a, set()))) for a in account_ids}


def _opened_at(g: _Group) -> float:
    """When the lead opens: its engagement crossed the threshold, or a buyer raised a hand, whichever was first."""
    moments = [t for t in (g.opened_at, g.hand_raise.at if g.hand_raise else None) if t is not None]
    return min(moments, default=0.0)


def _leads(
    session: Session,
    model: ScoringModel,
    rate: float,
    groups: dict[tuple[int, str], _Group],
    *,
    now: datetime,
) -> list[Event]:
    if not groups:
        return []
    account_ids = {k[0] for k in groups}
    leads = {
        (r.account_id, r.product): r
        for r in select_in(
            session, (Lead.id, Lead.account_id, Lead.product, Lead.stage), Lead.account_id, account_ids
        )
    }
    fit = _account_fit(session, account_ids, model)
    # Leads whose engagement crossed the open threshold in this batch, or where a buyer raised a
    # hand, open now (the lifecycle writes them).
    opening = [
        (key, g)
        for key, g in sorted(groups.items())
        if key not in leads and (g.opened_at is not None or g.hand_raise is not None)
    ]
    opened_ids, events = open_leads(
        session,
        [NewLead(a, p, from_epoch(_opened_at(g)), from_epoch(g.score.t0)) for (a, p), g in opening],
        now=now,
    )
    ids = {key: (r.id, r.stage) for key, r in leads.items()}
    for ((account_id, product), _g), lead_id in zip(opening, opened_ids, strict=True):
        ids[(account_id, product)] = (lead_id, "inquiry")
        events.append(LeadOpened(lead_id, account_id, product, now))
    score_rows: list[dict[str, Any]] = []
    mqls: list[Move] = []
    reached: list[Event] = []
    for (account_id, product), g in sorted(groups.items()):
        if (account_id, product) not in ids:
            continue
        lead_id, stage = ids[(account_id, product)]
        fit_score, roles = fit[account_id]
        grade = grade_for(fit_score, model) if fit_score is not None else None
        score_rows.append(
            {
                "id": lead_id,
                "s": g.score.s,
                "t0": g.score.t0,
                "key": g.score.rank_key(rate),
                "fit": fit_score,
                "grade": grade,
                "roles": roles,
            }
        )
        hand = fast_track(stage) if g.hand_raise is not None else None
        if g.hand_raise is not None and hand is not None:
            # A buyer asked to talk: an MQL at once, whatever the engagement or fit (hand_raise.py).
            raised = g.hand_raise
            at = from_epoch(raised.at)
            mqls.append(Move(lead_id, stage, hand, at, hand_raise_reason(raised.kind, at, what=raised.what)))
            reached.append(
                LeadReachedMQL(
                    lead_id,
                    account_id,
                    product,
                    g.score.value_at(raised.at, rate),
                    grade,
                    now,
                    hand_raise=raised.kind,
                    signal=raised.what,
                    activity_id=raised.activity_id,
                    reactivated_from=stage if hand is Trigger.REACTIVATED else None,
                )
            )
        elif g.mql_at is not None and stage in MQL_FROM and _grade_ok(grade, model.mql_min_grade):
            mqls.append(Move(lead_id, stage, Trigger.REACHED_MQL, from_epoch(g.mql_at)))
            reached.append(
                LeadReachedMQL(lead_id, account_id, product, g.score.value_at(g.mql_at, rate), grade, now)
            )
        else:
            continue
        # A hand-raised MQL below the threshold has no crossing to wait for: its SLA clock follows it up.
        cools = g.score.falls_below_at(model.engagement.mql_threshold, rate)
        if cools is not None:
            schedule(
                session,
                "lead_cools",
                f"lead:{lead_id}",
                from_epoch(cools),
                {"threshold": model.engagement.mql_threshold},
            )
    if score_rows:
        connection(session).execute(_UPDATE_LEAD_SCORE, score_rows)
    return events + move_many(session, mqls, now=now) + reached
