"""Routing a batch of MQLs at once (ADR 0046): the batch's leads, accounts and places are read with
one query each, and each lead is routed as it would be alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop.core.events import LeadReachedMQL
from leadloop.routing.handlers import on_mql
from leadloop.routing.repository import place_of, places_of
from leadloop.store.db import Database
from leadloop.store.tables import Account, Lead, Person
from tests.fixtures.routing import activate_rules, add_mql

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
RULES = """\
name: by country
version: 2
fallback: {queue: Sales inbox}
rules:
  - name: Germany
    when: {country: [DE]}
    assign: {queue: DACH desk}
  - name: France
    when: {country: [FR]}
    assign: {queue: France desk}
"""


def _person(account_id: int, country: str | None, *, age_h: int, merged_into: int | None = None) -> Person:
    at = NOW - timedelta(hours=age_h)
    return Person(
        account_id=account_id, country=country, created_at=at, updated_at=at, merged_into_id=merged_into
    )


@pytest.mark.parametrize("chunk", [500, 3])  # a batch larger than a chunk is read a chunk at a time
def test_a_batch_routes_each_lead_by_the_place_its_people_gave(
    db: Database, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("leadloop.routing.handlers.ROUTE_CHUNK", chunk)
    with db.write() as s:
        activate_rules(s, RULES, now=NOW)
        leads = {
            name: add_mql(s, now=NOW, name=name, country=country)
            for name, country in (("Has FR", "FR"), ("Newest DE", None), ("Nowhere", None), ("Only FR", None))
        }
        account = {
            name: s.scalar(sa.select(Lead.account_id).where(Lead.id == i)) for name, i in leads.items()
        }
        assert all(account.values())
        survivor = _person(account["Newest DE"], "DE", age_h=5)
        s.add(survivor)
        s.flush()
        s.add_all(
            [
                _person(account["Has FR"], "DE", age_h=1),  # the account's own country wins
                _person(account["Newest DE"], "FR", age_h=9),
                _person(account["Newest DE"], None, age_h=0),  # no country: not a place
                _person(account["Newest DE"], "US", age_h=0, merged_into=survivor.id),  # merged away
                _person(account["Nowhere"], None, age_h=2),
                _person(account["Only FR"], "FR", age_h=3),
            ]
        )
        s.flush()
        accounts = list(s.scalars(sa.select(Account).where(Account.id.in_(account.values()))))
        assert places_of(s, accounts) == {a.id: place_of(s, a) for a in accounts}
        assert places_of(s, accounts)[account["Newest DE"]] == ("DE", None, None)
        on_mql(
            s,
            [LeadReachedMQL(i, account[n], "analytics", 50.0, "A", NOW) for n, i in leads.items()],
            NOW,
        )
    with db.read() as s:
        queues = dict(
            s.execute(
                sa.text(
                    "SELECT a.name, t.name FROM leads l JOIN accounts a ON a.id = l.account_id"
                    " JOIN teams t ON t.id = l.owner_team_id"
                )
            ).all()
        )
    assert queues == {
        "Has FR": "France desk",
        "Newest DE": "DACH desk",
        "Nowhere": "Sales inbox",
        "Only FR": "France desk",
    }
