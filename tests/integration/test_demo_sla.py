"""The demo's history tells the truth (on its SQLite): the leads the rules send to the qualification
desk get a BDR's outcomes through the desk, spread over past weeks, so the desk report has numbers;
and on that world each rep's SLA numbers, as their manager sees them, are the leads behind the link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop.access.repository import scope_of
from leadloop.auth.handlers import principal_for_user
from leadloop.demo.seed import build_demo
from leadloop.leads.queries import LeadFilter, list_leads
from leadloop.routing.report import desk_report, sla_report
from leadloop.store.db import Database
from leadloop.store.tables import LeadStageChange, RoutingDecision, User

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.slow
def test_the_demo_desk_decides_like_a_bdr_and_every_sla_number_is_its_list(sqlite_db: Database) -> None:
    build_demo(sqlite_db, seed=7, n_accounts=100, n_people=400, now=NOW)
    since = NOW - timedelta(days=90)
    with sqlite_db.read() as s:
        bdr = s.scalars(sa.select(User).where(User.role == "bdr")).one()
        h = LeadStageChange
        decided = s.execute(
            sa.select(h.trigger, h.at).where(
                h.by_user_id == bdr.id, h.trigger.in_(("handed_over", "sent_to_nurture", "disqualified"))
            )
        ).all()
        assert {t for t, _ in decided} >= {"handed_over", "sent_to_nurture"}
        assert all(NOW - timedelta(weeks=7) < at < NOW for _, at in decided)
        # The BDR never accepts or rejects like a field rep: the desk decides.
        as_rep = s.scalar(
            sa.select(sa.func.count()).where(
                RoutingDecision.reason.in_(("accepted", "rejected")),
                RoutingDecision.summary.contains(bdr.email),
            )
        )
        assert as_rep == 0
        total = desk_report(s, since=since, now=NOW, within_minutes=240)[-1]
        assert total.group == "All" and total.handed_over >= 1 and total.nurtured + total.disqualified >= 1
        assert total.handed_over + total.nurtured + total.disqualified + total.waiting == total.arrived

        boss = s.scalar(sa.select(User.id).where(User.role == "manager"))
        assert boss is not None
        who = principal_for_user(s, boss)
        assert who is not None
        scope = scope_of(s, who)
        rows = sla_report(s, since=since, now=NOW, users=scope.users)
        assert bdr.name in {r.group for r in rows}
        assert sum(r.missed for r in rows) > 0
        for row in rows:
            assert row.filters is not None
            rep = int(row.filters.split("&")[0].removeprefix("rep="))
            for want, n in (("breached", row.missed), ("met", row.within_sla), (None, row.assigned)):
                f = LeadFilter(rep=rep, days=90, sla=want)
                assert list_leads(s, f, now=NOW, scope=scope).total == n, (row.group, want)
