from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from leadloop.capture.export import export_csv
from leadloop.capture.importer import run_import
from leadloop.core.clock import FrozenClock
from leadloop.store.db import Database
from leadloop.store.tables import Person
from tests.conftest import count


def _export(db: Database, entity: str) -> list[dict[str, str]]:
    buf = io.StringIO()
    export_csv(db, entity, buf)
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
        export_csv(db, "people", fh)
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
