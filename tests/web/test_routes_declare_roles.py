"""Every route says which roles it allows; only the public ones do not."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.routing import APIRoute

from leadloop.web.deps import RoleGuard
from tests.fixtures.web import Web

PUBLIC = {"/forms/lead", "/login", "/healthz", "/readyz", "/api/openapi.json", "/t.js", "/collect"}
# A person's own pages from a link in our mail (RFC 8058 one-click needs no session): the signed
# token in the path is the authority (consent/public_web.py).
PUBLIC |= {"/u/{token}", "/u/{token}/preferences", "/c/{token}"}
# The bounce webhooks: the signature under a shared secret is the authority (capture/hooks_web.py).
PUBLIC |= {"/api/v1/hooks/bounces", "/api/v1/hooks/mailgun"}
# The open pixel and the click redirect of our messages (mailtrack/public_web.py): the same kind of
# door, the signed token the only authority.
PUBLIC |= {"/o/{token:path}.gif", "/r/{token:path}"}


def _guards(dependant) -> list[RoleGuard]:  # type: ignore[no-untyped-def]
    found = [d.call for d in dependant.dependencies if isinstance(d.call, RoleGuard)]
    for d in dependant.dependencies:
        found.extend(_guards(d))
    return found


def api_routes(routes: list) -> Iterator[APIRoute]:  # type: ignore[type-arg]
    """Every APIRoute, also inside included routers (FastAPI >= 0.16x keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def test_the_walk_sees_the_included_routers(web: Web) -> None:
    paths = {r.path for r in api_routes(web.app.routes)}
    assert {
        "/api/v1/leads",
        "/api/v1/ingest",
        "/forms/lead",
        "/login",
        "/leads",
        "/people/{person_id}",
    } <= paths


def test_every_route_declares_roles(web: Web) -> None:
    unguarded = []
    for route in api_routes(web.app.routes):
        if not _guards(route.dependant) and route.path not in PUBLIC:
            unguarded.append(f"{sorted(route.methods)} {route.path}")
    assert unguarded == []


def test_public_routes_really_are_only_these(web: Web) -> None:
    public = {r.path for r in api_routes(web.app.routes) if not _guards(r.dependant)}
    assert public == PUBLIC - {"/api/openapi.json"}
