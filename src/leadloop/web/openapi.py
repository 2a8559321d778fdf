"""The error answers each route really gives, documented in the OpenAPI spec with one shared shape."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute

from leadloop.web.deps import RoleGuard


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer. `detail` is a sentence a person can act on, or, when particular fields
    are wrong (request validation, a record's fields), one item per field. Some errors add context:
    `problems` (a document's lines), `known_types` (activity types)."""

    model_config = {"extra": "allow"}

    detail: str | list[FieldError] = Field(description="What is wrong: a sentence, or one item per field")


_REF = {"$ref": "#/components/schemas/ErrorBody"}
_WHY = {
    400: "The body could not be parsed",
    401: "No valid API key or session",
    403: "The caller's role may not do this (or a form's security token is stale)",
    404: "There is no such record",
    409: "A conflict: the record changed meanwhile, was decided already, or an Idempotency-Key was reused",
    413: "The request body is over the size limit",
    422: "A value is not acceptable; `detail` names the field",
    429: "Too many submissions; see Retry-After",
}


def all_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, also inside included routers (FastAPI >= 0.16x keeps them nested)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from all_routes(route.original_router.routes)
        else:
            yield route


def _guarded(route: APIRoute) -> bool:
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleGuard):
            return True
        stack.extend(dep.dependencies)
    return False


def error_codes(route: APIRoute) -> list[int]:
    """Which errors a route can answer, from its shape: every route can refuse a value (422); a
    guarded one refuses callers (401, 403); one with an id in its path may find nothing (404); a
    write may conflict (409); one that takes a body may find it unreadable or too large (400, 413)."""
    codes = {422}
    if _guarded(route):
        codes |= {401, 403}
    if route.param_convertors:
        codes.add(404)
    writes = bool((route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"})
    if writes:
        codes |= {400, 409, 413}
    return sorted(codes)


def document_errors(app: FastAPI, *, html_routes: dict[str, list[int]]) -> None:
    """Adds the error responses to every route in the schema. `html_routes` are public pages (the
    web-to-lead form) whose errors are HTML, with the codes they give."""
    for route in all_routes(app.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        if route.path in html_routes:
            for code in html_routes[route.path]:
                route.responses.setdefault(
                    code,
                    {"description": _WHY[code], "content": {"text/html": {"schema": {"type": "string"}}}},
                )
            continue
        for code in error_codes(route):
            entry: dict[str, Any] = {
                "description": _WHY[code],
                "content": {"application/json": {"schema": _REF}},
            }
            route.responses.setdefault(code, entry)
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = plain()
            shapes = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(shapes.pop("$defs", {}))
            schemas["ErrorBody"] = shapes
        return app.openapi_schema or plain()

    app.openapi = openapi  # type: ignore[method-assign]
