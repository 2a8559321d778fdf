"""Edit, reassign and the admin pages through HTTP: who may edit what (404 outside the scope, 403
for a rep on a record that is not theirs), every bad input the issue names (unknown field, invalid
e-mail, 10 KB name, stale version; reassign to an unknown user, no leads, 1,001 leads), the forms
keep what was typed, and each admin action lands in the audit log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadloop.lifecycle.repository import SALES_INBOX, queue_id
from leadloop.routing.handlers import route_lead
from leadloop.store.tables import Account, ApiKey, AuditEvent, Lead, OutOfOffice, Person, Team, User
from tests.fixtures.routing import ALL_WEEK, add_mql
from tests.fixtures.web import Web, csrf_from

RULES = """\
name: web
version: 1
fallback: {queue: Sales inbox}
rules:
  - {name: everyone, assign: {user: rep-web@test.example}}
sla:
  - {name: All, first_touch_minutes: 30, remind_at: 20, escalate_at: 30, reassign_at: 120}
"""


def _world(web: Web) -> dict[str, Any]:
    """A rep who owns one lead (with a contact), a lead waiting in the sales queue (with a contact),
    an account nobody's (with a contact), and a manager above the rep."""
    rep = web.browser_client("rep")
    admin = web.api_client("admin")
    r = admin.post("/api/v1/routing/rulesets", content=RULES, headers={"content-type": "application/yaml"})
    assert admin.post(f"/api/v1/routing/rulesets/{r.json()['id']}/activate").status_code == 200
    now = web.clock()
    out: dict[str, Any] = {"rep": rep, "admin": admin}
    with web.db.write() as s:
        user = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        user.working_hours = ALL_WEEK
        for key in ("own", "queue", "nobody"):
            lead_id = add_mql(s, now=now, name=f"{key.title()} GmbH", name_key=f"{key} gmbh")
            lead = s.get_one(Lead, lead_id)
            person = Person(
                account_id=lead.account_id,
                email=f"{key}@{key}.de",
                first_name=key.title(),
                created_at=now,
                updated_at=now,
                attributes={},
            )
            s.add(person)
            s.flush()
            if key == "own":
                route_lead(s, lead_id, now=now)
            elif key == "queue":
                lead.owner_team_id = queue_id(s, SALES_INBOX, now=now)
            out[key] = {"lead": lead_id, "person": person.id, "account": lead.account_id}
        out["rep_id"] = user.id
    return out


def _version(web: Web, table: type, row_id: int) -> str:
    with web.db.read() as s:
        return str(s.get_one(table, row_id).updated_at.isoformat())


