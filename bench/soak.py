"""bench/soak.py: a steady load for a long time (the scale-out issue's soak): 20 leads a second for
30 minutes against `leadloop serve --workers 2 --no-sweeper` and `--workers` `leadloop worker`
processes (procrastinate, ADR 0042; `--concurrency` jobs each) on PostgreSQL, with the timers (each lead's SLA clocks: remind after 3 min, due and escalate at 5,
reassign at 15) and the outbox (assignment, reminder and escalation e-mails to a local aiosmtpd
server) running. Every 10 s: the resident memory of each process and how long the oldest due timer
has waited, and how late the engine's oldest waiting job is. At the end: memory growth of each process after the first 5 minutes (bound: 50 MB),
the lateness of every timer that fired (done_at - due_at; bound: p99 <= 5 s), the outbox left
undelivered, and every lead checked (an owner, its assignment e-mail).

    PYTHONPATH=src python bench/soak.py [--minutes 30] [--rate 20] [--workers 2] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).parent))

from _common import median, pct
from capture import free_port
from leadloop.store.db import make_engine
from scale import _tree
from speed_to_lead import _fresh_pg, check_leads, offered, prepare, serve, start_worker


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


# How long the oldest due, undone timer has waited (timers are stored in naive UTC), and the
# engine's oldest job that is due and not started.
OLDEST_DUE = (
    "SELECT extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(due_at)) FROM timers"
    " WHERE done_at IS NULL AND due_at <= now() AT TIME ZONE 'UTC'"
)
JOB_LAG = (
    "SELECT extract(epoch FROM now() - min(scheduled_at)) FROM procrastinate_jobs "
    "WHERE status = 'todo' AND scheduled_at <= now()"
)


def _waited_s(engine: sa.Engine, query: str) -> float:
    with engine.connect() as c:
        waited = c.execute(sa.text(query)).scalar()
    return 0.0 if waited is None else max(0.0, float(waited))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2, help="leadloop worker processes")
    ap.add_argument("--concurrency", type=int, default=4, help="jobs each worker runs at once")
    ap.add_argument("--logs", type=Path, help="a folder for each worker's log")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/leadloop_soak")
    args = ap.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    _fresh_pg(args.pg_url)
    prepare(args.pg_url)
    sink = _Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    os.environ.update(
        {
            "LEADLOOP_SMTP_HOST": "127.0.0.1",
            "LEADLOOP_SMTP_PORT": str(smtp.port),
            "LEADLOOP_SWEEP_INTERVAL_S": "1",
        }
    )
    port = free_port()
    web = serve(args.pg_url, port, "--workers", "2", "--no-sweeper")
    workers = [
        start_worker(
            args.pg_url,
            args.logs / f"worker{n}.log" if args.logs else None,
            LEADLOOP_WORKER_CONCURRENCY=str(args.concurrency),
        )
        for n in range(args.workers)
    ]
    engine = make_engine(args.pg_url)
    samples: list[tuple[float, dict[int, float], float, float]] = []
    stop = threading.Event()
    started = time.monotonic()

    cpu: dict[int, float] = {}  # each process's CPU seconds at the last sample

    def read_cpu(pids: list[int]) -> None:
        for p in pids:  # a process gone keeps its last reading
            used = _cpu_s(p)
            if used == used:
                cpu[p] = used

    def sample() -> None:
        while not stop.wait(10):
            pids = [*sorted(_tree(web.pid) - {web.pid}), *(w.pid for w in workers)]
            read_cpu(pids)
            samples.append(
                (
                    time.monotonic() - started,
                    {p: _rss_mb(p) for p in pids},
                    _waited_s(engine, OLDEST_DUE),
                    _waited_s(engine, JOB_LAG),
                )
            )

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    base = f"http://127.0.0.1:{port}"
    t0 = datetime.now(UTC)
    results = []
    try:
        minutes = 0
        while minutes < args.minutes:  # a minute at a time: the open loop's client stays small
            results.append(asyncio.run(offered(base, args.rate, 60, f"soak{minutes}", form=True)))
            minutes += 1
        time.sleep(20)  # the last minute's clocks and e-mails
    finally:
        stop.set()
        sampler.join()
        read_cpu([*sorted(_tree(web.pid) - {web.pid}), *(w.pid for w in workers)])  # up to the end
        for p in (web, *workers):
            p.terminate()
        for p in (web, *workers):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:  # said, and the figures still printed
                print(f"  process {p.pid} did not stop within 30 s of SIGTERM: killed")
                p.kill()
                p.wait()
        smtp.stop()
    lat = [x for r in results for x in r.latencies]
    failed = sum(r.failed for r in results)
    with engine.connect() as c:
        late = [
            float(x)
            for (x,) in c.execute(
                sa.text(
                    "SELECT extract(epoch FROM done_at - due_at) FROM timers WHERE done_at >= :t0 AND due_at >= :t0"
                    " AND kind LIKE 'sla_%'"
                ),
                {"t0": t0.replace(tzinfo=None)},
            )
        ]
        unsent = c.execute(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar_one()
        fired = c.execute(sa.text("SELECT count(*) FROM timers WHERE done_at IS NOT NULL")).scalar_one()
        sent = c.execute(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")).scalar_one()
    checked = [check_leads(args.pg_url, f"soak{m}") for m in range(int(args.minutes))]
    engine.dispose()
    print(
        f"soak: {args.rate:g} leads/s for {args.minutes:g} min on PostgreSQL, 2 web processes + "
        f"{args.workers} workers x {args.concurrency} jobs"
    )
    print(
        f"  answers: {len(lat)} of {sum(r.sent for r in results)}, failed {failed}; "
        f"p50 {median(lat):.1f} ms, p99 {pct(lat, 99):.1f} ms"
    )
    if late:
        print(
            f"  SLA timers fired: {len(late)}; lateness p50 {median(late):.2f} s, p99 {pct(late, 99):.2f} s, "
            f"max {max(late):.2f} s (bound p99 <= 5 s: {'met' if pct(late, 99) <= 5 else 'NOT met'})"
        )
    else:
        print("  SLA timers fired: none in the run (the first reminders are due after 3 minutes)")
    if samples:
        print(f"  oldest due timer, sampled every 10 s: max {max(s[2] for s in samples):.1f} s")
        print(f"  oldest waiting engine job, sampled every 10 s: max {max(s[3] for s in samples):.1f} s")
    after5 = [s for s in samples if s[0] >= 300]
    if after5:
        first, last = after5[0][1], samples[-1][1]
        for pid in first:
            grew = last.get(pid, float("nan")) - first[pid]
            print(
                f"  process {pid}: {first[pid]:.0f} MB at 5 min, {last.get(pid, float('nan')):.0f} MB at the end: {grew:+.1f} MB (bound 50 MB: {'met' if grew <= 50 else 'NOT met'})"
            )
    worker_cpu = sum(cpu.get(w.pid, 0.0) for w in workers)
    web_cpu = sum(v for p, v in cpu.items() if p not in {w.pid for w in workers})
    jobs = fired + sent
    print(
        f"  CPU: web processes {web_cpu:.0f} s ({1000 * web_cpu / max(1, len(lat)):.1f} ms a lead); workers "
        f"{worker_cpu:.0f} s for {fired} timers done and {sent} messages sent "
        f"({1000 * worker_cpu / max(1, jobs):.1f} ms a job, {jobs / max(1, len(lat)):.1f} jobs a lead)"
    )
    leads = sum(c[0] for c in checked)
    print(
        f"  checked: {leads} leads, {sum(c[1] for c in checked)} with a rep owner, "
        f"{sum(c[2] for c in checked)} assignment e-mails; {sink.count} e-mails received, {unsent} still in the outbox"
    )


if __name__ == "__main__":
    main()
