"""A person's own pages, with no cookie, session or CSRF token: the one-click POST unsubscribes,
a GET never does, a bad link changes nothing and says so kindly; and consent, the suppression list,
export and erasure for staff, each behind its role."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.consent import tokens
from leadloop.consent.model import Basis, Plan, grant
from leadloop.consent.policy import policy_of
from leadloop.consent.repository import append, states_of
from leadloop.store.tables import AuditEvent, ConsentEvent, Person, Suppression
from tests.conftest import count
from tests.fixtures.consent import consenting, link
from tests.fixtures.web import Web


@pytest.fixture
def ann(web: Web) -> int:
    return consenting(web.db, web.clock, "ann@acme.com", first_name="Ann")


def _opt_in(web: Web, pid: int) -> bool | None:
    with web.db.read() as s:
        return s.scalar(sa.select(Person.email_opt_in).where(Person.id == pid))


def _stranger(web: Web) -> TestClient:
    """A mail client or a person's browser: no cookie, no session, no CSRF token."""
    return TestClient(web.app, follow_redirects=False)


def test_the_one_click_post_needs_no_cookie_session_or_csrf(web: Web, ann: int) -> None:
    token = link(web.db, web.clock, ann, "ann@acme.com")
    r = _stranger(web).post(
        f"/u/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.template.name == "consent/done.html"  # type: ignore[attr-defined]
    assert r.context["what"] == "unsubscribed" and r.context["address"] == "a•••@acme.com"  # type: ignore[attr-defined]
    assert "set-cookie" not in r.headers and r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert _opt_in(web, ann) is False
    again = _stranger(web).post(f"/u/{token}")  # a second click, or a resend: the same answer
    assert again.status_code == 200 and count(web.db, ConsentEvent) == 4  # 3 grants, 1 withdrawal


def test_opening_the_links_changes_nothing(web: Web, ann: int) -> None:
    """Link scanners open every URL in a mail, sometimes with HEAD: none of that unsubscribes."""
    token = link(web.db, web.clock, ann, "ann@acme.com")
    client = _stranger(web)
    before = count(web.db, ConsentEvent)
    for path in (f"/u/{token}", f"/u/{token}/preferences", f"/c/{token}"):
        for method in ("GET", "HEAD"):
            client.request(method, path)
    page = client.get(f"/u/{token}")
    assert page.template.name == "consent/unsubscribe.html"  # type: ignore[attr-defined]
    assert f'<form method="post" action="/u/{token}">' in page.text and "set-cookie" not in page.headers
    assert count(web.db, ConsentEvent) == before and _opt_in(web, ann) is True


@pytest.mark.parametrize(
    "what",
    ["tampered", "foreign", "expired", "confirm_token", "garbage", "too_long", "nobody"],
)
def test_a_bad_link_gets_a_friendly_page_and_changes_nothing(web: Web, ann: int, what: str) -> None:
    bob = consenting(web.db, web.clock, "bob@acme.com")
    good = link(web.db, web.clock, ann, "ann@acme.com")
    token = {
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "foreign": link(web.db, web.clock, bob, "ann@acme.com"),
        "expired": good,
        "confirm_token": link(web.db, web.clock, ann, "ann@acme.com", purpose=tokens.CONFIRM),
        "garbage": "abc.d%C3%A9f..~",
        "too_long": "a" * 5000,
        "nobody": link(web.db, web.clock, 77_777, "ann@acme.com"),
    }[what]
    if what == "expired":
        web.clock.advance(days=400)
    before = count(web.db, ConsentEvent)
    client = _stranger(web)
    for r in (
        client.get(f"/u/{token}"),
        client.post(f"/u/{token}"),
        client.post(f"/u/{token}/preferences", data={"types": ["events"]}),
        client.get(f"/u/{token}/preferences"),
    ):
        assert r.status_code == (410 if what == "expired" else 400)
        assert r.template.name == "consent/bad_link.html"  # type: ignore[attr-defined]
        assert "Nothing was changed" in r.text and "set-cookie" not in r.headers
    assert count(web.db, ConsentEvent) == before
    assert _opt_in(web, ann) is True and _opt_in(web, bob) is True


def test_a_link_with_a_nul_byte_is_refused_at_the_door(web: Web, ann: int) -> None:
    """The app refuses NUL bytes in any input before a route runs (ADR 0015): a 422, not a 5xx."""
    r = _stranger(web).post("/u/%00abc")
    assert r.status_code == 422 and _opt_in(web, ann) is True


def test_the_preference_centre_saves_without_a_session(web: Web, ann: int) -> None:
    token = link(web.db, web.clock, ann, "ann@acme.com")
    client = _stranger(web)
    page = client.get(f"/u/{token}/preferences")
    assert [t["on"] for t in page.context["types"]] == [True, True, True]  # type: ignore[attr-defined]
    r = client.post(f"/u/{token}/preferences", data={"types": ["events"]})
    assert r.status_code == 200 and r.context["saved"]  # type: ignore[attr-defined]
    on = {t["code"]: t["on"] for t in r.context["types"]}  # type: ignore[attr-defined]
    assert on == {"newsletter": False, "product_updates": False, "events": True}
    assert _opt_in(web, ann) is True


def test_a_double_opt_in_is_confirmed_by_the_button_not_by_opening_the_link(web: Web) -> None:
    pid = consenting(web.db, web.clock, "ann@acme.com", opt_in=None)
    token = link(web.db, web.clock, pid, "ann@acme.com", purpose=tokens.CONFIRM)
    now = web.clock()
    with web.db.write() as s:  # pending, as a form ticked with double opt-in on leaves it
        plan = Plan(states_of(s, [pid]), now)
        for code in policy_of(s).codes:
            pending = grant(
                plan.states(pid),
                code,
                basis=Basis.CONSENT,
                explicit=True,
                source="form",
                now=now,
                pending=True,
            )
            plan.add(pid, pending)
        append(s, plan, policy_of(s), now=now)
    client = _stranger(web)
    assert client.get(f"/c/{token}").template.name == "consent/confirm.html"  # type: ignore[attr-defined]
    assert _opt_in(web, pid) is None
    r = client.post(f"/c/{token}")
    assert r.status_code == 200 and r.context["what"] == "confirmed"  # type: ignore[attr-defined]
    assert _opt_in(web, pid) is True


def test_the_person_page_shows_consent_and_history_to_staff(web: Web, ann: int) -> None:
    rep = web.browser_client("admin")
    page = rep.get(f"/people/{ann}")
    assert f'hx-get="/people/{ann}/consent"' in page.text
    panel = rep.get(f"/people/{ann}/consent")
    assert panel.template.name == "consent/_person.html"  # type: ignore[attr-defined]
    view = panel.context["c"]  # type: ignore[attr-defined]
    assert [t.decision.allowed for t in view.types] == [True, True, True]
    assert len(view.history) == 3 and panel.context["is_admin"]  # type: ignore[attr-defined]
    assert 'id="export"' in panel.text and 'id="erase-form"' in panel.text


def test_staff_record_a_withdrawal_and_only_admins_a_grant(web: Web, ann: int) -> None:
    marketing = web.browser_client("marketing")
    r = marketing.post(
        f"/people/{ann}/consent",
        data={"scope": "newsletter", "action": "withdraw", "note": "phoned"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    refused = marketing.post(f"/people/{ann}/consent", data={"scope": "newsletter", "action": "grant"})
    assert refused.template.name == "consent/_person.html"  # type: ignore[attr-defined]
    assert "admins" in refused.context["error"]  # type: ignore[attr-defined]
    rep = web.browser_client("rep")
    assert rep.post(f"/people/{ann}/consent", data={"scope": "*", "action": "withdraw"}).status_code == 403
    admin = web.api_client("admin")
    undo = admin.post(f"/api/v1/people/{ann}/consent", json={"scope": "newsletter", "action": "grant"})
    assert undo.status_code == 422 and "only they can undo" in undo.json()["detail"]
    customer = consenting(web.db, web.clock, "cid@beta.io", opt_in=None)
    ok = admin.post(
        f"/api/v1/people/{customer}/consent",
        json={"scope": "events", "action": "grant", "basis": "legitimate_interest", "note": "customer"},
    )
    assert ok.status_code == 200
    events = {t["code"]: t for t in ok.json()["types"]}["events"]
    assert (events["basis"], events["may_send"]["reason"]) == ("legitimate_interest", "legitimate_interest")
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(AuditEvent.kind == "consent.recorded")) == 2


def test_the_api_answers_may_send_and_gives_a_sender_its_headers(web: Web, ann: int) -> None:
    api = web.api_client("marketing")
    assert api.get(f"/api/v1/people/{ann}/may-send", params={"type": "events"}).json() == {
        "allowed": True,
        "reason": "consent",
        "words": "the person consented",
    }
    assert (
        api.get(f"/api/v1/people/{ann}/may-send", params={"type": "nope"}).json()["reason"] == "unknown_type"
    )
    assert api.get(f"/api/v1/people/{ann}/unsubscribe-headers").status_code == 403
    headers = web.api_client("admin").get(f"/api/v1/people/{ann}/unsubscribe-headers").json()
    url = headers["headers"]["List-Unsubscribe"].strip("<>")
    assert headers["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _stranger(web).post(url.removeprefix("http://127.0.0.1:8000")).status_code == 200
    assert (
        api.get(f"/api/v1/people/{ann}/may-send", params={"type": "events"}).json()["reason"]
        == "unsubscribed"
    )
    assert [t["code"] for t in api.get("/api/v1/subscription-types").json()] == [
        "newsletter",
        "product_updates",
        "events",
    ]


def test_admins_keep_the_suppression_list(web: Web, ann: int) -> None:
    admin = web.api_client("admin")
    r = admin.post("/api/v1/suppressions", json={"value": "@Acme.com", "reason": "their legal team asked"})
    assert r.status_code == 201 and r.json()["kind"] == "domain" and r.json()["value"] == "acme.com"
    assert admin.post("/api/v1/suppressions", json={"value": "acme.com"}).status_code == 409
    assert admin.post("/api/v1/suppressions", json={"value": "no such thing"}).status_code == 422
    assert web.api_client("marketing").get("/api/v1/suppressions").status_code == 403
    reason = admin.get(f"/api/v1/people/{ann}/may-send", params={"type": "events"}).json()["reason"]
    assert reason == "suppressed_domain"
    page = web.browser_client("admin")
    added = page.post(
        "/admin/suppressions", data={"value": "bob@beta.io", "reason": "bounced"}, follow_redirects=False
    )
    assert added.status_code == 303
    listing = page.get("/admin/suppressions")
    assert {e.value for e in listing.context["entries"]} == {"acme.com", "bob@beta.io"}  # type: ignore[attr-defined]
    bad = page.post("/admin/suppressions", data={"value": "nonsense"})
    assert bad.status_code == 422 and bad.context["error"]  # type: ignore[attr-defined]
    sid = r.json()["id"]
    assert admin.delete(f"/api/v1/suppressions/{sid}").status_code == 200
    assert admin.delete(f"/api/v1/suppressions/{sid}").status_code == 404
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 1
        kinds = s.scalars(sa.select(AuditEvent.kind).where(AuditEvent.kind.like("suppression.%"))).all()
    assert sorted(kinds) == ["suppression.added", "suppression.added", "suppression.removed"]


def test_export_and_erase_are_for_admins_and_audited(web: Web, ann: int) -> None:
    marketing = web.api_client("marketing")
    assert marketing.get(f"/api/v1/people/{ann}/export").status_code == 403
    assert marketing.post(f"/api/v1/people/{ann}/erase").status_code == 403
    admin = web.api_client("admin")
    data: dict[str, Any] = admin.get(f"/api/v1/people/{ann}/export").json()
    assert data["person"]["email"] == "ann@acme.com" and data["format"] == "leadloop.person-export/1"
    page = web.browser_client("admin")
    download = page.get(f"/people/{ann}/export.json")
    assert download.headers["content-disposition"] == f'attachment; filename="person-{ann}.json"'
    refused = page.post(f"/people/{ann}/erase", data={"confirm": "erase please"})
    assert refused.status_code == 422 and _opt_in(web, ann) is True
    assert (
        page.post(f"/people/{ann}/erase", data={"confirm": "ERASE"}, follow_redirects=False).status_code
        == 303
    )
    assert admin.post(f"/api/v1/people/{ann}/erase").status_code == 409
    assert admin.post("/api/v1/people/999999/erase").status_code == 404
    with web.db.read() as s:
        assert s.scalar(sa.select(Person.email).where(Person.id == ann)) is None
        kinds = s.scalars(sa.select(AuditEvent.kind).where(AuditEvent.kind.like("person.%"))).all()
    assert sorted(kinds) == ["person.erased", "person.exported", "person.exported"]
    # The form captures no one who was erased, and tells a stranger nothing about it.
    r = _stranger(web).post("/forms/lead", data={"email": "ann@acme.com", "first_name": "Ann"})
    assert r.status_code in (200, 303)
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Person.email == "ann@acme.com")) == 0
