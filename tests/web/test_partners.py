"""The partner portal, with isolation proven by enumerating ids: a partner sees and works only the
leads routed to their organisation; accepts, hands back (routed again at once, never to them) or
misses the tier deadline (recalled, with an alert); reports contacted, qualified, won with the
amount or lost with the reason; registers deals that are compared with the warehouse and wait for
approval or expire. The channel manager's scorecard adds it up."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.auth.handlers import create_api_key, create_user
from leadloop.bootstrap import timer_handlers
from leadloop.jobs.worker import Worker
from leadloop.partners.queries import scorecard
from leadloop.scoring.deal_value import Currency
from leadloop.settings import Settings
from leadloop.store.tables import (
    Account,
    DealRegistration,
    Lead,
    Opportunity,
    Outbox,
    Partner,
    RoutingDecision,
    Team,
    User,
)
from tests.fixtures.routing import ALL_WEEK, add_mql
from tests.fixtures.web import Web

RULES = """\
name: channel
version: 1
fallback: {queue: Sales inbox}
rules:
  - {name: Channel, when: {country: [FR]}, assign: {partner: Northwind}}
  - {name: Channel 2, when: {country: [IT]}, assign: {partner: Southwind}}
  - {name: Direct, assign: {user: ann@x.io}}
reject_reasons: [not_a_fit]
"""


def _client(web: Web, email: str, role: str, **user: object) -> TestClient:
    with web.db.write() as s:
        uid = create_user(s, email=email, name=email.split("@")[0], role=role, password=None, now=web.clock())
        row = s.get(User, uid)
        assert row is not None
        for k, v in user.items():
            setattr(row, k, v)
        token = create_api_key(s, user_email=email, name="t", now=web.clock())
    return TestClient(web.app, headers={"Authorization": f"Bearer {token}"})


def _world(web: Web) -> dict[str, object]:
    now = web.clock()
    with web.db.write() as s:
        north = Partner(name="Northwind", tier="gold", created_at=now)
        south = Partner(name="Southwind", tier="silver", created_at=now)
        s.add_all([north, south])
        s.flush()
        ids = (north.id, south.id)
    boss = _client(web, "max@x.io", "manager")
    _client(web, "ann@x.io", "rep", working_hours=ALL_WEEK)
    paula = _client(web, "paula@north.example", "partner", partner_id=ids[0])
    sam = _client(web, "sam@south.example", "partner", partner_id=ids[1])
    r = boss.post("/api/v1/routing/rulesets", content=RULES, headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    assert boss.post(f"/api/v1/routing/rulesets/{r.json()['id']}/activate").status_code == 200
    from leadloop.routing.handlers import route_lead

    with web.db.write() as s:
        leads = {
            name: add_mql(s, now=now, name=f"{name} SA", country=country, grade="A")
            for name, country in (("paris", "FR"), ("lyon", "FR"), ("rome", "IT"), ("leeds", "GB"))
        }
        for lead_id in leads.values():
            route_lead(s, lead_id, now=now)
    return {"boss": boss, "paula": paula, "sam": sam, "leads": leads, "north": ids[0], "south": ids[1]}


def test_a_partner_sees_only_their_organisations_leads_by_any_id(web: Web) -> None:
    w = _world(web)
    paula, sam = w["paula"], w["sam"]
    leads: dict[str, int] = w["leads"]  # type: ignore[assignment]
    top = max(leads.values()) + 5
    mine = {i for i in range(1, top) if paula.get(f"/api/v1/partner/leads/{i}").status_code == 200}  # type: ignore[attr-defined]
    assert mine == {leads["paris"], leads["lyon"]}
    theirs = {i for i in range(1, top) if sam.get(f"/api/v1/partner/leads/{i}").status_code == 200}  # type: ignore[attr-defined]
    assert theirs == {leads["rome"]}
    assert {x["id"] for x in paula.get("/api/v1/partner/leads").json()} == mine  # type: ignore[attr-defined]
    # Another partner's lead: not found, for reading and for every write.
    for path in ("accept", "report"):
        r = paula.post(f"/api/v1/partner/leads/{leads['rome']}/{path}", json={"outcome": "contacted"})  # type: ignore[attr-defined]
        assert r.status_code == 404, (path, r.text)
    assert (
        paula.post(f"/api/v1/partner/leads/{leads['rome']}/reject", json={"reason": "x"}).status_code == 404
    )  # type: ignore[attr-defined]
    # The company's warehouse stays closed to partners.
    for url in (
        "/api/v1/leads",
        f"/api/v1/leads/{leads['paris']}",
        "/api/v1/inbox",
        "/api/v1/partners/scorecard",
    ):
        assert paula.get(url).status_code == 403, url  # type: ignore[attr-defined]


def test_accept_report_won_and_the_scorecard(web: Web) -> None:
    w = _world(web)
    paula, boss = w["paula"], w["boss"]
    paris = w["leads"]["paris"]  # type: ignore[index]
    early = paula.post(f"/api/v1/partner/leads/{paris}/report", json={"outcome": "qualified"})  # type: ignore[attr-defined]
    assert early.status_code == 422 and "accept" in early.json()["detail"]
    web.clock.advance(hours=2)
    accepted = paula.post(f"/api/v1/partner/leads/{paris}/accept")  # type: ignore[attr-defined]
    assert accepted.status_code == 200 and accepted.json()["stage"] == "sal"
    contacted = paula.post(f"/api/v1/partner/leads/{paris}/report", json={"outcome": "contacted"})  # type: ignore[attr-defined]
    assert contacted.status_code == 200 and contacted.json()["first_touch_at"] is not None
    assert (
        paula.post(f"/api/v1/partner/leads/{paris}/report", json={"outcome": "qualified"}).json()["stage"]
        == "sql"
    )  # type: ignore[attr-defined]
    for bad, said in (
        ({"outcome": "won"}, "amount"),
        ({"outcome": "won", "amount": "lots"}, "not a number"),
        ({"outcome": "lost"}, "say why"),
        ({"outcome": "sold"}, "one of: contacted, qualified, won, lost"),
    ):
        r = paula.post(f"/api/v1/partner/leads/{paris}/report", json=bad)  # type: ignore[attr-defined]
        assert r.status_code == 422 and said in r.json()["detail"], (bad, r.text)
    won = paula.post(f"/api/v1/partner/leads/{paris}/report", json={"outcome": "won", "amount": "12,500"})  # type: ignore[attr-defined]
    assert won.status_code == 200 and won.json()["stage"] == "won"
    with web.db.read() as s:
        opp = s.scalars(sa.select(Opportunity).where(Opportunity.lead_id == paris)).one()
        assert (opp.outcome, str(opp.amount)) == ("won", "12500.00")
    card = {c["name"]: c for c in boss.get("/api/v1/partners/scorecard").json()}  # type: ignore[attr-defined]
    north = card["Northwind"]
    assert (north["received"], north["accepted"], north["won"], north["revenue"]) == (2, 1, 1, "12500.00")
    assert north["median_hours_to_accept"] == 2.0 and north["conversion"] == 0.5
    assert boss.get("/partners").status_code == 200  # type: ignore[attr-defined]
    # A deal won in another currency is converted at the configured rate, or left out and counted:
    # never added to dollars as if it were dollars.
    with web.db.write() as s:
        s.execute(sa.update(Opportunity).where(Opportunity.lead_id == paris).values(currency="EUR"))
    with web.db.read() as s:
        bare = {c.name: c for c in scorecard(s, currency=Currency("USD"))}["Northwind"]
        rated = {c.name: c for c in scorecard(s, currency=Currency("USD", {"EUR": Decimal("1.1")}))}
    assert (bare.revenue, bare.revenue_left_out) == (Decimal(0), 1)
    assert (rated["Northwind"].revenue, rated["Northwind"].revenue_left_out) == (Decimal("13750.00"), 0)
    page = boss.get("/partners").text  # type: ignore[attr-defined]
    assert "+1 won in a currency without a rate" in page and "0.00 USD" in page


def test_handed_back_or_missed_leads_are_routed_again_never_to_that_partner(web: Web) -> None:
    w = _world(web)
    paula = w["paula"]
    leads: dict[str, int] = w["leads"]  # type: ignore[assignment]
    assert (
        paula.post(f"/api/v1/partner/leads/{leads['paris']}/reject", json={"reason": ""}).status_code == 422
    )  # type: ignore[attr-defined]
    back = paula.post(f"/api/v1/partner/leads/{leads['paris']}/reject", json={"reason": "outside our region"})  # type: ignore[attr-defined]
    assert back.status_code == 200
    with web.db.read() as s:
        lead = s.get(Lead, leads["paris"])
        assert lead is not None and lead.owner_partner_id is None and lead.owner_team_id is not None
        last = s.scalars(
            sa.select(RoutingDecision)
            .where(RoutingDecision.lead_id == lead.id)
            .order_by(RoutingDecision.id.desc())
        ).first()
        assert last is not None and last.reason == "partner_rejected"
    # Lyon: Northwind is gold (8 hours); nothing happens at 7 h 59, the lead is recalled at 8 h.
    worker = Worker(web.db, web.clock, timer_handlers(Settings(retrain_every_days=0)))
    web.clock.advance(hours=7, minutes=59)
    worker.run_once()
    with web.db.read() as s:
        assert s.scalar(sa.select(Lead.owner_partner_id).where(Lead.id == leads["lyon"])) == w["north"]
    web.clock.advance(minutes=2)
    assert worker.run_once() >= 1
    with web.db.read() as s:
        lead = s.get(Lead, leads["lyon"])
        assert lead is not None and lead.owner_partner_id is None and lead.stage == "mql"
        alerts = s.scalars(sa.select(Outbox.payload).where(Outbox.key.like("partner-missed:%"))).all()
        queue = s.scalar(sa.select(Team.name).where(Team.id == lead.owner_team_id))
        why = s.scalars(
            sa.select(RoutingDecision.path)
            .where(RoutingDecision.lead_id == lead.id)
            .order_by(RoutingDecision.id.desc())
        ).first()
    # The alert names the partner and where the lead is now (not the rule's choice, which was
    # Northwind again and was skipped), and the audit says why it was skipped.
    (alert,) = [a["data"]["alert"] for a in alerts]
    assert (
        alert == f"partner Northwind did not accept lead #{leads['lyon']} in time; now with the {queue} queue"
    )
    assert why is not None and any("let the accept deadline pass" in str(step.get("why")) for step in why)
    card = {c["name"]: c for c in w["boss"].get("/api/v1/partners/scorecard").json()}  # type: ignore[attr-defined]
    assert (card["Northwind"]["rejected"], card["Northwind"]["sla_misses"]) == (1, 1)


def test_deal_registration_is_compared_approved_or_expires(web: Web) -> None:
    w = _world(web)
    paula, boss = w["paula"], w["boss"]
    with web.db.write() as s:  # leeds SA is a direct customer with a lead at Ann's
        acct = s.scalars(sa.select(Account).where(Account.name == "leeds SA")).one()
        acct.domain = "leeds-sa.co.uk"
    bad = paula.post("/api/v1/partner/deals", json={"company": "X", "domain": "nodomain"})  # type: ignore[attr-defined]
    assert bad.status_code == 422 and "registrable domain" in bad.json()["detail"]
    clash = paula.post(  # type: ignore[attr-defined]
        "/api/v1/partner/deals",
        json={
            "company": "Leeds SA",
            "domain": "https://www.leeds-sa.co.uk/",
            "product": "analytics",
            "amount": "9000",
        },
    )
    assert clash.status_code == 201, clash.text
    fresh = paula.post(  # type: ignore[attr-defined]
        "/api/v1/partner/deals",
        json={"company": "Brand New GmbH", "domain": "brandnew.de", "product": "analytics"},
    )
    stale = paula.post("/api/v1/partner/deals", json={"company": "Slow Ltd"})  # type: ignore[attr-defined]
    listed = {d["id"]: d for d in boss.get("/api/v1/deal-registrations").json()}  # type: ignore[attr-defined]
    warn = listed[clash.json()["id"]]["warnings"]
    assert any("already with ann@x.io" in x for x in warn), warn
    assert listed[fresh.json()["id"]]["warnings"] == [] and listed[fresh.json()["id"]]["matches"] == []
    done = boss.post(f"/api/v1/deal-registrations/{fresh.json()['id']}", json={"approve": True})  # type: ignore[attr-defined]
    assert done.status_code == 200 and done.json()["status"] == "approved"
    with web.db.read() as s:
        lead = s.get(Lead, done.json()["lead_id"])
        assert lead is not None and lead.owner_partner_id == w["north"] and lead.stage == "opportunity"
        assert (
            s.scalar(sa.select(Account.domain).where(Account.id == done.json()["account_id"]))
            == "brandnew.de"
        )
    again = boss.post(f"/api/v1/deal-registrations/{fresh.json()['id']}", json={"approve": False})  # type: ignore[attr-defined]
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    assert (
        paula.post(f"/api/v1/deal-registrations/{stale.json()['id']}", json={"approve": True}).status_code
        == 403
    )  # type: ignore[attr-defined]
    web.clock.advance(days=91)
    Worker(web.db, web.clock, timer_handlers(Settings(retrain_every_days=0))).run_once()
    with web.db.read() as s:
        assert s.get(DealRegistration, stale.json()["id"]).status == "expired"  # type: ignore[union-attr]
    late = boss.post(f"/api/v1/deal-registrations/{clash.json()['id']}", json={"approve": True})  # type: ignore[attr-defined]
    assert late.status_code == 409