def test_a_rep_edits_their_own_contact_and_nothing_else(web: Web) -> None:
    w = _world(web)
    rep, own = w["rep"], w["own"]
    ok = rep.patch(
        f"/api/v1/people/{own['person']}",
        json={
            "updated_at": _version(web, Person, own["person"]),
            "title": "Head of IT",
            "phone": "+49 30 1234567",
        },
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (
        body["changed"]["title"] == {"from": None, "to": "Head of IT"}
        and body["person"]["phone"] == "+49301234567"
    )
    # Outside the scope: not found, so ids cannot be enumerated; seen (a queue's lead) but not theirs: 403.
    v = _version(web, Person, w["nobody"]["person"])
    assert (
        rep.patch(f"/api/v1/people/{w['nobody']['person']}", json={"updated_at": v, "title": "x"}).status_code
        == 404
    )
    v = _version(web, Person, w["queue"]["person"])
    refused = rep.patch(f"/api/v1/people/{w['queue']['person']}", json={"updated_at": v, "title": "x"})
    assert refused.status_code == 403 and "lead owners" in refused.json()["detail"]
    v = _version(web, Person, w["queue"]["person"])
    assert (
        rep.patch(
            f"/api/v1/accounts/{w['queue']['account']}", json={"updated_at": v, "name": "x"}
        ).status_code
        == 403
    )
    # The page loads the form for the owner, and nothing for a rep who may not edit.
    form = rep.get(f"/people/{own['person']}/edit", headers={"HX-Request": "true"})
    assert form.template.name == "_edit_form.html" and form.context["edits"][0].by == "rep-web@test.example"  # type: ignore[attr-defined]
    assert rep.get(f"/people/{w['queue']['person']}/edit", headers={"HX-Request": "true"}).text == ""
    page = rep.get(f"/people/{own['person']}")
    assert f'hx-get="/people/{own["person"]}/edit"' in page.text


def test_bad_edits_are_refused_naming_the_field(web: Web) -> None:
    w = _world(web)
    admin, pid, aid = w["admin"], w["own"]["person"], w["own"]["account"]
    v = _version(web, Person, pid)
    unknown = admin.patch(f"/api/v1/people/{pid}", json={"updated_at": v, "favourite_colour": "blue"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "favourite_colour"]
    email = admin.patch(f"/api/v1/people/{pid}", json={"updated_at": v, "email": "greta@@polar"})
    assert email.status_code == 422 and email.json()["detail"].startswith(
        "email: e-mail 'greta@@polar' is not valid"
    )
    phone = admin.patch(f"/api/v1/people/{pid}", json={"updated_at": v, "phone": "12"})
    assert phone.status_code == 422 and phone.json()["detail"].startswith(
        "phone: phone '12' is not a possible"
    )
    huge = admin.patch(f"/api/v1/people/{pid}", json={"updated_at": v, "first_name": "x" * 10_240})
    assert huge.status_code == 422 and huge.json()["detail"][0]["loc"] == ["body", "first_name"]
    assert admin.patch(f"/api/v1/people/{pid}", json={"title": "no version"}).status_code == 422
    stale = admin.patch(
        f"/api/v1/people/{pid}", json={"updated_at": "2020-01-01T00:00:00+00:00", "title": "x"}
    )
    assert stale.status_code == 409 and "reload" in stale.json()["detail"]
    va = _version(web, Account, aid)
    nameless = admin.patch(f"/api/v1/accounts/{aid}", json={"updated_at": va, "name": ""})
    assert nameless.status_code == 422 and "an account needs a name" in nameless.json()["detail"]
    with web.db.read() as s:
        assert s.get_one(Person, pid).title is None


def test_the_edit_form_keeps_what_was_typed(web: Web) -> None:
    w = _world(web)
    rep, pid = w["rep"], w["own"]["person"]
    token = csrf_from(rep.get(f"/people/{pid}/edit").text)
    v = _version(web, Person, pid)
    bad = rep.post(
        f"/people/{pid}/edit",
        data={"csrf_token": token, "updated_at": v, "first_name": "Jürgen", "email": "not an email"},
    )
    assert bad.status_code == 422 and bad.template.name == "edit_record.html"  # type: ignore[attr-defined]
    fields = {name: value for name, _, value in bad.context["fields"]}  # type: ignore[attr-defined]
    assert fields["first_name"] == "Jürgen" and "email" in bad.context["errors"]  # type: ignore[attr-defined]
    good = rep.post(
        f"/people/{pid}/edit",
        data={"csrf_token": token, "updated_at": v, "first_name": "Jürgen"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == f"/people/{pid}"
    forged = rep.post(
        f"/people/{pid}/edit", data={"updated_at": v, "first_name": "x"}, headers={"X-CSRF-Token": "forged"}
    )
    assert forged.status_code == 403


def test_reassign_contract_and_its_bad_inputs(web: Web) -> None:
    w = _world(web)
    manager = web.browser_client("manager")
    with web.db.write() as s:
        boss = s.scalars(sa.select(User).where(User.email == "manager-web@test.example")).one()
        s.get_one(User, w["rep_id"]).manager_id = boss.id
        mate = User(
            email="mate@test.example",
            name="Mate",
            role="rep",
            active=True,
            created_at=web.clock(),
            manager_id=boss.id,
        )
        s.add(mate)
        s.flush()
        mate_id = mate.id
    lead = w["own"]["lead"]
    form = manager.get(f"/leads/{lead}/reassign")
    assert form.template.name == "_reassign_form.html"  # type: ignore[attr-defined]
    assert {u.email for u in form.context["candidates"]} == {
        "manager-web@test.example",
        "rep-web@test.example",
        "mate@test.example",
    }  # type: ignore[attr-defined]
    # What a manager weighs when choosing: each one's team and open leads.
    by = {u.email: u for u in form.context["candidates"]}  # type: ignore[attr-defined]
    with web.db.read() as s:
        rep_open = s.scalar(
            sa.select(sa.func.count())
            .select_from(Lead)
            .where(Lead.owner_user_id == w["rep_id"], Lead.stage.in_(("mql", "handed_over", "sal", "sql")))
        )
    assert rep_open and by["rep-web@test.example"].open_leads == rep_open
    assert "Mate · no team · 0 open" in form.text
    assert w["rep"].get(f"/leads/{lead}/reassign").status_code == 403
    assert (
        w["rep"]
        .post("/api/v1/leads/reassign", json={"lead_ids": [lead], "owner_id": mate_id, "reason": "x"})
        .status_code
        == 403
    )
    api = manager.post
    unknown = api("/api/v1/leads/reassign", json={"lead_ids": [lead], "owner_id": 999_999, "reason": "cover"})
    assert unknown.status_code == 422 and unknown.json()["detail"] == "owner_id: there is no user #999999"
    empty = api("/api/v1/leads/reassign", json={"lead_ids": [], "owner_id": mate_id, "reason": "cover"})
    assert empty.status_code == 422 and empty.json()["detail"].startswith(
        "lead_ids: choose at least one lead"
    )
    many = api(
        "/api/v1/leads/reassign",
        json={"lead_ids": list(range(1, 1002)), "owner_id": mate_id, "reason": "cover"},
    )
    assert many.status_code == 422 and "at most 1,000 leads" in many.json()["detail"]
    no_reason = api("/api/v1/leads/reassign", json={"lead_ids": [lead], "owner_id": mate_id, "reason": "  "})
    assert no_reason.status_code == 422 and no_reason.json()["detail"].startswith("reason:")
    hidden = api(
        "/api/v1/leads/reassign", json={"lead_ids": [w["nobody"]["lead"]], "owner_id": mate_id, "reason": "x"}
    )
    assert hidden.status_code == 404
    # The HTML form: an error keeps the reason typed; success goes back to the lead.
    token = csrf_from(form.text)
    kept = manager.post(
        "/leads/reassign",
        data={
            "csrf_token": token,
            "lead_ids": [str(lead)],
            "owner_id": "999999",
            "reason": "Mate knows them",
        },
    )
    assert kept.status_code == 422 and kept.template.name == "reassign.html"  # type: ignore[attr-defined]
    assert kept.context["reason"] == "Mate knows them" and "no user #999999" in kept.context["error"]  # type: ignore[attr-defined]
    none = manager.post(
        "/leads/reassign", data={"csrf_token": token, "owner_id": str(mate_id), "reason": "x"}
    )
    assert none.status_code == 422 and "choose at least one lead" in none.context["error"]  # type: ignore[attr-defined]
    done = manager.post(
        "/leads/reassign",
        data={
            "csrf_token": token,
            "lead_ids": [str(lead), str(w["queue"]["lead"])],
            "owner_id": str(mate_id),
            "reason": "Mate knows them",
            "next": f"/leads/{lead}",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/leads/{lead}"
    ok = api("/api/v1/leads/reassign", json={"lead_ids": [lead], "owner_id": mate_id, "reason": "again"})
    assert ok.json() == {"owner": "mate@test.example", "reassigned": [], "already_theirs": [lead]}
    with web.db.read() as s:
        assert {s.get_one(Lead, i).owner_user_id for i in (lead, w["queue"]["lead"])} == {mate_id}
    page = manager.get(f"/leads/{lead}")
    assert f'hx-get="/leads/{lead}/reassign"' in page.text and "Mate knows them" in page.text


def test_admin_pages_and_every_action_audited(web: Web) -> None:
    admin = web.browser_client("admin")
    rep = web.browser_client("rep")
    assert rep.get("/admin").status_code == 403 and rep.get("/admin/users").status_code == 403
    index = admin.get("/admin")
    assert index.template.name == "admin.html" and 'href="/admin"' in index.text  # type: ignore[attr-defined]
    for page in ("users", "teams", "calendars", "keys"):
        r = admin.get(f"/admin/{page}")
        assert r.status_code == 200 and r.template.name == f"admin_{page}.html", page  # type: ignore[attr-defined]
    token = csrf_from(index.text)
    created = admin.post(
        "/admin/users",
        data={"csrf_token": token, "email": "Nina@Test.example", "name": "Nina", "role": "rep"},
    )
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    password = created.context["secret"]["value"]  # type: ignore[attr-defined]
    assert len(password) >= 12 and password in created.text
    dup = admin.post(
        "/admin/users",
        data={"csrf_token": token, "email": "nina@test.example", "name": "Nina 2", "role": "rep"},
    )
    assert dup.status_code == 409 and dup.context["form"]["name"] == "Nina 2"  # type: ignore[attr-defined]
    with web.db.read() as s:
        nina = s.scalars(sa.select(User).where(User.email == "nina@test.example")).one()
        assert nina.must_change_password
    nid = nina.id
    post = lambda path, **data: admin.post(path, data={"csrf_token": token, **data}, follow_redirects=False)  # noqa: E731
    assert post(f"/admin/users/{nid}/role", role="manager").status_code == 303
    assert post(f"/admin/users/{nid}/role", role="boss").status_code == 422
    reset = post(f"/admin/users/{nid}/password")
    assert reset.status_code == 200 and reset.context["secret"]["value"] != password  # type: ignore[attr-defined]
    assert post("/admin/teams", name="Nordics").status_code == 303
    assert post("/admin/teams", name="nordics").status_code == 409
    with web.db.read() as s:
        team_id = s.scalars(sa.select(Team.id).where(Team.name == "Nordics")).one()
        admin_id = s.scalars(sa.select(User.id).where(User.email == "admin-web@test.example")).one()
    assert post(f"/admin/users/{nid}/team", team_id=str(team_id)).status_code == 303
    assert post(f"/admin/teams/{team_id}/manager", manager_id=str(admin_id)).status_code == 303
    bad_hours = post(f"/admin/users/{nid}/calendar", timezone="Europe/Stockholm", hours_mon="17:00-09:00")
    assert bad_hours.status_code == 422 and "ends before it starts" in bad_hours.context["error"]  # type: ignore[attr-defined]
    assert bad_hours.context["form"]["hours_mon"] == "17:00-09:00"  # type: ignore[attr-defined]
    assert (
        post(
            f"/admin/users/{nid}/calendar",
            timezone="Europe/Stockholm",
            hours_mon="08:00-16:00",
            holidays="SE",
        ).status_code
        == 303
    )
    assert (
        post(
            f"/admin/users/{nid}/away", starts="2026-12-24T00:00", ends="2026-12-27T00:00", note="Christmas"
        ).status_code
        == 303
    )
    assert (
        post(f"/admin/users/{nid}/away", starts="2026-12-26T00:00", ends="2026-12-28T00:00").status_code
        == 422
    )
    key = post("/admin/keys", user_email="nina@test.example", name="Website forms", scope="capture")
    assert key.status_code == 200 and key.context["secret"]["value"].startswith("ll_")  # type: ignore[attr-defined]
    with web.db.read() as s:
        n = s.get_one(User, nid)
        assert (n.role, n.team_id, n.manager_id, n.timezone, n.working_hours, n.holiday_country) == (
            "manager",
            team_id,
            admin_id,
            "Europe/Stockholm",
            {"mon": "08:00-16:00"},
            "SE",
        )
        away_id = s.scalars(sa.select(OutOfOffice.id).where(OutOfOffice.user_id == nid)).one()
        key_id = s.scalars(sa.select(ApiKey.id).where(ApiKey.name == "Website forms")).one()
    assert post(f"/admin/away/{away_id}/delete").status_code == 303
    assert post(f"/admin/keys/{key_id}/revoke").status_code == 303
    assert post(f"/admin/users/{nid}/deactivate").status_code == 303
    assert post(f"/admin/users/{admin_id}/deactivate").status_code == 422  # not yourself
    with web.db.read() as s:
        kinds = s.scalars(sa.select(AuditEvent.kind).where(AuditEvent.actor_user_id == admin_id)).all()
        assert s.get_one(ApiKey, key_id).revoked_at is not None and not s.get_one(User, nid).active
    assert set(kinds) >= {
        "user.created",
        "user.role_changed",
        "user.password_reset",
        "team.created",
        "user.team_changed",
        "user.manager_changed",
        "user.calendar_changed",
        "user.away_added",
        "user.away_removed",
        "api_key.created",
        "api_key.revoked",
        "user.deactivated",
    }
