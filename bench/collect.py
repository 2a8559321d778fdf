"""bench/collect.py: the tracking beacon endpoint (/collect) beside /healthz on the same server, on
SQLite and PostgreSQL. Target: /collect sustains >= 50% of /healthz's capacity.

Two measures, each for /healthz (the floor: the same HTTP stack and middleware and one database
round trip, no write) and /collect (a page view: checks, a visit lookup, a page-view row and, once
per kind of page per visit, an activity with its reactions), in the same run:
  capacity   closed loop, 20 senders, requests per second completed;
  latency    open loop at an offered rate (default 50/s, "tens a second" for a busy B2B site):
             requests are sent on a fixed schedule whether or not earlier ones have answered,
             and each latency runs from its scheduled time (no coordinated omission).
Beacons come from 200 visitors browsing 10 kinds of pages, so visits and dedupe keys are realistic.
The client runs on the same two cores as the server: both figures are lower bounds.

The capacity is measured `--runs` times, /healthz and /collect back to back in each round, and the
medians are reported with the median of the rounds' ratios: on a shared machine one round's ratio
swings with whatever else runs. The server's own CPU time per request during the open loop (Linux
/proc, the server process and its workers; PostgreSQL's own processes are not in it) moves far less
with the neighbours' load, so it is printed beside them.

    python bench/collect.py [--seconds 8] [--rate 50] [--runs 3] [--skip-pg]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))

from _common import median, pct

ORIGIN = "https://www.polar-signal.se"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
PATHS = [
    "/",
    "/pricing",
    "/docs/start",
    "/blog/a",
    "/blog/b",
    "/careers",
    "/product",
    "/about",
    "/docs/api",
    "/pricing/enterprise",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def add_site(url: str) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadloop.cli",
            "tracking",
            "add-site",
            "--name",
            "Bench",
            "--origin",
            ORIGIN,
            "--database-url",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    return out.split('data-site="')[1].split('"')[0]


def serve(url: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEADLOOP_DATABASE_URL": url,
        "LEADLOOP_BEACON_IP_PER_MINUTE": "1e9",  # every beacon comes from 127.0.0.1 here
        "LEADLOOP_BEACON_IP_BURST": "1000000",
        "LEADLOOP_BEACON_VISITOR_PER_MINUTE": "1e9",
        "LEADLOOP_BEACON_VISITOR_BURST": "1000000",
        "LEADLOOP_LOG_LEVEL": "WARNING",
        "LEADLOOP_RETRAIN_EVERY_DAYS": "0",
        "LEADLOOP_SMTP_HOST": "",
    }
    log = open(Path(tempfile.gettempdir()) / f"leadloop-collect-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadloop.cli", "serve", "--port", str(port), *extra],
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return proc
        except (httpx.HTTPError, OSError):
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("leadloop serve did not start")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its descendants (Linux), or None where /proc is not."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    try:
        while todo:
            p = todo.pop()
            with contextlib.suppress(FileNotFoundError):
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
                for task in Path(f"/proc/{p}/task").iterdir():
                    todo.extend(int(c) for c in (task / "children").read_text().split())
    except (OSError, ValueError, IndexError):
        return None
    return total


def beacons(key: str):  # type: ignore[no-untyped-def]
    for i in itertools.count():
        visitor = f"bench-visitor-{i % 200:04d}"
        path = PATHS[(i // 200) % len(PATHS)]
        yield json.dumps({"s": key, "v": visitor, "k": "pv", "u": ORIGIN + path, "t": path})


async def capacity(base: str, path: str, key: str, seconds: float, senders: int = 20) -> float:
    gen = beacons(key)
    done = 0
    stop = time.perf_counter() + seconds
    headers = {"origin": ORIGIN, "user-agent": UA, "content-type": "text/plain"}
    async with httpx.AsyncClient(
        base_url=base, timeout=30, limits=httpx.Limits(max_connections=senders)
    ) as c:

        async def one() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                r = await (
                    c.get(path) if path == "/healthz" else c.post(path, content=next(gen), headers=headers)
                )
                if r.status_code >= 400:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(senders)))
        return done / (time.perf_counter() - start)


async def open_loop(base: str, path: str, key: str, rate: float, seconds: float) -> list[float]:
    gen = beacons(key)
    latencies: list[float] = []
    headers = {"origin": ORIGIN, "user-agent": UA, "content-type": "text/plain"}
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=500)) as c:

        async def one(due: float) -> None:
            r = await (
                c.get(path) if path == "/healthz" else c.post(path, content=next(gen), headers=headers)
            )
            latencies.append((time.perf_counter() - due) * 1000)
            if r.status_code >= 400:
                raise RuntimeError(f"{path}: {r.status_code}")

        start = time.perf_counter()
        tasks = []
        for n in range(int(rate * seconds)):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
    return latencies


def run(label: str, url: str, args: argparse.Namespace, *extra: str) -> None:
    key = add_site(url)
    port = free_port()
    proc = serve(url, port, *extra)
    base = f"http://127.0.0.1:{port}"
    paths = ("/healthz", "/collect")
    caps: dict[str, list[float]] = {p: [] for p in paths}
    lat: dict[str, list[float]] = {}
    cpu: dict[str, float | None] = {}
    try:
        asyncio.run(capacity(base, "/collect", key, 1.0))  # warm up
        for _ in range(args.runs):
            for p in paths:
                caps[p].append(asyncio.run(capacity(base, p, key, args.seconds)))
        for p in paths:
            before = cpu_seconds(proc.pid)
            lat[p] = asyncio.run(open_loop(base, p, key, args.rate, args.seconds))
            after = cpu_seconds(proc.pid)
            cpu[p] = (
                (after - before) / len(lat[p]) * 1000 if before is not None and after is not None else None
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ratios = [c / h for c, h in zip(caps["/collect"], caps["/healthz"], strict=True)]
    ratio = median(ratios)
    print(f"{label}: capacity (20 senders, closed loop), median of {args.runs} rounds")
    for p in paths:
        each = ", ".join(f"{c:.0f}" for c in caps[p])
        print(f"  {p:<9} {median(caps[p]):>7.0f} req/s   ({each})")
    print(
        f"  /collect is {ratio:.0%} of /healthz's capacity (rounds: {', '.join(f'{r:.0%}' for r in ratios)}); "
        f"target >= 50%: {'met' if ratio >= 0.5 else 'NOT met'}"
    )
    print(f"{label}: open loop at {args.rate:g}/s for {args.seconds:g} s (latency from the scheduled time)")
    for p in paths:
        used = f"   server CPU {cpu[p]:.2f} ms/request" if cpu[p] is not None else ""
        print(f"  {p:<9} p50 {median(lat[p]):6.1f} ms   p99 {pct(lat[p], 99):6.1f} ms{used}")
    h, c = cpu["/healthz"], cpu["/collect"]
    if h is not None and c is not None and c > 0:
        print(
            f"  by server CPU per request, /collect costs {c / h:.2f}x /healthz ({h / c:.0%} of its capacity)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--runs", type=int, default=3, help="capacity rounds; the medians are reported")
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/leadloop_bench_collect")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadloop-collect-"))
    if not args.skip_sqlite:
        run("SQLite", f"sqlite:///{work / 'collect.db'}", args)
    if args.skip_pg:
        return
    admin = sa.create_engine(args.pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = args.pg_url.rsplit("/", 1)[1]
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    run("PostgreSQL", args.pg_url, args, "--workers", "2", "--no-sweeper")


if __name__ == "__main__":
    main()
