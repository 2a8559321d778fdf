"""bench/speed_to_lead.py: from a web-to-lead POST to the moment the API shows the lead's owner
(and the rep's notification is in the outbox), at 20 concurrent senders against `leadloop serve`
on SQLite. Target: p99 <= 50 ms.

Each sender POSTs /forms/lead for a new company, then GETs /api/v1/leads?q=<company> until the lead
shows a rep as owner. The bench's scoring model makes one form submission an MQL, and its routing
rules send every MQL to a pool of four reps, so every request exercises capture, scoring, routing,
the SLA timers and the outbox. After the run every lead is checked: one rep owner, one e-mail in
the outbox.

Floor, in the same run: a bare INSERT and COMMIT of the same rows with sqlite3 (WAL), one per
commit, as the server's single writer would do them.

Then the same load against PostgreSQL with two web workers and a separate `leadloop worker`
(throughput), unless --skip-pg.

    python bench/speed_to_lead.py [--requests 1000] [--concurrency 20]

Open loop (issue 19: latency at an offered load, measured the right way): requests are sent on a
fixed schedule whatever the answers do, and each latency counts from the request's scheduled
moment, so a server that falls behind shows it instead of slowing the senders down. For each rate,
the form POST (its owner is set when it returns: routing runs in the capture's transaction) and,
as the floor at the same rate, GET /healthz. Afterwards every lead is checked: one rep owner, one
assignment e-mail in the outbox, its SLA timers armed. Capacity: the highest rate tried whose p99
stays within 100 ms.

    python bench/speed_to_lead.py --open-loop [--rates 10,50,100,200,400] [--seconds 60] [--skip-pg]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))

from _common import median, pct
from capture import free_port
from leadloop.auth.handlers import create_api_key, create_user
from leadloop.bootstrap import session_info
from leadloop.capture.spool import Spool
from leadloop.documents import handlers as documents
from leadloop.jobs.timers import TIMERS
from leadloop.routing.kind import ROUTING
from leadloop.scoring.kind import SCORING
from leadloop.scoring.repository import default_model
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade
from leadloop.store.tables import Account, Lead, Outbox, RoutingDecision, User

REPS = [f"rep{i}@bench.example" for i in range(4)]
RULES = f"""\
name: bench
version: 1
fallback: {{queue: Sales inbox}}
pools:
  all: {{mode: round_robin, members: [{", ".join(f"{{user: {r}}}" for r in REPS)}]}}
rules:
  - {{name: everyone, assign: {{pool: all}}}}
sla:
  - {{name: Hot, first_touch_minutes: 5, remind_at: 3, escalate_at: 5, reassign_at: 15}}
