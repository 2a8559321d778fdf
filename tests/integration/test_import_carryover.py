"""A team switching from HubSpot or Salesforce keeps its state, on SQLite and PostgreSQL: owners
matched to users, stages carried through the lifecycle, website and revenue on the account, a
trade-show campaign on every row, and no activity in 1970."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from leadloop.auth.handlers import create_user
from leadloop.capture import runs
from leadloop.capture.importer import execute_run, run_import
from leadloop.core.clock import FrozenClock
from leadloop.lifecycle.handlers import OwnerRef, move
from leadloop.lifecycle.model import Trigger
from leadloop.store.db import Database
from leadloop.store.tables import Account, Activity, Campaign, ImportRun, Lead, LeadStageChange, Person

HUBSPOT = (
    ["Record ID", "First Name", "Last Name", "Email", "Job Title", "Company Name", "Website URL", "Contact owner",
     "Lifecycle Stage", "Lead Status", "Annual Revenue", "Number of Employees", "Industry", "Country/Region", "Create Date"],
    [
        ["501", "Greta", "Lindqvist", "greta@polarsignal.se", "VP Engineering", "Polar Signal AB", "https://www.polarsignal.se/about",
         "Rita Rep", "Sales Qualified Lead", "In Progress", "12500000", "180", "Software", "Sweden", ""],
        ["502", "Jürgen", "Müller", "jm@gmail.com", "CEO", "Alpenblick GmbH", "https://alpenblick.at",
         "rafael@test.example", "Marketing Qualified Lead", "", "4200000", "45", "", "Oesterreich", "2026-10-01 08:00"],
        ["503", "Anna", "Schröder", "anna@rheinwerk.de", "Geschäftsführerin", "Rheinwerk GmbH", "rheinwerk.de",
         "Pieter Unknown", "Customer", "", "", "", "", "Bundesrepublik Deutschland", ""],
        ["504", "Lukas", "Meier", "lukas@zuercher.ch", "CTO", "Zürcher AG", "", "", "Lead", "", "", "", "", "Schweiz", ""],
    ],
)  # fmt: skip


def _users(db: Database, clock: FrozenClock) -> dict[str, int]:
    with db.write() as s:
        return {
            name: create_user(s, email=email, name=name, role="rep", password=None, now=clock())
            for email, name in (("rita@test.example", "Rita Rep"), ("rafael@test.example", "Rafael Rep"))
        }


def test_a_hubspot_export_keeps_owner_stage_website_and_revenue(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    users = _users(db, clock)
    report = run_import(db, "people", make_csv(*HUBSPOT), now=clock, batch_size=2)
    assert (report.created, report.rejected) == (4, 0)
    assert dict(report.owners_missing) == {"Pieter Unknown": 1} and report.owners_set == 2
    with db.read() as s:
        people = {p.external_id: p for p in s.scalars(sa.select(Person))}
        assert (people["502"].country, people["503"].country, people["504"].country) == ("AT", "DE", "CH")

        # The owner, the lifecycle stage and lead status: on the lead of the person's account.
        def lead(ext: str) -> Lead:
            return s.scalars(sa.select(Lead).where(Lead.account_id == people[ext].account_id)).one()

        greta, juergen, anna = lead("501"), lead("502"), lead("503")
        assert (greta.stage, greta.owner_user_id) == ("sql", users["Rita Rep"])
        assert (juergen.stage, juergen.owner_user_id) == ("mql", users["Rafael Rep"])
        assert (anna.stage, anna.owner_user_id, anna.owner_team_id is not None) == ("won", None, True)
        assert greta.source == "import"
        # HubSpot's plain "Lead" is no lead here until it engages: none is opened for it.
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(Lead)
                .where(Lead.account_id == people["504"].account_id)
            )
            == 0
        )
        history = s.execute(
            sa.select(LeadStageChange.to_stage, LeadStageChange.trigger, LeadStageChange.reason)
            .where(LeadStageChange.lead_id == greta.id)
            .order_by(LeadStageChange.id)
        ).all()
        assert [(h.to_stage, h.trigger) for h in history] == [
            ("inquiry", "opened"),
            ("sql", "imported"),
            ("sql", "routed"),
        ]
        assert history[1].reason.startswith("import of ")
        # Website URL and Annual Revenue: the account's, as are size and industry.
        polar = s.get_one(Account, people["501"].account_id)
        assert (polar.domain, polar.annual_revenue, polar.employees, polar.industry) == (
            "polarsignal.se",
            12_500_000,
            180,
            "Software",
        )
        alpen = s.get_one(Account, people["502"].account_id)  # a gmail address: the website finds it
        assert (alpen.domain, alpen.annual_revenue) == ("alpenblick.at", 4_200_000)
        # A list import without a date happened when the import ran, never in 1970.
        when = dict(
            s.execute(
                sa.select(Activity.person_id, Activity.occurred_at).where(Activity.type == "list_import")
            ).all()
        )
        assert when[people["501"].id] == clock() and when[people["502"].id].isoformat().startswith(
            "2026-10-01T08:00"
        )
        assert min(when.values()).year == 2026


def test_a_reimport_never_undoes_leadloops_own_work(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    users = _users(db, clock)
    path = make_csv(*HUBSPOT)
    run_import(db, "people", path, now=clock)
    with db.write() as s:  # since then: Greta's lead went to Rafael and was won
        account = s.scalar(sa.select(Person.account_id).where(Person.external_id == "501"))
        greta = s.scalars(sa.select(Lead).where(Lead.account_id == account)).one()
        move(s, greta, Trigger.ROUTED, now=clock(), owner=OwnerRef(user_id=users["Rafael Rep"]))
        move(s, greta, Trigger.WON, now=clock())
    clock.advance(days=1)
    again = run_import(db, "people", path, now=clock)
    assert again.stages_moved == 0 and again.owners_set == 0 and again.owners_kept >= 1
    with db.read() as s:
        greta = s.scalars(sa.select(Lead).where(Lead.account_id == account)).one()
        assert (greta.stage, greta.owner_user_id) == ("won", users["Rafael Rep"])


def test_a_web_run_links_every_row_to_its_campaign_with_the_chosen_values(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    users = _users(db, clock)
    path = make_csv(*HUBSPOT)
    with db.write() as s:
        campaign = s.scalar(
            sa.insert(Campaign).returning(Campaign.id).values(name="Trade show – SaaStr", created_at=clock())
        )
        run_id = runs.create(
            s,
            runs.NewRun(entity="people", filename="hubspot.csv", file_sha256="x", encoding="utf-8-sig",
                        delimiter=",", source="web", stored_path=str(path)),
            now=clock(),
        )  # fmt: skip
        runs.choose(
            s,
            run_id,
            entity="people",
            mapping={},
            choices={
                "stages": {"Customer": "opportunity", "Lead": "-"},
                "owners": {"Pieter Unknown": users["Rita Rep"]},
            },
            campaign_id=campaign,
            encoding="utf-8-sig",
            delimiter=",",
        )
    clock.advance(minutes=1)
    with db.write() as s:
        assert runs.claim(s, run_id, "token", now=clock())
        assert not runs.claim(s, run_id, "other", now=clock())  # one runner per run
    report = execute_run(db, run_id, "token", now=clock, batch_size=3)
    assert report is not None and report.owners_missing == {}
    with db.read() as s:
        run = s.get_one(ImportRun, run_id)
        assert (run.status, run.rows_done, run.rows_created, run.started_at) == ("done", 4, 4, clock())
        members = s.scalars(
            sa.select(Activity.person_id).where(
                Activity.type == "list_import", Activity.campaign_id == campaign
            )
        ).all()
        assert len(members) == 4
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.campaign_id == campaign))
            == 4
        )
        anna = s.scalar(sa.select(Person.account_id).where(Person.external_id == "503"))
        lead = s.scalars(sa.select(Lead).where(Lead.account_id == anna)).one()
        assert (lead.stage, lead.owner_user_id) == ("opportunity", users["Rita Rep"])
        lukas = s.scalar(sa.select(Person.account_id).where(Person.external_id == "504"))
        assert s.scalar(sa.select(sa.func.count()).select_from(Lead).where(Lead.account_id == lukas)) == 0
    # Resuming a finished run is refused: only an interrupted or failed one is taken up again.
    clock.advance(minutes=10)
    with db.write() as s:
        assert not runs.claim(s, run_id, "late", now=clock())
        assert runs.claim(s, run_id, "late", now=clock() + timedelta(days=1)) is False
