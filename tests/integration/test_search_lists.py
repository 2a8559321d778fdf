"""Search, lists, saved views, exports and campaigns on a real SQLite and PostgreSQL: the fold is
the same in SQL as in Python, accents and case never hide a record, and a rep finds only what their
scope shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.campaigns.queries import CampaignFilter, campaign_view, list_campaigns
from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.core.fold import LATIN_RANGE, fold
from leadloop.home.queries import manager_home, pipeline, rep_home
from leadloop.leads.queries import LeadFilter, export_leads, list_leads
from leadloop.lists.queries import AccountFilter, PeopleFilter, export_people, list_accounts, list_people
from leadloop.lists.views import delete_view, get_view, save_view, views_of
from leadloop.search.queries import search
from leadloop.store.db import Database
from leadloop.store.tables import (
    Account,
    Activity,
    Campaign,
    Lead,
    LeadStageChange,
    Opportunity,
    Person,
    User,
)


def _user(s: Session, email: str, role: str, now: datetime) -> int:
    u = User(email=email, name=email.split("@")[0].title(), role=role, created_at=now)
    s.add(u)
    s.flush()
    return u.id


def _account(s: Session, name: str, domain: str, now: datetime) -> int:
    a = Account(name=name, name_key=fold(name), domain=domain, created_at=now, updated_at=now)
    s.add(a)
    s.flush()
    return a.id


def _person(s: Session, account_id: int, first: str, last: str, email: str, now: datetime) -> int:
    p = Person(
        account_id=account_id, first_name=first, last_name=last, email=email, created_at=now, updated_at=now
    )
    s.add(p)
    s.flush()
    return p.id


def _lead(s: Session, account_id: int, owner: int, now: datetime, **kw: object) -> int:
    row = Lead(
        account_id=account_id,
        product="analytics",
        stage="mql",
        owner_user_id=owner,
        opened_at=now,
        stage_changed_at=now,
        last_activity_at=now,
        **kw,
    )
    s.add(row)
    s.flush()
    return row.id


@pytest.fixture
def world(db: Database, clock) -> dict[str, int]:  # type: ignore[no-untyped-def]
    now = clock()
    with db.write() as s:
        ann = _user(s, "ann@x.io", "rep", now)
        bob = _user(s, "bob@x.io", "rep", now)
        kalte = _account(s, "Kältetechnik Müller GmbH", "kaelte.de", now)
        polar = _account(s, "Polar Signal AB", "polarsignal.se", now)
        jurgen = _person(s, kalte, "Jürgen", "Müller", "j.mueller@kaelte.de", now)
        greta = _person(s, polar, "Greta", "Lindqvist", "greta@polarsignal.se", now)
        anns = _lead(s, kalte, ann, now, sla_due_at=now + timedelta(minutes=20), assigned_at=now)
        past = now - timedelta(hours=2)  # Bob's first touch was due an hour ago: a breach
        bobs = _lead(s, polar, bob, now, assigned_at=past, sla_due_at=past + timedelta(hours=1))
    return {
        "ann": ann,
        "bob": bob,
        "kalte": kalte,
        "polar": polar,
        "jurgen": jurgen,
        "greta": greta,
        "anns": anns,
        "bobs": bobs,
    }


def test_sql_fold_is_the_python_fold_on_every_latin_letter(db: Database) -> None:
    chars = [chr(c) for c in LATIN_RANGE] + list("AZaz09 -'.@")
    with db.read() as s:
        got = [
            v
            for part in (chars[:200], chars[200:])
            for v in s.execute(sa.select(*(sa.func.ll_fold(sa.literal(c, sa.String)) for c in part))).one()
        ]
    wrong = [(c, g, fold(c)) for c, g in zip(chars, got, strict=True) if g != fold(c)]
    assert not wrong


@pytest.mark.parametrize(
    "q", ["Jurgen", "jürgen", "JURGEN", "muller", "MÜLLER", "muller jurgen", "mueller@kaelte"]
)
def test_search_ignores_accents_and_case(db: Database, world: dict[str, int], q: str) -> None:
    with db.read() as s:
        found = search(s, q)
    assert [h.id for h in found.people] == [world["jurgen"]]
    assert [h.id for h in found.leads] == [world["anns"]]  # a lead is found by its contact too


def test_search_finds_accounts_and_leads_by_account_name_and_domain(
    db: Database, world: dict[str, int]
) -> None:
    with db.read() as s:
        by_name, by_domain = search(s, "kaltetechnik"), search(s, "polarsignal")
    assert [h.id for h in by_name.accounts] == [world["kalte"]] and by_name.accounts[0].url.endswith(
        f"/accounts/{world['kalte']}"
    )
    assert [h.id for h in by_domain.leads] == [world["bobs"]]


@pytest.mark.parametrize("q", ["+44 20 7946 0958", "020 7946 0958", "(020) 7946-0958", "7946 0958"])
def test_a_phone_number_typed_as_people_type_it_finds_the_person(
    db: Database, world: dict[str, int], q: str
) -> None:
    """A row with only a phone lands as a person with no name; the number is how to find them."""
    with db.write() as s:
        s.get_one(Person, world["greta"]).phone = "+442079460958"
    with db.read() as s:
        assert [h.id for h in search(s, q).people] == [world["greta"]]
        assert search(s, "020 7946 0959").people == []  # one digit off: nobody


def test_search_treats_wildcards_as_letters(db: Database, world: dict[str, int]) -> None:
    with db.read() as s:
        assert search(s, "%").empty and search(s, "_").empty and search(s, "   ").empty


def test_a_rep_finds_only_what_they_may_see(db: Database, world: dict[str, int]) -> None:
    ann = Scope(users=frozenset({world["ann"]}))
    with db.read() as s:
        mine, theirs = search(s, "müller", scope=ann), search(s, "greta", scope=ann)
        leads = list_leads(s, LeadFilter(q="lindqvist"), now=datetime.now().astimezone(), scope=ann)
        people = list_people(s, PeopleFilter(), scope=ann)
        accounts = list_accounts(s, AccountFilter(), scope=ann)
        exported = list(export_leads(s, LeadFilter(), now=datetime.now().astimezone(), scope=ann))
        picked = list(export_people(s, PeopleFilter(), scope=ann, ids=[world["jurgen"], world["greta"]]))
    assert [h.id for h in mine.people] == [world["jurgen"]]
    assert theirs.empty and leads.total == 0
    assert [p.id for p in people.rows] == [world["jurgen"]]
    assert [a.id for a in accounts.rows] == [world["kalte"]] and accounts.rows[0].people == 1
    assert [r[0] for r in exported] == [world["anns"]]
    assert [r[0] for r in picked] == [world["jurgen"]]  # a ticked id outside the scope is left out


def test_leads_list_searches_contacts_and_says_when_past_the_last_page(
    db: Database, world: dict[str, int]
) -> None:
    with db.read() as s:
        page = list_leads(s, LeadFilter(q="greta"), now=datetime.now().astimezone())
        past = list_leads(s, LeadFilter(page=9), now=datetime.now().astimezone())
    assert [r.id for r in page.rows] == [world["bobs"]]
    assert past.total == 2 and past.rows == [] and past.paging.beyond_last and past.paging.pages == 1


def test_saved_views_are_personal(db: Database, world: dict[str, int], clock) -> None:  # type: ignore[no-untyped-def]
    with db.write() as s:
        v = save_view(s, world["ann"], "leads", "My MQLs", "stage=mql&page=3", now=clock())
        with pytest.raises(Conflict, match="already"):
            save_view(s, world["ann"], "leads", "my mqls", "", now=clock())
        with pytest.raises(InvalidInput, match="no list called"):
            save_view(s, world["ann"], "deals", "x", "", now=clock())
    assert v.url == "/leads?stage=mql"
    with db.read() as s:
        assert [x.name for x in views_of(s, world["ann"], "leads")] == ["My MQLs"]
        assert views_of(s, world["bob"]) == []
        with pytest.raises(NotFound):
            get_view(s, world["bob"], v.id)  # another's view is not found, like one that never was
    with db.write() as s:
        with pytest.raises(NotFound):
            delete_view(s, world["bob"], v.id)
        delete_view(s, world["ann"], v.id)
    with db.read() as s:
        assert views_of(s, world["ann"]) == []


def test_campaigns_count_members_leads_and_opportunities_within_scope(
    db: Database,
    world: dict[str, int],
    clock,  # type: ignore[no-untyped-def]
) -> None:
    now = clock()
    with db.write() as s:
        c = Campaign(
            name="Trade show – Kältemesse",
            channel="event",
            cost=Decimal(12000),
            created_at=now,
            started_at=now - timedelta(days=30),
            ended_at=now - timedelta(days=1),
        )
        s.add(c)
        s.flush()
        for i, (pid, aid) in enumerate(((world["jurgen"], world["kalte"]), (world["greta"], world["polar"]))):
            s.add(
                Activity(
                    dedupe_key=f"t{i}",
                    person_id=pid,
                    account_id=aid,
                    type="event_attended",
                    occurred_at=now - timedelta(days=5),
                    recorded_at=now,
                    campaign_id=c.id,
                    source="import",
                )
            )
        s.add(Opportunity(account_id=world["kalte"], created_at=now, outcome="won", amount=Decimal(50000)))
        cid = c.id
    ann = Scope(users=frozenset({world["ann"]}))
    with db.read() as s:
        everyone = list_campaigns(s, CampaignFilter(q="kaltemesse"), now=now).rows
        annes = list_campaigns(s, CampaignFilter(), now=now, scope=ann).rows
        view = campaign_view(s, cid, now=now, scope=ann)
        ended = list_campaigns(s, CampaignFilter(status="ended"), now=now).rows
        with pytest.raises(NotFound):
            campaign_view(s, 987654, now=now)
    row = everyone[0]
    assert (row.members, row.leads, row.opportunities, row.won, row.won_amount, row.status) == (
        2,
        2,
        1,
        1,
        Decimal(50000),
        "ended",
    )
    assert row.cost_per_lead == Decimal(6000)
    assert (annes[0].members, annes[0].leads) == (1, 1)
    assert [m.id for m in view.members] == [world["jurgen"]] and [lead.id for lead in view.leads] == [
        world["anns"]
    ]
    assert [r.id for r in ended] == [cid]


def test_home_numbers(db: Database, world: dict[str, int], clock) -> None:  # type: ignore[no-untyped-def]
    now = clock()
    with db.read() as s:
        rep = rep_home(s, world["ann"], now=now)
        team = manager_home(s, Scope(users=frozenset({world["ann"], world["bob"]})), now=now)
        pipe = pipeline(s, now=now)
        alone = manager_home(s, Scope(users=frozenset({world["ann"]})), now=now)
    assert (rep.open_leads, rep.waiting, rep.overdue, [c.id for c in rep.clocks]) == (
        1,
        1,
        0,
        [world["anns"]],
    )
    by_name = {r.name: r for r in team.reps}
    assert by_name["Bob"].breached_week == 1 and team.breached_week == 1 and by_name["Ann"].waiting == 1
    assert [r.name for r in alone.reps] == ["Ann"]
    assert ("mql", 2, 0, 0) in pipe.stages
    # Arrivals are moves into a stage: a won lead routed to a new owner (same stage) is not one.
    with db.write() as s:
        moves = [("opportunity", "won", "won"), ("won", "won", "routed"), ("won", "won", "routed")]
        s.add_all(
            LeadStageChange(
                lead_id=world["anns"], at=now, recorded_at=now, from_stage=a, to_stage=b, trigger=trigger
            )
            for a, b, trigger in moves
        )
    with db.read() as s:
        won = [r for r in pipeline(s, now=now).stages if r[0] == "won"]
    assert won == [("won", 0, 1, 1)]
    assert EVERYTHING.everything
