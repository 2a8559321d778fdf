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
