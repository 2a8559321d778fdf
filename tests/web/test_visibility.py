"""Who sees what, proven by enumerating ids: a rep sees their own leads, their team's and the sales
queue, never another rep's or marketing's nurture; a manager sees their reports'; marketing sees
everything. Only the owner, a manager above them or an admin may work a lead (a call stops the
owner's SLA clock, so a stranger's call must not)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.auth.handlers import create_api_key, create_user
from leadloop.jobs.timers import pending
from leadloop.lifecycle.repository import SALES_INBOX, queue_id
from leadloop.routing.handlers import route_lead
from leadloop.store.tables import Account, Lead, Person, Team, User
from tests.fixtures.routing import ALL_WEEK, add_mql
from tests.fixtures.web import Web

RULES = """\
name: vis
version: 1
fallback: {queue: Sales inbox}
rules:
  - {name: Ann's, when: {country: [GB]}, assign: {user: ann@x.io}}
  - {name: Bob's, when: {country: [DE]}, assign: {user: bob@x.io}}
sla:
  - {name: All, first_touch_minutes: 30, remind_at: 20, escalate_at: 30, reassign_at: 120}
reject_reasons: [not_a_fit]
"""


def _client(web: Web, email: str, role: str, **user: object) -> tuple[TestClient, int]:
    with web.db.write() as s:
        uid = create_user(s, email=email, name=email.split("@")[0], role=role, password=None, now=web.clock())
        row = s.get(User, uid)
        assert row is not None
        for k, v in user.items():
            setattr(row, k, v)
        token = create_api_key(s, user_email=email, name="t", now=web.clock())
    return TestClient(web.app, headers={"Authorization": f"Bearer {token}"}), uid


def _world(web: Web) -> dict[str, object]:
    boss, boss_id = _client(web, "max@x.io", "manager")
    other_boss, _ = _client(web, "zed@x.io", "manager")
    ann, _ = _client(web, "ann@x.io", "rep", manager_id=boss_id, working_hours=ALL_WEEK)
    bob, _ = _client(web, "bob@x.io", "rep", working_hours=ALL_WEEK)
    marketing = web.api_client("marketing")
    r = boss.post("/api/v1/routing/rulesets", content=RULES, headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    assert boss.post(f"/api/v1/routing/rulesets/{r.json()['id']}/activate").status_code == 200
    now = web.clock()
    with web.db.write() as s:
        leads = {
            name: add_mql(s, now=now, name=f"{name} Ltd", country=country, grade="A")
            for name, country in (("anns", "GB"), ("bobs", "DE"), ("queued", "US"))
        }
        for lead_id in leads.values():
            route_lead(s, lead_id, now=now)
        nurtured = add_mql(s, now=now, name="Nurtured Ltd")  # an MQL still in marketing's queue
        leads["nurture"] = nurtured
        people = {}
        for name, lead_id in leads.items():
            account_id = s.scalar(sa.select(Lead.account_id).where(Lead.id == lead_id))
            person = Person(
                email=f"p@{name}.example",
                first_name=name,
                account_id=account_id,
                attributes={},
                created_at=now,
                updated_at=now,
            )
            s.add(person)
            s.flush()
            people[name] = person.id
        assert s.scalar(sa.select(Lead.owner_team_id).where(Lead.id == leads["queued"])) == queue_id(
            s, SALES_INBOX, now=now
        )
    return {
        "boss": boss,
        "other_boss": other_boss,
        "ann": ann,
        "bob": bob,
        "marketing": marketing,
        "leads": leads,
        "people": people,
    }


def _visible_lead_ids(client: TestClient, top: int) -> set[int]:
    return {i for i in range(1, top + 1) if client.get(f"/api/v1/leads/{i}").status_code == 200}


def test_enumerating_ids_shows_each_role_only_what_it_may_see(web: Web) -> None:
    w = _world(web)
    leads: dict[str, int] = w["leads"]  # type: ignore[assignment]
    people: dict[str, int] = w["people"]  # type: ignore[assignment]
    top = max(leads.values()) + 5
    ann, bob, boss, marketing = w["ann"], w["bob"], w["boss"], w["marketing"]
    assert _visible_lead_ids(ann, top) == {leads["anns"], leads["queued"]}  # type: ignore[arg-type]
    assert _visible_lead_ids(bob, top) == {leads["bobs"], leads["queued"]}  # type: ignore[arg-type]
    assert _visible_lead_ids(boss, top) == {leads["anns"], leads["queued"]}  # type: ignore[arg-type]
    assert _visible_lead_ids(marketing, top) == set(leads.values())  # type: ignore[arg-type]
    # The list, the person pages and the people search say the same.
    listed = {r["id"] for r in ann.get("/api/v1/leads", params={"per_page": 100}).json()["items"]}  # type: ignore[attr-defined]
    assert listed == {leads["anns"], leads["queued"]}
    person_ok = {
        name
        for name, pid in people.items()
        if ann.get(f"/api/v1/people/{pid}").status_code == 200  # type: ignore[attr-defined]
    }
    assert person_ok == {"anns", "queued"}
    hidden = ann.get(f"/api/v1/people/{people['bobs']}")  # type: ignore[attr-defined]
    assert hidden.status_code == 404 and hidden.json()["detail"] == f"there is no person #{people['bobs']}"


def test_only_the_owner_their_manager_or_an_admin_may_work_a_lead(web: Web) -> None:
    w = _world(web)
    leads: dict[str, int] = w["leads"]  # type: ignore[assignment]
    bob, boss, other_boss = w["bob"], w["boss"], w["other_boss"]
    # Bob logs a call on Ann's lead: refused, and Ann's SLA clock keeps running.
    refused = bob.post(f"/api/v1/leads/{leads['anns']}/calls", json={"note": "hi"})  # type: ignore[attr-defined]
    assert refused.status_code == 403
    with web.db.read() as s:
        lead = s.get(Lead, leads["anns"])
        assert lead is not None and lead.first_touch_at is None
        assert pending(s, "sla_due", f"lead:{leads['anns']}") is not None
    assert other_boss.post(f"/api/v1/leads/{leads['anns']}/accept").status_code == 403  # type: ignore[attr-defined]
    accepted = boss.post(f"/api/v1/leads/{leads['anns']}/accept")  # type: ignore[attr-defined]
    assert accepted.status_code == 200 and accepted.json()["stage"] == "sal"


def test_reps_of_one_team_share_their_leads_unless_the_setting_says_no(make_web) -> None:  # type: ignore[no-untyped-def]
    for share, expected in ((True, 2), (False, 1)):
        web: Web = make_web(share_team_leads=share)
        with web.db.write() as s:
            s.execute(sa.delete(Lead))
            team = Team(name=f"North {share}", is_queue=False, created_at=web.clock())
            s.add(team)
            s.flush()
            team_id = team.id
        a, a_id = _client(web, f"a{share}@x.io", "rep", team_id=team_id)
        _, b_id = _client(web, f"b{share}@x.io", "rep", team_id=team_id)
        with web.db.write() as s:
            for uid, name in ((a_id, "A"), (b_id, "B")):
                lead_id = add_mql(s, now=web.clock(), name=f"{name}{share} Ltd")
                lead = s.get(Lead, lead_id)
                assert lead is not None
                lead.owner_team_id, lead.owner_user_id = None, uid
        assert a.get("/api/v1/leads").json()["total"] == expected
        with web.db.write() as s:
            s.execute(sa.delete(Lead))
            s.execute(sa.delete(Account))


def test_a_manager_sees_the_team_view_and_sla_report_of_their_reports_only(web: Web) -> None:
    w = _world(web)
    boss, other_boss = w["boss"], w["other_boss"]
    mine = {r["email"] for r in boss.get("/api/v1/team").json()}  # type: ignore[attr-defined]
    assert "ann@x.io" in mine and "bob@x.io" not in mine
    assert {r["email"] for r in other_boss.get("/api/v1/team").json()} == {"zed@x.io"}  # type: ignore[attr-defined]
    groups = {r["group"] for r in boss.get("/api/v1/reports/sla?by=rep").json()["rows"]}  # type: ignore[attr-defined]
    assert groups == {"ann"}  # reps by name (here the part before the @)
    admin = web.api_client("admin")
    assert {"ann@x.io", "bob@x.io"} <= {r["email"] for r in admin.get("/api/v1/team").json()}


def test_the_duplicates_queue_shows_a_rep_only_pairs_of_people_they_may_see(web: Web) -> None:
    from leadloop.identity.realtime import Match
    from leadloop.identity.review import suspect

    w = _world(web)
    people: dict[str, int] = w["people"]  # type: ignore[assignment]
    now = web.clock()
    with web.db.write() as s:
        twin_mine = Person(
            email="p2@anns.example",
            first_name="anns",
            account_id=s.get(Person, people["anns"]).account_id,
            attributes={},
            created_at=now,
            updated_at=now,
        )  # type: ignore[union-attr]
        twin_theirs = Person(
            email="p2@bobs.example",
            first_name="bobs",
            account_id=s.get(Person, people["bobs"]).account_id,
            attributes={},
            created_at=now,
            updated_at=now,
        )  # type: ignore[union-attr]
        s.add_all([twin_mine, twin_theirs])
        s.flush()
        suspect(
            s,
            [
                Match(people["anns"], twin_mine.id, 0.9, ("same name",)),
                Match(people["bobs"], twin_theirs.id, 0.9, ("same name",)),
            ],
            now=now,
        )
    ann, marketing = w["ann"], w["marketing"]
    assert marketing.get("/api/v1/duplicates").json()["total"] == 2  # type: ignore[attr-defined]
    mine = ann.get("/api/v1/duplicates").json()  # type: ignore[attr-defined]
    assert mine["total"] == 1
