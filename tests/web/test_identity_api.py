"""The identity API: the review queue, merge and unmerge, the audit trail, and their errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.capture import capture_accounts
from tests.fixtures.web import Web, post_lead


def _lead(api: TestClient, **fields: str) -> int:
    return int(post_lead(api, activity_type="form_submit", **fields)["person_id"])


def test_review_merge_unmerge_through_the_api(web: Web) -> None:
    api = web.api_client("marketing")
    a = _lead(
        api, email="mia.hart@lumen.io", first_name="Mia", last_name="Hart", company="Lumen Ltd", city="Leeds"
    )
    b = _lead(
        api, email="miahart77@gmail.com", first_name="Mia", last_name="Hart", company="Lumen", city="Leeds"
    )
    queue = api.get("/api/v1/duplicates").json()
    assert queue["total"] == 1
    pair = queue["pairs"][0]
    assert {p["id"] for p in pair["people"]} == {a, b} and "last name same" in pair["reasons"]

    rep = web.api_client("rep")
    assert rep.get("/api/v1/duplicates").status_code == 200  # reps may look
    denied = rep.post(f"/api/v1/duplicates/{pair['id']}", json={"action": "merge"})
    assert denied.status_code == 403 and "may not" in denied.json()["detail"]

    bad = api.post(f"/api/v1/duplicates/{pair['id']}", json={"action": "maybe"})
    assert bad.status_code == 422
    done = api.post(f"/api/v1/duplicates/{pair['id']}", json={"action": "merge"})
    assert done.status_code == 200, done.text
    merge_id = done.json()["merge_id"]
    again = api.post(f"/api/v1/duplicates/{pair['id']}", json={"action": "distinct"})
    assert again.status_code == 409 and "already decided" in again.json()["detail"]

    merged = api.get(f"/api/v1/people/{b}").json()["person"]
    assert merged["merged_into_id"] == a
    assert api.get(f"/api/v1/people/{a}").json()["activity_total"] == 2

    trail = api.get("/api/v1/merges", params={"person_id": a}).json()
    assert (
        trail[0]["id"] == merge_id
        and trail[0]["method"] == "review"
        and trail[0]["by"] == "marketing-api@test.example"
    )

    self_merge = api.post(f"/api/v1/people/{a}/merge", json={"into": a})
    assert self_merge.status_code == 422 and "themselves" in self_merge.json()["detail"]
    gone = api.post(f"/api/v1/people/{b}/merge", json={"into": a})
    assert gone.status_code == 409 and f"already merged into #{a}" in gone.json()["detail"]
    missing = api.post("/api/v1/people/999999/merge", json={"into": a})
    assert missing.status_code == 404

    undone = api.post(f"/api/v1/merges/{merge_id}/unmerge")
    assert undone.status_code == 200, undone.text
    assert api.get(f"/api/v1/people/{b}").json()["person"]["merged_into_id"] is None
    assert api.get(f"/api/v1/people/{b}").json()["activity_total"] == 1
    twice = api.post(f"/api/v1/merges/{merge_id}/unmerge")
    assert twice.status_code == 409 and "already undone" in twice.json()["detail"]
    trail = api.get("/api/v1/merges", params={"person_id": a}).json()
    assert trail[0]["unmerged_at"] is not None and trail[0]["unmerged_by"] == "marketing-api@test.example"

    # a manual merge through the API, the other way round
    manual = api.post(f"/api/v1/people/{a}/merge", json={"into": b})
    assert manual.status_code == 200 and manual.json()["survivor_id"] == b


def test_the_queue_page_lists_pairs_and_decides(web: Web) -> None:
    api = web.api_client("marketing")
    _lead(api, email="leo.moss@kite.io", first_name="Leo", last_name="Moss", company="Kite", city="Oslo")
    _lead(
        api, email="leomoss@hotmail.com", first_name="Leo", last_name="Moss", company="Kite AS", city="Oslo"
    )
    page = web.browser_client("marketing")
    html = page.get("/people/duplicates").text
    assert "1 pair waiting" in html and "leomoss@hotmail.com" in html
    pair_id = api.get("/api/v1/duplicates").json()["pairs"][0]["id"]
    r = page.post(
        f"/people/duplicates/{pair_id}", data={"action": "distinct"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200 and "not the same person" in r.text
    assert "No suspected duplicates" in page.get("/people/duplicates").text
    rep_page = web.browser_client("rep")
    assert "Merge</button>" not in rep_page.get("/people/duplicates").text


def test_accounts_merge_review_and_unmerge_through_the_api_and_pages(web: Web) -> None:
    from leadloop.identity.account_review import suspect_accounts
    from leadloop.identity.accounts import AccountPair

    lumen, lumen_ltd, kite, kyte = capture_accounts(
        web.db,
        web.clock,
        {"external_id": "L1", "name": "Lumen Ltd", "domain": "lumen.io"},
        {"external_id": "L2", "name": "Lumen"},
        {"external_id": "K1", "name": "Kite Robotics"},
        {"external_id": "K2", "name": "Kyte Robotics"},
    ).values()
    api = web.api_client("marketing")
    person = _lead(api, email="mia@gmail.com", first_name="Mia", last_name="Hart", account_external_id="L2")
    done = api.post(f"/api/v1/accounts/{lumen_ltd}/merge", json={"into": lumen})
    assert done.status_code == 200, done.text
    merge_id = done.json()["merge_id"]
    assert api.get(f"/api/v1/people/{person}").json()["person"]["account_id"] == lumen
    page = web.browser_client("marketing")
    html = page.get(f"/accounts/{lumen}").text
    assert f"#{lumen_ltd}</a> merged into this account" in html and "Unmerge" in html
    assert "was merged into" in page.get(f"/accounts/{lumen_ltd}").text
    trail = api.get("/api/v1/account-merges", params={"account_id": lumen}).json()
    assert trail[0]["id"] == merge_id and trail[0]["by"] == "marketing-api@test.example"

    assert api.post(f"/api/v1/accounts/{lumen}/merge", json={"into": lumen}).status_code == 422
    gone = api.post(f"/api/v1/accounts/{lumen_ltd}/merge", json={"into": lumen})
    assert gone.status_code == 409 and f"already merged into #{lumen}" in gone.json()["detail"]
    assert api.post("/api/v1/accounts/999999/merge", json={"into": lumen}).status_code == 404
    rep = web.api_client("rep")
    assert rep.post(f"/api/v1/account-merges/{merge_id}/unmerge").status_code == 403
    undone = api.post(f"/api/v1/account-merges/{merge_id}/unmerge")
    assert undone.status_code == 200, undone.text
    assert api.get(f"/api/v1/people/{person}").json()["person"]["account_id"] == lumen_ltd
    twice = api.post(f"/api/v1/account-merges/{merge_id}/unmerge")
    assert twice.status_code == 409 and "already undone" in twice.json()["detail"]

    with web.db.write() as s:
        suspect_accounts(s, [AccountPair(kite, kyte, 92.3, ("company names alike",))], now=web.clock())
    queue = api.get("/api/v1/account-duplicates").json()
    assert queue["total"] == 1 and {a["id"] for a in queue["pairs"][0]["accounts"]} == {kite, kyte}
    html = page.get("/people/duplicates").text
    assert "Accounts that may be one" in html and "Kyte Robotics" in html
    pair_id = queue["pairs"][0]["id"]
    r = page.post(f"/accounts/duplicates/{pair_id}", data={"action": "merge"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Merged (account merge #" in r.text
    again = api.post(f"/api/v1/account-duplicates/{pair_id}", json={"action": "distinct"})
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    assert api.post("/api/v1/account-duplicates/999999", json={"action": "merge"}).status_code == 404
