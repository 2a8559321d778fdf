"""The pure rules of opportunities: stages and a step back, contact roles, what a conversion and an
update may say, and how Salesforce's and HubSpot's deal exports read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.capture import model as m
from leadloop.contract.headers import map_headers
from leadloop.core.errors import InvalidInput
from leadloop.opportunities.model import (
    RANK,
    STAGES,
    Change,
    RoleIn,
    State,
    backwards,
    contact_roles,
    convert,
    stage_rank,
    update,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OPEN = State("proposal", "open", Decimal(100), None)


def test_a_stage_back_is_backwards_whichever_crm_named_it() -> None:
    assert backwards(State("proposal", "open", None, None), State("discovery", "open", None, None))
    assert backwards(
        State("Negotiation/Review", "open", None, None), State("Prospecting", "open", None, None)
    )
    assert backwards(
        State("contractsent", "open", None, None), State("Appointment Scheduled", "open", None, None)
    )
    assert not backwards(State("discovery", "open", None, None), State("proposal", "open", None, None))
    # A stage nobody taught us is never called backwards; the history keeps it all the same.
    assert not backwards(State("Custom Stage 7", "open", None, None), State("discovery", "open", None, None))
    # A closed deal reopened went back; a new deal went nowhere.
    assert backwards(State("closed won", "won", None, None), State("negotiation", "open", None, None))
    assert not backwards(None, State("discovery", "open", None, None))


@given(st.sampled_from(sorted(RANK)), st.sampled_from(sorted(RANK)))
def test_backwards_is_never_both_ways(a: str, b: str) -> None:
    x, y = State(a, "open", None, None), State(b, "open", None, None)
    assert not (backwards(x, y) and backwards(y, x))
    assert backwards(x, y) == (stage_rank(b, "open") < stage_rank(a, "open"))  # type: ignore[operator]


def test_contact_roles_one_primary_each_person_once_of_the_account() -> None:
    roles = contact_roles([RoleIn(1, "Champion"), RoleIn(2)], {1, 2, 3})
    assert roles == [RoleIn(1, "champion", True), RoleIn(2, None, False)]
    with pytest.raises(InvalidInput, match="at least one contact"):
        contact_roles([], {1})
    with pytest.raises(InvalidInput, match="not a contact of this lead's account"):
        contact_roles([RoleIn(9)], {1})
    with pytest.raises(InvalidInput, match="listed twice"):
        contact_roles([RoleIn(1), RoleIn(1)], {1})
    with pytest.raises(InvalidInput, match="only one contact can be the primary"):
        contact_roles([RoleIn(1, None, True), RoleIn(2, None, True)], {1, 2})
    with pytest.raises(InvalidInput, match="unknown contact role 'boss'"):
        contact_roles([RoleIn(1, "boss")], {1})


def _convert(**kw: object) -> object:
    args: dict[str, object] = {
        "lead_stage": "sal",
        "open_opportunity": None,
        "name": None,
        "default_name": "Acme · analytics",
        "stage": None,
        "amount": None,
        "currency": None,
        "expected_close_on": None,
        "now": NOW,
    }
    return convert(**{**args, **kw})  # type: ignore[arg-type]


def test_a_conversion_opens_at_the_first_stage_and_refuses_what_it_cannot_do() -> None:
    draft = _convert(currency="eur", amount=Decimal("10.005"))
    assert (draft.stage, draft.name, draft.currency, draft.amount) == (  # type: ignore[attr-defined]
        STAGES[0],
        "Acme · analytics",
        "EUR",
        Decimal("10.00"),
    )
    for kw, words in (
        ({"lead_stage": "merged"}, "merged into another"),
        ({"open_opportunity": 7}, "already has an open opportunity \\(#7\\)"),
        ({"stage": "closed won"}, "unknown stage"),
        ({"expected_close_on": date(2026, 10, 1)}, "in the past"),
        ({"currency": "euro"}, "not an ISO 4217 code"),
        ({"amount": Decimal(-1)}, "cannot be negative"),
    ):
        with pytest.raises(InvalidInput, match=words):
            _convert(**kw)


def test_lost_needs_a_reason_won_needs_an_amount_and_an_open_stage_reopens() -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        update(OPEN, None, None, Change(outcome="lost"), now=NOW)
    lost = update(OPEN, None, None, Change(outcome="lost", lost_reason="price"), now=NOW)
    assert (lost.state.stage, lost.closed_at, lost.lost_reason, lost.backwards) == (
        "closed lost",
        NOW,
        "price",
        False,
    )
    with pytest.raises(InvalidInput, match="needs its amount"):
        update(State("proposal", "open", None, None), None, None, Change(outcome="won"), now=NOW)
    reopened = update(lost.state, NOW, "price", Change(stage="discovery"), now=NOW)
    assert (reopened.state.outcome, reopened.state.stage, reopened.closed_at, reopened.lost_reason) == (
        "open",
        "discovery",
        None,
        None,
    )
    assert reopened.backwards
    dated = update(OPEN, None, None, Change(outcome="won", closed_on=date(2026, 10, 20)), now=NOW)
    assert dated.closed_at == datetime(2026, 10, 20, 12, 0, tzinfo=UTC) == dated.at
    with pytest.raises(InvalidInput, match="in the future"):
        update(OPEN, None, None, Change(outcome="won", closed_on=date(2026, 12, 1)), now=NOW)
    with pytest.raises(InvalidInput, match="no open stage"):
        update(OPEN, None, None, Change(outcome="won", stage="proposal"), now=NOW)


def _row(entity: str, header: list[str], cells: list[str]) -> dict[str, str]:
    mapping = map_headers(entity, header, {})
    return {mapping[i]: v for i, v in enumerate(cells) if i in mapping}


def test_salesforce_opportunity_and_contact_role_exports_read_as_the_contract() -> None:
    header = [
        "Opportunity ID",
        "Account ID",
        "StageName",
        "Amount",
        "CloseDate",
        "IsWon",
        "IsClosed",
        "CurrencyIsoCode",
        "Loss_Reason__c",
        "Opportunity Name",
    ]
    lost = m.parse_opportunity(
        _row(
            "opportunities",
            header,
            ["006A", "001A", "Lost to rival", "5", "2026-09-01", "false", "true", "eur", "Price", "X"],
        ),
        now=NOW,
    )
    assert (lost.outcome, lost.currency, lost.lost_reason, lost.name) == ("lost", "EUR", "Price", "X")
    assert lost.closed_at == datetime(2026, 9, 1, tzinfo=UTC)
    still_open = m.parse_opportunity(
        _row(
            "opportunities",
            header,
            ["006B", "001A", "Prospecting", "5", "2027-01-01", "false", "false", "", "", ""],
        ),
        now=NOW,
    )
    assert (still_open.outcome, still_open.closed_at, still_open.expected_close_on) == (
        "open",
        None,
        date(2027, 1, 1),
    )
    role = m.parse_contact_role(
        _row(
            "contact_roles",
            ["Id", "OpportunityId", "ContactId", "Role", "IsPrimary"],
            ["00K", "006A", "003A", "Decision Maker", "1"],
        )
    )
    assert (
        role.external_id,
        role.opportunity_external_id,
        role.person_external_id,
        role.role,
        role.is_primary,
    ) == (
        "00K",
        "006A",
        "003A",
        "decision maker",
        True,
    )
    with pytest.raises(InvalidInput, match="not an ISO 4217 code"):
        m.parse_opportunity({"external_id": "1", "account_external_id": "A", "currency": "EURO"}, now=NOW)


def test_hubspot_deal_export_reads_stage_and_associated_records() -> None:
    header = [
        "Record ID",
        "Deal Name",
        "Deal Stage",
        "Amount",
        "Close Date",
        "Associated Company IDs",
        "Associated Contact IDs",
    ]
    deal = m.parse_opportunity(
        _row("opportunities", header, ["9", "Big one", "closedwon", "100", "2026-10-01", "77;78", "5; 6;7"]),
        now=NOW,
    )
    assert (deal.external_id, deal.name, deal.outcome, deal.account_external_id) == (
        "9",
        "Big one",
        "won",
        "77",
    )
    assert (deal.person_external_id, deal.contacts) == ("5", ["6", "7"])
    assert deal.warnings and "2 accounts" in deal.warnings[0]
