"""Conversion and outcomes on SQLite and PostgreSQL: a lead converts with contact roles and moves,
only whoever may work it converts it, an update appends to the history (a step back included),
and another CRM's opportunities and contact roles land by external id, Salesforce's and HubSpot's
headers alike, an unknown account refused per row, and a re-import changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.capture.importer import run_import
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import InvalidInput, PermissionDenied
from leadloop.opportunities import handlers
from leadloop.opportunities.model import Change, RoleIn
from leadloop.store.db import Database
from leadloop.store.tables import (
    Activity,
    Lead,
    LeadStageChange,
    Opportunity,
    OpportunityContact,
    OpportunityStageChange,
    Person,
)
from tests.fixtures.opportunities import Deal, a_person

pytestmark = pytest.mark.usefixtures("db")


def _convert(db: Database, clock: FrozenClock, deal: Deal, who: object = None, **kw: object) -> int:
    roles = kw.pop(
        "roles",
        [RoleIn(deal.people[0], "champion"), RoleIn(deal.people[1], "decision maker", is_primary=True)],
    )
    form = handlers.Conversion(roles=roles, **kw)  # type: ignore[arg-type]
    with db.write() as s:
        return handlers.convert(s, deal.lead_id, who or deal.owner, form, now=clock(), source="api")  # type: ignore[arg-type]


def _history(db: Database, oid: int) -> list[tuple[str | None, str, bool, str]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(
                OpportunityStageChange.stage,
                OpportunityStageChange.outcome,
                OpportunityStageChange.backwards,
                OpportunityStageChange.source,
            )
            .where(OpportunityStageChange.opportunity_id == oid)
            .order_by(OpportunityStageChange.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_lead_converts_with_contact_roles_and_moves_to_opportunity(
    db: Database, clock: FrozenClock, deal: Deal
) -> None:
    oid = _convert(db, clock, deal, amount=Decimal("12000"), currency="eur", stage="discovery")
    with db.read() as s:
        opp = s.get_one(Opportunity, oid)
        assert (opp.lead_id, opp.account_id, opp.person_id, opp.outcome, opp.stage) == (
            deal.lead_id,
            deal.account_id,
            deal.people[1],
            "open",
            "discovery",
        )
        assert (opp.amount, opp.currency, opp.name) == (Decimal("12000.00"), "EUR", "Acme Ltd · analytics")
        assert opp.converted_by_user_id == deal.owner.user_id
        roles = s.execute(
            sa.select(OpportunityContact.person_id, OpportunityContact.role, OpportunityContact.is_primary)
            .where(OpportunityContact.opportunity_id == oid)
            .order_by(OpportunityContact.person_id)
        ).all()
        assert [tuple(r) for r in roles] == [
            (deal.people[0], "champion", False),
            (deal.people[1], "decision maker", True),
        ]
        assert s.get_one(Lead, deal.lead_id).stage == "opportunity"
        moved = s.execute(
            sa.select(LeadStageChange.to_stage, LeadStageChange.by_user_id).where(
                LeadStageChange.lead_id == deal.lead_id
            )
        ).all()
        assert ("opportunity", deal.owner.user_id) in [tuple(r) for r in moved]
        # The milestone is on the primary contact's timeline: nothing was copied to a new record.
        act = s.scalars(sa.select(Activity).where(Activity.type == "opportunity_created")).one()
        assert (act.person_id, act.account_id) == (deal.people[1], deal.account_id)
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 3
    assert _history(db, oid) == [("discovery", "open", False, "api")]


def test_only_the_owner_a_manager_above_or_an_admin_converts(
    db: Database, clock: FrozenClock, deal: Deal
) -> None:
    with pytest.raises(PermissionDenied, match="only the lead's owner"):
        _convert(db, clock, deal, who=deal.other_rep)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Opportunity)) == 0
        assert s.get_one(Lead, deal.lead_id).stage == "sal"
    oid = _convert(db, clock, deal, who=deal.manager)
    with pytest.raises(PermissionDenied), db.write() as s:
        handlers.update(s, oid, deal.other_rep, Change(stage="proposal"), now=clock(), source="api")


def test_a_second_conversion_and_bad_roles_are_refused_with_a_sentence(
    db: Database, clock: FrozenClock, deal: Deal
) -> None:
    with db.write() as s:  # a person of another account
        stranger = a_person(s, deal.account_id, 9, now=clock())
        s.get_one(Person, stranger).account_id = None
    with pytest.raises(InvalidInput, match="not a contact of this lead's account"):
        _convert(db, clock, deal, roles=[RoleIn(deal.people[0]), RoleIn(stranger)])
    with pytest.raises(InvalidInput, match="only one contact can be the primary"):
        _convert(
            db, clock, deal, roles=[RoleIn(deal.people[0], None, True), RoleIn(deal.people[1], None, True)]
        )
    oid = _convert(db, clock, deal)
    with pytest.raises(InvalidInput, match=f"already has an open opportunity \\(#{oid}\\)"):
        _convert(db, clock, deal)


def test_updates_append_history_a_step_back_is_kept_and_lost_needs_a_reason(
    db: Database, clock: FrozenClock, deal: Deal
) -> None:
    oid = _convert(db, clock, deal, stage="proposal", amount=Decimal(5000))

    def update(change: Change) -> None:
        clock.advance(days=1)
        with db.write() as s:
            handlers.update(s, oid, deal.owner, change, now=clock(), source="web")

    update(Change(stage="discovery"))  # back a stage
    update(Change(amount=Decimal("7500.50"), currency="GBP"))
    with pytest.raises(InvalidInput, match="needs a reason"):
        update(Change(outcome="lost"))
    update(Change(outcome="lost", lost_reason="competitor"))
    with db.read() as s:
        assert s.get_one(Lead, deal.lead_id).stage == "lost"
        assert s.get_one(Opportunity, oid).lost_reason == "competitor"
    update(Change(stage="negotiation"))  # reopened: a step back too
    update(Change(outcome="won"))
    assert _history(db, oid) == [
        ("proposal", "open", False, "api"),
        ("discovery", "open", True, "web"),
        ("discovery", "open", False, "web"),
        ("closed lost", "lost", False, "web"),
        ("negotiation", "open", True, "web"),
        ("closed won", "won", False, "web"),
    ]
    with db.read() as s:
        opp = s.get_one(Opportunity, oid)
        assert (opp.outcome, opp.amount, opp.currency, opp.lost_reason) == (
            "won",
            Decimal("7500.50"),
            "GBP",
            None,
        )
        assert opp.closed_at == clock()
        assert s.get_one(Lead, deal.lead_id).stage == "won"
        kinds = set(s.scalars(sa.select(Activity.type).where(Activity.type.like("opportunity_%"))))
        assert kinds == {"opportunity_created", "opportunity_lost", "opportunity_won"}
    update(Change(amount=Decimal("7500.5")))  # the same amount: nothing new
    assert len(_history(db, oid)) == 6


# Salesforce: Account and Contact exports, then Opportunity and OpportunityContactRole.
SF_OPPS = (
    [
        "Opportunity ID",
        "Opportunity Name",
        "Account ID",
        "StageName",
        "Amount",
        "CloseDate",
        "IsWon",
        "IsClosed",
        "CurrencyIsoCode",
        "Loss_Reason__c",
        "CreatedDate",
    ],
    [
        [
            "006A",
            "Acme renewal",
            "001A",
            "Closed Won",
            "50,000",
            "2026-09-01",
            "true",
            "true",
            "EUR",
            "",
            "2026-06-01",
        ],
        [
            "006B",
            "Acme upsell",
            "001A",
            "Closed Lost",
            "8000",
            "2026-08-01",
            "false",
            "true",
            "EUR",
            "Price",
            "2026-06-02",
        ],
        [
            "006C",
            "Acme pilot",
            "001A",
            "Proposal/Price Quote",
            "3000",
            "2027-01-15",
            "false",
            "false",
            "USD",
            "",
            "2026-10-01",
        ],
        [
            "006D",
            "Ghost deal",
            "001ZZZ",
            "Prospecting",
            "100",
            "2027-01-01",
            "false",
            "false",
            "USD",
            "",
            "2026-10-01",
        ],
    ],
)
SF_ROLES = (
    ["Id", "OpportunityId", "ContactId", "Role", "IsPrimary"],
    [
        ["00KA", "006A", "003A", "Decision Maker", "true"],
        ["00KB", "006A", "003B", "Champion", "false"],
        ["00KC", "006C", "003NOPE", "Influencer", "false"],
        ["00KD", "006NOPE", "003A", "User", "false"],
    ],
)


def _people_and_account(db: Database, clock: FrozenClock) -> None:
    with db.write() as s:
        h.upsert_accounts(s, [m.parse_account({"external_id": "001A", "name": "Acme GmbH"})], now=clock())
        h.ingest_people(
            s,
            [
                m.parse_person(
                    {"external_id": "003A", "email": "anna@acme.de", "account_external_id": "001A"}
                ),
                m.parse_person(
                    {"external_id": "003B", "email": "ben@acme.de", "account_external_id": "001A"}
                ),
            ],
            now=clock(),
            source="import",
        )


def test_salesforce_opportunities_and_contact_roles_land_the_unknown_refused_per_row(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    _people_and_account(db, clock)
    opps = run_import(db, "opportunities", make_csv(*SF_OPPS), now=clock)
    assert (opps.created, opps.rejected) == (3, 1)
    assert opps.rejects_path is not None and "no account '001ZZZ'" in opps.rejects_path.read_text()
    roles = run_import(db, "contact_roles", make_csv(*SF_ROLES), now=clock)
    assert (roles.created, roles.rejected) == (2, 2)
    text = roles.rejects_path.read_text() if roles.rejects_path else ""
    assert "no person '003NOPE'" in text and "no opportunity '006NOPE'" in text
    with db.read() as s:
        by_ext = {o.external_id: o for o in s.scalars(sa.select(Opportunity))}
        won, lost, pilot = by_ext["006A"], by_ext["006B"], by_ext["006C"]
        assert (won.outcome, won.amount, won.currency, won.name) == (
            "won",
            Decimal("50000.00"),
            "EUR",
            "Acme renewal",
        )
        assert (lost.outcome, lost.lost_reason) == ("lost", "Price")
        # An open deal's CloseDate is when it is expected to close, not a close.
        assert (pilot.outcome, pilot.closed_at, str(pilot.expected_close_on)) == ("open", None, "2027-01-15")
        anna = s.scalar(sa.select(Person.id).where(Person.external_id == "003A"))
        primary = s.execute(
            sa.select(OpportunityContact.person_id, OpportunityContact.role).where(
                OpportunityContact.opportunity_id == won.id, OpportunityContact.is_primary.is_(True)
            )
        ).one()
        assert tuple(primary) == (anna, "decision maker")
        assert won.person_id == anna
    history = sum(len(_history(db, o)) for o in (won.id, lost.id, pilot.id))
    # The same files again: nothing changes, nothing is appended.
    again = run_import(db, "opportunities", make_csv(*SF_OPPS), now=clock)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 1)
    roles_again = run_import(db, "contact_roles", make_csv(*SF_ROLES), now=clock)
    assert (roles_again.created, roles_again.updated, roles_again.unchanged) == (0, 0, 2)
    assert sum(len(_history(db, o)) for o in (won.id, lost.id, pilot.id)) == history
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OpportunityContact)) == 2


def test_a_reimport_that_moves_a_stage_back_appends_it_as_history(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    _people_and_account(db, clock)
    header = ["Opportunity ID", "Account ID", "StageName", "Amount", "IsClosed", "IsWon", "CreatedDate"]
    run_import(
        db,
        "opportunities",
        make_csv(header, [["006X", "001A", "Negotiation/Review", "900", "false", "false", "2026-10-01"]]),
        now=clock,
    )
    clock.advance(days=2)
    back = run_import(
        db,
        "opportunities",
        make_csv(header, [["006X", "001A", "Needs Analysis", "900", "false", "false", "2026-10-01"]]),
        now=clock,
    )
    assert back.updated == 1
    with db.read() as s:
        oid = s.scalar(sa.select(Opportunity.id).where(Opportunity.external_id == "006X"))
        assert oid is not None
    assert _history(db, oid) == [
        ("Negotiation/Review", "open", False, "import"),
        ("Needs Analysis", "open", True, "import"),
    ]


def test_hubspot_deals_with_associated_companies_and_contacts(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    _people_and_account(db, clock)
    header = [
        "Record ID",
        "Deal Name",
        "Deal Stage",
        "Amount",
        "Close Date",
        "Associated Company IDs",
        "Associated Contact IDs",
        "Create Date",
    ]
    rows = [
        [
            "9001",
            "Acme platform",
            "closedwon",
            "20000",
            "2026-09-30",
            "001A",
            "003B;003A;003GONE",
            "2026-07-01",
        ],
        ["9002", "Acme add-on", "Contract Sent", "4000", "2027-02-01", "001A;001B", "", "2026-10-01"],
    ]
    report = run_import(db, "opportunities", make_csv(header, rows), now=clock)
    assert (report.created, report.rejected) == (2, 0)
    assert report.warned == 2  # a contact not in Leadloop; a deal on two companies (the first kept)
    with db.read() as s:
        deal = s.scalars(sa.select(Opportunity).where(Opportunity.external_id == "9001")).one()
        assert (deal.outcome, deal.name, deal.amount) == ("won", "Acme platform", Decimal("20000.00"))
        ben = s.scalar(sa.select(Person.id).where(Person.external_id == "003B"))
        roles = s.execute(
            sa.select(OpportunityContact.person_id, OpportunityContact.is_primary).where(
                OpportunityContact.opportunity_id == deal.id
            )
        ).all()
        assert len(roles) == 2 and (ben, True) in [tuple(r) for r in roles]
        addon = s.scalars(sa.select(Opportunity).where(Opportunity.external_id == "9002")).one()
        assert (addon.outcome, str(addon.expected_close_on)) == ("open", "2027-02-01")
