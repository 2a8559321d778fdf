"""Scoring models, routing rule sets and sequences are three kinds of one versioned document: the same guards,
pages and API for all (staff read, the kind's editors change)."""

from __future__ import annotations

import pytest

from tests.fixtures.web import Web

KINDS = [
    ("/scoring", "/api/v1/scoring/models", "marketing"),
    ("/routing", "/api/v1/routing/rulesets", "manager"),
    ("/sequences", "/api/v1/sequences/versions", "marketing"),
]


@pytest.mark.parametrize(("home", "api", "editor"), KINDS)
def test_staff_read_every_kind_and_only_its_editors_change_it(
    web: Web, home: str, api: str, editor: str
) -> None:
    rep, rep_api = web.browser_client("rep"), web.api_client("rep")
    page = rep.get(home)
    assert page.status_code == 200 and page.template.name in (
        "documents.html",
        "scoring.html",
        "sequences.html",
    )  # type: ignore[attr-defined]
    assert page.context["may_edit"] is False and "Save as draft" not in page.text  # type: ignore[attr-defined]
    assert rep.post(f"{home}/preview", data={"document": "name: x"}).status_code == 403
    assert rep.post(api.replace("/api/v1", ""), data={"document": "name: x"}).status_code == 403
    assert rep_api.get(api).json() == []
    boss = web.browser_client(editor)
    edit = boss.get(home)
    assert edit.context["may_edit"] is True and "Save as draft" in edit.text  # type: ignore[attr-defined]
    saved = boss.post(
        api.replace("/api/v1", ""), data={"document": edit.context["text"]}, follow_redirects=False
    )  # type: ignore[attr-defined]
    assert saved.status_code == 303
    doc_id = int(saved.headers["location"].rsplit("/", 1)[1])
    shown = rep_api.get(f"{api}/{doc_id}").json()
    assert shown["status"] == "draft" and "version: 2" in shown["document"]
    assert rep_api.post(f"{api}/{doc_id}/activate").status_code == 403
    started = boss.get(f"{home}?start={doc_id}")
    assert "version: 3" in started.context["text"]  # type: ignore[attr-defined]
    assert boss.get(f"{home}?start=999").status_code == 404


def test_a_sales_manager_drafts_a_scoring_model_and_comments_and_marketing_activates(web: Web) -> None:
    """Issue 16, item 6 (seed 004, "involve sales managers in scoring"): a manager writes a draft
    model, tries it, comments on it; only marketing or an admin activates it."""
    manager, manager_api = web.browser_client("manager"), web.api_client("manager")
    page = manager.get("/scoring")
    assert page.context["may_draft"] is True and page.context["may_edit"] is False  # type: ignore[attr-defined]
    assert "Save as draft" in page.text
    text = page.context["text"]  # type: ignore[attr-defined]
    assert manager.post("/scoring/preview", data={"document": text}).status_code == 200
    saved = manager.post("/scoring/models", data={"document": text}, follow_redirects=False)
    assert saved.status_code == 303
    doc_id = int(saved.headers["location"].rsplit("/", 1)[1])
    draft = manager.get(f"/scoring/models/{doc_id}")
    assert (
        "marketing or an admin activates it" in draft.text
        and "Activate" not in draft.text.split("Comments")[0]
    )
    assert manager_api.post(f"/api/v1/scoring/models/{doc_id}/activate").status_code == 403
    assert manager.post(f"/scoring/models/{doc_id}/activate").status_code == 403
    said = manager.post(
        f"/scoring/models/{doc_id}/comments", data={"text": "Demo requests from VPs close twice as often."}
    )
    assert said.status_code == 200 and "Demo requests from VPs close twice as often." in said.text
    # Bad input: an empty or over-long comment is refused, saying why; nothing is stored.
    empty = manager.post(f"/scoring/models/{doc_id}/comments", data={"text": "   "})
    assert "Not saved: text: write the comment; an empty one is not saved" in empty.text
    too_long = manager_api.post(f"/api/v1/scoring/models/{doc_id}/comments", json={"text": "x" * 4001})
    assert too_long.status_code == 422 and "at most 4,000 characters; this one has 4,001" in too_long.text
    assert manager_api.post("/api/v1/scoring/models/999/comments", json={"text": "hi"}).status_code == 404
    # A rep reads the comments but neither comments nor drafts.
    rep_api = web.api_client("rep")
    assert (
        rep_api.post(f"/api/v1/scoring/models/{doc_id}/comments", json={"text": "me too"}).status_code == 403
    )
    marketing_api = web.api_client("marketing")
    answer = marketing_api.post(
        f"/api/v1/scoring/models/{doc_id}/comments", json={"text": "Agreed; activating."}
    )
    assert answer.status_code == 201 and answer.json()["author"] == "Marketing"
    thread = rep_api.get(f"/api/v1/scoring/models/{doc_id}/comments").json()
    assert [(c["author"], c["text"]) for c in thread] == [
        ("Manager", "Demo requests from VPs close twice as often."),
        ("Marketing", "Agreed; activating."),
    ]
    assert marketing_api.post(f"/api/v1/scoring/models/{doc_id}/activate").json()["status"] == "active"
    # Routing stays the managers' own: the drafters of one kind are not everyone's.
    assert web.browser_client("marketing").get("/routing").context["may_draft"] is False  # type: ignore[attr-defined]
