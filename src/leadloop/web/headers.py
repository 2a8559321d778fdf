"""Security headers on every response, and the client's address behind trusted proxies only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Every script, style and image is served from /static (vendored), so nothing else is allowed:
# an injected <script> or inline handler does not run even if escaping ever fails. Pico's form
# controls draw their arrows and ticks with data: SVGs, hence img-src data:.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "x-frame-options": "DENY",  # for browsers that predate frame-ancestors
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """A response that set its own Content-Security-Policy (the API docs page) keeps it."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", CSP)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if self.hsts:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_wrapped)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def client_ip(peer: str, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The address a request came from. X-Forwarded-For is believed only when the peer is a trusted
    proxy, and then read from the right: each trusted hop appended the address it saw, so the
    first untrusted address from the right is the client (the left part is whatever the client
    chose to send)."""
    if not trusted or not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_address(hop) else peer
    return hops[0] if hops and _is_address(hops[0]) else peer


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_trusted(value: str, trusted: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address in net for net in trusted)


class ClientAddress:
    """Sets scope["client"] to the real client before anything reads it (limits, sessions, logs)."""

    def __init__(self, app: ASGIApp, *, trusted: list[Network]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            forwarded = None
            for key, value in scope["headers"]:
                if key == b"x-forwarded-for":
                    forwarded = (
                        value.decode("latin-1")
                        if forwarded is None
                        else f"{forwarded},{value.decode('latin-1')}"
                    )
            host, port = scope["client"]
            ip = client_ip(host, forwarded, self.trusted)
            if ip != host:
                scope["client"] = (ip, port)
        await self.app(scope, receive, send)
