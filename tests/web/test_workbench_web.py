"""The workbench in the browser (templates and their context) and the API: contacts with tel: and
mailto: links in the inbox and on the lead page, a call logged with an outcome from the inbox row,
a follow-up, the next step after Accept, notes, tasks, notifications, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from leadloop.notifications.handlers import notify
from leadloop.notifications.model import Notice
from leadloop.routing.handlers import route_lead
from leadloop.store.tables import Activity, Lead, Notification, Person, Task, User
from tests.fixtures.routing import ALL_WEEK, add_mql
from tests.fixtures.web import Web

RULES = """\
name: web
version: 1
fallback: {queue: Sales inbox}
rules:
  - {name: everyone, assign: {user: rep-web@test.example}}
sla:
  - {name: All, first_touch_minutes: 30, remind_at: 20, escalate_at: 30, reassign_at: 120}
reject_reasons: [not_a_fit, no_budget]
"""
HX = {"HX-Request": "true"}


def _setup(web: Web) -> dict[str, int]:
    rep = web.browser_client("rep")
    manager = web.api_client("manager")
    r = manager.post("/api/v1/routing/rulesets", content=RULES, headers={"content-type": "application/yaml"})
    assert manager.post(f"/api/v1/routing/rulesets/{r.json()['id']}/activate").status_code == 200
    now = web.clock()
    ids: dict[str, int] = {}
    with web.db.write() as s:
        user = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        user.working_hours, user.timezone = ALL_WEEK, "Europe/Stockholm"
        ids["rep"] = user.id
        ids["lead"] = add_mql(s, now=now, name="Polar Signal AB", grade="A")
        lead = s.get_one(Lead, ids["lead"])
        greta = Person(
            account_id=lead.account_id,
            email="greta@polar.example",
            first_name="Greta",
            last_name="Lindqvist",
            title="VP Engineering",
            seniority="vp",
            phone="+46 70 123 45 67",
            created_at=now,
            updated_at=now,
        )
        s.add(greta)
        s.flush()
        ids["greta"] = greta.id
        s.add(
            Activity(
                dedupe_key="demo",
                person_id=greta.id,
                account_id=lead.account_id,
                type="demo_request",
                occurred_at=now - timedelta(hours=1),
                recorded_at=now,
                product="analytics",
                source="form",
                payload={},
            )
        )
        ids["account"] = lead.account_id
        route_lead(s, ids["lead"], now=now)
    web.rep = rep  # type: ignore[attr-defined]
    return ids


def test_inbox_shows_contacts_why_now_tasks_and_the_keys(web: Web) -> None:
    ids = _setup(web)
    page = web.rep.get("/inbox")  # type: ignore[attr-defined]
    assert page.template.name == "inbox.html"  # type: ignore[attr-defined]
    ctx = page.context  # type: ignore[attr-defined]
    work = ctx["work"][ids["lead"]]
    assert [c.name for c in work.contacts] == ["Greta Lindqvist"] and work.why.type == "demo_request"
    assert ctx["tasks"].open_count == 0 and ctx["follow_up_time"] == "09:00"
    assert [label for _, label in ctx["outcomes"]][:2] == ["Connected", "Voicemail"]
    assert 'href="tel:+46701234567"' in page.text and 'href="mailto:greta@polar.example"' in page.text
    assert "Raised a hand: demo request" in page.text and 'id="keys-hint"' in page.text
    assert f'id="log-{ids["lead"]}"' in page.text and "Follow up with Greta Lindqvist" in page.text


def test_log_a_call_with_an_outcome_from_the_inbox_row(web: Web) -> None:
    ids = _setup(web)
    rep = web.rep  # type: ignore[attr-defined]
    lead = ids["lead"]
    bad = rep.post(f"/leads/{lead}/touches", data={"outcome": "maybe", "back": "inbox"}, headers=HX)
    assert bad.status_code == 422 and "choose an outcome" in bad.text
    row = rep.post(
        f"/leads/{lead}/touches",
        data={
            "kind": "call",
            "outcome": "voicemail",
            "note": "Left a message",
            "person_id": ids["greta"],
            "back": "inbox",
        },
        headers=HX,
    )
    assert row.status_code == 200 and row.template.name == "_inbox_row.html"  # type: ignore[attr-defined]
    assert row.context["message"] == "Call logged: Voicemail" and row.context["r"].first_touch_at is not None  # type: ignore[attr-defined]
    assert "touched" in row.text and "Left a message" in row.text
    with web.db.read() as s:
        call = s.scalars(sa.select(Activity).where(Activity.type == "call")).one()
        assert call.payload["outcome"] == "voicemail" and call.person_id == ids["greta"]
    # Without HTMX the form goes back to the inbox page, which says what happened.
    plain = rep.post(
        f"/leads/{lead}/touches", data={"kind": "meeting", "outcome": "meeting_booked", "back": "inbox"}
    )
    assert plain.template.name == "inbox.html" and plain.context["done"] == "Meeting logged: Meeting booked"  # type: ignore[attr-defined]
    # Another rep may not log on it; marketing reads everything but does not work sales' leads.
    other = web.browser_client("marketing")
    assert other.post(f"/leads/{lead}/touches", data={"outcome": "connected"}).status_code == 403


def test_follow_up_then_accept_offers_the_next_step(web: Web) -> None:
    ids = _setup(web)
    rep = web.rep  # type: ignore[attr-defined]
    lead = ids["lead"]
    tomorrow = (web.clock() + timedelta(days=1)).date().isoformat()
    row = rep.post(
        "/tasks",
        data={
            "title": "Call Greta back",
            "due_date": tomorrow,
            "due_time": "10:00",
            "about": "lead",
            "record_id": lead,
            "back": "inbox",
        },
        headers=HX,
    )
    assert row.template.name == "_inbox_row.html" and row.context["message"] == "Follow-up set"  # type: ignore[attr-defined]
    assert row.context["open_tasks"] == {lead: 1}  # type: ignore[attr-defined]
    with web.db.read() as s:
        task = s.scalars(sa.select(Task)).one()
        assert task.due_at.hour == 9 and task.owner_user_id == ids["rep"]  # 10:00 in Stockholm is 09:00 UTC
    assert (
        rep.post(
            "/tasks", data={"title": "x", "due_date": "soon", "about": "lead", "record_id": lead}
        ).status_code
        == 422
    )
    assert (
        rep.post(
            "/tasks", data={"title": "", "due_date": tomorrow, "about": "lead", "record_id": lead}
        ).status_code
        == 422
    )
    accepted = rep.post(f"/leads/{lead}/accept")
    assert accepted.context["next_step"] is True and "Schedule a follow-up" in accepted.text  # type: ignore[attr-defined]
    assert f'data-open="log-{lead}"' in accepted.text  # not touched yet: "Log first call"
    inbox = rep.get("/inbox")
    assert [t.title for t in inbox.context["tasks"].upcoming] == ["Call Greta back"]  # type: ignore[attr-defined]
    done = rep.post(f"/tasks/{task.id}/done", data={"back": "inbox"})
    assert done.context["done"] == "Task done" and done.context["tasks"].open_count == 0  # type: ignore[attr-defined]
    assert [t.title for t in done.context["tasks"].done] == ["Call Greta back"]  # type: ignore[attr-defined]


def test_lead_page_is_a_workbench_with_notes_and_tasks(web: Web) -> None:
    ids = _setup(web)
    rep = web.rep  # type: ignore[attr-defined]
    lead = ids["lead"]
    page = rep.get(f"/leads/{lead}")
    ctx = page.context  # type: ignore[attr-defined]
    assert ctx["may_work"] is True and ctx["work"].contacts[0].email == "greta@polar.example"
    assert 'href="tel:+46701234567"' in page.text and "Why now" in page.text
    saved = rep.post(f"/leads/{lead}/notes", data={"body": "Budget signed off in Q1", "back": "lead"})
    assert saved.context["done"] == "Note saved"  # type: ignore[attr-defined]
    assert [n.body for n in saved.context["notes"]] == ["Budget signed off in Q1"]  # type: ignore[attr-defined]
    assert rep.post(f"/leads/{lead}/notes", data={"body": "x" * 2001}).status_code == 422
    # A marketer sees the record (and may write on it) but gets no touch form.
    marketing = web.browser_client("marketing")
    assert marketing.get(f"/leads/{lead}").context["may_work"] is False  # type: ignore[attr-defined]


def test_person_and_account_notes_load_into_their_pages(web: Web) -> None:
    ids = _setup(web)
    rep = web.rep  # type: ignore[attr-defined]
    assert f'hx-get="/people/{ids["greta"]}/work"' in rep.get(f"/people/{ids['greta']}").text
    part = rep.post(
        f"/people/{ids['greta']}/notes", data={"body": "Prefers e-mail", "back": "record"}, headers=HX
    )
    assert part.template.name == "_work_record.html" and part.context["saved"] is True  # type: ignore[attr-defined]
    assert [n.body for n in part.context["notes"]] == ["Prefers e-mail"]  # type: ignore[attr-defined]
    acct = rep.get(f"/accounts/{ids['account']}/work")
    assert acct.template.name == "_work_record.html" and acct.context["notes"] == []  # type: ignore[attr-defined]
    stranger = web.browser_client("manager")  # no reports: sees only the sales queues
    assert stranger.get(f"/people/{ids['greta']}/work").status_code == 404
    assert stranger.post(f"/people/{ids['greta']}/notes", data={"body": "hi"}).status_code == 404


def test_api_touch_notes_tasks_with_roles_and_ownership(web: Web) -> None:
    ids = _setup(web)
    rep = web.rep  # type: ignore[attr-defined]
    lead = ids["lead"]
    r = rep.post(
        f"/api/v1/leads/{lead}/touches",
        json={"kind": "call", "outcome": "no_answer", "person_id": ids["greta"]},
    )
    assert r.status_code == 201 and r.json()["outcome"] == "no_answer" and r.json()["first_touch_at"]
    bad = rep.post(f"/api/v1/leads/{lead}/touches", json={"outcome": "busy"})
    assert bad.status_code == 422 and "choose an outcome" in bad.json()["detail"]
    assert rep.post(f"/api/v1/leads/{lead}/touches", json={"outcome": "x" * 31}).status_code == 422
    contacts = rep.get(f"/api/v1/leads/{lead}/contacts").json()
    assert (
        contacts["why_now"]["type"] == "demo_request"
        and contacts["contacts"][0]["recent"][0]["outcome"] == "No answer"
    )
    note = rep.post(f"/api/v1/accounts/{ids['account']}/notes", json={"body": "Reorg in January"})
    assert note.status_code == 201 and note.json()["author"] == "Rep"
    assert rep.get(f"/api/v1/accounts/{ids['account']}/notes").json()[0]["body"] == "Reorg in January"
    due = (web.clock() + timedelta(hours=2)).isoformat()
    task = rep.post(
        "/api/v1/tasks",
        json={"title": "Send deck", "due_at": due, "about": "person", "record_id": ids["greta"]},
    )
    assert task.status_code == 201 and task.json()["about"] == "person"
    naive = rep.post("/api/v1/tasks", json={"title": "x", "due_at": "2026-11-02T10:00:00", "record_id": lead})
    assert naive.status_code == 422
    mine = rep.get("/api/v1/tasks").json()
    assert [t["title"] for t in mine["today"] + mine["upcoming"]] == ["Send deck"]
    tid = task.json()["id"]
    assert rep.post(f"/api/v1/tasks/{tid}/done").json()["done_at"] is not None
    assert rep.post(f"/api/v1/tasks/{tid}/reopen").json()["done_at"] is None
    marketing = web.api_client("marketing")
    assert marketing.post(f"/api/v1/leads/{lead}/touches", json={"outcome": "connected"}).status_code == 403
    assert marketing.post(f"/api/v1/tasks/{tid}/done").status_code == 404  # not theirs
    partner = web.api_client("partner")
    assert partner.get("/api/v1/tasks").status_code == 403


def test_notifications_page_badge_and_mark_read(web: Web) -> None:
    ids = _setup(web)
    rep = web.rep  # type: ignore[attr-defined]
    with web.db.write() as s:
        s.execute(sa.delete(Notification))  # (the lead's assignment told its owner already)
        notify(
            s,
            [
                Notice(ids["rep"], "task_due", "a", "Task due: Call Greta back", f"/leads/{ids['lead']}"),
                Notice(ids["rep"], "task_due", "b", "Task due: Send deck", None),
                Notice(ids["rep"], "task_due", "a", "the same again", None),
            ],
            now=web.clock(),
        )
    assert 'hx-get="/notifications/badge"' in rep.get("/inbox").text
    badge = rep.get("/notifications/badge")
    assert badge.template.name == "_notifications_badge.html" and badge.context["unread"] == 2  # type: ignore[attr-defined]
    page = rep.get("/notifications")
    assert page.template.name == "notifications.html" and [n.title for n in page.context["items"]] == [  # type: ignore[attr-defined]
        "Task due: Send deck",
        "Task due: Call Greta back",
    ]
    first = page.context["items"][1]  # type: ignore[attr-defined]
    went = rep.post(f"/notifications/{first.id}/read", follow_redirects=False)
    assert went.status_code == 303 and went.headers["location"] == f"/leads/{ids['lead']}"
    assert rep.get("/api/v1/notifications").json()["unread"] == 1
    assert rep.post("/notifications/read-all").context["unread"] == 0  # type: ignore[attr-defined]
    other = web.browser_client("manager")
    assert other.get("/api/v1/notifications").json() == {"unread": 0, "items": []}
    assert other.post(f"/api/v1/notifications/{first.id}/read").json()["changed"] is False
