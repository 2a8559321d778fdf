"""bench/capture.py: web-to-lead and API capture latency at 20 concurrent senders against
`leadloop serve` on SQLite. Target: p99 <= 50 ms.

Floor, measured in the same run against the same server: GET /healthz (the same HTTP stack and
middleware plus one database round trip, but no write).

    python bench/capture.py [--requests 2000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _common import median, pct


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(base: str, n: int, concurrency: int, make: object) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def sender() -> None:
            for i in counter:
                method, url, kwargs = make(i)  # type: ignore[operator]
                start = time.perf_counter()
                r = await client.request(method, url, **kwargs)
                latencies.append((time.perf_counter() - start) * 1000)
                if r.status_code >= 400:
                    raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return latencies


def report(label: str, lat: list[float], secs: float, floor_p50: float | None = None) -> None:
    ratio = f"  p50 {median(lat) / floor_p50:.1f}x floor" if floor_p50 else ""
    print(
        f"{label:<28} n={len(lat):>5}  p50 {median(lat):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  "
        f"max {max(lat):6.1f} ms  {len(lat) / secs:7.0f} req/s{ratio}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadloop-bench-"))
    db_url = f"sqlite:///{work / 'capture.db'}"
    cli = [sys.executable, "-m", "leadloop.cli"]
    env = {
        **os.environ,
        "LEADLOOP_DATABASE_URL": db_url,
        "LEADLOOP_FORM_BURST": "1000000",
        "LEADLOOP_FORM_RATE_PER_MINUTE": "1e9",
        "LEADLOOP_LOG_LEVEL": "WARNING",
    }
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [
            *cli,
            "users",
            "create",
            "--email",
            "bench@leadloop.dev",
            "--name",
            "Bench",
            "--role",
            "marketing",
            "--password",
            "bench-password",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    key = subprocess.run(
        [*cli, "apikeys", "create", "--user", "bench@leadloop.dev", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        auth = {"Authorization": f"Bearer {key}"}
        n, c = args.requests, args.concurrency
        print(f"leadloop serve on SQLite, {c} concurrent senders, {n} requests each kind")
        asyncio.run(run(base, 200, c, lambda i: ("GET", "/healthz", {})))  # warm up
        t = time.perf_counter()
        floor = asyncio.run(run(base, n, c, lambda i: ("GET", "/healthz", {})))
        report("floor GET /healthz", floor, time.perf_counter() - t)
        fp50 = median(floor)

        def form(i: int) -> tuple[str, str, dict[str, object]]:
            data = {"email": f"visitor{i}@company{i % 500}.com", "first_name": "Vic", "company": f"Company {i % 500}",
                    "utm_campaign": "bench", "product": "analytics", "message": "hello"}  # fmt: skip
            return "POST", "/forms/lead", {"data": data}

        t = time.perf_counter()
        lat = asyncio.run(run(base, n, c, form))
        report("web-to-lead POST /forms/lead", lat, time.perf_counter() - t, fp50)

        def api(i: int) -> tuple[str, str, dict[str, object]]:
            body = {
                "email": f"api{i}@firm{i % 500}.com",
                "first_name": "Ann",
                "activity_type": "demo_request",
                "product": "platform",
            }
            return (
                "POST",
                "/api/v1/leads",
                {"json": body, "headers": {**auth, "Idempotency-Key": f"bench-{i}"}},
            )

        t = time.perf_counter()
        lat2 = asyncio.run(run(base, n, c, api))
        report("API POST /api/v1/leads", lat2, time.perf_counter() - t, fp50)
        worst = max(pct(lat, 99), pct(lat2, 99))
        print(f"target p99 <= 50 ms: {'met' if worst <= 50 else 'NOT met'} (worst p99 {worst:.1f} ms)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
