"""Re-fitting the matcher on the warehouse, on SQLite and PostgreSQL: a refit is a draft that
changes nothing until activated; once active, the real-time matcher decides a new arrival as the
fitted model does where the careful default decided otherwise; a corrupted stored model is
refused with a sentence and never stops a capture."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from leadloop.cli import app
from leadloop.core.clock import FrozenClock
from leadloop.identity.fitted import DEFAULT_MODEL, model_to_json
from leadloop.identity.match_models import in_use
from leadloop.identity.policy import DEFAULT as POLICY
from leadloop.identity.realtime import person_rec, score_pairs
from leadloop.identity.refit import activate, refit
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import downgrade, upgrade
from leadloop.store.tables import MatchModelRow, Person, SuspectedDuplicate
from tests.conftest import NOW
from tests.fixtures.capture import capture_people
from tests.fixtures.identity import FIELDS, stored_duplicates


def _loners(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored people whose full name nobody else has, with a city, postcode and company."""
    names = Counter((r["first_name"], r["last_name"]) for r in rows)
    return [
        r
        for r in rows
        if names[(r["first_name"], r["last_name"])] == 1 and r["city"] and r["postcode"] and r["company"]
    ]


def _namesake(r: dict[str, Any], k: int) -> dict[str, str]:
    """Someone else of the same name in the same town: another e-mail, phone and employer."""
    return {
        "first_name": r["first_name"],
        "last_name": r["last_name"],
        "city": r["city"],
        "postcode": r["postcode"],
        "email": f"namesake{k}@elsewhere{k}.example",
        "phone": f"+1 646 555 01{k:02d}",
        "company": f"Elsewhere {k} Ltd",
    }


def _twin(r: dict[str, Any]) -> dict[str, str]:
    """The same person again, by name and place only (a badge scan: its own id, no e-mail)."""
    return {
        "external_id": f"badge-{r['id']}",
        **{f: r[f] for f in ("first_name", "last_name", "city", "postcode")},
    }


def _pairs(db: Database, pid: int) -> list[set[int]]:
    """The review-queue pairs this person is in."""
    with db.read() as s:
        return [
            {r.person_id, r.other_id}
            for r in s.execute(
                sa.select(SuspectedDuplicate.person_id, SuspectedDuplicate.other_id).where(
                    sa.or_(SuspectedDuplicate.person_id == pid, SuspectedDuplicate.other_id == pid)
                )
            )
        ]


def _arrive(db: Database, clock: FrozenClock, row: dict[str, str]) -> int:
    out = capture_people(db, clock, row, kind=None)[0]
    assert out.id is not None, out
    return out.id


def _by_external_id(db: Database, external_id: str) -> int:
    with db.read() as s:
        return s.execute(sa.select(Person.id).where(Person.external_id == external_id)).scalar_one()


def _survivor(db: Database, pid: int) -> int:
    while (into := _merged_into(db, pid)) is not None:
        pid = into
    return pid


def _merged_into(db: Database, pid: int) -> int | None:
    with db.read() as s:
        return s.get_one(Person, pid).merged_into_id


