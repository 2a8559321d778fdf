"""Every response says how a browser may use it: no framing, no sniffing, only our own scripts."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from leadloop.web.headers import ClientAddress, client_ip, parse_networks
from tests.fixtures.web import Web


def _assert_hardened(headers: object, path: str) -> None:
    h = headers  # type: ignore[assignment]
    csp = h["content-security-policy"]  # type: ignore[index]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, path
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], path
    assert h["x-frame-options"] == "DENY", path  # type: ignore[index]
    assert h["x-content-type-options"] == "nosniff", path  # type: ignore[index]
    assert h["referrer-policy"] == "same-origin", path  # type: ignore[index]


def test_pages_with_buttons_cannot_be_framed(web: Web) -> None:
    client = web.browser_client("admin")
    for path in ("/leads", "/people/duplicates", "/inbox", "/login", "/static/leadloop.js", "/docs"):
        r = client.get(path)
        assert r.status_code == 200, path
        _assert_hardened(r.headers, path)
    assert "style-src 'self';" in client.get("/leads").headers["content-security-policy"]


def test_api_answers_and_errors_are_hardened_too(web: Web) -> None:
    anon = TestClient(web.app)
    for r in (anon.get("/api/v1/leads"), anon.get("/nowhere"), anon.get("/healthz")):
        _assert_hardened(r.headers, str(r.url))


def test_the_api_docs_allow_their_own_inline_script_by_hash_only(web: Web) -> None:
    csp = web.browser_client("rep").get("/docs").headers["content-security-policy"]
    script_src = csp.split("script-src", 1)[1].split(";")[0]
    assert "'sha256-" in script_src and "'unsafe-inline'" not in script_src


def test_templates_carry_no_inline_script_or_style() -> None:
    """The policy refuses inline code: a template that grows some breaks in the browser only."""
    from leadloop.web.context import TEMPLATES_DIR

    for path in TEMPLATES_DIR.glob("*.html"):
        text = path.read_text()
        for bad in ("style=", "<style", "javascript:", " onclick=", " onload=", "hx-on"):
            assert bad not in text, f"{path.name}: {bad}"
        assert "<script>" not in text and "<script " not in text.replace('<script src="/static/', ""), (
            path.name
        )


TRUSTED = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),  # the default: no proxy is trusted
        ("203.0.113.9", "1.2.3.4", TRUSTED, "203.0.113.9"),  # an untrusted peer's header is ignored
        ("10.0.0.2", "198.51.100.7", TRUSTED, "198.51.100.7"),
        (
            "10.0.0.2",
            "6.6.6.6, 198.51.100.7",
            TRUSTED,
            "198.51.100.7",
        ),  # the client's own claim is left of it
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", TRUSTED, "198.51.100.7"),  # two trusted hops
        ("10.0.0.2", "garbage", TRUSTED, "10.0.0.2"),
        ("::1", "2001:db8::1", TRUSTED, "2001:db8::1"),
    ],
)
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str, xff: str, trusted: list[ipaddress.IPv4Network], expected: str
) -> None:
    assert client_ip(peer, xff, trusted) == expected


def test_the_middleware_rewrites_the_client() -> None:
    seen: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"])

    scope = {
        "type": "http",
        "client": ("10.1.1.1", 5),
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.7")],
    }
    # In a thread of its own: Playwright's sync API may hold this worker thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, ClientAddress(app, trusted=TRUSTED), scope, None, None).result()
        pool.submit(
            anyio.run, ClientAddress(app, trusted=[]), {**scope, "client": ("10.1.1.1", 5)}, None, None
        ).result()
    assert seen == [("198.51.100.7", 5), ("10.1.1.1", 5)]
