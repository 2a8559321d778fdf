"""Account merges on SQLite and PostgreSQL: contacts, timeline, opportunities and leads move to the
survivor (one lead per product, the further one carries on), firmographics fill the survivor's gaps,
a merged account's name finds the survivor, unmerge restores every row exactly; and the warehouse
dedupe merges same-named accounts and queues alike ones."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.identity.account_merge import merge_accounts, unmerge_accounts
from leadloop.identity.account_review import decide_accounts, open_account_pairs
from leadloop.store.db import Database
from leadloop.store.tables import (
    Account,
    AccountKey,
    AccountMerge,
    Activity,
    Lead,
    Opportunity,
    Person,
    RoutingDecision,
    Team,
)
from tests.fixtures.capture import capture_accounts, capture_people


def _person(db: Database, clock: FrozenClock, account: str, email: str) -> int:
    person = {"email": email, "first_name": email[:3], "last_name": "Tester", "account_external_id": account}
    return capture_people(db, clock, person, product="Platform")[0].id


def _lead(s: Any, clock: FrozenClock, account_id: int, product: str, stage: str) -> int:
    """The account's lead for this product (capture may have opened it already), at this stage."""
    lead = s.scalar(sa.select(Lead).where(Lead.account_id == account_id, Lead.product == product))
    if lead is None:
        queue = s.scalar(sa.select(Team.id).where(Team.name == "Marketing nurture"))
        lead = Lead(
            account_id=account_id,
            product=product,
            owner_team_id=queue,
            opened_at=clock(),
            last_activity_at=clock(),
        )
        s.add(lead)
    lead.stage, lead.stage_changed_at = stage, clock()
    s.flush()
    return int(lead.id)


def _rows(db: Database, table: Any, *where: Any) -> dict[int, dict[str, Any]]:
    with db.read() as s:
        return {r.id: dict(r._mapping) for r in s.execute(sa.select(table).where(*where)).all()}


def test_merge_moves_everything_and_unmerge_restores_it_exactly(db: Database, clock: FrozenClock) -> None:
    ids = capture_accounts(
        db,
        clock,
        {"external_id": "OLD", "name": "Acme Analytics", "employees": "120"},
        {
            "external_id": "NEW",
            "name": "Acme Analytics Inc.",
            "domain": "acme-analytics.com",
            "industry": "Software",
        },
    )
    old, new = ids["OLD"], ids["NEW"]
    p_old = _person(db, clock, "OLD", "jo.tester@gmail.com")
    p_new = _person(db, clock, "NEW", "sam@acme-analytics.com")
    with db.write() as s:
        platform_old = _lead(s, clock, old, "platform", "sal")  # further along: carries on
        addon_old = _lead(s, clock, old, "add-on", "inquiry")  # only the merged account has it: moves
        platform_new = _lead(s, clock, new, "platform", "inquiry")  # closed as merged
        opp = Opportunity(
            account_id=old,
            person_id=p_old,
            lead_id=platform_old,
            product="platform",
            created_at=clock(),
            outcome="open",
        )
        s.add(opp)
        s.flush()
        opp_id = opp.id
    everything = (Account.__table__, Lead.__table__, Opportunity.__table__)
    before = {t.name: _rows(db, t) for t in everything}
    activities_before = {r["id"]: r["account_id"] for r in _rows(db, Activity.__table__).values()}

    with db.write() as s:
        done = merge_accounts(s, new, old, now=clock(), method="manual", reasons=["same company"])
    assert done.changed == {"employees": f"account #{old}"}
    assert "carries on" in done.leads["platform"] and "moved" in done.leads["add-on"]
    with db.read() as s:
        survivor, gone = s.get_one(Account, new), s.get_one(Account, old)
        assert gone.merged_into_id == new and survivor.employees == 120 and survivor.industry == "Software"
        assert {p.account_id for p in s.scalars(sa.select(Person).where(Person.id.in_((p_old, p_new))))} == {
            new
        }
        assert set(s.scalars(sa.select(Activity.account_id))) == {new}
        kept, closed, moved = (s.get_one(Lead, i) for i in (platform_old, platform_new, addon_old))
        assert (kept.account_id, kept.stage) == (new, "sal")
        assert (closed.account_id, closed.stage) == (old, "merged")
        assert moved.account_id == new
        assert kept.activity_count == 2 and kept.contact_count == 2  # counted again on the merged timeline
        assert s.get_one(Opportunity, opp_id).account_id == new
        note = s.scalars(sa.select(RoutingDecision).where(RoutingDecision.lead_id == platform_new)).one()
        assert note.reason == "merged" and f"carries on as lead #{platform_old}" in note.summary
        assert not s.scalars(sa.select(AccountKey).where(AccountKey.account_id == old)).all()
    # the merged account's name (and id) find the survivor from now on
    later = m.parse_person(
        {"email": "kim@yahoo.com", "first_name": "Kim", "last_name": "Lo", "company": "Acme Analytics"}
    )
    with db.write() as s:
        kim = h.ingest_people(s, [later], now=clock(), source="api").outcomes[0].id
        assert s.get_one(Person, kim).account_id == new

    with pytest.raises(InvalidInput, match="into itself"), db.write() as s:
        merge_accounts(s, new, new, now=clock())
    with pytest.raises(Conflict, match=f"already merged into #{new}"), db.write() as s:
        merge_accounts(s, new, old, now=clock())
    with pytest.raises(Conflict, match=f"merge into #{new}"), db.write() as s:
        merge_accounts(s, old, new, now=clock())
    with pytest.raises(NotFound), db.write() as s:
        merge_accounts(s, new, 999_999, now=clock())

    clock.advance(minutes=5)
    with db.write() as s:
        unmerge_accounts(s, done.merge_id, now=clock())
    after = {t.name: _rows(db, t) for t in everything}
    assert after == before  # both accounts, every lead and the opportunity, exactly
    activities_after = {r["id"]: r["account_id"] for r in _rows(db, Activity.__table__).values()}
    assert {k: activities_after[k] for k in activities_before} == activities_before
    with db.read() as s:
        assert s.get_one(Person, p_old).account_id == old and s.get_one(Person, kim).account_id == new
        assert s.scalars(sa.select(AccountKey).where(AccountKey.account_id == old)).all()
        reasons = [
            n.reason
            for n in s.scalars(sa.select(RoutingDecision).where(RoutingDecision.lead_id == platform_new))
        ]
        assert reasons == ["merged", "unmerged"]
    with pytest.raises(Conflict, match="already undone"), db.write() as s:
        unmerge_accounts(s, done.merge_id, now=clock())


