"""CSV import on SQLite and PostgreSQL: what lands, what is rejected and why, and re-runs."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadloop.capture.importer import run_import
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import ImportFileError
from leadloop.store.db import Database
from leadloop.store.tables import Account, Activity, Campaign, Lead, Opportunity, Person, Team
from tests.conftest import count
from tests.fixtures.capture import SALESFORCE_LEADS


def _import(db: Database, clock: FrozenClock, entity: str, path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return run_import(db, entity, path, now=clock, batch_size=kw.pop("batch_size", 2), **kw)  # type: ignore[arg-type]


def _rejects(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_salesforce_export_lands_normalised_and_linked(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    path = make_csv(*SALESFORCE_LEADS, delimiter=";", encoding="cp1252")
    report = _import(db, clock, "people", path)
    assert (report.rows, report.created, report.rejected) == (5, 4, 1)
    assert report.encoding == "cp1252" and report.delimiter == ";"
    with db.read() as s:
        asa = s.scalar(sa.select(Person).where(Person.external_id == "00Q1"))
        assert asa is not None
        assert (asa.email, asa.first_name, asa.country, asa.phone) == (
            "asa.lindstrom@nordicdata.se",
            "Åsa",
            "SE",
            "+46850612345",
        )
        assert asa.attributes == {"Favourite Colour": "blue"}
        assert asa.email_opt_in is True
        account = s.get_one(Account, asa.account_id)
        assert account.domain == "nordicdata.se" and account.name == "Nordic Data AB"
        jose = s.scalar(sa.select(Person).where(Person.email == "jose@acme.es"))
        assert jose is not None and jose.email_opt_in is False
        li = s.scalar(sa.select(Person).where(Person.email == "li.wei@gmail.com"))
        assert li is not None and li.email_kind == "free"
        # A free-mail address never creates a gmail.com account; the company name is used instead.
        assert s.get_one(Account, li.account_id).domain is None
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Account).where(Account.domain == "gmail.com"))
            == 0
        )
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.type == "list_import"))
            == 4
        )
        # A country nobody could read loses nobody: the raw value is kept beside the person.
        atlantis = s.scalars(sa.select(Person).where(Person.external_id == "00Q5")).one()
        assert atlantis.country is None and atlantis.attributes["country_raw"] == "Atlantis"
    assert report.warnings["country"] == 1
    rejects = _rejects(report.rejects_path)  # type: ignore[arg-type]
    assert [(r["_line"], r["Lead ID"]) for r in rejects] == [("5", "00Q4")]
    assert rejects[0]["_reason"].startswith("email: 'not-an-email' is not valid")


def test_rerunning_a_file_updates_instead_of_duplicating(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    path = make_csv(*SALESFORCE_LEADS)
    first = _import(db, clock, "people", path)
    before = (count(db, Person), count(db, Account), count(db, Activity))
    clock.advance(hours=1)
    second = _import(db, clock, "people", path)
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
    assert (count(db, Person), count(db, Account), count(db, Activity)) == before
    # An edited row is an update, with its own capture activity.
    header, rows = SALESFORCE_LEADS
    edited = [list(r) for r in rows]
    edited[0][3] = "Chief Data Officer"
    third = _import(db, clock, "people", make_csv(header, edited))
    assert (third.created, third.updated) == (0, 1)
    with db.read() as s:
        assert s.scalar(sa.select(Person.title).where(Person.external_id == "00Q1")) == "Chief Data Officer"


def test_an_opt_out_survives_a_later_import_saying_opt_in(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    _import(db, clock, "people", make_csv(["Email", "Email Opt Out"], [["ann@acme.com", "yes"]]))
    _import(db, clock, "people", make_csv(["Email", "email_opt_in"], [["ann@acme.com", "true"]]))
    with db.read() as s:
        assert s.scalar(sa.select(Person.email_opt_in).where(Person.email == "ann@acme.com")) is False


def test_same_person_twice_in_one_file_is_one_person(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    path = make_csv(
        ["email", "first_name", "title"], [["ann@acme.com", "Ann", ""], ["ANN@acme.com", "", "CFO"]]
    )
    report = _import(db, clock, "people", path, batch_size=100)
    assert count(db, Person) == 1 and report.created == 1
    with db.read() as s:
        ann = s.scalars(sa.select(Person)).one()
        assert (ann.first_name, ann.title) == ("Ann", "CFO")
    # The merge is said, on the later line: nothing is replaced without a word.
    assert (report.unchanged, report.warned, report.warnings["duplicate"]) == (1, 1, 1)


def test_missing_required_column_writes_nothing(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    with pytest.raises(ImportFileError, match="no type column"):
        _import(db, clock, "activities", make_csv(["email", "occurred_at"], [["a@b.com", "2026-01-01"]]))
    assert count(db, Activity) == 0 and count(db, Person) == 0


def test_oversized_field_and_ragged_row_are_rejected_the_rest_lands(
    db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        "email,title\nok1@acme.com,CEO\nbig@acme.com,"
        + "x" * (10 * 1024 * 1024)
        + "\nrag@acme.com,CTO,extra\nok2@acme.com,CFO\n",
        encoding="utf-8",
    )
    report = _import(db, clock, "people", path)
    assert (report.created, report.rejected) == (2, 2)
    reasons = [r["_reason"] for r in _rejects(report.rejects_path)]  # type: ignore[arg-type]
    assert reasons[0].startswith("title: 10,485,760 characters")
    assert reasons[1] == "ragged row: 3 cells where the header has 2"
    with db.read() as s:
        assert set(s.scalars(sa.select(Person.email))) == {"ok1@acme.com", "ok2@acme.com"}


def test_activities_unknown_type_and_repeats(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    rows = [
        ["new.person@acme.com", "2026-10-01T10:00:00Z", "page_view", "/pricing"],
        ["new.person@acme.com", "2026-10-01T10:00:00Z", "page_view", "/pricing"],  # a real second view
        ["new.person@acme.com", "2026-10-02T10:00:00Z", "telepathy", ""],
        ["new.person@acme.com", "2026-10-03T09:00:00Z", "Demo Request", ""],
    ]
    path = make_csv(["Email", "Timestamp", "Activity Type", "Page URL"], rows)
    report = _import(db, clock, "activities", path)
    assert (report.created, report.rejected) == (3, 1)
    reason = _rejects(report.rejects_path)[0]["_reason"]  # type: ignore[arg-type]
    assert "unknown activity type 'telepathy'; known types:" in reason and "demo_request" in reason
    # The unknown e-mail became a person linked to acme.com; the demo request opened a lead.
    with db.read() as s:
        person = s.scalars(sa.select(Person)).one()
        assert s.get_one(Account, person.account_id).domain == "acme.com"
        lead = s.scalars(sa.select(Lead)).one()
        assert (lead.stage, lead.product, lead.activity_count, lead.contact_count) == (
            "inquiry",
            "general",
            3,
            1,
        )
        assert s.get_one(Team, lead.owner_team_id).name == "Marketing nurture"
    clock.advance(minutes=5)
    again = _import(db, clock, "activities", path)
    assert again.created == 0 and count(db, Activity) == 3
    with db.read() as s:
        assert s.scalars(sa.select(Lead)).one().activity_count == 3


def test_accounts_with_parents_then_people_and_opportunities(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    _import(
        db,
        clock,
        "accounts",
        make_csv(
            [
                "Account ID",
                "Account Name",
                "Website",
                "Number of Employees",
                "Annual Revenue",
                "Billing Country",
                "Parent ID",
            ],
            [
                ["A2", "Acme Europe GmbH", "acme.de", "120", "$12,000,000", "Germany", "A1"],
                ["A1", "Acme Inc.", "https://www.acme.com", "5,000", "1.2B", "US", ""],
            ],
        ),
    )
    with db.read() as s:
        europe = s.scalar(sa.select(Account).where(Account.external_id == "A2"))
        assert europe is not None and europe.parent_id == s.scalar(
            sa.select(Account.id).where(Account.external_id == "A1")
        )
        assert (europe.employees, europe.country, str(europe.annual_revenue)) == (120, "DE", "12000000.00")
    _import(
        db, clock, "people", make_csv(["Contact ID", "Email", "Account ID"], [["C1", "boss@acme.com", "A1"]])
    )
    _import(
        db,
        clock,
        "campaigns",
        make_csv(
            ["Campaign ID", "Campaign Name", "Type", "Actual Cost", "Start Date"],
            [["K1", "Spring webinar", "webinar", "4,500", "2026-03-01"]],
        ),
    )
    report = _import(
        db,
        clock,
        "opportunities",
        make_csv(
            ["Opportunity ID", "Account ID", "Contact ID", "Stage", "Amount", "Close Date", "Created Date"],
            [
                ["O1", "A1", "C1", "Closed Won", "50,000", "2026-06-01", "2026-04-01"],
                ["O2", "A9", "", "Prospecting", "10", "", "2026-05-01"],
            ],
        ),
    )
    # An opportunity on an account Leadloop does not know is refused with the reason (ADR 0035): a
    # stub account would carry revenue nobody can trace. The rest of the file lands.
    assert (report.created, report.rejected) == (1, 1)
    assert report.rejects_path is not None
    assert "no account 'A9' in Leadloop" in report.rejects_path.read_text()
    with db.read() as s:
        won = s.scalar(sa.select(Opportunity).where(Opportunity.external_id == "O1"))
        assert won is not None and (won.outcome, str(won.amount)) == ("won", "50000.00")
        assert s.scalar(sa.select(Campaign.cost).where(Campaign.external_id == "K1")) == 4500
        assert s.scalar(sa.select(Account.id).where(Account.external_id == "A9")) is None
        types = set(s.scalars(sa.select(Activity.type).where(Activity.account_id == won.account_id)))
        assert {"opportunity_created", "opportunity_won"} <= types


def test_alembic_models_and_migrations_agree(db: Database) -> None:
    from leadloop.store.migrate import check

    check(db.engine)


def test_a_row_over_the_custom_bounds_goes_to_the_rejects_file_and_a_nul_refuses_the_file(
    db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    extra = [f"custom_{i}" for i in range(21)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "first_name", *extra])
        w.writerow(["wide@acme.com", "Wide", *["v"] * 21])
        w.writerow(["long@acme.com", "Long", "v" * 1_001, *[""] * 20])
        w.writerow(["fine@acme.com", "Fine", "v", *[""] * 20])
    report = _import(db, clock, "people", path)
    assert (report.created, report.rejected) == (1, 2)
    reasons = [r["_reason"] for r in _rejects(report.rejects_path)]
    assert "21 custom fields" in reasons[0] and "the limit is 20" in reasons[0]
    assert "the limit for a custom field is 1,000" in reasons[1]
    path.write_text("email,first_name\nnul@acme.com,Nu\x00l\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="NUL byte"):
        _import(db, clock, "people", path)
    assert count(db, Person) == 1
