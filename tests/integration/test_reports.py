"""Every report equals a brute-force reference written here in plain Python over `SELECT *` rows
(no facts table, no report code), on the simulated world of tests/fixtures/reports.py: zero-cost and
uncosted campaigns, opportunities with no touches, touches after the close, merged people and
accounts, an erased person, EUR beside USD, a stage that went backwards; on SQLite and PostgreSQL.
Also: the drill-down returns the leads behind a number, an incremental refresh equals a full
rebuild, and bad input is a named error."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
import sqlalchemy as sa

from leadloop.analytics import audit, capacity, forecast, funnel, roi, sla, speed
from leadloop.analytics.facts import refresh
from leadloop.analytics.filters import (
    CurrencyMix,
    DateRangeBackwards,
    DeletedSegment,
    Money,
    ReportFilters,
    UnknownFilter,
)
from leadloop.analytics.forecast_rules import Opp
from leadloop.core.errors import InvalidInput
from leadloop.store.db import Database
from leadloop.store.tables import (
    Account,
    Activity,
    Campaign,
    Lead,
    LeadFactRow,
    LeadStageChange,
    OppFactRow,
    Opportunity,
    OpportunityStageChange,
    Person,
    SegmentMember,
    User,
)
from tests.fixtures.forecast_reference import reference as forecast_reference
from tests.fixtures.reports import NOW, qualify_one_and_win_one, reports_world

RATE = Decimal("1.1")
MONEY = Money("USD", {"EUR": RATE})
ORDER = ["inquiry", "mql", "sal", "sql", "opportunity", "won"]


@dataclass
class Ref:
    lead: Any
    first: dict[str, datetime | None] = field(default_factory=dict)
    furthest: int = 0
    opps: list[Any] = field(default_factory=list)
    triggers: set[str] = field(default_factory=set)
    segments: set[int] = field(default_factory=set)
    team: int | None = None
    touches: int = 0
    campaign: int | None = None  # its own, else its account's first campaign touch up to its opening


def _usd(o: Any) -> Decimal:
    return (o.amount or Decimal(0)) * (RATE if o.currency == "EUR" else 1)


def reference(db: Database) -> tuple[dict[int, Ref], list[Any]]:
    with db.read() as s:
        leads = [x for x in s.scalars(sa.select(Lead)) if x.stage != "merged"]
        every_lead = {x.id: x for x in s.scalars(sa.select(Lead))}
        moves = list(s.scalars(sa.select(LeadStageChange)))
        opps = list(s.scalars(sa.select(Opportunity)))
        accounts = {a.id: a for a in s.scalars(sa.select(Account))}
        people = {p.id: p for p in s.scalars(sa.select(Person))}
        members = list(s.scalars(sa.select(SegmentMember)))
        users = {u.id: u for u in s.scalars(sa.select(User))}
        acts = list(s.scalars(sa.select(Activity)))
    s.expunge_all() if False else None

    def root(a: int | None) -> int | None:
        while a is not None and accounts[a].merged_into_id is not None:
            a = accounts[a].merged_into_id
        return a

    refs = {x.id: Ref(x) for x in leads}
    by_key = {(x.account_id, x.product): x.id for x in leads}
    for o in opps:
        own = every_lead.get(o.lead_id) if o.lead_id else None
        if own is not None and own.stage != "merged":
            target = own.id
        else:
            acc = root(own.account_id if own else o.account_id)
            target = by_key.get((acc, (own.product if own else None) or o.product or "general"))
        o.target = target  # type: ignore[attr-defined]
        if target is not None:
            refs[target].opps.append(o)
    for r in refs.values():
        x = r.lead
        r.campaign = x.campaign_id
        if r.campaign is None:
            early = sorted(
                (a.occurred_at, a.campaign_id)
                for a in acts
                if a.campaign_id is not None
                and root(a.account_id) == x.account_id
                and a.occurred_at <= x.opened_at
            )
            r.campaign = early[0][1] if early else None
        mine = sorted((m for m in moves if m.lead_id == x.id), key=lambda m: m.at)
        r.triggers = {m.trigger for m in mine}
        first: dict[str, datetime | None] = {s: None for s in ORDER}
        first["inquiry"] = x.opened_at
        for m in mine:
            st = "mql" if m.to_stage == "handed_over" else m.to_stage
            if st in first and first[st] is None and m.from_stage != m.to_stage:
                first[st] = m.at
        cands = {
            "mql": [x.mql_at],
            "sal": [x.accepted_at],
            "opportunity": [o.created_at for o in r.opps],
            "won": [o.closed_at or o.created_at for o in r.opps if o.outcome == "won"],
        }
        for st, vs in cands.items():
            known = [v for v in [first[st], *vs] if v is not None]
            first[st] = min(known) if known else None
        r.first = first
        rank = {"inquiry": 0, "mql": 1, "handed_over": 1, "sal": 2, "sql": 3, "opportunity": 4, "won": 5}
        r.furthest = max([i for i, st in enumerate(ORDER) if first[st]] + [rank.get(x.stage, 0)])
        r.segments = {
            m.segment_id
            for m in members
            if people[m.person_id].account_id == x.account_id and people[m.person_id].merged_into_id is None
        }
        r.team = users[x.owner_user_id].team_id if x.owner_user_id else x.owner_team_id
        r.touches = sum(
            1
            for a in acts
            if a.account_id == x.account_id
            and a.type in ("call", "meeting", "email_sent")
            and a.occurred_at >= x.opened_at
        )
    return refs, opps


def handed(r: Ref) -> bool:
    return r.furthest >= 1 or r.lead.assigned_at is not None


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    facts = reports_world(db)
    with db.write() as s:
        refresh(s, now=NOW, full=True)
    return facts


def test_audit_equals_the_reference(db: Database, world: dict[str, int]) -> None:
    refs, _ = reference(db)
    for by, key_of in {
        "source": lambda r: [r.lead.source or ""],
        "rep": lambda r: [str(r.lead.owner_user_id or "")],
        "campaign": lambda r: [str(r.campaign or "")],
        "segment": lambda r: [str(s) for s in r.segments],
        "grade": lambda r: [r.lead.grade or ""],
    }.items():
        want: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0, Decimal(0), Counter()])
        for r in refs.values():
            if not handed(r):
                continue
            for k in key_of(r):
                w = want[k]
                x = r.lead
                within = (
                    x.first_touch_at is not None
                    and x.sla_due_at is not None
                    and x.first_touch_at <= x.sla_due_at
                )
                for i, ok in enumerate(
                    [
                        True,
                        r.furthest >= 2 or x.accepted_at is not None,
                        x.rejected_at is not None,
                        within,
                        r.furthest >= 4,
                        r.furthest >= 5,
                    ]
                ):
                    w[i] += int(ok)
                w[6] += sum((_usd(o) for o in r.opps if o.outcome == "won"), Decimal(0))
                if x.rejected_at is not None:
                    w[7][x.rejected_reason or "(no reason)"] += 1
        with db.read() as s:
            got = audit.audit_report(s, now=NOW, filters=ReportFilters(), by=by, money=MONEY)
        assert {
            g.key: [
                g.handed,
                g.accepted,
                g.rejected,
                g.within_sla,
                g.converted,
                g.won,
                g.revenue,
                Counter(dict(g.reasons)),
            ]
            for g in got
        } == {k: [*v[:6], v[6].quantize(Decimal("0.01")), v[7]] for k, v in want.items()}, by
        row = got[0]
        with db.read() as s:
            ids = audit.audit_leads(s, now=NOW, filters=ReportFilters(), by=by, key=row.key, measure="won")
        assert sorted(ids) == sorted(
            r.lead.id for r in refs.values() if handed(r) and r.furthest >= 5 and row.key in key_of(r)
        )


def test_funnel_and_revenue_share_equal_the_reference(db: Database, world: dict[str, int]) -> None:
    refs, opps = reference(db)
    for by in ("cohort", "product"):
        groups: dict[str, list[Ref]] = defaultdict(list)
        for r in refs.values():
            groups[r.lead.opened_at.strftime("%Y-%m") if by == "cohort" else r.lead.product].append(r)
        with db.read() as s:
            got = funnel.funnel_report(s, now=NOW, filters=ReportFilters(), by=by, money=MONEY)
        assert {g.key for g in got.rows} == set(groups)
        for g in got.rows:
            rs = groups[g.key]
            assert g.reached == tuple(sum(r.furthest >= i for r in rs) for i in range(6))
            for i, (a, b) in enumerate(pairwise(ORDER)):
                hours = [
                    int((r.first[b] - r.first[a]).total_seconds() // 3600)
                    for r in rs
                    if r.first[a] and r.first[b] and r.first[b] >= r.first[a]
                ]
                assert g.median_days[i] == (statistics.median(hours) / 24 if hours else None), (g.key, a)
            assert g.recycled == sum(
                bool(r.triggers & {"rejected", "cooled", "sent_to_nurture", "disqualified", "recycled"})
                for r in rs
            )
            assert g.reactivated == sum("reactivated" in r.triggers for r in rs)
    won = [(o, refs[o.target]) for o in opps if o.outcome == "won" and o.target is not None]
    total = sum((_usd(o) for o, _ in won), Decimal(0))

    def seen(r: Ref) -> datetime:
        acc = r.lead.account_id
        with db.read() as s:
            accs = [acc, *s.scalars(sa.select(Account.id).where(Account.merged_into_id == acc))]
            first = s.scalar(
                sa.select(sa.func.min(Activity.occurred_at)).where(Activity.account_id.in_(accs))
            )
            created = s.scalar(sa.select(Account.created_at).where(Account.id == acc))
        return min(v for v in (r.lead.opened_at, first, created) if v is not None)

    def months(a: datetime, b: datetime) -> int:
        n = (b.year - a.year) * 12 + b.month - a.month
        return n - 1 if (b.day, b.time()) < (a.day, a.time()) else n

    old = sum((_usd(o) for o, r in won if months(seen(r), o.closed_at or o.created_at) >= 9), Decimal(0))
    react = sum((_usd(o) for o, r in won if any(m for m in ["reactivated"] if m in r.triggers)), Decimal(0))
    share = got.revenue
    assert share.won_deals == len(won) and share.revenue == total.quantize(Decimal("0.01"))
    assert share.old_revenue == old.quantize(Decimal("0.01")) and share.reactivated_revenue == react.quantize(
        Decimal("0.01")
    )
    assert 0 < share.old_revenue < share.revenue and share.reactivated_revenue > 0


def test_speed_curve_equals_the_reference(db: Database, world: dict[str, int]) -> None:
    refs, _ = reference(db)
    want: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    for r in refs.values():
        start = r.first["mql"] or r.lead.assigned_at
        if not handed(r) or start is None:
            continue
        t = r.lead.first_touch_at
        m = None if t is None else max(0, int((t - start).total_seconds() // 60))
        b = (
            "never"
            if m is None
            else "< 5 min"
            if m < 5
            else "5–30 min"
            if m < 30
            else "30–60 min"
            if m < 60
            else "1–24 h"
            if m < 1440
            else "> 24 h"
        )
        for i, ok in enumerate([True, r.furthest >= 2, r.furthest >= 3, r.furthest >= 4, r.furthest >= 5]):
            want[b][i] += int(ok)
    with db.read() as s:
        got = speed.speed_report(s, now=NOW, filters=ReportFilters())
    assert {g.bucket: [g.leads, g.sal, g.sql, g.opportunity, g.won] for g in got if g.leads} == dict(want)
    assert len(want) == 6  # every bucket has leads in this world


def test_roi_equals_the_reference(db: Database, world: dict[str, int]) -> None:
    refs, _ = reference(db)
    # leads that engagement opened count for their account's first campaign touch
    assert any(r.lead.campaign_id is None and r.campaign is not None for r in refs.values())
    with db.read() as s:
        camps = list(s.scalars(sa.select(Campaign)))
        got = {r.key: r for r in roi.roi_report(s, now=NOW, filters=ReportFilters(), money=MONEY)}
    for c in camps:
        rs = [r for r in refs.values() if r.campaign == c.id]
        row = got[str(c.id)]
        assert row.counts == tuple(sum(r.furthest >= i for r in rs) for i in range(6)), c.name
        assert row.cost == c.cost
        if c.cost == 0 and row.counts[0]:
            assert row.cost_per("leads") == Decimal("0.00") and row.roi is None
        if c.cost is None:
            assert row.cost_per("leads") is None and row.roi is None
    trade = got[str(world["trade_show"])]
    assert trade.cost_per("leads") == (Decimal("12000") / trade.counts[0]).quantize(Decimal("0.01"))
    # the period: a range covering half of the trade show's run costs half
    run_mid = (NOW - timedelta(days=270)).date()
    with db.read() as s:
        half = roi.roi_report(
            s, now=NOW, filters=ReportFilters(start=run_mid, campaign="Trade show"), money=MONEY
        )
    assert len(half) == 1 and abs(half[0].cost - Decimal("6000")) < Decimal("250")  # type: ignore[operator]


def test_forecast_and_aging_and_capacity_equal_the_reference(db: Database, world: dict[str, int]) -> None:
    refs, opps = reference(db)
    with db.read() as s:
        f = forecast.forecast(s, now=NOW, filters=ReportFilters(), money=MONEY)
    closed = [o for o in opps if o.outcome in ("won", "lost")]
    overall = sum(o.outcome == "won" for o in closed) / len(closed)
    assert f.rates["(any)"] == pytest.approx(overall)
    open_ = [o for o in opps if o.outcome == "open"]
    assert sum(r.open_deals for r in f.rows) == len(open_)  # every open deal lands in the horizon here
    assert sum(r.open_amount for r in f.rows) == sum((_usd(o) for o in open_), Decimal(0)).quantize(
        Decimal("0.01")
    )
    nov_last_year = sum(
        (
            _usd(o)
            for o in opps
            if o.outcome == "won" and (o.closed_at or o.created_at).strftime("%Y-%m") == "2025-11"
        ),
        Decimal(0),
    )
    assert f.rows[0].month == "2026-11" and f.rows[0].last_year_won == nov_last_year.quantize(Decimal("0.01"))
    bt = f.backtest
    won_q = sum(
        (
            _usd(o)
            for o in opps
            if o.outcome == "won" and bt.made_at <= (o.closed_at or o.created_at) < bt.quarter_end
        ),
        Decimal(0),
    )
    assert bt.actual_all == won_q.quantize(Decimal("0.01"))
    assert bt.predicted > 0 and bt.pipeline_deals > 0
    # aging: every open lead with sales, once
    with db.read() as s:
        aging = sla.aging_report(s, now=NOW, filters=ReportFilters())
    open_leads = [r for r in refs.values() if r.lead.stage in ("mql", "handed_over", "sal", "sql")]
    assert sum(a.open for a in aging) == len(open_leads)
    want_ages: dict[str, list[int]] = defaultdict(lambda: [0] * len(sla.AGES))
    started: dict[str, list[datetime]] = defaultdict(list)
    for r in open_leads:
        lead = r.lead
        key = f"user:{lead.owner_user_id}" if lead.owner_user_id is not None else f"team:{lead.owner_team_id}"
        begun = lead.assigned_at or lead.mql_at or lead.opened_at
        want_ages[key][sla.AGES.index(sla.age_bucket(max(timedelta(0), NOW - begun)))] += 1
        started[key].append(begun)
    assert {a.key: list(a.ages) for a in aging} == dict(want_ages)
    assert {a.key: a.oldest_days for a in aging} == {
        k: (NOW - min(v)).total_seconds() / 86400 for k, v in started.items()
    }
    assert sum(any(a.ages[i] for a in aging) for i in range(len(sla.AGES))) > 1  # several ages in play
    # capacity: channels' leads and touches
    with db.read() as s:
        cap = capacity.capacity_report(s, now=NOW, filters=ReportFilters(), money=MONEY)
        channel_of = {c.id: c.channel for c in s.scalars(sa.select(Campaign))}
    want: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in refs.values():
        if handed(r):
            ch = channel_of.get(r.campaign) if r.campaign else None
            w = want[ch or r.lead.source or "(none)"]
            w[0] += 1
            w[1] += r.touches
    assert {c.channel: [c.leads, c.sales_touches] for c in cap.channels} == dict(want)
    assert sum(w.leads for w in cap.weeks) == sum(b.leads for b in cap.bands)
    # rep-weeks and load bands against plain Python over the facts' rows
    with db.read() as s:
        facts = s.execute(
            sa.select(
                LeadFactRow.owner_user_id, LeadFactRow.assigned_week, LeadFactRow.response_minutes
            ).where(LeadFactRow.owner_user_id.is_not(None), LeadFactRow.assigned_week.is_not(None))
        ).all()
    per_week: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for owner, week, minutes in facts:
        per_week[(str(owner), week)].append(minutes)
    assert {(w.key, w.week): (w.leads, w.median_response_minutes) for w in cap.weeks} == {
        k: (len(v), statistics.median(m) if (m := [x for x in v if x is not None]) else None)
        for k, v in per_week.items()
    }
    assert any(w.median_response_minutes is not None for w in cap.weeks)
    for band in cap.bands:
        inside = [
            v for v in per_week.values() if capacity.band_of(len(v), cap.config.leads_per_week) == band.band
        ]
        timed = [x for v in inside for x in v if x is not None]
        assert (band.rep_weeks, band.leads) == (len(inside), sum(map(len, inside)))
        assert band.median_response_minutes == (statistics.median(timed) if timed else None)


def test_filters_narrow_and_bad_input_is_a_named_error(db: Database, world: dict[str, int]) -> None:
    refs, _ = reference(db)
    with db.read() as s:
        seg = funnel.funnel_report(
            s, now=NOW, filters=ReportFilters(segment="Big"), by="product", money=MONEY
        )
        team = speed.speed_report(s, now=NOW, filters=ReportFilters(team="East"))
    assert sum(r.reached[0] for r in seg.rows) == sum(
        1 for r in refs.values() if world["segment"] in r.segments
    )
    assert sum(g.leads for g in team) == sum(
        1
        for r in refs.values()
        if r.team == world["team"] and handed(r) and (r.first["mql"] or r.lead.assigned_at)
    )
    with db.read() as s:
        for filters, error in [
            (ReportFilters(start=NOW.date(), end=NOW.date() - timedelta(days=1)), DateRangeBackwards),
            (ReportFilters(campaign="Winter gala"), UnknownFilter),
            (ReportFilters(segment="Old"), DeletedSegment),
            (ReportFilters(team="North"), UnknownFilter),
        ]:
            with pytest.raises(error):
                audit.audit_report(s, now=NOW, filters=filters, money=MONEY)
        with pytest.raises(CurrencyMix, match="EUR cannot be added to USD"):
            funnel.funnel_report(s, now=NOW, filters=ReportFilters(), money=Money("USD"))
        with pytest.raises(InvalidInput, match="group by one of"):
            audit.audit_report(s, now=NOW, filters=ReportFilters(), by="planet", money=MONEY)
        only_eur = funnel.funnel_report(s, now=NOW, filters=ReportFilters(), money=Money("USD", only="EUR"))
    assert only_eur.revenue.currency == "EUR" and only_eur.revenue.revenue > 0


def test_an_incremental_refresh_equals_a_full_rebuild(db: Database, world: dict[str, int]) -> None:
    later = NOW + timedelta(minutes=5)
    with db.write() as s:  # the world's rows were recorded at NOW: the watermark includes its instant
        refresh(s, now=NOW + timedelta(minutes=1))
    with db.write() as s:
        qualify_one_and_win_one(s, later)
        done = refresh(s, now=later)
    assert not done.full and 1 <= done.leads <= 3 and done.opportunities >= 1

    def snapshot() -> tuple[list[Any], list[Any]]:
        with db.read() as s:
            return (
                [tuple(r) for r in s.execute(sa.select(LeadFactRow.__table__).order_by("lead_id"))],
                [tuple(r) for r in s.execute(sa.select(OppFactRow.__table__).order_by("opp_id"))],
            )

    incremental = snapshot()
    with db.write() as s:
        refresh(s, now=later, full=True)
    assert snapshot() == incremental


def test_the_sla_report_counts_the_assignments_made_in_its_range(db: Database, world: dict[str, int]) -> None:
    refs, _ = reference(db)
    assigned = sorted(r.lead.assigned_at for r in refs.values() if r.lead.assigned_at and r.lead.sla_due_at)
    start = assigned[0].date()
    middle = assigned[len(assigned) // 2].date()
    with db.read() as s:

        def total(f: ReportFilters) -> int:
            return sum(r.assigned for r in sla.sla_compliance(s, now=NOW, filters=f))

        everything = total(ReportFilters(start=start))
        before = total(ReportFilters(start=start, end=middle - timedelta(days=1)))
        after = total(ReportFilters(start=middle))
    assert everything > 0 and 0 < before < everything  # the end cuts the later assignments
    assert before + after == everything  # and the two halves partition the whole


def test_the_forecast_read_from_the_warehouse_equals_the_rules_over_its_rows(
    db: Database, world: dict[str, int]
) -> None:
    """`forecast_columns.load` on both databases: amounts to the cent, times to the microsecond, the
    expected close dates and the stage history, against the rules over the same rows read plainly."""
    with db.write() as s:
        opps = s.scalars(sa.select(Opportunity).order_by(Opportunity.id)).all()
        open_ = [o for o in opps if o.outcome == "open"]
        closed = [o for o in opps if o.outcome != "open"]
        assert open_ and closed
        open_[0].expected_close_on = date(2027, 1, 15)
        for k, o in enumerate(opps):
            for j, stage in enumerate(("Discovery", "Proposal")[: 1 + k % 2]):
                at = o.created_at + timedelta(days=j, microseconds=k)
                s.add(
                    OpportunityStageChange(
                        opportunity_id=o.id,
                        at=at,
                        recorded_at=at,
                        stage=stage,
                        outcome="open",
                        source="crm",
                    )
                )
    with db.write() as s:
        refresh(s, now=NOW + timedelta(minutes=1))
        got = forecast.forecast(s, now=NOW, filters=ReportFilters(), money=MONEY)
        history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        h = OpportunityStageChange
        for oid, at, stage in s.execute(
            sa.select(h.opportunity_id, h.at, h.stage).where(h.stage.is_not(None)).order_by(h.id)
        ):
            history[oid].append((at, stage))
        rows = s.execute(
            sa.select(
                OppFactRow.opp_id,
                OppFactRow.stage,
                OppFactRow.outcome,
                OppFactRow.amount,
                OppFactRow.currency,
                OppFactRow.created_at,
                OppFactRow.closed_at,
                Opportunity.expected_close_on,
            ).join(Opportunity, Opportunity.id == OppFactRow.opp_id)
        ).all()
    plain = [Opp(*r, tuple(history.get(r[0], ()))) for r in rows]  # type: ignore[misc]
    want = forecast_reference(plain, now=NOW, wanted=[r.month for r in got.rows], money=MONEY)
    assert got == replace(want, note=got.note)
    assert any(r.open_deals for r in got.rows) and len(got.rates) > 1
