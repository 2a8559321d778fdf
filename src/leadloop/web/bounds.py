"""Bounded input at the door: a request body size limit (ASGI), and one dependency every route
runs that refuses text no database can store and JSON nested too deep (`core.bounds`)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadloop.core.bounds import check_pairs, check_tree
from leadloop.core.logging import get_logger

log = get_logger("leadloop.http")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int, what: str | None = None) -> None:
        super().__init__(
            413,
            what
            or f"the request body is larger than {limit:,} bytes, the limit here; nothing was read or saved",
        )


# The doors anyone may post to without signing in: the web-to-lead form, and a person's own
# unsubscribe, preferences and confirmation pages (consent/public_web.py).
ANONYMOUS = ("/forms/", "/u/", "/c/")
# The import page's upload takes files far larger than any other request (settings.max_import_bytes).
IMPORT_UPLOAD = "/imports"
# The bounce webhooks (capture/hooks_web.py): public, signed, and never a large body.
HOOKS = "/api/v1/hooks/"
MAX_HOOK_BYTES = 256 * 1024


def _import_too_large(limit: int) -> str:
    return (
        f"The file is larger than {limit / 1024 / 1024:,.0f} MB, the limit for an import in the app; nothing "
        "was read or saved. Split it into smaller files, or import it on the server with `leadloop import`."
    )


class BodyLimit:
    """Refuses a body over `max_bytes` (`max_form_bytes` on the anonymous doors, ANONYMOUS;
    MAX_HOOK_BYTES on the bounce webhooks, HOOKS).

    The refusal is raised from `receive()`, not answered here, so that the app's own error
    handlers render it (a page for the form, JSON for the API) and the route never sees the body.
    A Content-Length over the limit fails the first read, before any byte of the body is taken;
    without one (chunked), the bytes are counted as they stream and the read stops at the limit.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, max_form_bytes: int, max_import_bytes: int | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_form_bytes = max_form_bytes
        self.max_import_bytes = max_import_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_form_bytes if scope["path"].startswith(ANONYMOUS) else self.max_bytes
        if scope["path"].startswith(HOOKS):
            limit = min(limit, MAX_HOOK_BYTES)
        what = None
        if scope["path"] == IMPORT_UPLOAD and scope.get("method") == "POST":
            # A little room over the file for the multipart envelope and the form's other fields.
            limit, what = self.max_import_bytes + 64 * 1024, _import_too_large(self.max_import_bytes)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        over = declared.isdigit() and int(declared) > limit
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            if over:
                raise _refused(scope, limit, int(declared), what)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _refused(scope, limit, seen, what)
            return message

        await self.app(scope, bounded, send)


def _refused(scope: Scope, limit: int, size: int, what: str | None = None) -> BodyTooLarge:
    log.warning("http.body_too_large", path=scope["path"], limit=limit, size=size)
    return BodyTooLarge(limit, what)


async def refuse_unstorable(request: Request) -> None:
    """Every route runs this first (an app-wide dependency): query, path, form fields and JSON
    bodies are checked in one place, whichever route they are for."""
    check_pairs(list(request.query_params.multi_items()), "query")
    check_pairs([(k, str(v)) for k, v in request.path_params.items()], "path")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        check_pairs([(k, v) for k, v in form.multi_items() if isinstance(v, str)], "body")
    elif "json" in content_type.split(";")[0]:
        body = await request.body()
        if body:
            data = _json_or_none(body)
            if data is not None:
                check_tree(data, ("body",))


def _json_or_none(body: bytes) -> Any:
    # A body that is not JSON is the route's to refuse (422 json_invalid); one nested so deep that
    # the parser gives up is refused as too deep by the parse of FastAPI (400).
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
