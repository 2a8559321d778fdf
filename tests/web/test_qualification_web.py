"""The qualification desk in the browser and the API: the desk page and the panel on the lead page
(by template and context), saving BANT, handing over, and every bad input the issue names: an
unknown field, a note too long, a missing reason, a rep working a lead that is not theirs."""

from __future__ import annotations

import sqlalchemy as sa

from leadloop.routing.handlers import route_lead
from leadloop.store.tables import Lead, LeadQualification, Outbox, User
from tests.fixtures.routing import ALL_WEEK, add_mql
from tests.fixtures.web import Web

RULES = """\
name: desk
fallback: {queue: Sales inbox}
pools:
  field: {members: [{user: rep-web@test.example}]}
rules:
  - {name: To the desk, when: {grade: [C]}, assign: {bdr: queue}}
  - {name: Field, assign: {pool: field}}
sla:
  - {name: All, first_touch_minutes: 30}
"""
BANT = {
    "budget": {"choice": "approved", "note": "€40k for Q3"},
    "authority": {"choice": "decision_maker", "note": "the VP signs"},
    "need": {"choice": "urgent", "note": ""},
    "timeline": {"choice": "quarter", "note": ""},
}


def _setup(web: Web) -> dict[str, object]:
    rep = web.browser_client("rep")
    bdr = web.browser_client("bdr")
    manager = web.api_client("manager")
    with web.db.write() as s:
        user = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        user.working_hours = ALL_WEEK
    r = manager.post("/api/v1/routing/rulesets", content=RULES, headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    assert manager.post(f"/api/v1/routing/rulesets/{r.json()['id']}/activate").status_code == 200
    now = web.clock()
    with web.db.write() as s:
        queued = add_mql(s, now=now, name="Polar Signal AB", grade="C")
        route_lead(s, queued, now=now)
        field = add_mql(s, now=now, name="Hot GmbH", grade="A")
        route_lead(s, field, now=now)
    return {"rep": rep, "bdr": bdr, "queued": queued, "field": field}


def test_the_bdr_sees_the_desk_and_the_form_on_the_lead(web: Web) -> None:
    env = _setup(web)
    bdr, queued = env["bdr"], env["queued"]
    page = bdr.get("/desk")  # type: ignore[attr-defined]
    assert page.status_code == 200 and page.template.name == "desk.html"
    assert [r.id for r in page.context["rows"]] == [queued]
    assert 'href="/desk"' in page.text  # the nav shows the desk to a BDR
    lead = bdr.get(f"/leads/{queued}")  # type: ignore[attr-defined]
    assert lead.status_code == 200 and f'hx-get="/leads/{queued}/qualification"' in lead.text
    panel = bdr.get(f"/leads/{queued}/qualification")  # type: ignore[attr-defined]
    assert panel.template.name == "_qualification_panel.html"
    q = panel.context["q"]
    assert (
        q.may_edit
        and q.may_decide
        and [f.label for f in q.form.fields] == ["Budget", "Authority", "Need", "Timeline"]
    )
    assert "Rep (rep-web@test.example)" in [name for _, name in q.reps]
    assert "Not ready yet" in panel.text and "not_ready" in panel.text  # the label shown, the code posted
    # The BDR does not see the field rep's lead, nor the sales inbox.
    assert bdr.get(f"/leads/{env['field']}").status_code == 404  # type: ignore[attr-defined]
    assert env["rep"].get("/desk").status_code == 403  # type: ignore[attr-defined]


def test_save_and_hand_over_through_the_form(web: Web) -> None:
    env = _setup(web)
    bdr, queued = env["bdr"], env["queued"]
    form = {f"a_{k}": v["choice"] for k, v in BANT.items()} | {
        f"a_{k}_note": v["note"] for k, v in BANT.items()
    }
    saved = bdr.post(f"/leads/{queued}/qualification", data={**form, "action": "save"})  # type: ignore[attr-defined]
    assert saved.status_code == 200 and saved.context["message"] == "Answers saved."
    assert saved.context["q"].visit.answers["budget"].note == "€40k for Q3"
    done = bdr.post(  # type: ignore[attr-defined]
        f"/leads/{queued}/qualification", data={**form, "action": "hand_over", "outcome_note": "Demo Tuesday"}
    )
    assert done.status_code == 200 and done.context["message"] == "Qualified and handed over to Rep."
    assert done.context["q"] is None and 'href="/desk"' in done.text  # no longer the BDR's to see
    with web.db.read() as s:
        lead = s.get_one(Lead, queued)
        rep = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        assert (lead.stage, lead.owner_user_id) == ("handed_over", rep.id)
    # The rep sees the lead in the inbox and the notes on the lead page.
    rep_client = env["rep"]
    inbox = rep_client.get("/inbox")  # type: ignore[attr-defined]
    assert queued in [r.id for r in inbox.context["rows"]]
    shown = rep_client.get(f"/leads/{queued}/qualification")  # type: ignore[attr-defined]
    visit = shown.context["q"].visit
    assert visit.outcome == "handed_over" and visit.note == "Demo Tuesday" and visit.decided_by == "Bdr"
    assert (
        "€40k for Q3" in shown.text and "Budget approved" in shown.text and "Qualified by Bdr" in shown.text
    )
    assert not shown.context["q"].may_decide  # the desk's outcomes are the desk's


def test_the_json_api(web: Web) -> None:
    env = _setup(web)
    queued = env["queued"]
    api = web.api_client("bdr")
    form = api.get("/api/v1/qualification/form").json()
    assert [f["key"] for f in form["fields"]] == ["budget", "authority", "need", "timeline"]
    r = api.put(f"/api/v1/leads/{queued}/qualification", json={"answers": BANT})
    assert r.status_code == 200, r.text
    assert r.json()["current"]["answers"]["budget"] == {
        "choice": "approved",
        "label": "Budget approved",
        "note": "€40k for Q3",
    }
    assert api.get("/api/v1/desk").json()[0]["answered"] == 4
    r = api.post(f"/api/v1/leads/{queued}/qualification/hand-over", json={"note": "call her"})
    assert r.status_code == 200 and r.json()["stage"] == "handed_over", r.text
    with web.db.read() as s:
        mail = next(
            m for m in s.scalars(sa.select(Outbox)) if m.payload.get("subject", "").startswith("Qualified")
        )
        assert mail.payload["to"] == "rep-web@test.example"
        assert "Budget: Budget approved — €40k for Q3" in mail.payload["body"]


def test_bad_input_is_refused_with_a_sentence_and_saves_nothing(web: Web) -> None:
    env = _setup(web)
    queued = env["queued"]
    api = web.api_client("bdr")
    cases = [
        (
            "put",
            "",
            {"answers": {"budgett": {"choice": "approved"}}},
            "unknown field 'budgett'; the form's fields are: budget",
        ),
        (
            "put",
            "",
            {"answers": {"budget": {"note": "x" * 1001}}},
            "Budget: the note has 1,001 characters; keep it to 1,000",
        ),
        ("put", "", {"answers": {"budget": {"choice": "lots"}}}, "Budget: 'lots' is not one of the choices"),
        ("post", "/nurture", {}, "choose a reason to send it back to nurture: not_ready (Not ready yet)"),
        (
            "post",
            "/disqualify",
            {"reason": "bored"},
            "unknown reason 'bored'; to disqualify it, choose one of",
        ),
        ("post", "/hand-over", {}, "answer Budget, Authority, Need, Timeline before handing the lead over"),
    ]
    for method, path, body, message in cases:
        r = getattr(api, method)(f"/api/v1/leads/{queued}/qualification{path}", json=body)
        assert r.status_code == 422 and message in r.json()["detail"], (path, r.text)
    r = api.put(f"/api/v1/leads/{queued}/qualification", json={"answers": {}, "colour": "red"})
    assert r.status_code == 422  # an unknown top-level key too
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(LeadQualification)) == 0
        assert s.get_one(Lead, queued).stage == "mql"
    # The browser form: the sentence and what was typed come back, with 422 (leadloop.js swaps it in).
    bdr = env["bdr"]
    typed = {"a_budget": "approved", "a_budget_note": "keep me", "action": "nurture"}
    r = bdr.post(f"/leads/{queued}/qualification", data=typed)  # type: ignore[attr-defined]
    assert r.status_code == 422 and r.template.name == "_qualification_panel.html"
    assert r.context["error"].startswith("choose a reason to send it back to nurture")
    assert r.context["values"]["a_budget_note"] == "keep me" and ">keep me</textarea>" in r.text
    r = bdr.post(f"/leads/{queued}/qualification", data={"a_colour": "red", "action": "save"})  # type: ignore[attr-defined]
    assert r.status_code == 422 and "unknown field 'colour'" in r.context["error"]


