"""Scoring models as versioned data, on SQLite and PostgreSQL: drafts, what-if, activation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadloop.core.clock import FrozenClock
from leadloop.core.errors import Conflict
from leadloop.core.events import LeadReachedMQL
from leadloop.documents.handlers import activate, export, save_draft
from leadloop.scoring.document import ModelDocumentError
from leadloop.scoring.kind import SCORING
from leadloop.scoring.models import preview
from leadloop.scoring.repository import active_model, default_model
from leadloop.store.db import Database
from leadloop.store.tables import AccountEngagement, Lead, Person, ScoringModelRow
from tests.conftest import count
from tests.fixtures.scoring import load_simulated_world


def _world(db: Database, clock: FrozenClock) -> None:
    load_simulated_world(db, clock, seed=11, n_accounts=40, n_people=160, per_person=6)


def _activate(db: Database, clock: FrozenClock, text: str):  # type: ignore[no-untyped-def]
    with db.write() as s:
        mid = save_draft(s, SCORING, text, now=clock()).id
    with db.write() as s:
        return activate(s, SCORING, mid, now=clock())


def test_a_bad_model_is_never_stored(db: Database, clock: FrozenClock) -> None:
    with (
        pytest.raises(ModelDocumentError, match=r"line 3: engagement\.half_life: unknown field"),
        db.write() as s,
    ):
        save_draft(s, SCORING, "name: bad\nengagement:\n  half_life: 3\n", now=clock())
    assert count(db, ScoringModelRow) == 0
    with db.write() as s:
        save_draft(s, SCORING, "name: ok\n", now=clock())
    with pytest.raises(Conflict, match="version 1 exists already"), db.write() as s:
        save_draft(s, SCORING, "name: ok\n", now=clock())


def test_recomputing_with_the_same_model_changes_nothing(db: Database, clock: FrozenClock) -> None:
    """The vectorised path (activation) reproduces what the incremental captures wrote."""
    _world(db, clock)
    with db.read() as s:
        before_people = {
            p.id: (p.engagement_s, p.engagement_t0, p.grade) for p in s.scalars(sa.select(Person))
        }
        before_groups = {
            (g.account_id, g.product): (g.s, g.t0) for g in s.scalars(sa.select(AccountEngagement))
        }
        n_leads = s.scalar(sa.select(sa.func.count()).select_from(Lead))
    assert n_leads and any(v[0] for v in before_people.values())
    text = default_model().model_copy(update={"version": 2}).to_yaml()
    result, events = _activate(db, clock, text)
    assert result.new_leads == [] and not [e for e in events if not isinstance(e, LeadReachedMQL)]
    with db.read() as s:
        after_people = {
            p.id: (p.engagement_s, p.engagement_t0, p.grade) for p in s.scalars(sa.select(Person))
        }
        after_groups = {
            (g.account_id, g.product): (g.s, g.t0) for g in s.scalars(sa.select(AccountEngagement))
        }
        assert s.scalar(sa.select(sa.func.count()).select_from(Lead)) == n_leads
        assert active_model(s)[0].version == 2
    for pid, (s0, t0, grade) in before_people.items():
        s1, t1, grade1 = after_people[pid]
        rate_free = abs(s1 - s0) <= 1e-6 * max(1.0, abs(s0)) and (s0 == 0 or abs(t1 - t0) < 1e-3)
        assert rate_free and grade1 == grade, (pid, before_people[pid], after_people[pid])
    for key, (s0, t0) in before_groups.items():
        s1, t1 = after_groups[key]
        assert s1 == pytest.approx(s0, rel=1e-6, abs=1e-6) and (s0 == 0 or t1 == pytest.approx(t0, abs=1e-3))


def test_what_if_then_activate_a_more_eager_model(db: Database, clock: FrozenClock) -> None:
    _world(db, clock)
    eager = default_model().model_copy(
        update={
            "version": 3,
            "engagement": default_model().engagement.model_copy(update={"mql_threshold": 21.0}),
        }
    )
    with db.read() as s:
        before = {lead.id: lead.stage for lead in s.scalars(sa.select(Lead))}
        plan = preview(s, eager, now=clock())
    assert plan.new_mqls, "a lower MQL threshold must turn some inquiries into MQLs"
    assert all(before[lead_id] in ("inquiry", "nurture", "recycled") for lead_id, _, _ in plan.new_mqls)
    assert plan.summary()["new_mqls"] == len(plan.new_mqls) and len(plan.summary()["new_mql_examples"]) <= 5
    assert count(db, ScoringModelRow) == 0  # a preview writes nothing
    _result, events = _activate(db, clock, eager.to_yaml())
    mql_ids = {e.lead_id for e in events if isinstance(e, LeadReachedMQL)}
    assert mql_ids == {lead_id for lead_id, _, _ in plan.new_mqls}
    with db.read() as s:
        assert {lead.id for lead in s.scalars(sa.select(Lead).where(Lead.stage == "mql"))} >= mql_ids
        assert "mql_threshold: 21.0" in export(s, SCORING)
        statuses = dict(s.execute(sa.select(ScoringModelRow.version, ScoringModelRow.status)).all())
        assert statuses == {3: "active"}


def test_activation_retires_the_previous_model(db: Database, clock: FrozenClock) -> None:
    _activate(db, clock, "name: first\n")
    clock.advance(minutes=1)
    _activate(db, clock, "name: second\n")
    with db.read() as s:
        assert dict(s.execute(sa.select(ScoringModelRow.name, ScoringModelRow.status)).all()) == {
            "first": "retired",
            "second": "active",
        }
        assert active_model(s)[0].name == "second"