def test_parents_and_subsidiaries_are_linked_not_merged_and_chains_unmerge_in_order(
    db: Database, clock: FrozenClock
) -> None:
    ids = capture_accounts(
        db,
        clock,
        {"external_id": "G", "name": "Helios Group"},
        {"external_id": "G-UK", "name": "Helios UK", "parent_external_id": "G"},
        {"external_id": "H2", "name": "Helios Group Holdings"},
        {"external_id": "H3", "name": "Helios Grp"},
    )
    with pytest.raises(Conflict, match="parent and subsidiary"), db.write() as s:
        merge_accounts(s, ids["G"], ids["G-UK"], now=clock())
    with db.write() as s:
        first = merge_accounts(s, ids["H2"], ids["G"], now=clock()).merge_id
    with db.read() as s:  # the subsidiary follows its parent to the survivor
        assert s.get_one(Account, ids["G-UK"]).parent_id == ids["H2"]
    with db.write() as s:
        merge_accounts(s, ids["H3"], ids["H2"], now=clock())
    with db.read() as s:  # a chain is flattened: the first merged account points at the last survivor
        assert s.get_one(Account, ids["G"]).merged_into_id == ids["H3"]
    with pytest.raises(Conflict, match="since; undo that merge first"), db.write() as s:
        unmerge_accounts(s, first, now=clock())
    with pytest.raises(NotFound), db.write() as s:
        unmerge_accounts(s, 999_999, now=clock())


def test_warehouse_dedupe_merges_same_names_and_queues_alike_ones(
    db: Database, db_url: str, clock: FrozenClock
) -> None:
    from typer.testing import CliRunner

    from leadloop.cli import app

    ids = capture_accounts(
        db,
        clock,
        {"external_id": "O1", "name": "Orbit Data Ltd"},  # older, but without a domain
        {"external_id": "O2", "name": "Orbit Data GmbH", "domain": "orbit-data.de"},
        {"external_id": "N1", "name": "Nordic Data AB"},
        {"external_id": "N2", "name": "Nordik Data"},
        {"external_id": "V1", "name": "Vela Systems", "domain": "vela.io"},  # two domains: two companies
        {"external_id": "V2", "name": "Vela Systems", "domain": "vela.de"},
        {"external_id": "P", "name": "Pluto Labs"},
    )
    _person(db, clock, "O1", "ann@orbit-mail.example")
    runner = CliRunner()
    dry = runner.invoke(app, ["dedupe", "--warehouse", "--dry-run", "--database-url", db_url])
    assert dry.exit_code == 0, dry.output
    assert "accounts: 1 pairs would merge" in dry.output and "1 would queue" in dry.output
    done = runner.invoke(app, ["dedupe", "--warehouse", "--database-url", db_url])
    assert done.exit_code == 0, done.output
    assert "7 accounts: 1 pairs merged" in done.output
    with db.read() as s:
        merge = s.scalars(sa.select(AccountMerge)).one()
        # the account with a domain survives, though it is the younger
        assert (merge.survivor_id, merge.merged_id, merge.method) == (ids["O2"], ids["O1"], "warehouse")
        assert "the same company name" in merge.reasons[0] and "orbit-data.de" in merge.reasons[1]
        assert (
            s.scalar(sa.select(Person.account_id).where(Person.email == "ann@orbit-mail.example"))
            == ids["O2"]
        )
        pairs, total = open_account_pairs(s)
        assert total == 1 and {pairs[0].left["id"], pairs[0].right["id"]} == {ids["N1"], ids["N2"]}
    with db.write() as s:
        decide_accounts(s, pairs[0].id, "distinct", now=clock(), by_user_id=None)
    again = runner.invoke(app, ["dedupe", "--warehouse", "--database-url", db_url])
    assert (
        "6 accounts: 0 pairs merged" in again.output and "0 queued" in again.output
    )  # "not the same" stands
    with pytest.raises(Conflict, match="already decided"), db.write() as s:
        decide_accounts(s, pairs[0].id, "merge", now=clock(), by_user_id=None)