"""


def prepare(url: str) -> str:
    """Users, a one-form-is-an-MQL scoring model, the routing rules; returns an API key."""
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine, info=session_info())
    now = datetime.now(UTC)
    with db.write() as s:
        for email in REPS:
            uid = create_user(s, email=email, name=email, role="rep", password=None, now=now)
            user = s.get(User, uid)
            assert user is not None
            user.working_hours = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        create_user(s, email="bench@leadloop.dev", name="Bench", role="marketing", password=None, now=now)
        key = create_api_key(s, user_email="bench@leadloop.dev", name="bench", now=now)
        model = default_model().model_copy(update={"name": "bench", "version": 1, "mql_min_grade": "D"})
        model = model.model_copy(
            update={"engagement": model.engagement.model_copy(update={"mql_threshold": 20.0})}
        )
        for kind, text in ((SCORING, model.to_yaml()), (ROUTING, RULES)):
            documents.activate(s, kind, documents.save_draft(s, kind, text, now=now).id, now=now)
    db.dispose()
    return key


def start_worker(url: str, log: Path | None = None, **env: str) -> subprocess.Popen[bytes]:
    """A `leadloop worker` on `url` (procrastinate on PostgreSQL, the sweeper on SQLite), retraining
    off; `env` adds settings (LEADLOOP_WORKER_CONCURRENCY=...); its log goes to `log` if given."""
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadloop.cli", "worker", "--database-url", url],
        stdout=out,
        stderr=out,
        env={**os.environ, "LEADLOOP_RETRAIN_EVERY_DAYS": "0", **env},
    )
    if not isinstance(out, int):
        out.close()  # the child holds its own copy
    return proc


def serve(url: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEADLOOP_DATABASE_URL": url,
        "LEADLOOP_FORM_BURST": "1000000",
        "LEADLOOP_FORM_RATE_PER_MINUTE": "1e9",
        "LEADLOOP_LOG_LEVEL": "WARNING",
        "LEADLOOP_RETRAIN_EVERY_DAYS": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadloop.cli", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return proc
        except (httpx.HTTPError, OSError):
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("leadloop serve did not start")


async def load(base: str, key: str, n: int, concurrency: int, tag: str) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def sender() -> None:
            for i in counter:
                company = f"Speed{tag}{i:06d} GmbH"
                body = {
                    "email": f"buyer{i}@speed{tag}{i:06d}.example",
                    "first_name": "Bo",
                    "company": company,
                    "product": "analytics",
                    "utm_campaign": "bench",
                }
                start = time.perf_counter()
                r = await client.post("/forms/lead", data=body)
                if r.status_code >= 400:
                    raise RuntimeError(f"form: {r.status_code} {r.text[:200]}")
                for _ in range(200):
                    got = await client.get(
                        "/api/v1/leads",
                        params={"q": f"speed{tag}{i:06d}"},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    items = got.json()["items"]
                    if items and str(items[0]["owner"]).startswith("rep"):
                        break
                    await asyncio.sleep(0.005)
                else:
                    raise RuntimeError(f"{company}: no owner after 200 polls: {items}")
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return latencies, time.perf_counter() - start


@dataclass
class Offered:
    rate: float
    sent: int
    latencies: list[float]  # ms from each request's scheduled moment to its answer
    failed: int  # an error status, a refused connection or no answer within the time-out
    waiting: int = 0  # answered before the lead landed (the form lane's budget ran out): landed after

    def line(self, what: str) -> str:
        lat = self.latencies or [float("nan")]
        return (
            f"  {what:8s} {self.rate:6.0f}/s  sent {self.sent:6d}  p50 {median(lat):8.1f} ms  "
            f"p99 {pct(lat, 99):8.1f} ms  max {max(lat):8.1f} ms  failed {self.failed}"
            + (f"  answered before landing {self.waiting}" if self.waiting else "")
        )

    @property
    def p99(self) -> float:
        return pct(self.latencies, 99) if self.latencies and not self.failed else float("inf")


async def offered(base: str, rate: float, seconds: float, tag: str, *, form: bool) -> Offered:
    """Open loop: request i is sent at start + i / rate, whether or not earlier ones answered."""
    n = int(rate * seconds)
    latencies: list[float] = []
    failed = waiting = 0
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal failed, waiting
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                if form:
                    name = f"Open{tag}x{i:06d}"  # "x": rate 10's leads are not rate 100's
                    r = await client.post(
                        "/forms/lead",
                        data={
                            "email": f"buyer{i}@{name.lower()}.example",
                            "first_name": "Bo",
                            "company": f"{name} GmbH",
                            "product": "analytics",
                            "utm_campaign": "bench",
                        },
                    )
                else:
                    r = await client.get("/healthz")
                if r.status_code >= 400:
                    failed += 1
                    return
                waiting += r.headers.get("Leadloop-Intake") == "waiting"
            except httpx.HTTPError:
                failed += 1
                return
            latencies.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(n)))
    return Offered(rate, n, latencies, failed, waiting)


def drained(url: str, limit_s: float = 300) -> float:
    """Seconds until the form spool is empty (the submissions answered before landing have landed)."""
    db = Database(make_engine(url))
    spool = Spool.beside(db)
    start = time.perf_counter()
    while spool.waiting() and time.perf_counter() - start < limit_s:
        time.sleep(0.2)
    db.dispose()
    return time.perf_counter() - start


def check_leads(url: str, tag: str) -> tuple[int, int, int, int]:
    """(leads of this run, with a rep owner, with an assignment e-mail, with an SLA due timer)."""
    engine = make_engine(url)
    like = f"open{tag.lower()}x%"
    with engine.connect() as c:
        rows = c.execute(
            sa.select(Lead.id, Lead.owner_user_id)
            .join(Account, Account.id == Lead.account_id)
            .where(sa.func.lower(Account.name).like(like))
        ).all()
        ids = [r[0] for r in rows]
        mails = _mails(c, ids)
        timers = c.execute(
            sa.select(sa.func.count(sa.distinct(TIMERS.c.subject))).where(
                TIMERS.c.kind == "sla_due", TIMERS.c.subject.in_([f"lead:{i}" for i in ids] or ["-"])
            )
        ).scalar_one()
    engine.dispose()
    return len(ids), sum(1 for r in rows if r[1] is not None), mails, timers


def _mails(c: sa.Connection, ids: list[int]) -> int:
    """Assignment e-mails about these leads: the outbox key names the routing decision, whose lead
    is one of them."""
    if not ids:
        return 0
    return int(
        c.execute(
            sa.select(sa.func.count(sa.distinct(RoutingDecision.lead_id)))
            .join(Outbox, Outbox.key == sa.literal("assigned:") + sa.cast(RoutingDecision.id, sa.String))
            .where(RoutingDecision.lead_id.in_(ids))
        ).scalar_one()
    )


def open_loop(
    url: str, rates: list[float], seconds: float, label: str, *extra: str, worker: bool = False
) -> None:
    prepare(url)
    port = free_port()
    proc = serve(url, port, *extra)
    helper = start_worker(url) if worker else None
    base = f"http://127.0.0.1:{port}"
    results: list[tuple[Offered, Offered, tuple[int, int, int, int]]] = []
    try:
        asyncio.run(offered(base, 20, 2, "warm", form=True))
        for rate in rates:
            tag = f"r{int(rate)}"
            form = asyncio.run(offered(base, rate, seconds, tag, form=True))
            lag = drained(url)
            if form.waiting:
                print(
                    f"  {rate:g}/s: {form.waiting} answered before landing; all landed {lag:.1f} s after the last POST"
                )
            time.sleep(2)  # let the last answers settle before the floor at the same rate
            health = asyncio.run(offered(base, rate, seconds, tag, form=False))
            results.append((form, health, check_leads(url, tag)))
            time.sleep(1)
    finally:
        for p in (proc, helper):
            if p is not None:
                p.terminate()
                p.wait(timeout=10)
    print(
        f"\nspeed to lead, open loop, {label}, {seconds:g} s per rate (latency from each request's scheduled moment):"
    )
    for form, health, (leads, owned, mails, timers) in results:
        print(form.line("POST"))
        print(health.line("healthz"))
        print(
            f"           checked: {leads} leads, {owned} with a rep owner, {mails} assignment e-mails, {timers} SLA clocks"
        )
    ok_form = [f.rate for f, _, _ in results if f.p99 <= 100]
    ok_health = [h.rate for _, h, _ in results if h.p99 <= 100]
    cap_form, cap_health = max(ok_form, default=0.0), max(ok_health, default=0.0)
    print(
        f"  capacity (highest rate tried with p99 <= 100 ms, nothing failed): POST {cap_form:g}/s, "
        f"/healthz {cap_health:g}/s; ratio {cap_form / cap_health if cap_health else float('nan'):.2f} "
        f"(target >= 0.33{', not met' if not cap_health or cap_form / cap_health < 1 / 3 else ', met'}; "
        "the top rate tried bounds /healthz's, which may be higher)"
    )


def verify(url: str, n: int) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as c:
        owned = c.execute(
            sa.select(sa.func.count()).select_from(Lead).where(Lead.owner_user_id.is_not(None))
        ).scalar_one()
        mails = c.execute(
            sa.select(sa.func.count()).select_from(Outbox).where(Outbox.key.like("assigned:%"))
        ).scalar_one()
    engine.dispose()
    return owned, mails


def floor_ms(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT UNIQUE, company TEXT, owner TEXT, at TEXT)"
    )
    times = []
    for i in range(n):
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO leads (email, company, owner, at) VALUES (?, ?, ?, ?)",
            (f"buyer{i}@floor{i}.example", f"Floor{i} GmbH", REPS[i % 4], "2026-11-22 10:00:00"),
        )
        conn.execute("COMMIT")
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/leadloop_bench")
    ap.add_argument("--open-loop", action="store_true", help="latency at offered rates, and capacity")
    ap.add_argument("--rates", default="10,50,100,200,400")
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadloop-speed-"))
    url = f"sqlite:///{work / 'speed.db'}"
    if args.open_loop:
        rates = [float(r) for r in args.rates.split(",")]
        open_loop(url, rates, args.seconds, "SQLite, one `leadloop serve`")
        if not args.skip_pg:
            _fresh_pg(args.pg_url)
            open_loop(
                args.pg_url,
                rates,
                args.seconds,
                "PostgreSQL, 2 web processes + 1 worker",
                "--workers",
                "2",
                "--no-sweeper",
                worker=True,
            )
        return
    key = prepare(url)
    port = free_port()
    proc = serve(url, port)
    try:
        asyncio.run(load(f"http://127.0.0.1:{port}", key, 50, args.concurrency, "warm"))
        lat, secs = asyncio.run(load(f"http://127.0.0.1:{port}", key, args.requests, args.concurrency, "run"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    owned, mails = verify(url, args.requests)
    floor = floor_ms(work / "floor.db", 2000)
    print(
        f"speed to lead, SQLite, {args.concurrency} senders, {len(lat)} leads: p50 {median(lat):.1f} ms, "
        f"p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms, {len(lat) / secs:.0f} leads/s; "
        f"floor (bare insert+commit) {floor:.3f} ms; p50 ratio {median(lat) / floor:.0f}x; "
        f"target p99 <= 50 ms: {'met' if pct(lat, 99) <= 50 else 'NOT met'}"
    )
    print(
        f"  checked: {owned} leads with a rep owner, {mails} assignment e-mails in the outbox "
        f"(expected {args.requests + 50} each)"
    )
    if args.skip_pg:
        return
    _fresh_pg(args.pg_url)
    key = prepare(args.pg_url)
    port = free_port()
    proc = serve(args.pg_url, port, "--workers", "2", "--no-sweeper")
    worker = start_worker(args.pg_url)
    try:
        asyncio.run(load(f"http://127.0.0.1:{port}", key, 50, args.concurrency, "warm"))
        lat, secs = asyncio.run(load(f"http://127.0.0.1:{port}", key, args.requests, args.concurrency, "run"))
    finally:
        for p in (proc, worker):
            p.terminate()
            p.wait(timeout=10)
    owned, mails = verify(args.pg_url, args.requests)
    print(
        f"speed to lead, PostgreSQL, 2 web workers + 1 sweeper, {args.concurrency} senders: {len(lat) / secs:.0f} leads/s, "
        f"p50 {median(lat):.1f} ms, p99 {pct(lat, 99):.1f} ms; checked {owned} owned, {mails} e-mails"
    )


def _fresh_pg(pg_url: str) -> None:
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    dbname = pg_url.rsplit("/", 1)[1]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    engine.dispose()


if __name__ == "__main__":
    main()
