"""bench/capture.py: web-to-lead and API capture latency at 20 concurrent senders against
`leadloop serve` on SQLite. Target: p99 <= 50 ms.

Floor, measured in the same run against the same server: GET /healthz (the same HTTP stack and
middleware plus one database round trip, but no write).

The load comes from wrk (Debian's `wrk`, a C client with Lua-scripted POSTs) when it is installed,
so that the client does not eat the CPU it measures; otherwise from an httpx client in this process.

    python bench/capture.py [--requests 2000] [--concurrency 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _common import median, pct


def _wrk_ms(out: str, label: str) -> float:
    m = re.search(rf"\s{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    assert m, out
    return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]


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


WRK_SCRIPT = """
local counter = 0
local kind = os.getenv("LL_KIND")
local key = os.getenv("LL_KEY")
request = function()
  counter = counter + 1
  local id = tostring(math.random(1, 1e9)) .. "-" .. counter
  if kind == "form" then
    local body = "email=visitor" .. id .. "%40company" .. (counter % 500) .. ".com&first_name=Vic&company=Company+"
      .. (counter % 500) .. "&utm_campaign=bench&product=analytics&message=hello"
    return wrk.format("POST", "/forms/lead", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
  else
    local body = '{"email":"api' .. id .. '@firm' .. (counter % 500) .. '.com","first_name":"Ann","activity_type":"demo_request","product":"platform"}'
    return wrk.format("POST", "/api/v1/leads", {["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key, ["Idempotency-Key"] = "bench-" .. id}, body)
  end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d\\n", summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
"""


def wrk_run(
    base: str, path: str, kind: str, key: str, seconds: int, concurrency: int, work: Path
) -> tuple[int, float, float, float, int]:
    script = work / "bench.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), base + path],
        capture_output=True,
        text=True,
        env={**os.environ, "LL_KIND": kind, "LL_KEY": key},
        check=True,
    ).stdout
    m = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", out)
    assert m, out
    return int(m[1]), float(m[2]), float(m[3]), float(m[4]), int(m[5])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=10)
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
        if shutil.which("wrk"):
            print(f"leadloop serve on SQLite, wrk with {c} connections, {args.seconds} s per kind")
            rows = []
            for label, path, kind in (
                ("floor GET /healthz", "/healthz", "get"),
                ("web-to-lead POST /forms/lead", "/forms/lead", "form"),
                ("API POST /api/v1/leads", "/api/v1/leads", "api"),
            ):
                if kind == "get":
                    out = subprocess.run(
                        ["wrk", "-t2", f"-c{c}", f"-d{args.seconds}s", "--latency", base + path],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    p50 = _wrk_ms(out, "50%")
                    p99 = _wrk_ms(out, "99%")
                    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
                    rows.append((label, total, p50, p99, 0.0, 0))
                else:
                    total, p50, p99, mx, errors = wrk_run(base, path, kind, key, args.seconds, c, work)
                    rows.append((label, total, p50, p99, mx, errors))
            floor_p50 = rows[0][2]
            for label, total, p50, p99, _mx, errors in rows:
                ratio = f"  p50 {p50 / floor_p50:.1f}x floor" if label != rows[0][0] else ""
                print(
                    f"{label:<28} n={total:>6}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  {total / args.seconds:6.0f} req/s  errors {errors}{ratio}"
                )
            worst = max(r[3] for r in rows[1:])
            print(f"target p99 <= 50 ms: {'met' if worst <= 50 else 'NOT met'} (worst p99 {worst:.1f} ms)")
            return
        print(f"leadloop serve on SQLite, {c} concurrent senders, {n} requests each kind")
        asyncio.run(run(base, 200, c, lambda i: ("GET", "/healthz", {})))  # warm up
        t = time.perf_counter()
        floor = asyncio.run(run(base, n, c, lambda i: ("GET", "/healthz", {})))
        report("floor GET /healthz", floor, time.perf_counter() - t)
        fp50 = median(floor)

        def form(i: int) -> tuple[str, str, dict[str, object]]:
            data = {
                "email": f"visitor{i}@company{i % 500}.com",
                "first_name": "Vic",
                "company": f"Company {i % 500}",
                "utm_campaign": "bench",
                "product": "analytics",
                "message": "hello",
            }
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
