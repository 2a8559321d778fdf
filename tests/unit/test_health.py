"""Readiness's verdict (web/health.py): the database decides serving; Redis and the timers' lag
decide whether it serves well, and say why."""

from __future__ import annotations

from leadloop.web.health import LATE_AFTER_S, Checks, verdict


def test_all_well() -> None:
    code, body = verdict(Checks(database=True, redis=True, oldest_due_s=2.0, forms_waiting=0))
    assert (code, body["status"], body["notes"]) == (200, "ok", [])


def test_redis_down_or_timers_behind_is_degraded_but_serving() -> None:
    code, body = verdict(Checks(database=True, redis=False, oldest_due_s=LATE_AFTER_S + 1, forms_waiting=3))
    assert (code, body["status"], body["redis"]) == (200, "degraded", "unreachable")
    assert len(body["notes"]) == 2 and "per process" in body["notes"][0] and "61 s" in body["notes"][1]


def test_no_database_is_unavailable() -> None:
    code, body = verdict(Checks(database=False, redis=None, oldest_due_s=None, forms_waiting=None))
    assert (code, body["status"], body["redis"]) == (503, "unavailable", "not configured")


def test_no_running_engine_worker_is_degraded_and_said() -> None:
    code, body = verdict(
        Checks(database=True, redis=None, oldest_due_s=None, forms_waiting=0, engine_workers=0)
    )
    assert code == 200 and body["status"] == "degraded" and body["engine_workers"] == 0
    assert "start `leadloop worker`" in body["notes"][0]
    code, body = verdict(
        Checks(database=True, redis=None, oldest_due_s=None, forms_waiting=0, engine_workers=2)
    )
    assert body["status"] == "ok" and body["engine_workers"] == 2
