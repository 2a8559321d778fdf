"""The scoring admin page and its API: edit a model as YAML, preview what it would change (nothing
written), save it as a draft, activate it; bad documents come back with their lines, text kept."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.core.events import LeadReachedMQL
from leadloop.store.tables import Lead, ScoringModelRow
from tests.fixtures.events import recorded
from tests.fixtures.web import Web, post_lead


def _seed(web: Web, api: TestClient | None = None) -> None:
    api = api or web.api_client()
    for i in range(6):
        post_lead(
            api,
            email=f"buyer{i}@firm{i}.com",
            company=f"Firm {i}",
            activity_type="contact_request",  # engagement only: a demo request is an MQL at once
            product="analytics",
            occurred_at=(web.clock() - timedelta(days=1)).isoformat(),
        )


def _lower_mql(text: str) -> str:
    assert "mql_threshold: 60.0" in text and "mql_min_grade: C" in text
    return text.replace("mql_threshold: 60.0", "mql_threshold: 30").replace(
        "mql_min_grade: C", "mql_min_grade: D"
    )


def test_preview_save_and_activate_through_the_page(web: Web) -> None:
    _seed(web)
    seen = recorded(web.db, LeadReachedMQL)
    client = web.browser_client("marketing")
    page = client.get("/scoring")
    assert page.status_code == 200 and page.template.name == "scoring.html"  # type: ignore[attr-defined]
    text = page.context["text"]  # type: ignore[attr-defined]
    assert "version: 2" in text  # a new version of the shipped default
    edited = _lower_mql(text)
    r = client.post("/scoring/preview", data={"document": edited})
    assert r.status_code == 200 and r.context["summary"]["new_mqls"] == 6  # type: ignore[attr-defined]
    assert "become MQL" in r.text
    with web.db.read() as s:  # the preview wrote nothing
        assert s.scalar(sa.select(sa.func.count()).select_from(ScoringModelRow)) == 0
        assert s.scalar(sa.select(sa.func.count()).where(Lead.stage == "mql")) == 0
    saved = client.post("/scoring/models", data={"document": edited}, follow_redirects=False)
    assert saved.status_code == 303
    model_page = client.get(saved.headers["location"])
    assert model_page.context["summary"]["new_mqls"] == 6 and "Activate" in model_page.text  # type: ignore[attr-defined]
    model_id = int(saved.headers["location"].rsplit("/", 1)[1])
    done = client.post(f"/scoring/models/{model_id}/activate", follow_redirects=True)
    assert done.status_code == 200 and "Activated." in done.text
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Lead.stage == "mql")) == 6
        assert s.scalar(sa.select(ScoringModelRow.status).where(ScoringModelRow.id == model_id)) == "active"
    assert len(seen) == 6  # routing hears about every new MQL
    again = client.get("/scoring")
    assert "version: 3" in again.context["text"]  # type: ignore[attr-defined]


def test_a_bad_document_keeps_the_text_and_names_the_line(web: Web) -> None:
    client = web.browser_client("marketing")
    text = client.get("/scoring").context["text"]  # type: ignore[attr-defined]
    bad = text.replace("half_life_days: 30.0", "half_life_days: -4")
    preview = client.post("/scoring/preview", data={"document": bad})
    line = bad.splitlines().index("  half_life_days: -4") + 1
    assert preview.status_code == 200 and f"line {line}" in preview.text
    r = client.post("/scoring/models", data={"document": bad})
    assert r.status_code == 422 and r.context["text"] == bad  # type: ignore[attr-defined]
    assert f"line {line}:" in r.text
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ScoringModelRow)) == 0


def test_reps_may_read_but_not_change_models(web: Web) -> None:
    client = web.browser_client("rep")
    page = client.get("/scoring")
    assert page.status_code == 200 and "Save as draft" not in page.text
    r = client.post("/scoring/models", data={"document": "name: x"})
    assert r.status_code == 403


def test_the_api_saves_previews_and_activates(web: Web) -> None:
    api = web.api_client("marketing")
    _seed(web, api)
    text = api.get("/api/v1/scoring/models").json()
    assert text == []
    default = web.browser_client("marketing").get("/scoring").context["text"]  # type: ignore[attr-defined]
    r = api.post(
        "/api/v1/scoring/models", content=_lower_mql(default), headers={"content-type": "application/yaml"}
    )
    assert r.status_code == 201, r.text
    model_id = r.json()["id"]
    assert api.get(f"/api/v1/scoring/models/{model_id}").json()["status"] == "draft"
    whatif = api.get(f"/api/v1/scoring/models/{model_id}/whatif").json()
    assert whatif["new_mqls"] == 6 and len(whatif["new_mql_examples"]) == 5
    done = api.post(f"/api/v1/scoring/models/{model_id}/activate").json()
    assert done["status"] == "active" and done["new_mqls"] == 6
    bad = api.post(
        "/api/v1/scoring/models",
        content="name: x\nversion: 1\nbogus: 1\n",
        headers={"content-type": "application/yaml"},
    )
    assert bad.status_code == 422
    assert any(p["line"] == 3 and "bogus" in p["message"] for p in bad.json()["problems"])
    assert api.post("/api/v1/scoring/models/999/activate").status_code == 404
