"""SLA in the browser and the API: the report names reps and links each number to the leads behind
it, Team links its numbers, the leads list filters by the clock, an accepted lead never shows
overdue, bad filter and period values get a clear answer, and the routing what-if on unchanged
rules counts no rule change."""

from __future__ import annotations

import sqlalchemy as sa

from leadloop.leads.queries import LeadsPage
from leadloop.routing.handlers import route_lead
from leadloop.store.tables import Team, User
from tests.fixtures.routing import ALL_WEEK, add_mql
from tests.fixtures.web import Web

RULES = """\
name: web
version: 1
fallback: {queue: Sales inbox}
pools:
  reps: {mode: round_robin, members: [{user: rep-web@test.example}, {user: rep2@test.example}]}
rules:
  - {name: everyone, assign: {pool: reps}}
sla:
  - {name: All, first_touch_minutes: 30, remind_at: 20, escalate_at: 30, reassign_at: 100000}
reject_reasons: [not_a_fit, no_budget]
"""


def _setup(web: Web, n: int = 4) -> dict[str, object]:
    rep = web.browser_client("rep")
    web.user("rep", "rep2@test.example")
    boss = web.browser_client("manager")
    api = web.api_client("admin")
    with web.db.write() as s:
        boss_id = s.scalars(sa.select(User.id).where(User.email == "manager-web@test.example")).one()
        team = Team(name="Sales North", is_queue=False, created_at=web.clock())
        s.add(team)
        s.flush()
        for u in s.scalars(sa.select(User).where(User.role == "rep")):
            u.working_hours, u.manager_id, u.team_id = ALL_WEEK, boss_id, team.id
            if u.email == "rep2@test.example":
                u.name = "Second Rep"
    r = api.post("/api/v1/routing/rulesets", content=RULES, headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    assert api.post(f"/api/v1/routing/rulesets/{r.json()['id']}/activate").status_code == 200
    now = web.clock()
    ids = []
    with web.db.write() as s:
        for i in range(n):
            lead_id = add_mql(s, now=now, name=f"Clock Co {i}", engagement_key=float(i))
            route_lead(s, lead_id, now=now)
            ids.append(lead_id)
        rep_id = s.scalars(sa.select(User.id).where(User.email == "rep-web@test.example")).one()
    return {"rep": rep, "boss": boss, "api": api, "ids": ids, "rep_id": rep_id}


def test_an_accepted_lead_never_shows_overdue_and_the_report_links_its_breaches(web: Web) -> None:
    w = _setup(web)
    rep, boss, rep_id = w["rep"], w["boss"], w["rep_id"]
    ids: list[int] = w["ids"]  # type: ignore[assignment]
    mine = ids[0::2]  # round robin: the first rep has leads 0 and 2
    assert rep.post(f"/leads/{mine[0]}/accept").status_code == 200  # type: ignore[attr-defined]
    web.clock.advance(hours=3)  # lead mine[1] is now 2 h 30 min overdue
    inbox = rep.get("/inbox")  # type: ignore[attr-defined]
    rows = {r.id: r for r in inbox.context["rows"]}
    assert rows[mine[0]].clock.text == "met in 0 s" and not rows[mine[0]].breached
    assert rows[mine[1]].clock.text == "overdue by 2 h 30 min"
    assert inbox.text.count("data-due=") == 1  # only the running clock ticks
    lead = rep.get(f"/leads/{mine[0]}")  # type: ignore[attr-defined]
    assert lead.context["clock"].state == "met" and "overdue" not in lead.text
    assert rep.get(f"/api/v1/leads/{mine[0]}").json()["sla"]["state"] == "met"  # type: ignore[attr-defined]

    report = boss.get("/reports/sla?days=7")  # type: ignore[attr-defined]
    assert report.template.name == "sla_report.html" and report.context["days"] == 7
    by_name = {r.group: r for r in report.context["rows"]}
    row = by_name["Rep"]
    assert (row.assigned, row.within_sla, row.missed) == (2, 1, 1)
    assert f'href="/leads?rep={rep_id}&amp;days=7&amp;sla=breached"' in report.text
    assert "rep-web@test.example" not in report.text  # names, not e-mail addresses

    by_team = boss.get("/reports/sla?by=team&days=7")  # type: ignore[attr-defined]
    (north,) = by_team.context["rows"]
    assert (north.group, north.assigned, north.missed) == ("Sales North", 4, 3)  # rep2 never touched theirs
    assert north.filters is not None and north.filters.startswith("rep_team=")
    team_breaches = boss.get(f"/leads?{north.filters}&sla=breached").context["page"]  # type: ignore[attr-defined]
    assert team_breaches.total == 3 and team_breaches.rep_team_name == "Sales North"

    listed = boss.get(f"/leads?rep={rep_id}&days=7&sla=breached")  # type: ignore[attr-defined]
    page: LeadsPage = listed.context["page"]
    assert listed.template.name == "leads.html" and [r.id for r in page.rows] == [mine[1]]
    assert "Leads last assigned to Rep, assigned in the last 7 days" in listed.text
    api = boss.get(f"/api/v1/leads?sla=met&rep={rep_id}").json()  # type: ignore[attr-defined]
    assert [i["id"] for i in api["items"]] == [mine[0]]

    team = boss.get("/team")  # type: ignore[attr-defined]
    (t,) = [r for r in team.context["rows"] if r.user_id == rep_id]
    assert (t.open_leads, t.waiting, t.overdue, t.breached) == (2, 1, 1, 1)
    assert f'href="/leads?rep={rep_id}&amp;sla=overdue"' in team.text
    overdue = boss.get(f"/leads?rep={rep_id}&sla=overdue").context["page"]  # type: ignore[attr-defined]
    assert overdue.total == t.overdue


def test_bad_filter_and_period_values_get_a_clear_answer(web: Web) -> None:
    w = _setup(web, 1)
    boss = w["boss"]
    page = boss.get("/leads?sla=late-ish")  # type: ignore[attr-defined]
    assert page.status_code == 200 and page.context["page"].filter.sla is None
    assert "There is no SLA filter 'late-ish'; showing every lead" in page.context["sla_problem"]
    api = boss.get("/api/v1/leads?sla=late-ish")  # type: ignore[attr-defined]
    assert api.status_code == 422 and "Breached in the last 7 days" in api.text
    assert boss.get("/api/v1/leads?days=0").status_code == 422  # type: ignore[attr-defined]
    assert boss.get("/api/v1/leads?rep=-3").status_code == 422  # type: ignore[attr-defined]
    for days, shown in (("0", 1), ("99999", 3650), ("soon", 30)):
        r = boss.get(f"/reports/sla?days={days}")  # type: ignore[attr-defined]
        assert r.status_code == 200 and r.context["days"] == shown
        assert "whole number of days from 1 to 3650" in r.context["message"]
    assert boss.get("/api/v1/reports/sla?days=0").status_code == 422  # type: ignore[attr-defined]
    r = boss.get("/reports/sla?by=planet")  # type: ignore[attr-defined]
    assert (
        r.status_code == 200 and r.context["by"] == "rep" and "no grouping 'planet'" in r.context["message"]
    )


def test_routing_what_if_on_unchanged_rules_counts_no_rule_change(web: Web) -> None:
    w = _setup(web, 6)
    api = w["api"]
    web.clock.advance(minutes=5)
    text = RULES.replace("version: 1", "version: 2")
    r = api.post("/api/v1/routing/rulesets", content=text, headers={"content-type": "application/yaml"})  # type: ignore[attr-defined]
    whatif = api.get(f"/api/v1/routing/rulesets/{r.json()['id']}/whatif").json()  # type: ignore[attr-defined]
    assert whatif["leads"] == 6 and whatif["changed"] == 0
    assert whatif["turns"] + whatif["same"] == 6
    boss = w["boss"]
    preview = boss.post("/routing/preview", data={"document": text})  # type: ignore[attr-defined]
    assert (
        preview.status_code == 200
        and "<strong>0</strong> of 6 leads would be sent elsewhere by a rule" in preview.text
    )
    assert "A different turn of the same pool" in preview.text
    moved = text.replace("assign: {pool: reps}", "assign: {user: rep2@test.example}")
    r = api.post(
        "/api/v1/routing/rulesets",
        content=moved.replace("version: 2", "version: 3"),
        headers={"content-type": "application/yaml"},
    )  # type: ignore[attr-defined]
    whatif = api.get(f"/api/v1/routing/rulesets/{r.json()['id']}/whatif").json()  # type: ignore[attr-defined]
    assert whatif["changed"] == 3 and whatif["same"] == 3  # rep-web's three leads go to rep2 by a rule