def test_after_a_refit_is_activated_capture_decides_as_the_fitted_model(
    db: Database, clock: FrozenClock
) -> None:
    rows = stored_duplicates(db, clock)
    loners = _loners(rows)
    assert len(loners) >= 4
    before_a, before_b, after_a, after_b = loners[:4]

    # No fitted model: the careful default decides. A namesake waits for review; a twin by name
    # and place alone waits too (the default does not trust a name and a postcode to merge).
    with db.read() as s:
        assert in_use(s).id is None
    namesake = _arrive(db, clock, _namesake(before_a, 1))
    assert _pairs(db, namesake) == [{namesake, before_a["id"]}]
    twin = _arrive(db, clock, _twin(before_b))
    assert _merged_into(db, twin) is None and _pairs(db, twin) == [{twin, before_b["id"]}]

    # A refit is a draft: nothing changes until it is activated.
    with db.write() as s:
        draft = refit(s, now=clock())
    assert not draft.applied and draft.people == len(rows) + 2 and draft.whatif.changed > 0
    assert draft.judged == 2 and draft.whatif.pairs == draft.pairs - 2  # the two waiting for review
    with db.read() as s:
        assert in_use(s).id is None and s.get_one(MatchModelRow, draft.model_id).status == "draft"
    with db.write() as s:
        assert not activate(s, draft.model_id, now=clock()).was_active
        fitted = in_use(s)
        assert fitted.id == draft.model_id

    # The fitted model, and the default, on the pairs the next arrivals make: they disagree.
    namesake_pair = {"id": 0, **_namesake(after_a, 2)}, after_a
    twin_pair = {"id": 0, **_twin(after_b)}, after_b
    for (new, old), default_says, fitted_says in (
        (namesake_pair, "review", "apart"),
        (twin_pair, "review", "merge"),
    ):
        recs = {0: person_rec(_ns(new), POLICY), old["id"]: person_rec(_ns(old), POLICY)}
        assert _band(score_pairs(recs, [(0, old["id"])], DEFAULT_MODEL)[0][0]) == default_says
        assert _band(score_pairs(recs, [(0, old["id"])], fitted.model)[0][0]) == fitted_says

    # Capture now follows the fitted model: the namesake is not asked about, the twin merges.
    namesake = _arrive(db, clock, _namesake(after_a, 2))
    assert _pairs(db, namesake) == [] and _merged_into(db, namesake) is None
    _arrive(db, clock, _twin(after_b))
    twin = _by_external_id(db, f"badge-{after_b['id']}")
    assert _merged_into(db, twin) is not None and _survivor(db, twin) == _survivor(db, after_b["id"])


def _said(result: Any) -> str:
    """What a command printed, its lines unwrapped (an error's sentence wraps at the terminal)."""
    return " ".join(result.output.split())


def _ns(row: dict[str, Any]) -> SimpleNamespace:
    """A person row as the matcher reads one."""
    return SimpleNamespace(**{f: row.get(f) for f in FIELDS})


def _band(p: float) -> str:
    return "merge" if p >= POLICY.auto_merge else "review" if p >= POLICY.review else "apart"


def test_refit_shows_its_what_if_and_apply_activates(db: Database, db_url: str, clock: FrozenClock) -> None:
    run = CliRunner().invoke
    empty = run(app, ["matcher", "refit", "--database-url", db_url])
    assert empty.exit_code == 2 and "the warehouse has no people yet" in _said(empty), _said(empty)
    few = [{"email": f"p{k}@x{k}.example", "first_name": "Ann", "last_name": f"Lee{k}"} for k in range(5)]
    capture_people(db, clock, *few, kind=None)
    small = run(app, ["matcher", "refit", "--database-url", db_url])
    assert (
        small.exit_code == 2
        and "5 live people" in _said(small)
        and "at least 200 candidate pairs" in _said(small)
    )
    assert "the careful default (no fitted model is active)" in _said(small)
    listed = run(app, ["matcher", "list", "--database-url", db_url])
    assert listed.exit_code == 0 and "the matchers use the careful default" in _said(listed)

    stored_duplicates(db, clock)
    r = run(app, ["matcher", "refit", "--database-url", db_url])
    assert r.exit_code == 0, _said(r)
    assert "compared with the careful default (no fitted model is active), over the same pairs:" in _said(r)
    for band in ("merge automatically: ", "wait for review: ", "no match: "):
        assert band in _said(r)
    assert "pairs now merge automatically, e.g." in _said(r) and "pairs no longer match, e.g." in _said(r)
    example = next(line for line in r.output.splitlines() if " ~ " in line)
    assert "→" in example and "first name" in example
    assert "draft #1 saved" in _said(r) and "leadloop matcher activate 1" in _said(r)
    with db.read() as s:
        assert in_use(s).id is None

    applied = run(app, ["matcher", "refit", "--apply", "--database-url", db_url])
    assert applied.exit_code == 0 and "model #2 is active" in _said(applied), _said(applied)
    again = run(app, ["matcher", "refit", "--database-url", db_url])
    assert "compared with the fitted model #2" in _said(
        again
    ) and "no pair changes what happens to it" in _said(again)
    listed = run(app, ["matcher", "list", "--database-url", db_url])
    assert "#3" in _said(listed) and "draft" in _said(listed) and "active" in _said(listed)
    assert "the matchers use the fitted model #2" in _said(listed)
    back = run(app, ["matcher", "activate", "1", "--database-url", db_url])
    assert back.exit_code == 0 and "model #1 is active" in _said(back)
    warehouse = run(app, ["dedupe", "--warehouse", "--dry-run", "--database-url", db_url])
    assert warehouse.exit_code == 0 and "decided by the fitted model #1" in _said(warehouse), _said(warehouse)


