"""Scoring models as versioned data (the machine is documents/): preview a model against today's
scores (what-if), and activation's own work, every score recomputed through the vectorised path."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.arrays import distinct
from leadloop.core.events import Event, LeadOpened, LeadReachedMQL
from leadloop.core.reactions import publish
from leadloop.lifecycle.handlers import Move, NewLead, move_many, open_leads
from leadloop.lifecycle.model import DEFAULT_PRODUCT, Trigger
from leadloop.scoring.decay import Decaying, decay_rate, epoch, from_epoch
from leadloop.scoring.document import ScoringModel
from leadloop.scoring.fit import grade_for
from leadloop.scoring.fit_columns import fit_columns
from leadloop.scoring.handlers import ACCOUNT_FIT_FIELDS, MQL_FROM, PERSON_FIT_FIELDS, _grade_ok
from leadloop.scoring.recompute import Activities, Groups, encode, group_scores, time_order, weights
from leadloop.store.bulk import connection, read_columns, table_columns
from leadloop.store.tables import Account, AccountEngagement, Lead, Person


def _epoch_sql(session: Session) -> str:
    """Seconds since the epoch of activities.occurred_at (stored as naive UTC), in the dialect's SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return "(julianday(activities.occurred_at) - 2440587.5) * 86400.0"
    return "CAST(EXTRACT(EPOCH FROM activities.occurred_at) AS DOUBLE PRECISION)"


def load_activities(session: Session, types: Collection[str] | None = None) -> Activities:
    """Every activity as column arrays; with `types`, only those of these types (a what-if needs
    only the activities its model weighs: a list import or a sent e-mail scores nothing)."""
    # Straight from the driver's cursor: a million SQLAlchemy rows cost more than the query.
    # The only interpolation is the dialect's own epoch expression and placeholders, constants.
    sql = "SELECT id, coalesce(person_id, -1), coalesce(account_id, -1), coalesce(product, ''), type, "
    sql += _epoch_sql(session) + " FROM activities"
    params: tuple[str, ...] = ()
    if types is not None:
        if not types:
            return Activities.from_columns([], [], [], [], [], [])
        mark = "?" if connection(session).dialect.paramstyle == "qmark" else "%s"
        sql += " WHERE type IN (" + ", ".join([mark] * len(types)) + ")"
        params = tuple(sorted(types))
    ids, person, account, product, kind, t = read_columns(session, sql, params)
    return Activities.from_columns(ids, person, account, product, kind, t)


def weighed_types(model: ScoringModel) -> set[str]:
    """The activity types that can move a score under this model."""
    e = model.engagement
    return {t for t, w in e.weights.items() if w} | {
        t for table in e.per_product.values() for t, w in table.items() if w
    }


def engagement_groups(model: ScoringModel, acts: Activities, *, people: bool = True) -> tuple[Groups, Groups]:
    """Engagement of every person (none with `people=False`) and every account x product,
    vectorised (the activation path)."""
    w = weights(model, acts)
    by_time = time_order(acts.t)
    if people:
        pcodes, pkeys = encode(acts.person)
        persons = group_scores(model, pkeys, acts.t, w, codes=pcodes, by_time=by_time)
    else:
        persons = group_scores(model, [], np.zeros(0), np.zeros(0), codes=np.zeros(0, np.int64))
    # Activities with no account are no account's engagement: weight 0 there, so in no group.
    has_acct = acts.account >= 0
    acodes = np.full(len(acts.t), -1, np.int64)
    acodes[has_acct], akeys = encode(acts.account[has_acct], acts.product[has_acct])
    names = [p or DEFAULT_PRODUCT for p in acts.products]
    akeys = [(int(a), names[int(p)]) for a, p in akeys]  # type: ignore[call-overload]
    accounts = group_scores(model, akeys, acts.t, np.where(has_acct, w, 0.0), codes=acodes, by_time=by_time)
    return persons, accounts


