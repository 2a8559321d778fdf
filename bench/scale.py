"""bench/scale.py: does speed-to-lead capacity grow with web processes on PostgreSQL? (the scale-out
issue). For 1, 2 and 4 web processes (`leadloop serve --workers N --no-sweeper`) plus one
`leadloop worker`, on a fresh PostgreSQL database each: the open-loop form load of
bench/speed_to_lead.py at rising offered rates. A rate is carried when nothing failed, the answers'
p99 stays within the bound (default 1 s: on PostgreSQL a form answers within its 100 ms budget, or
at once when the lane is behind, and lands moments later) and every lead has landed within 5 s of
the last POST; capacity is the highest rate carried. Beside it, in the same run: the CPU the web
processes and PostgreSQL spent per lead (from /proc), which is the per-process cost that extends the
line past this machine's cores, and /healthz's p99 at the top rate as the floor.

After each configuration every lead of the run is checked: one rep owner, an assignment e-mail and
its SLA clock.

    python bench/scale.py [--processes 1,2,4] [--rates 20,40,60,80,120,160] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import median, pct
from capture import free_port
from speed_to_lead import _fresh_pg, check_leads, drained, offered, prepare, serve, start_worker

TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> set[int]:
    """The process and its descendants (uvicorn's worker processes)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found


def _cpu_s(pids: set[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def _postgres_pids() -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                    pids.add(int(entry))
            except OSError:
                continue
    return pids


@dataclass
class Result:
    processes: int
    capacity: float
    p50: float
    p99: float
    health_p99: float
    web_cpu_ms: float  # per lead, all web processes
    pg_cpu_ms: float  # per lead, PostgreSQL's backends
    checked: tuple[int, int, int, int]
    sent: int


def run(pg_url: str, processes: int, rates: list[float], seconds: float, bound_ms: float) -> Result:
    _fresh_pg(pg_url)
    prepare(pg_url)
    port = free_port()
    proc = serve(pg_url, port, "--workers", str(processes), "--no-sweeper")
    worker = start_worker(pg_url)
    base = f"http://127.0.0.1:{port}"
    tag = f"p{processes}"
    best = None
    sent = 0
    tags: list[str] = []
    web_cpu = pg_cpu = 0.0
    try:
        asyncio.run(offered(base, 20, 2, f"{tag}warm", form=True))
        time.sleep(1)
        web, pg = _tree(proc.pid), _postgres_pids()
        for rate in rates:
            w0, p0 = _cpu_s(web), _cpu_s(pg)
            form = asyncio.run(offered(base, rate, seconds, f"{tag}r{int(rate)}", form=True))
            tags.append(f"{tag}r{int(rate)}")
            lag = drained(pg_url)
            web_cpu += _cpu_s(web) - w0
            pg_cpu += _cpu_s(pg) - p0
            sent += form.sent
            print(form.line(f"{processes}p POST") + f"  all landed {lag:.1f} s after the last", flush=True)
            if form.p99 <= bound_ms and lag <= 5.0:
                best = form
            else:
                break  # past capacity: the rates above it would only queue more
        health = asyncio.run(
            offered(base, rates[-1] if best is None else best.rate, seconds / 2, tag, form=False)
        )
    finally:
        for p in (proc, worker):
            p.terminate()
            p.wait(timeout=15)
    counts = [check_leads(pg_url, t) for t in tags]
    checked = (
        sum(c[0] for c in counts),
        sum(c[1] for c in counts),
        sum(c[2] for c in counts),
        sum(c[3] for c in counts),
    )
    lat = best.latencies if best else [float("nan")]
    return Result(
        processes,
        best.rate if best else 0.0,
        median(lat),
        pct(lat, 99),
        health.p99,
        web_cpu * 1000 / max(1, sent),
        pg_cpu * 1000 / max(1, sent),
        checked,
        sent,
    )


BIG = (
    "people",
    "accounts",
    "leads",
    "activities",
    "timers",
    "outbox",
    "routing_decisions",
    "lead_stage_changes",
)


def sizes(pg_url: str) -> list[tuple[str, int, float, float]]:
    """(table, rows, bytes a row in the heap, bytes a row in its indexes) of the tables that grow
    with the warehouse: the unit costs docs/scale.md multiplies out."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    out = []
    with engine.connect() as c:
        c.execute(sa.text("ANALYZE"))
        for t in BIG:
            rows = c.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one()
            heap, idx = c.execute(sa.text("SELECT pg_table_size(:t), pg_indexes_size(:t)"), {"t": t}).one()
            if rows:
                out.append((t, rows, heap / rows, idx / rows))
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", default="1,2,4")
    ap.add_argument("--rates", default="20,40,60,80,120,160")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--bound-ms", type=float, default=1000.0)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/leadloop_scale")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    results = [
        run(args.pg_url, int(n), rates, args.seconds, args.bound_ms) for n in args.processes.split(",")
    ]
    cores = os.cpu_count()
    print(
        f"\nscale-out on PostgreSQL ({cores} cores here), open loop, {args.seconds:g} s a rate, "
        f"capacity = highest rate with answers' p99 <= {args.bound_ms:g} ms and every lead landed within 5 s:"
    )
    print(
        "| web processes | capacity | p50 at it | p99 at it | /healthz p99 there | web CPU / lead | PostgreSQL CPU / lead | checked |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        leads, owned, mails, clocks = r.checked
        print(
            f"| {r.processes} | {r.capacity:g} leads/s | {r.p50:.0f} ms | {r.p99:.0f} ms | {r.health_p99:.0f} ms | "
            f"{r.web_cpu_ms:.1f} ms | {r.pg_cpu_ms:.1f} ms | {leads}/{r.sent} leads, {owned} owned, {mails} mails, {clocks} clocks |"
        )
    if results and results[0].capacity:
        base = results[0].capacity
        print(
            "  growth over 1 process: "
            + ", ".join(f"{r.processes}p {r.capacity / base:.2f}x" for r in results)
        )
    print("\n| table | rows | heap bytes a row | index bytes a row |\n|---|---|---|---|")
    for t, rows, heap, idx in sizes(args.pg_url):
        print(f"| {t} | {rows:,} | {heap:,.0f} | {idx:,.0f} |")
    per = [r.web_cpu_ms + r.pg_cpu_ms for r in results if r.sent]
    if per:
        cost = median(per)
        print(
            f"  per-unit cost: {cost:.1f} ms of CPU a lead (web + database): one core carries about "
            f"{1000 / cost:.0f} leads/s; the line extends by cores, not by processes past the core count"
        )


if __name__ == "__main__":
    main()
