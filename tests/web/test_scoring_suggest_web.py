"""A model suggested by the history (issue 16, item 4): a sales manager asks, the fit rules learned
from won and lost deals beat the rules in force on held-out deals, so a draft is saved with the
evidence as its first comment, for the usual what-if and activation; a rep may not ask."""

from __future__ import annotations

import random
from datetime import timedelta

from leadloop import capture as h
from leadloop.capture import model as m
from tests.fixtures.web import Web


def _history(web: Web, n: int = 150) -> None:
    """Mining accounts win 85% of their deals, Software 15% (which the shipped rules favour)."""
    rng = random.Random(9)
    base = web.clock() - timedelta(days=500)
    with web.db.write() as s:
        h.upsert_accounts(
            s,
            [
                m.parse_account(
                    {"external_id": f"A{i}", "name": f"A{i}", "industry": ("Mining", "Software")[i % 2]}
                )
                for i in range(n)
            ],
            now=web.clock(),
        )
        for i in range(n):
            act = m.parse_activity(
                {
                    "type": "demo_request",
                    "account_external_id": f"A{i}",
                    "occurred_at": (base + timedelta(days=3 * i - 2)).isoformat(),
                },
                now=web.clock(),
            )
            h.ingest_activities(s, [act], now=web.clock(), source="import")
        h.upsert_opportunities(
            s,
            [
                m.parse_opportunity(
                    {
                        "external_id": f"O{i}",
                        "account_external_id": f"A{i}",
                        "outcome": "won" if rng.random() < (0.85 if i % 2 == 0 else 0.15) else "lost",
                        "created_at": (base + timedelta(days=3 * i)).isoformat(),
                        "closed_at": (base + timedelta(days=3 * i + 20)).isoformat(),
                    },
                    now=web.clock(),
                )
                for i in range(n)
            ],
            now=web.clock(),
        )


def test_a_manager_asks_the_history_for_a_model_and_gets_a_draft_with_its_evidence(web: Web) -> None:
    assert web.api_client("rep").post("/api/v1/scoring/suggestions").status_code == 403
    api = web.api_client("manager")
    empty = api.post("/api/v1/scoring/suggestions")
    assert empty.status_code == 201 and empty.json()["draft_id"] is None
    assert (
        "Fit: learning a fit model needs at least 40 closed deals, won and lost; there are 0 (0 won)."
        in empty.json()["lines"]
    )
    _history(web)
    manager = web.browser_client("manager")
    fragment = manager.post("/scoring/suggest")
    assert fragment.status_code == 200 and "Open draft #" in fragment.text, fragment.text
    assert "(used)" in fragment.text and "won per grade, held out, learned" in fragment.text
    drafts = api.get("/api/v1/scoring/models").json()
    draft = next(d for d in drafts if d["status"] == "draft")
    document = api.get(f"/api/v1/scoring/models/{draft['id']}").json()["document"]
    assert "learned_industry_mining" in document and "Suggested by the history" in document
    thread = api.get(f"/api/v1/scoring/models/{draft['id']}/comments").json()
    assert thread[0]["author"] == "Manager" and thread[0]["text"].startswith("Fit learned from")
    assert api.get(f"/api/v1/scoring/models/{draft['id']}/whatif").status_code == 200
    assert (
        api.post(f"/api/v1/scoring/models/{draft['id']}/activate").status_code == 403
    )  # marketing activates
    assert (
        web.api_client("marketing").post(f"/api/v1/scoring/models/{draft['id']}/activate").status_code == 200
    )