def test_a_corrupted_model_is_refused_and_capture_goes_on(
    db: Database, db_url: str, clock: FrozenClock
) -> None:
    stored_duplicates(db, clock)
    with db.write() as s:
        model_id = refit(s, now=clock(), apply=True).model_id
        row = s.get_one(MatchModelRow, model_id)
        row.params = {**row.params, "m": {**row.params["m"], "first": [0.5, "x"]}}
    run = CliRunner().invoke
    listed = run(app, ["matcher", "list", "--database-url", db_url])
    assert listed.exit_code == 0 and "unusable: match model #1 cannot be used" in _said(listed), _said(listed)
    assert "the matchers use the careful default (match model #1 cannot be used" in _said(listed)
    # A capture is decided by the careful default rather than stopped.
    assert capture_people(db, clock, {"email": "new@arrival.example", "first_name": "New"}, kind=None)[0].id
    for args, message in (
        (["dedupe", "--warehouse"], "its m of first should be 5 levels"),
        (["matcher", "activate", "1"], "match model #1 cannot be used"),
        (["matcher", "activate", "99"], "there is no match model #99"),
    ):
        r = run(app, [*args, "--database-url", db_url])
        assert r.exit_code == 2 and message in _said(r) and "Traceback" not in _said(r), _said(r)
    with db.write() as s:
        row = s.get_one(MatchModelRow, model_id)
        row.params = {**row.params, "version": 1}
    r = run(app, ["matcher", "activate", "1", "--database-url", db_url])
    assert r.exit_code == 2 and "fitted on comparison levels of version 1" in _said(r)
    # Only out of date (as after an upgrade): the warehouse pass learns one, as with none.
    r = run(app, ["dedupe", "--warehouse", "--dry-run", "--database-url", db_url])
    assert r.exit_code == 0 and "in place of the careful default (match model #1 cannot be used" in _said(r)
    # A refit mends it: compared with the default that decides meanwhile, then active.
    r = run(app, ["matcher", "refit", "--apply", "--database-url", db_url])
    assert r.exit_code == 0 and "compared with the careful default (match model #1 cannot be used" in _said(r)
    assert "model #2 is active" in _said(r)


def test_the_first_warehouse_pass_learns_a_model_and_later_ones_use_the_active_one(
    db: Database, db_url: str, clock: FrozenClock
) -> None:
    stored_duplicates(db, clock)
    run = CliRunner().invoke
    dry = run(app, ["dedupe", "--warehouse", "--dry-run", "--database-url", db_url])
    assert (
        "decided by a model this dry run learnt from the warehouse and kept nowhere, in place of the careful default (no fitted model is active)"
        in _said(dry)
    ), _said(dry)
    with db.read() as s:
        assert in_use(s).id is None
    first = run(app, ["dedupe", "--warehouse", "--database-url", db_url])
    assert first.exit_code == 0 and "learnt from the warehouse, in place of the careful default" in _said(
        first
    ), _said(first)
    assert "the real-time matcher now uses it (#1)" in _said(first)
    with db.read() as s:
        assert in_use(s).id == 1
    again = run(app, ["dedupe", "--warehouse", "--database-url", db_url])
    assert again.exit_code == 0 and "decided by the fitted model #1" in _said(again), _said(again)
    assert "0 pairs merged" in _said(again)  # the first pass merged what that model merges
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(MatchModelRow)) == 1


def test_migration_0031_makes_the_newest_stored_model_the_active_one(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0030")  # match_models as before versions: the newest row was used
        models = sa.table(
            "match_models",
            sa.column("created_at", sa.DateTime),
            sa.column("pairs", sa.Integer),
            sa.column("params", sa.JSON),
        )
        params = model_to_json(DEFAULT_MODEL)
        with engine.begin() as conn:
            conn.execute(
                models.insert(), [{"created_at": NOW, "pairs": n, "params": params} for n in (300, 500)]
            )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, status, activated_at IS NOT NULL FROM match_models ORDER BY id"
            )
            assert [tuple(r) for r in rows] == [(1, "retired", False), (2, "active", True)]
    finally:
        upgrade(engine)
        engine.dispose()
