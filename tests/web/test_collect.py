"""The tracking script and /collect on SQLite and PostgreSQL: a visit is stored and kinded, 40
pages of one visit are one score bump per kind, and every hostile beacon (a flood, a forged key or
origin, 10 MB, a crawler, a person who objected) is refused or dropped, with nothing stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.capture.visits import object_to_tracking
from leadloop.store.tables import Activity, Person, WebPageView
from tests.fixtures.web import Web

SITE = "https://www.polar-signal.se"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
VISITOR = "0b9f6a52-1c1e-4c1a-9a55-3f0f3f0f3f0f"


def _site(web: Web, *, collect_forms: bool = False) -> str:
    r = web.api_client("admin").post(
        "/api/v1/tracking/sites", json={"name": "Polar", "origins": [SITE], "collect_forms": collect_forms}
    )
    assert r.status_code == 201, r.text
    assert r.json()["snippet"].startswith('<script src="http://127.0.0.1:8000/t.js" data-site="ll_')
    return str(r.json()["site_key"])


def _beacon(client: TestClient, key: str, path: str = "/", *, visitor: str = VISITOR, **extra: Any) -> int:
    body = {"s": key, "v": visitor, "k": "pv", "u": SITE + path, "t": path.strip("/") or "Home", **extra}
    headers = {"origin": SITE, "user-agent": CHROME, "content-type": "text/plain"}
    return client.post("/collect", content=json.dumps(body), headers=headers).status_code


def _count(web: Web, table: type) -> int:
    with web.db.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_the_script_is_served_small_and_cacheable(web: Web) -> None:
    r = TestClient(web.app).get("/t.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    assert len(r.content) < 5_000 and "globalPrivacyControl" in r.text and "sendBeacon" in r.text
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"


def test_a_visit_is_one_activity_per_kind_of_page(make_web: Callable[..., Web]) -> None:
    web = make_web(beacon_visitor_burst=100)
    key = _site(web)
    client = TestClient(web.app)
    assert _beacon(client, key, "/pricing?utm_source=ads") == 204
    for i in range(39):
        assert _beacon(client, key, f"/blog/{i}" if i % 2 else "/pricing") == 204
    assert _count(web, WebPageView) == 40
    with web.db.read() as s:
        kinds = sorted(s.scalars(sa.select(Activity.type).where(Activity.visitor_id == VISITOR)))
        utm = s.scalar(sa.select(Activity.payload).where(Activity.type == "pricing_page_view"))
    assert kinds == ["page_view", "pricing_page_view"]
    assert utm["utm_source"] == "ads" and utm["site"] == "Polar"


def test_hostile_beacons_store_nothing(make_web: Callable[..., Web]) -> None:
    web = make_web(beacon_visitor_burst=5, beacon_visitor_per_minute=1)
    key = _site(web)
    client = TestClient(web.app)
    headers = {"origin": SITE, "user-agent": CHROME}
    forged_key = json.dumps({"s": "ll_forgedkey123", "v": VISITOR, "k": "pv", "u": SITE + "/"})
    assert client.post("/collect", content=forged_key, headers=headers).status_code == 403
    evil = {"origin": "https://evil.example", "user-agent": CHROME}
    good = json.dumps({"s": key, "v": VISITOR, "k": "pv", "u": SITE + "/"})
    r = client.post("/collect", content=good, headers=evil)
    assert r.status_code == 403 and "origin" in r.json()["detail"]
    assert client.post("/collect", content=b"x" * (10 * 1024 * 1024), headers=headers).status_code == 413
    assert client.post("/collect", content=b"{not json", headers=headers).status_code == 400
    bot = {"origin": SITE, "user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    assert client.post("/collect", content=good, headers=bot).status_code == 204
    assert (
        client.post("/collect", content=good, headers={**headers, "sec-purpose": "prefetch"}).status_code
        == 204
    )
    assert client.post("/collect", content=good, headers={**headers, "sec-gpc": "1"}).status_code == 204
    assert _count(web, WebPageView) == 0
    # A flood from one visitor: the bucket of 5 takes 5, the rest are told to slow down.
    # (The refused beacons above took tokens too: limits come before any lookup, so a fresh visitor.)
    codes = [_beacon(client, key, f"/p{i}", visitor="flood-visitor-0001") for i in range(12)]
    assert codes.count(204) == 5 and codes.count(429) == 7
    assert _count(web, WebPageView) == 5


def test_a_collected_form_identifies_the_visitor_and_their_visits_join_them(web: Web) -> None:
    key = _site(web, collect_forms=True)
    client = TestClient(web.app)
    for path in ("/", "/pricing", "/docs/start"):
        assert _beacon(client, key, path) == 204
    form = {"your-name": "Greta Lindqvist", "your-email": "greta@polar-signal.se", "your-message": "Call me"}
    body = json.dumps({"s": key, "v": VISITOR, "k": "form", "u": SITE + "/contact", "f": form})
    assert (
        client.post("/collect", content=body, headers={"origin": SITE, "user-agent": CHROME}).status_code
        == 204
    )
    with web.db.read() as s:
        person = s.scalar(sa.select(Person).where(Person.email == "greta@polar-signal.se"))
        assert person is not None and person.first_name == "Greta"
        types = sorted(s.scalars(sa.select(Activity.type).where(Activity.person_id == person.id)))
    assert {"page_view", "pricing_page_view", "form_submit"} <= set(types)
    page = web.browser_client("admin").get(f"/people/{person.id}")
    items = page.context["view"].timeline  # type: ignore[attr-defined]
    visit = next(t for t in items if t.type == "page_view")
    assert [url for _, url, _ in visit.pages] == [SITE + "/", SITE + "/docs/start"]


def test_a_person_who_objected_gets_no_visits_stored(web: Web) -> None:
    key = _site(web, collect_forms=True)
    client = TestClient(web.app)
    form = json.dumps(
        {"s": key, "v": VISITOR, "k": "form", "u": SITE + "/c", "f": {"email": "lars@polar-signal.se"}}
    )
    client.post("/collect", content=form, headers={"origin": SITE, "user-agent": CHROME})
    with web.db.write() as s:
        pid = s.scalar(sa.select(Person.id).where(Person.email == "lars@polar-signal.se"))
        assert pid is not None
        object_to_tracking(s, pid, now=web.clock(), source="preference centre")
    before = _count(web, WebPageView)
    assert _beacon(client, key, "/pricing") == 204
    assert _count(web, WebPageView) == before


def test_sites_are_admins_and_bad_sites_are_refused(web: Web) -> None:
    r = web.api_client("admin").post("/api/v1/tracking/sites", json={"name": "X", "origins": ["not a url"]})
    assert r.status_code == 422 and "origin" in r.text
    assert (
        web.api_client("rep")
        .post("/api/v1/tracking/sites", json={"name": "X", "origins": [SITE]})
        .status_code
        == 403
    )


def test_an_anonymous_visit_from_a_known_companys_network_shows_on_its_account(
    make_web: Callable[..., Web], tmp_path: Any
) -> None:
    networks = tmp_path / "networks.csv"
    networks.write_text("network,domain\n81.2.69.0/24,polar-signal.se\n81.2.0.0/16,bigisp.net\n")
    web = make_web(reverse_ip_path=str(networks))
    web.api_client("marketing").post(
        "/api/v1/leads",
        json={"email": "greta@polar-signal.se", "company": "Polar Signal AB", "activity_type": "form_submit"},
    )
    key = _site(web)
    client = TestClient(web.app, client=("81.2.69.160", 5000))
    assert _beacon(client, key, "/pricing", visitor="anon-visitor-0001") == 204
    with web.db.read() as s:
        row = s.execute(
            sa.select(Activity.person_id, Activity.account_id, Activity.payload).where(
                Activity.visitor_id == "anon-visitor-0001"
            )
        ).one()
        account = s.scalar(sa.select(Person.account_id).where(Person.email == "greta@polar-signal.se"))
    assert row.person_id is None and row.account_id == account
    assert row.payload["account_inferred_from"] == "reverse IP (polar-signal.se)"


def test_the_tracking_page_lists_sites_and_an_admin_adds_one(web: Web) -> None:
    admin = web.browser_client("admin")
    r = admin.post(
        "/tracking/sites",
        data={"name": "Polar", "origins": SITE + "\nhttps://polar-signal.se"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = admin.get("/tracking")
    assert page.template.name == "tracking.html"  # type: ignore[attr-defined]
    [site] = page.context["sites"]  # type: ignore[attr-defined]
    assert site["allowed_origins"] == ["https://polar-signal.se", SITE] and "data-site=" in site["snippet"]
    bad = admin.post("/tracking/sites", data={"name": "X", "origins": "ftp://nope"})
    assert bad.status_code == 422 and "origin" in bad.context["error"]  # type: ignore[attr-defined]
    marketing = web.browser_client("marketing")
    assert marketing.get("/tracking").status_code == 200
    assert marketing.post("/tracking/sites", data={"name": "Y", "origins": SITE}).status_code == 403