@dataclass
class Preview:
    model: ScoringModel
    person_fit: dict[int, tuple[float, str, str | None]]
    persons: Groups  # none in a what-if: only activation writes people's engagement
    accounts: Groups
    lead_grade: dict[int, str | None]
    account_fit: dict[int, float] = field(default_factory=dict)
    leads_total: int = 0
    grade_changes: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    new_mqls: list[tuple[int, str, float]] = field(default_factory=list)
    new_leads: list[tuple[int, str]] = field(default_factory=list)
    mql_from: dict[int, str] = field(default_factory=dict)  # the stage each new MQL leaves

    def summary(self) -> dict[str, Any]:
        return {
            "leads": self.leads_total,
            "grade_changes": len(self.grade_changes),
            "grade_change_examples": self.grade_changes[:5],
            "new_mqls": len(self.new_mqls),
            "new_mql_examples": self.new_mqls[:5],
            "new_leads": len(self.new_leads),
            "new_lead_examples": self.new_leads[:5],
        }


def preview(session: Session, model: ScoringModel, *, now: datetime, what_if: bool = False) -> Preview:
    """What the model would do to today's warehouse, without writing anything. `what_if`: only the
    summary is wanted, so only the activities the model weighs are read and people's engagement is
    not summed (the leads, grades and MQLs it reports are the same; activation, which writes every
    score, reads them all)."""
    acts = load_activities(session, weighed_types(model) if what_if else None)
    persons, accounts = engagement_groups(model, acts, people=not what_if)
    # Whole columns in a few set-based reads, and every person's fit judged at once (fit_columns.py).
    account_id, account_name, *account_fields = table_columns(
        session, [Account.__table__.c[f] for f in ("id", "name", *ACCOUNT_FIT_FIELDS)]
    )
    person_id, person_account, *person_fields = table_columns(
        session,
        [Person.__table__.c[f] for f in ("id", "account_id", *PERSON_FIT_FIELDS)],
        where="merged_into_id IS NULL",  # the merged-away score nothing
    )
    n = len(person_id)
    columns: dict[str, list[Any]] = {
        f"person.{f}": values for f, values in zip(PERSON_FIT_FIELDS, person_fields, strict=True)
    }
    # Each person's row among the accounts (the last, all None, for a person with none).
    row_of = {a: i for i, a in enumerate(account_id)}
    at = list(map(row_of.get, person_account, repeat(len(account_id))))
    for f, values in zip(ACCOUNT_FIT_FIELDS, account_fields, strict=True):
        columns[f"account.{f}"] = list(map([*values, None].__getitem__, at))
    judged = fit_columns(model, columns, n)
    person_fit = dict(
        zip(person_id, zip(judged.score.tolist(), judged.grade, judged.excluded_by, strict=True), strict=True)
    )
    best = _best_fit(person_account, judged.score)
    rate = decay_rate(model.engagement.half_life_days)
    t = epoch(now)
    index = {k: i for i, k in enumerate(accounts.keys)}
    out = Preview(model, person_fit, persons, accounts, {}, best)
    lead_id, lead_account, lead_product, lead_stage, lead_grade = table_columns(
        session, [Lead.__table__.c[f] for f in ("id", "account_id", "product", "stage", "grade")]
    )
    out.leads_total = len(lead_id)
    names = dict(zip(account_id, map(str, account_name), strict=True))
    grade_of = {a: grade_for(fit, model) for a, fit in best.items()}
    have_lead = set(zip(lead_account, lead_product, strict=True))
    s_now, t0_now = accounts.s.tolist(), accounts.t0.tolist()  # Python floats: no numpy scalar per lead
    for lid, account, product, stage, old_grade in zip(
        lead_id, lead_account, lead_product, lead_stage, lead_grade, strict=True
    ):
        new_grade = grade_of.get(account)
        out.lead_grade[lid] = new_grade
        if new_grade != old_grade:
            out.grade_changes.append((lid, names.get(account, ""), old_grade, new_grade))
        i = index.get((account, product))
        value = Decaying(s_now[i], t0_now[i]).current(t, rate) if i is not None else 0.0
        if (
            stage in MQL_FROM
            and value >= model.engagement.mql_threshold
            and _grade_ok(new_grade, model.mql_min_grade)
        ):
            out.new_mqls.append((lid, names.get(account, ""), round(value, 1)))
            out.mql_from[lid] = stage
    for i in np.flatnonzero(~np.isnan(accounts.opened_at)).tolist():
        key = accounts.keys[i]
        if key not in have_lead:
            out.new_leads.append((int(key[0]), str(key[1])))  # type: ignore[call-overload]
    return out


