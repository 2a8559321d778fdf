"""Conversion in the browser and the API: the panel on the lead page offers the Convert form to the
lead's owner, a conversion from the form or the API opens the deal, another rep cannot, an update
that says lost without a reason is a 422 with the sentence, and outcomes in bulk land per item."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.store.tables import Lead, Opportunity, OpportunityStageChange, User
from tests.fixtures.opportunities import Deal, build_deal
from tests.fixtures.web import Web


def _mine(web: Web, client_role: str = "rep") -> tuple[TestClient, Deal]:
    """A signed-in rep and a deal on a lead they own."""
    client = web.browser_client(client_role)
    with web.db.write() as s:
        deal = build_deal(s, now=web.clock())
        me = s.scalars(sa.select(User).where(User.email == f"{client_role}-web@test.example")).one()
        s.get_one(Lead, deal.lead_id).owner_user_id = me.id
    return client, deal


def test_the_owner_sees_the_convert_form_and_converts_from_it(web: Web) -> None:
    client, deal = _mine(web)
    panel = client.get(f"/leads/{deal.lead_id}/opportunities")
    assert panel.status_code == 200 and panel.template.name == "_opportunities_panel.html"  # type: ignore[attr-defined]
    assert panel.context["may_convert"] is True  # type: ignore[attr-defined]
    assert [p.id for p in panel.context["people"]] == sorted(deal.people)  # type: ignore[attr-defined]
    done = client.post(
        f"/leads/{deal.lead_id}/convert",
        data={
            "convert": "1",
            "stage": "discovery",
            "amount": "24.000,00",  # the decimal comma: twenty-four thousand
            "currency": "EUR",
            f"contact_{deal.people[0]}": "1",
            f"role_{deal.people[0]}": "champion",
            f"contact_{deal.people[2]}": "1",
            f"role_{deal.people[2]}": "decision maker",
            "primary": str(deal.people[2]),
        },
    )
    assert done.status_code == 200, done.text
    assert done.context["message"].startswith("Converted: opportunity #")  # type: ignore[attr-defined]
    (opp,) = done.context["opps"]  # type: ignore[attr-defined]
    assert (opp.stage, str(opp.amount), opp.currency) == ("discovery", "24000.00", "EUR")
    assert [(c.person_id, c.role, c.is_primary) for c in opp.contacts] == [
        (deal.people[2], "decision maker", True),
        (deal.people[0], "champion", False),
    ]
    assert done.context["may_convert"] is False  # type: ignore[attr-defined]
    # Lost without a reason: the sentence, nothing saved.
    refused = client.post(f"/opportunities/{opp.id}", data={"outcome": "lost"})
    assert refused.status_code == 422 and "needs a reason" in refused.context["error"]  # type: ignore[attr-defined]
    lost = client.post(f"/opportunities/{opp.id}", data={"outcome": "lost", "lost_reason": "timing"})
    assert lost.status_code == 200 and lost.context["opps"][0].lost_reason == "timing"  # type: ignore[attr-defined]


def test_a_form_without_a_contact_is_shown_again_with_the_sentence(web: Web) -> None:
    client, deal = _mine(web)
    r = client.post(f"/leads/{deal.lead_id}/convert", data={"convert": "1", "amount": "ten"})
    assert r.status_code == 422 and "'ten' is not a number" in r.context["error"]  # type: ignore[attr-defined]
    # Twelve thousand written the European way: asked again, not stored as twelve.
    r = client.post(f"/leads/{deal.lead_id}/convert", data={"convert": "1", "amount": "12.000"})
    assert r.status_code == 422 and "more than two decimals" in r.context["error"]  # type: ignore[attr-defined]
    r = client.post(f"/leads/{deal.lead_id}/convert", data={"convert": "1"})
    assert r.status_code == 422 and "at least one contact" in r.context["error"]  # type: ignore[attr-defined]
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Opportunity)) == 0


def test_another_rep_cannot_convert_a_lead_that_is_not_theirs(web: Web) -> None:
    _, deal = _mine(web)
    other = web.browser_client("manager")  # a manager outside the owner's line
    r = other.post(f"/leads/{deal.lead_id}/convert", data={f"contact_{deal.people[0]}": "1"})
    assert r.status_code == 404  # not theirs to see: ids are no way to enumerate
    api = web.api_client("rep")
    r = api.post(f"/api/v1/leads/{deal.lead_id}/convert", json={"contacts": [{"person_id": deal.people[0]}]})
    assert r.status_code == 404
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Opportunity)) == 0


def test_the_api_converts_reads_and_moves_a_deal_on(web: Web) -> None:
    api = web.api_client("admin")
    with web.db.write() as s:
        deal = build_deal(s, now=web.clock())
    r = api.post(
        f"/api/v1/leads/{deal.lead_id}/convert",
        json={
            "contacts": [{"person_id": deal.people[1], "role": "champion"}],
            "stage": "proposal",
            "amount": "900",
        },
    )
    assert r.status_code == 201, r.text
    opp = r.json()
    assert (opp["stage"], opp["amount"], opp["currency"], opp["contacts"][0]["is_primary"]) == (
        "proposal",
        "900.00",
        "USD",
        True,
    )
    r = api.patch(f"/api/v1/opportunities/{opp['id']}", json={"stage": "qualification"})
    assert r.status_code == 200 and [h["backwards"] for h in r.json()["history"]] == [False, True]
    r = api.patch(f"/api/v1/opportunities/{opp['id']}", json={"outcome": "lost"})
    assert r.status_code == 422 and "needs a reason" in r.json()["detail"]
    r = api.patch(f"/api/v1/opportunities/{opp['id']}", json={})
    assert r.status_code == 422 and "nothing to change" in r.json()["detail"]
    r = api.patch(f"/api/v1/opportunities/{opp['id']}", json={"outcome": "won", "closed_on": "2026-10-30"})
    assert r.status_code == 200 and r.json()["outcome"] == "won"
    assert api.get(f"/api/v1/opportunities/{opp['id']}").json()["closed_at"].startswith("2026-10-30")
    assert api.get("/api/v1/opportunities/99999").status_code == 404
    with web.db.read() as s:
        assert s.get_one(Lead, deal.lead_id).stage == "won"
        assert s.scalar(sa.select(sa.func.count()).select_from(OpportunityStageChange)) == 3


def test_outcomes_in_bulk_land_per_item_and_again_change_nothing(web: Web) -> None:
    api = web.api_client("marketing")
    r = api.post(
        "/api/v1/ingest",
        json={"people": [{"email": "x@bulk.example", "external_id": "C1", "company": "Bulk"}]},
    )
    assert r.status_code == 200, r.text
    body = {
        "opportunities": [
            {"external_id": "O1", "person_external_id": "C1", "stage": "Closed Won", "amount": "10"},
            {"external_id": "O2", "account_external_id": "NOPE", "amount": "10"},
            {"external_id": "", "account_external_id": "NOPE"},
        ],
        "contact_roles": [
            {"opportunity_external_id": "O1", "person_external_id": "C1", "role": "User", "is_primary": True},
            {"opportunity_external_id": "O9", "person_external_id": "C1"},
        ],
    }
    r = api.post("/api/v1/opportunities/bulk", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["opportunities"]["created"] == 1
    assert [x["index"] for x in out["opportunities"]["rejected"]] == [1, 2]
    assert "no account 'NOPE'" in out["opportunities"]["rejected"][0]["errors"][0]
    assert (
        out["contact_roles"]["unchanged"] + out["contact_roles"]["updated"],
        len(out["contact_roles"]["rejected"]),
    ) == (1, 1)
    again = api.post("/api/v1/opportunities/bulk", json=body).json()
    assert (
        again["opportunities"]["created"],
        again["opportunities"]["updated"],
        again["opportunities"]["unchanged"],
    ) == (0, 0, 1)
    assert web.api_client("rep").post("/api/v1/opportunities/bulk", json=body).status_code == 403
