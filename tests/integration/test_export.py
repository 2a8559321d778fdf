from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from leadloop.capture.export import export_csv
from leadloop.capture.importer import run_import
from leadloop.core.clock import FrozenClock
from leadloop.store.db import Database
from leadloop.store.tables import Person
from tests.conftest import NOW, count


def _export(db: Database, entity: str) -> list[dict[str, str]]:
    buf = io.StringIO()
    export_csv(db, entity, buf, now=NOW)
    return list(csv.DictReader(io.StringIO(buf.getvalue())))


def test_export_neutralises_formulas_and_round_trips(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_csv(
        ["external_id", "email", "first_name", "last_name", "company"],
        [
            ["X1", "evil@acme.com", "=cmd|' /C calc'!A0", "+1-2", "@SUM(1)"],
            ["X2", "ok@acme.com", "Ann", "-", "Acme"],
        ],
    )
    run_import(db, "people", path, now=clock)
    rows = _export(db, "people")
    evil = next(r for r in rows if r["external_id"] == "X1")
    assert (evil["first_name"], evil["last_name"], evil["company"]) == (
        "'=cmd|' /C calc'!A0",
        "'+1-2",
        "'@SUM(1)",
    )
    assert evil["account_domain"] == "acme.com"
    # The export is importable as it is: nothing new is created.
    out = tmp_path / "people.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        export_csv(db, "people", fh, now=NOW)
    again = run_import(db, "people", out, now=clock)
    assert (again.created, again.rejected) == (0, 0)
    assert count(db, Person) == 2


def test_export_every_entity_has_the_contract_header(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    run_import(
        db,
        "activities",
        make_csv(
            ["email", "type", "occurred_at", "product"],
            [["a@acme.com", "demo_request", "2026-10-01", "analytics"]],
        ),
        now=clock,
    )
    acts = _export(db, "activities")
    assert list(acts[0])[:12] == [
        "external_id",
        "person_external_id",
        "email",
        "account_external_id",
        "occurred_at",
        "type",
        "channel",
        "direction",
        "campaign",
        "product",
        "value",
        "url",
    ]
    assert acts[0]["occurred_at"] == "2026-10-01T00:00:00Z"
    leads = _export(db, "leads")
    assert (leads[0]["stage"], leads[0]["owner_type"], leads[0]["owner"], leads[0]["product"]) == (
        "inquiry",
        "queue",
        "Marketing nurture",
        "analytics",
    )
    assert _export(db, "accounts")[0]["domain"] == "acme.com"


def test_exports_carry_scores_decayed_to_now_and_the_priority_rank(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    rows = [
        ["hot@acme.com", "demo_request", "2026-10-31T12:00:00Z"],
        ["warm@beta.io", "form_submit", "2026-10-01T12:00:00Z"],
    ]
    run_import(db, "activities", make_csv(["email", "type", "occurred_at"], rows), now=clock)
    leads = _export(db, "leads")
    assert list(leads[0])[-6:] == [
        "fit_score",
        "grade",
        "engagement",
        "predicted_probability",
        "priority_rank",
        "expected_value",
    ]
    assert leads[0]["predicted_probability"] == ""  # no model trained yet: empty, never a made-up number
    by_domain = {r["account_domain"]: r for r in leads}
    # 40 points one day before the export; 20 points 31 days before (30-day half-life)
    assert float(by_domain["acme.com"]["engagement"]) == pytest.approx(40 * 2 ** (-1 / 30), rel=1e-3)
    assert float(by_domain["beta.io"]["engagement"]) == pytest.approx(20 * 2 ** (-31 / 30), rel=1e-3)
    assert (by_domain["acme.com"]["priority_rank"], by_domain["beta.io"]["priority_rank"]) == ("1", "2")
    people = {r["email"]: r for r in _export(db, "people")}
    assert people["hot@acme.com"]["grade"] in "ABCD" and people["hot@acme.com"]["priority_rank"] == "1"