def _best_fit(account_of: list[int | None], fit: npt.NDArray[np.float64]) -> dict[int, float]:
    """Each account's best fit among its people (an account's lead fit), at least 0."""
    has = np.fromiter((a is not None for a in account_of), np.bool_, len(account_of))
    ids = np.fromiter((a for a in account_of if a is not None), np.int64)
    if not len(ids):
        return {}
    accounts, which, _ = distinct(ids)
    best = np.zeros(len(accounts))
    np.maximum.at(best, which, fit[has])
    return dict(zip(accounts.tolist(), best.tolist(), strict=True))


def activate(session: Session, model: ScoringModel, *, now: datetime) -> tuple[Preview, list[Event]]:
    """Recompute every score with the model being activated, in the activation's transaction."""
    p = preview(session, model, now=now)
    rate = decay_rate(model.engagement.half_life_days)
    conn = connection(session)
    pindex = {k[0]: i for i, k in enumerate(p.persons.keys)}
    person_rows = []
    for pid, (fit, grade, excluded) in p.person_fit.items():
        i = pindex.get(pid)
        s, t0 = (float(p.persons.s[i]), float(p.persons.t0[i])) if i is not None else (0.0, 0.0)
        person_rows.append(
            {
                "id": pid,
                "fit": fit,
                "grade": grade,
                "excluded": excluded,
                "s": s,
                "t0": t0,
                "key": Decaying(s, t0).rank_key(rate),
            }
        )
    if person_rows:
        conn.execute(
            sa.text(
                "UPDATE people SET fit_score = :fit, grade = :grade, excluded_by = :excluded, engagement_s = :s,"
                " engagement_t0 = :t0, engagement_key = :key WHERE id = :id"
            ),
            person_rows,
        )
    conn.execute(sa.delete(AccountEngagement))
    groups = [
        {
            "account_id": int(k[0]),  # type: ignore[call-overload]
            "product": str(k[1]),
            "s": float(p.accounts.s[i]),
            "t0": float(p.accounts.t0[i]),
            "key": Decaying(float(p.accounts.s[i]), float(p.accounts.t0[i])).rank_key(rate),
        }
        for i, k in enumerate(p.accounts.keys)
    ]
    if groups:
        conn.execute(sa.insert(AccountEngagement), groups)
    gindex = {(g["account_id"], g["product"]): g for g in groups}
    events: list[Event] = []
    group_index = {k: i for i, k in enumerate(p.accounts.keys)}
    new = [
        NewLead(a, prod, from_epoch(float(p.accounts.opened_at[i])), from_epoch(float(p.accounts.t0[i])))
        for a, prod in p.new_leads
        for i in (group_index[(a, prod)],)
    ]
    opened_ids, events = open_leads(session, new, now=now)
    events += [
        LeadOpened(lead_id, n.account_id, n.product, now) for n, lead_id in zip(new, opened_ids, strict=True)
    ]
    lead_rows = []
    lead_keys: dict[int, tuple[int, str]] = {}
    for lead_id, account_id, product in session.execute(
        sa.select(Lead.id, Lead.account_id, Lead.product)
    ).all():
        lead_keys[lead_id] = (account_id, product)
        g = gindex.get((account_id, product), {"s": 0.0, "t0": 0.0, "key": Decaying().rank_key(rate)})
        lead_rows.append(
            {
                "id": lead_id,
                "s": g["s"],
                "t0": g["t0"],
                "key": g["key"],
                "grade": p.lead_grade.get(lead_id),
                "fit": p.account_fit.get(account_id),
            }
        )
    if lead_rows:
        conn.execute(
            sa.text(
                "UPDATE leads SET engagement_s = :s, engagement_t0 = :t0, engagement_key = :key, grade = :grade,"
                " fit_score = :fit WHERE id = :id"
            ),
            lead_rows,
        )
    events += move_many(
        session,
        [Move(lead_id, p.mql_from[lead_id], Trigger.REACHED_MQL, now) for lead_id, _, _ in p.new_mqls],
        now=now,
    )
    for lead_id, _name, value in p.new_mqls:
        account_id, product = lead_keys[lead_id]
        events.append(LeadReachedMQL(lead_id, account_id, product, value, p.lead_grade.get(lead_id), now))
    return p, publish(session, events, now=now)
