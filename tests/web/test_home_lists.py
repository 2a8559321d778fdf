"""Home per role, global search, the lists' tools (page size, export, saved views, bulk) and the
campaign pages, by template and context; and every bad input the issue names."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.core.fold import fold
from leadloop.store.tables import Account, Activity, AuditEvent, Campaign, Lead, Person, SavedView, User
from tests.fixtures.web import PASSWORD, Web, csrf_from


def _uid(web: Web, email: str) -> int:
    with web.db.read() as s:
        return int(s.scalar(sa.select(User.id).where(User.email == email)) or 0)


def _owned(web: Web, owner_email: str, *names: str) -> list[int]:
    """An account, a contact and an MQL owned by this user, for each name."""
    owner, now, ids = _uid(web, owner_email), web.clock(), []
    with web.db.write() as s:
        for name in names:
            a = Account(name=name, name_key=fold(name), created_at=now, updated_at=now)
            s.add(a)
            s.flush()
            s.add(
                Person(
                    account_id=a.id,
                    first_name=name.split()[0],
                    last_name="Müller",
                    email=f"{fold(name.split()[0])}@{a.id}.example",
                    created_at=now,
                    updated_at=now,
                )
            )
            lead = Lead(
                account_id=a.id,
                product="analytics",
                stage="mql",
                owner_user_id=owner,
                opened_at=now,
                stage_changed_at=now,
                last_activity_at=now,
                assigned_at=now,
                sla_due_at=now + timedelta(minutes=30),
            )
            s.add(lead)
            s.flush()
            ids.append(lead.id)
    return ids


@pytest.mark.parametrize(
    ("role", "sections"),
    [
        ("rep", {"rep"}),
        ("manager", {"team"}),
        ("marketing", {"pipeline"}),
        ("admin", {"team", "pipeline", "health"}),
    ],
)
def test_each_role_lands_on_its_own_home(web: Web, role: str, sections: set[str]) -> None:
    client = web.browser_client(role)
    r = client.get("/")
    assert r.status_code == 200 and r.template.name == "home.html"  # type: ignore[attr-defined]
    shown = {k for k in ("rep", "team", "pipeline", "health") if r.context.get(k)}  # type: ignore[attr-defined]
    assert shown == sections
    assert (
        'class="brand" href="/"' in r.text and 'href="/accounts"' in r.text and 'href="/campaigns"' in r.text
    )


def test_a_rep_home_shows_waiting_leads_with_their_clocks(web: Web) -> None:
    client = web.browser_client("rep")
    ids = _owned(web, "rep-web@test.example", "Acme Kälte", "Borealis AB")
    home = client.get("/").context["rep"]  # type: ignore[attr-defined]
    assert (home.open_leads, home.waiting) == (2, 2) and sorted(c.id for c in home.clocks) == sorted(ids)
    assert "data-due=" in client.get("/").text


def test_a_partner_goes_to_the_portal(web: Web) -> None:
    email = web.user("partner")
    client = TestClient(web.app)
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.headers["location"] == "/partner"
    assert client.get("/", follow_redirects=False).headers["location"] == "/partner"


def test_global_search_page_partial_and_api(web: Web) -> None:
    client = web.browser_client("marketing")
    _owned(web, "marketing-web@test.example", "Jürgen Kältetechnik")
    page = client.get("/search", params={"q": "jurgen"})
    assert page.template.name == "search.html"  # type: ignore[attr-defined]
    assert [h.label for h in page.context["found"].people] == ["Jürgen Müller"]  # type: ignore[attr-defined]
    partial = client.get("/search", params={"q": "MULLER"}, headers={"HX-Request": "true"})
    assert partial.template.name == "_search_results.html"  # type: ignore[attr-defined]
    api = client.get("/api/v1/search", params={"q": "kaltetechnik"}).json()
    assert [a["label"] for a in api["accounts"]] == ["Jürgen Kältetechnik"] and len(api["leads"]) == 1


def test_search_respects_visibility(web: Web) -> None:
    rep = web.browser_client("rep")
    web.user("rep", "other@test.example")
    _owned(web, "other@test.example", "Zoë Corp")
    assert rep.get("/api/v1/search", params={"q": "zoe"}).json() == {
        "q": "zoe",
        "people": [],
        "accounts": [],
        "leads": [],
        "more": {"people": False, "accounts": False, "leads": False},
    }


def test_a_search_of_10_kb_is_refused_with_a_reason(web: Web) -> None:
    client = web.browser_client("marketing")
    q = "ü" * 10_000
    r = client.get("/api/v1/search", params={"q": q})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"]
    page = client.get("/search", params={"q": q}, headers={"accept": "text/html"})
    assert page.status_code == 422 and page.template.name == "error.html"  # type: ignore[attr-defined]
    assert client.get("/people", params={"q": q}).status_code == 422


@pytest.mark.parametrize("path", ["/people", "/accounts", "/campaigns"])
def test_lists_take_any_page_and_size_without_breaking(web: Web, path: str) -> None:
    client = web.browser_client("marketing")
    _owned(web, "marketing-web@test.example", "Acme", "Beta")
    low = client.get(path, params={"page": -1, "per_page": 5000})
    assert low.status_code == 200 and (low.context["paging"].page, low.context["paging"].per_page) == (1, 25)  # type: ignore[attr-defined]
    big = client.get(path, params={"page": 10**9, "per_page": 200})
    paging = big.context["paging"]  # type: ignore[attr-defined]
    assert big.status_code == 200 and paging.per_page == 200
    if paging.total:
        assert (
            paging.beyond_last and "go to the last page" in big.text and "match these filters" not in big.text
        )
    assert client.get(path, params={"page": "x"}).status_code == 200


def test_past_the_last_page_of_leads_says_so(web: Web) -> None:
    client = web.browser_client("marketing")
    _owned(web, "marketing-web@test.example", "Acme", "Beta")
    r = client.get("/leads", params={"page": 9})
    assert r.context["page"].paging.beyond_last  # type: ignore[attr-defined]
    assert "Page 9 of 1 — no leads here" in r.text and "No leads match" not in r.text
    r = client.get("/leads", params={"per_page": 200})
    assert r.context["page"].filter.per_page == 200 and r.context["page_sizes"] == (25, 50, 100, 200)  # type: ignore[attr-defined]
    assert client.get("/leads", params={"page": -1}, headers={"accept": "text/html"}).status_code == 422
    assert client.get("/leads", params={"per_page": 5000}, headers={"accept": "text/html"}).status_code == 422


def _rows(r) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_a_reps_export_holds_only_their_leads_and_is_audited(web: Web) -> None:
    rep = web.browser_client("rep")
    web.user("rep", "other@test.example")
    mine = _owned(web, "rep-web@test.example", "Mine AG")
    theirs = _owned(web, "other@test.example", "Theirs SA")
    rows = _rows(rep.get("/leads.csv"))
    assert [int(r["id"]) for r in rows] == mine and rows[0]["account"] == "Mine AG"
    picked = _rows(rep.post("/leads.csv", data={"lead_ids": [str(mine[0]), str(theirs[0])]}))
    assert [int(r["id"]) for r in picked] == mine
    assert [r["account_id"] for r in _rows(rep.get("/people.csv"))] != []
    assert {r["name"] for r in _rows(rep.get("/accounts.csv"))} == {"Mine AG"}
    with web.db.read() as s:
        kinds = s.scalars(sa.select(AuditEvent.subject).where(AuditEvent.kind == "export")).all()
    assert sorted(kinds) == ["accounts", "leads", "leads", "people"]


def test_bulk_export_needs_a_selection_and_the_csrf_token(web: Web) -> None:
    client = web.browser_client("manager")
    r = client.post("/leads.csv", data={"lead_ids": ["x"]}, headers={"accept": "text/html"})
    assert r.status_code == 422 and "tick at least one row" in r.text
    del client.headers["X-CSRF-Token"]
    assert client.post("/leads.csv", data={"lead_ids": ["1"]}).status_code == 403


def test_only_managers_and_admins_get_the_assign_form(web: Web) -> None:
    manager = web.browser_client("manager")
    with web.db.write() as s:
        s.execute(sa.update(User).where(User.email == "rep@test.example").values(manager_id=None))
    web.user("rep", "ann@test.example")
    with web.db.write() as s:
        s.execute(
            sa.update(User)
            .where(User.email == "ann@test.example")
            .values(manager_id=_uid(web, "manager-web@test.example"))
        )
    _owned(web, "ann@test.example", "Annco", "Annex")
    r = manager.get("/leads")
    assert r.context["may_assign"] and [a.name for a in r.context["assignees"]] == ["Manager", "Rep"]  # type: ignore[attr-defined]
    assert (
        'formaction="/leads/reassign"' in r.text and 'name="owner_id"' in r.text and 'name="reason"' in r.text
    )
    assert r.text.count('name="lead_ids"') == 2
    rep = web.browser_client("rep")
    r = rep.get("/leads")
    assert not r.context["may_assign"] and "/leads/reassign" not in r.text  # type: ignore[attr-defined]


def test_saved_views_save_apply_list_and_delete(web: Web) -> None:
    client = web.browser_client("rep")
    r = client.post(
        "/views",
        data={"list_name": "leads", "name": "My MQLs", "query": "stage=mql&page=2"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/leads?stage=mql"
    page = client.get("/leads?stage=mql")
    (view,) = page.context["views"]  # type: ignore[attr-defined]
    assert view.name == "My MQLs" and f'href="/views/{view.id}"' in page.text
    assert client.get(f"/views/{view.id}", follow_redirects=False).headers["location"] == "/leads?stage=mql"
    assert client.get("/api/v1/views", params={"list_name": "leads"}).json()["views"][0]["name"] == "My MQLs"
    again = client.post(
        "/views", data={"list_name": "leads", "name": "my mqls"}, headers={"accept": "text/html"}
    )
    assert again.status_code == 409 and "choose another name" in again.text
    other = web.browser_client("manager")
    assert other.get(f"/views/{view.id}", headers={"accept": "text/html"}).status_code == 404
    assert other.post(f"/views/{view.id}/delete", headers={"accept": "text/html"}).status_code == 404
    assert client.post(f"/views/{view.id}/delete", follow_redirects=False).headers["location"] == "/leads"
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 0


@pytest.mark.parametrize("bad", ["987654", "0", "-1", "99999999999", "abc"])
def test_an_unknown_saved_view_is_not_found_or_refused(web: Web, bad: str) -> None:
    client = web.browser_client("rep")
    r = client.get(f"/views/{bad}", headers={"accept": "text/html"})
    assert r.status_code in (404, 422) and r.template.name == "error.html"  # type: ignore[attr-defined]


def test_saving_a_nameless_view_says_what_to_do(web: Web) -> None:
    client = web.browser_client("rep")
    r = client.post("/views", data={"list_name": "leads", "name": "  "}, headers={"accept": "text/html"})
    assert r.status_code == 422 and "give the view a name" in r.text


def test_people_start_as_a_list_and_accounts_have_one(web: Web) -> None:
    client = web.browser_client("marketing")
    _owned(web, "marketing-web@test.example", "Acme", "Beta")
    people = client.get("/people")
    assert people.template.name == "people.html" and len(people.context["listing"].rows) == 2  # type: ignore[attr-defined]
    accounts = client.get("/accounts", params={"q": "ACME"})
    assert accounts.template.name == "accounts.html"  # type: ignore[attr-defined]
    assert [a.name for a in accounts.context["listing"].rows] == ["Acme"]  # type: ignore[attr-defined]
    assert accounts.context["current"] == "q=ACME"  # type: ignore[attr-defined]


def test_campaign_pages(web: Web) -> None:
    client = web.browser_client("marketing")
    (lead_id,) = _owned(web, "marketing-web@test.example", "Acme")
    now = web.clock()
    with web.db.write() as s:
        c = Campaign(name="Webinar: Data maturity", channel="webinar", cost=Decimal(8000), created_at=now)
        s.add(c)
        s.flush()
        account_id = s.scalar(sa.select(Lead.account_id).where(Lead.id == lead_id))
        person_id = s.scalar(sa.select(Person.id).where(Person.account_id == account_id))
        s.add(
            Activity(
                dedupe_key="w1",
                person_id=person_id,
                account_id=account_id,
                type="webinar_attended",
                occurred_at=now,
                recorded_at=now,
                campaign_id=c.id,
                source="import",
            )
        )
        cid = c.id
    r = client.get("/campaigns")
    assert r.template.name == "campaigns.html"  # type: ignore[attr-defined]
    (row,) = r.context["listing"].rows  # type: ignore[attr-defined]
    assert (row.members, row.leads, row.cost_per_lead, row.status) == (1, 1, Decimal(8000), "active")
    detail = client.get(f"/campaigns/{cid}")
    assert detail.template.name == "campaign.html" and [m.id for m in detail.context["view"].members] == [
        person_id
    ]  # type: ignore[attr-defined]
    assert client.get("/api/v1/campaigns").json()["items"][0]["members"] == 1
    assert client.get("/campaigns/987654", headers={"accept": "text/html"}).status_code == 404
    assert _rows(client.get("/campaigns.csv"))[0]["name"] == "Webinar: Data maturity"


def test_anonymous_visitors_are_sent_to_sign_in(web: Web) -> None:
    r = TestClient(web.app).get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    "q", ["\\", "%_%", "a\\%b", "'; drop table people; --", "ß" * 200, "İstanbul ǅ ŉ", "   "]
)
def test_odd_search_terms_are_just_letters(web: Web, q: str) -> None:
    client = web.browser_client("marketing")
    r = client.get("/api/v1/search", params={"q": q})
    assert r.status_code == 200 and r.json()["people"] == []
    assert client.get("/leads", params={"q": q}).status_code == 200
    assert client.get("/campaigns", params={"q": q}).status_code == 200


def test_a_rep_home_lists_follow_ups_due_and_a_bdr_lands_on_the_desk(web: Web) -> None:
    from datetime import timedelta

    from leadloop.access.repository import scope_of
    from leadloop.auth.handlers import principal_for_user
    from leadloop.work.handlers import add_task

    client = web.browser_client("rep")
    [lead_id] = _owned(web, "rep-web@test.example", "Acme Kälte")
    with web.db.write() as s:
        uid = s.scalar(sa.select(User.id).where(User.email == "rep-web@test.example"))
        who = principal_for_user(s, uid)
        assert who is not None
        add_task(
            s,
            scope_of(s, who),
            who,
            title="Call Acme back",
            due_at=web.clock() - timedelta(hours=1),
            about="lead",
            record_id=lead_id,
            now=web.clock(),
        )
    page = client.get("/")
    assert page.context["tasks"].open_count == 1 and "Call Acme back" in page.text  # type: ignore[attr-defined]
    bdr = web.browser_client("bdr")
    assert bdr.get("/", follow_redirects=False).headers["location"] == "/desk"