def test_a_rep_cannot_qualify_a_lead_not_theirs(web: Web) -> None:
    env = _setup(web)
    rep = web.api_client("rep")  # another rep: not the owner of either lead
    for lead_id in (env["queued"], env["field"]):
        r = rep.put(f"/api/v1/leads/{lead_id}/qualification", json={"answers": BANT})
        assert r.status_code in (403, 404), r.text  # the desk's queue is hidden; a mate's lead is not theirs
    marketing = web.api_client("marketing")  # reads everything, works nothing
    r = marketing.put(f"/api/v1/leads/{env['queued']}/qualification", json={"answers": BANT})
    assert r.status_code == 403 and "a BDR may fill in its qualification" in r.json()["detail"]
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(LeadQualification)) == 0
    # The field rep may note BANT on their own lead but not hand it over: it is not at the desk.
    owner = env["rep"]
    r = owner.put(f"/api/v1/leads/{env['field']}/qualification", json={"answers": BANT})  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    r = owner.post(f"/api/v1/leads/{env['field']}/qualification/hand-over", json={})  # type: ignore[attr-defined]
    assert r.status_code == 422 and "not waiting at the qualification desk" in r.json()["detail"]


def test_the_sla_report_shows_the_desk_and_the_funnel(web: Web) -> None:
    env = _setup(web)
    api = web.api_client("bdr")
    assert (
        api.post(f"/api/v1/leads/{env['queued']}/qualification/hand-over", json={"answers": BANT}).status_code
        == 200
    )
    manager = web.browser_client("manager")
    page = manager.get("/reports/sla")
    assert page.status_code == 200 and page.context["desk"][-1].handed_over == 1
    assert ("Handed over", 1) in page.context["funnel"] and 'id="desk-sla"' in page.text
    data = web.api_client("admin").get("/api/v1/reports/sla").json()
    assert data["desk"][-1]["group"] == "All" and {"stage": "Handed over", "leads": 1} in data["funnel"]
