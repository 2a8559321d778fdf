"""The rep's inbox (accept, reject with a reason, log a call, through HTMX posts), the routing audit
on the lead page and API, the manager's team view and SLA report, and the rule-set admin."""

from __future__ import annotations

import sqlalchemy as sa

from leadloop.routing.handlers import route_lead
from leadloop.store.tables import User
from tests.fixtures.routing import ALL_WEEK, add_mql
from tests.fixtures.web import Web

RULES = """\
name: web
version: 1
fallback: {queue: Sales inbox}
pools:
  reps: {mode: round_robin, members: [{user: rep-web@test.example}]}
rules:
  - {name: everyone, assign: {pool: reps}}
sla:
  - {name: All, first_touch_minutes: 30, remind_at: 20, escalate_at: 30, reassign_at: 120}
reject_reasons: [not_a_fit, no_budget]
"""


def _setup(web: Web, n: int = 3) -> list[int]:
    rep = web.browser_client("rep")
    manager = web.api_client("manager")
    with web.db.write() as s:
        user = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        user.working_hours = ALL_WEEK
    r = manager.post("/api/v1/routing/rulesets", content=RULES, headers={"content-type": "application/yaml"})
    assert r.status_code == 201 and r.json()["warnings"] == [], r.text
    assert manager.post(f"/api/v1/routing/rulesets/{r.json()['id']}/activate").json()["status"] == "active"
    ids = []
    now = web.clock()
    with web.db.write() as s:
        for i in range(n):
            lead_id = add_mql(
                s,
                now=now,
                name=f"Inbox Co {i}",
                engagement_s=10.0 * (i + 1),
                engagement_t0=now.timestamp(),
                engagement_key=float(i),
            )
            route_lead(s, lead_id, now=now)
            ids.append(lead_id)
    web.rep = rep  # type: ignore[attr-defined]
    return ids


def test_inbox_accept_reject_and_log_call(web: Web) -> None:
    ids = _setup(web)
    rep = web.rep  # type: ignore[attr-defined]
    page = rep.get("/inbox")
    assert page.status_code == 200 and [r.id for r in page.context["rows"]] == ids[::-1]  # type: ignore[attr-defined]
    assert 'data-due="' in page.text and "Reject because" in page.text
    ok = rep.post(f"/leads/{ids[0]}/accept")
    assert ok.status_code == 200 and "Accepted" in ok.text and "badge sal" in ok.text
    bad = rep.post(f"/leads/{ids[1]}/reject", data={"reason": "meh"})
    assert bad.status_code == 422 and "choose one of: not_a_fit, no_budget" in bad.text
    gone = rep.post(f"/leads/{ids[1]}/reject", data={"reason": "no_budget"})
    assert gone.status_code == 200 and "back with marketing" in gone.text
    called = rep.post(f"/leads/{ids[2]}/call")
    assert called.status_code == 200 and "met in 0 s" in called.text and "data-due" not in called.text
    api = rep.get(f"/api/v1/leads/{ids[2]}").json()
    assert api["first_touch_at"] is not None and api["routing"][0]["reason"] == "mql"
    assert api["routing"][0]["path"][-1]["result"] == "assigned"
    lead_page = rep.get(f"/leads/{ids[2]}")
    assert "Routing audit" in lead_page.text and "pool reps" in lead_page.text
    # Only the owner (or a manager) may act on a lead.
    other = web.browser_client("marketing")
    assert other.post(f"/leads/{ids[2]}/accept").status_code == 403


def test_manager_views_and_rule_admin(web: Web) -> None:
    ids = _setup(web, 2)
    rep = web.rep  # type: ignore[attr-defined]
    rep.post(f"/leads/{ids[0]}/call")
    rep.post(f"/leads/{ids[1]}/reject", data={"reason": "not_a_fit"})
    boss = web.browser_client("manager")
    with web.db.write() as s:  # a manager sees the numbers of the reps who report to them
        rep_user = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        rep_user.manager_id = s.scalars(
            sa.select(User.id).where(User.email == "manager-web@test.example")
        ).one()
    team = boss.get("/team")
    row = next(r for r in team.context["rows"] if r.email == "rep-web@test.example")  # type: ignore[attr-defined]
    assert (row.open_leads, row.waiting) == (1, 0)
    sla = boss.get("/api/v1/reports/sla?by=rep").json()
    (mine,) = [r for r in sla["rows"] if r["group"] == "Rep"]  # reps by name, not e-mail address
    assert mine["assigned"] == 2 and mine["touched"] == 1 and mine["median_minutes"] == 0.0
    assert sla["rejections"][0]["reasons"] == {"not_a_fit": 1}
    assert boss.get("/reports/sla?by=grade").status_code == 200
    assert boss.get("/api/v1/reports/sla?by=planet").status_code == 422
    assert rep.get("/team").status_code == 403  # reps do not see the team view
    page = boss.get("/routing")
    text = page.context["text"]  # type: ignore[attr-defined]
    assert "version: 2" in text
    preview = boss.post("/routing/preview", data={"document": text})
    assert preview.status_code == 200 and "What-if on the latest routed leads" in preview.text
    broken = text.replace("fallback:", "fallbock:")
    saved = boss.post("/routing/rulesets", data={"document": broken})
    assert saved.status_code == 422 and saved.context["text"] == broken  # type: ignore[attr-defined]
    assert "fallback: Field required" in saved.text and "fallbock: unknown field" in saved.text
    good = boss.post("/routing/rulesets", data={"document": text}, follow_redirects=False)
    assert good.status_code == 303
    shown = boss.get(good.headers["location"])
    assert "Activate" in shown.text
