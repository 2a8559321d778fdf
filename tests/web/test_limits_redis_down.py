"""Redis down (the scale-out issue's fault test): the app's shared rate limits fall back to each
process's own buckets, the app keeps answering, a log line says so once, and the shared buckets come
back when Redis does. A Redis server of the test's own, on a free port, killed and restarted."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient

from leadloop.web.limits import SharedBuckets, make_limiter
from tests.fixtures.web import csrf_from

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Redis:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=5)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[_Redis]:
    server = _Redis(_free_port(), tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.kill()


def test_the_limiter_counts_alone_while_redis_is_down_and_shares_again_after(redis_server: _Redis) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    one = make_limiter(url, name="t", rate_per_s=0.001, burst=2)
    two = make_limiter(url, name="t", rate_per_s=0.001, burst=2)
    assert isinstance(one, SharedBuckets) and isinstance(two, SharedBuckets)
    # Shared: two processes take from one bucket of two.
    assert [one.take("ip", 0).allowed, two.take("ip", 0).allowed, one.take("ip", 0).allowed] == [
        True,
        True,
        False,
    ]
    redis_server.kill()
    with structlog.testing.capture_logs() as logs:
        # Down: each process has its own bucket of two, and says so once.
        alone = [one.take("ip", 10).allowed for _ in range(3)]
        assert [two.take("ip", 10).allowed for _ in range(3)] == [True, True, False]
    assert alone == [True, True, False]
    down = [e for e in logs if e["event"] == "ratelimit.redis_unreachable"]
    assert [e["log_level"] for e in down] == ["warning", "warning"]  # one line per process
    assert all(e["limiter"] == "t" and "per-process" in e["fallback"] for e in down)
    redis_server.start()  # back, and empty: the shared bucket starts full again
    with structlog.testing.capture_logs() as logs:
        assert not one.take("ip", 12).allowed  # within the retry pause: its own bucket, spent
        shared = [one.take("ip", 16).allowed, two.take("ip", 16).allowed, one.take("ip", 16).allowed]
    assert shared == [True, True, False]
    assert [e["event"] for e in logs] == ["ratelimit.redis_back", "ratelimit.redis_back"]


def test_the_app_signs_in_with_redis_down(make_web, redis_server: _Redis) -> None:  # type: ignore[no-untyped-def]
    web = make_web(
        redis_url=f"redis://127.0.0.1:{redis_server.port}/0", login_burst=3, login_attempts_per_minute=0.01
    )
    email = f"{uuid.uuid4().hex[:8]}@test.example"
    web.user("rep", email)
    redis_server.kill()
    client = TestClient(web.app)
    with structlog.testing.capture_logs() as logs:
        codes = []
        for _ in range(4):
            token = csrf_from(client.get("/login").text)
            r = client.post(
                "/login",
                data={"email": email, "password": "wrong guess!", "csrf_token": token},
                follow_redirects=False,
            )
            codes.append(r.status_code)
    assert codes == [401, 401, 401, 429]  # still limited, by this process alone
    assert any(e["event"] == "ratelimit.redis_unreachable" for e in logs)
