"""Lead-to-account matching on SQLite and PostgreSQL: corporate domains, free mail by company name
(reordered, abbreviated, suffixes stripped), tiebreakers, subsidiaries, and the recorded reason."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadloop.core.clock import FrozenClock
from leadloop.routing.repository import sticky_owner
from leadloop.store.db import Database
from leadloop.store.tables import Account, Person, User
from tests.fixtures.capture import capture_accounts, capture_people


def _person(db: Database, clock: FrozenClock, **fields: str) -> Any:
    pid = capture_people(db, clock, fields, kind=None)[0].id
    with db.read() as s:
        p = s.get_one(Person, pid)
        acct = s.get(Account, p.account_id) if p.account_id else None
        return p, acct


def test_domains_names_abbreviations_and_reasons(db: Database, clock: FrozenClock) -> None:
    capture_accounts(
        db,
        clock,
        {"external_id": "A1", "name": "Acme Analytics Inc.", "domain": "acme-analytics.com"},
        {"external_id": "A2", "name": "International Business Machines Corp.", "domain": "ibm.com"},
        {"external_id": "A3", "name": "Nordic Data AB", "domain": "nordicdata.se"},
    )
    p, acct = _person(db, clock, email="jo@acme-analytics.com", company="whatever")
    assert acct.name == "Acme Analytics Inc." and p.account_match == "e-mail domain acme-analytics.com"
    p, acct = _person(db, clock, email="jo.p@gmail.com", company="Analytics Acme, LLC")
    assert acct.name == "Acme Analytics Inc." and "≈ account 'Acme Analytics Inc.'" in p.account_match
    p, acct = _person(db, clock, email="sam@yahoo.com", company="IBM")
    assert acct.name == "International Business Machines Corp." and "95% alike" in p.account_match
    p, acct = _person(db, clock, email="ann@outlook.com", company="Nordik Data")  # a typo
    assert acct.name == "Nordic Data AB"
    # different enough is a new account, and a one-letter company is no account at all
    p, acct = _person(db, clock, email="max@gmail.com", company="Acme Bakery")
    assert acct.name == "Acme Bakery" and acct.domain is None
    p, acct = _person(db, clock, email="x@gmail.com", company="X")
    assert acct is None and p.account_match is None


def test_ties_go_to_most_contacts_then_the_oldest(db: Database, clock: FrozenClock) -> None:
    capture_accounts(
        db,
        clock,
        {"external_id": "O1", "name": "Orbit Data GmbH"},
        {"external_id": "O2", "name": "Orbit Data Ltd"},
    )
    _, acct = _person(db, clock, email="first@gmail.com", company="Orbit Data")
    assert acct.external_id == "O1"  # no contacts anywhere yet: the oldest
    for k in range(2):
        _person(db, clock, email=f"c{k}@orbit.co.uk", company="Orbit Data Ltd", account_external_id="O2")
    p, acct = _person(db, clock, email="second@gmail.com", company="Orbit Data")
    assert acct.external_id == "O2" and "chosen by most contacts (2)" in p.account_match


def test_subsidiaries_are_owned_through_their_parent(db: Database, clock: FrozenClock) -> None:
    capture_accounts(
        db,
        clock,
        {"external_id": "G", "name": "Helios Group plc", "domain": "helios-group.com"},
        {"external_id": "G-UK", "name": "Helios Energy UK Ltd", "parent_external_id": "G"},
    )
    with db.write() as s:
        owner = User(email="owner@x.example", name="Owner", role="rep", created_at=clock())
        s.add(owner)
        s.flush()
        s.execute(sa.update(Account).where(Account.external_id == "G").values(owner_user_id=owner.id))
    p, acct = _person(db, clock, email="li@gmail.com", company="Helios Energy UK")
    assert acct.external_id == "G-UK" and "a subsidiary of 'Helios Group plc'" in p.account_match
    with db.read() as s:
        found = sticky_owner(s, s.get_one(Account, acct.id))
    assert found is not None and found.email == "owner@x.example"
