"""The app factory: one Settings object in, one FastAPI app out. Nothing is built at import."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from leadloop import __version__
from leadloop.admin.web import router as admin_router
from leadloop.analytics.web import router as analytics_router
from leadloop.auth.model import SessionPolicy
from leadloop.auth.secret import choose_key
from leadloop.auth.web import router as auth_router
from leadloop.bootstrap import database
from leadloop.campaigns.web import router as campaigns_router
from leadloop.capture.collect_web import router as collect_router
from leadloop.capture.hooks_web import router as hooks_router
from leadloop.capture.import_web import router as imports_router
from leadloop.capture.intake import FieldErrors
from leadloop.capture.lander import RemoteLane
from leadloop.capture.lane import FormLane, Lane
from leadloop.capture.spool import Spool
from leadloop.capture.web import router as capture_router
from leadloop.consent.public_web import router as consent_public_router
from leadloop.consent.web import router as consent_router
from leadloop.contract.vocab import KNOWN_TYPES, is_hand_raise
from leadloop.core.bounds import MAX_DEPTH, TooDeep, UnstorableText
from leadloop.core.clock import Clock, utcnow
from leadloop.core.errors import LeadloopError, UnknownActivityType
from leadloop.core.heap import freeze_startup
from leadloop.core.labels import label, minutes, percent
from leadloop.core.logging import configure_logging, get_logger
from leadloop.core.ratelimit import Limiter
from leadloop.core.yamldoc import DocumentError
from leadloop.dashboards.web import router as dashboards_router
from leadloop.edits.web import router as edits_router
from leadloop.enrich.reverse_ip import FileIpProvider
from leadloop.help.web import router as help_router
from leadloop.home.web import router as home_router
from leadloop.identity.account_web import router as account_identity_router
from leadloop.identity.web import router as identity_router
from leadloop.jobs.announce import uses_engine
from leadloop.leads.web import router as leads_router
from leadloop.lists.web import router as lists_router
from leadloop.mailtrack.public_web import router as mailtrack_router
from leadloop.notifications.web import router as notifications_router
from leadloop.nurture.web import router as sequences_router
from leadloop.opportunities.web import router as opportunities_router
from leadloop.partners.web import router as partners_router
from leadloop.privacy.web import router as privacy_router
from leadloop.qualification.web import router as qualification_router
from leadloop.routing.web import router as routing_router
from leadloop.scoring.web import router as scoring_router
from leadloop.search.web import router as search_router
from leadloop.segments.web import router as segments_router
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.timeline.web import router as timeline_router
from leadloop.web import health
from leadloop.web.bounds import BodyLimit, refuse_unstorable
from leadloop.web.context import STATIC_DIR, TEMPLATES_DIR, AppContext
from leadloop.web.deps import NotAuthenticated, PasswordMustChange, Staff, csrf_token, signed_in
from leadloop.web.headers import ClientAddress, SecurityHeaders, parse_networks
from leadloop.web.limits import make_limiter
from leadloop.web.middleware import RequestContext
from leadloop.web.openapi import all_routes, document_errors
from leadloop.web.sessions import CookiePolicy, ServerSessions
from leadloop.work.web import router as work_router  # the rep's workbench (issue 13)

log = get_logger("leadloop.web")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", "text/html"
    )


def _error_page(
    request: Request, status: int, title: str, message: str, detail: list[str] | None = None
) -> Response:
    ctx: AppContext = request.app.state.ctx
    # The page keeps its navigation for a signed-in user (the template's `who` is the principal).
    request.state.principal = signed_in(request)
    return ctx.templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "detail": detail or []},
        status_code=status,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Starlette answers a 405 with the methods of the first route on the path; the path may be
    served by several routes (a page and its form post), so ask them all."""
    methods: set[str] = set()
    for route in all_routes(request.app.router.routes):
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and (route_methods := getattr(route, "methods", None)):
            methods |= route_methods
    return sorted(methods)


async def _watch_loop(lane: Lane, tick_s: float = 0.01) -> None:
    """How late the event loop runs, told to the form lane: a late loop means requests queue, and
    forms then go to the lane in batches instead of landing one by one on the loop."""
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        await asyncio.sleep(tick_s)
        lane.note_lag(loop.time() - began - tick_s)


def create_app(
    settings: Settings | None = None, *, clock: Clock = utcnow, db: Database | None = None
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    db = db or database(settings, migrate=False)
    templates = Jinja2Templates(
        directory=str(TEMPLATES_DIR),
        context_processors=[lambda request: {"who": getattr(request.state, "principal", None)}],
    )
    templates.env.globals.update(csrf_token=csrf_token, version=__version__, is_hand_raise=is_hand_raise)
    templates.env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else ""
    templates.env.filters["label"] = label  # codes as words: core/labels.py
    templates.env.filters["percent"] = percent
    templates.env.filters["minutes"] = minutes

    def limiter(name: str, per_minute: float, burst: int) -> Limiter:
        return make_limiter(settings.redis_url, name=name, rate_per_s=per_minute / 60, burst=burst)

    ctx = AppContext(
        settings=settings,
        db=db,
        clock=clock,
        templates=templates,
        form_limiter=limiter("form", settings.form_rate_per_minute, settings.form_burst),
        beacon_ip_limiter=limiter("beacon-ip", settings.beacon_ip_per_minute, settings.beacon_ip_burst),
        ip_provider=FileIpProvider.from_file(Path(settings.reverse_ip_path))
        if settings.reverse_ip_path
        else None,
        beacon_visitor_limiter=limiter(
            "beacon-visitor", settings.beacon_visitor_per_minute, settings.beacon_visitor_burst
        ),
        login_limiter=limiter("login-ip", settings.login_attempts_per_minute, settings.login_burst),
        login_account_limiter=limiter(
            "login-account", settings.login_attempts_per_minute, settings.login_burst
        ),
        hook_limiter=limiter(
            "bounce-hooks", settings.bounce_webhook_per_minute, settings.bounce_webhook_burst
        ),
    )
    # Posted web forms wait in the spool and the lane lands them (capture/spool.py, lane.py).
    spool = Spool.beside(db)
    lane: Lane = (
        RemoteLane(spool, db, clock, settings.database_url, custom=lambda: ctx.custom_limits)
        if settings.form_lander == "process" and spool.separate
        else FormLane(spool, db, clock, custom=lambda: ctx.custom_limits)
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The form lane runs while the server does (a TestClient used without `with` has none,
        # and each form lands in its own request).
        watch = None
        if settings.form_lane:
            lane.start()
            watch = asyncio.create_task(_watch_loop(lane))
        freeze_startup()  # the app and its routes, out of the full collections' walk (core/heap.py)
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            await run_in_threadpool(lane.stop)

    app = FastAPI(
        title="Leadloop",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        description="Lead management: capture, dedupe, score, route, nurture and close the loop.",
        dependencies=[Depends(refuse_unstorable)],
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.form_lane = lane
    key = choose_key(settings.secret_key, host=None, random_key=secrets.token_urlsafe(32))
    if key.generated:
        log.warning(
            "auth.secret_key.generated",
            note="LEADLOOP_SECRET_KEY is not set: a random key for this process; sessions end when it stops",
        )
    https = settings.secure_cookies or settings.public_url.lower().startswith("https://")
    # Added innermost first: ClientAddress runs first, so sessions and limits see the real client.
    app.add_middleware(
        ServerSessions,
        db=db,
        clock=clock,
        secret_key=key.key,
        policy=SessionPolicy(
            idle=timedelta(seconds=settings.session_idle_s),
            absolute=timedelta(seconds=settings.session_max_age_s),
        ),
        cookie=CookiePolicy(secure=https, max_age_s=settings.session_max_age_s),
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        max_form_bytes=settings.max_form_bytes,
        max_import_bytes=settings.max_import_bytes,
    )
    app.add_middleware(RequestContext)
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.lower().startswith("https://"))
    app.add_middleware(ClientAddress, trusted=parse_networks(settings.trusted_proxies))
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in (
        auth_router,
        capture_router,
        leads_router,
        identity_router,  # before the timeline: /people/duplicates is not a person id
        account_identity_router,
        timeline_router,
        scoring_router,
        sequences_router,  # drip sequences (issue 14, item 2)
        routing_router,
        partners_router,
        help_router,
        collect_router,
        # Import in the app (issue 13)
        imports_router,
        # Edit and reassign (issue 13, item 4): edit people and accounts; the admin pages.
        edits_router,
        admin_router,
        work_router,  # the rep's workbench (issue 13)
        notifications_router,
        # home, search and lists (issue 13 item 6)
        home_router,
        search_router,
        lists_router,
        segments_router,  # segments (issue 14)
        campaigns_router,
        analytics_router,  # reports (issue 15): attribution
        dashboards_router,  # each role's dashboard (issue 15, item 10)
        qualification_router,  # the qualification desk (issue 13, item 3)
        opportunities_router,  # conversion and outcomes (issue 15, item 1)
        # Consent and GDPR (issue 14, items 4 and 5): a person's own pages from our mail (public,
        # the signed link is the authority), consent for staff and the suppression list, export/erase.
        consent_public_router,
        consent_router,
        privacy_router,
        hooks_router,  # bounces and complaints from mail providers (issue 14, item 3; ADR 0031)
        # E-mail tracking (issue 14, item 3): the open pixel and the click redirect (public).
        mailtrack_router,
    ):
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        ok = ctx.db.ping()
        return JSONResponse(
            {
                "status": "ok" if ok else "unavailable",
                "database": "reachable" if ok else "unreachable",
                "version": __version__,
            },
            status_code=200 if ok else 503,
        )

    engine_on = uses_engine(settings)

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        """Readiness (web/health.py): the database, Redis, the timers' lag and the forms waiting."""
        up = ctx.db.ping()
        checks = health.Checks(
            database=up,
            redis=health.redis_reachable(settings.redis_url),
            oldest_due_s=health.oldest_due_s(ctx.db, ctx.clock()) if up else None,
            forms_waiting=spool.waiting() if up else None,
            engine_workers=(
                health.engine_workers(ctx.db, settings.jobs_stalled_after_s) if up and engine_on else None
            ),
        )
        code, body = health.verdict(checks)
        return JSONResponse({**body, "version": __version__}, status_code=code)

    @app.get("/docs", include_in_schema=False)
    def docs(who: Staff) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Leadloop API",
            swagger_js_url="/static/vendor/swagger-ui-bundle-5.35.0.js",
            swagger_css_url="/static/vendor/swagger-ui-5.35.0.css",
            swagger_favicon_url="/static/favicon.svg",
        )
        page.headers["content-security-policy"] = _docs_csp(bytes(page.body))
        return page

    _install_error_handlers(app)
    document_errors(app, html_routes={"/forms/lead": [403, 413, 422, 429]})
    return app


def _docs_csp(body: bytes) -> str:
    """Swagger UI starts from an inline script: that script, by its hash, and nothing else inline.
    React sets style attributes as it renders, so this one page allows inline styles."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m).digest()).decode() + "'"
        for m in re.findall(rb"<script>(.*?)</script>", body, flags=re.S)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _wants_html(request) and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(PasswordMustChange)
    async def password_must_change(request: Request, exc: PasswordMustChange) -> Response:
        if _wants_html(request) and request.method == "GET":
            return RedirectResponse("/account/password", status_code=303)
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(FieldErrors)
    async def field_errors(request: Request, exc: FieldErrors) -> Response:
        return JSONResponse({"detail": exc.errors}, status_code=422)

    @app.exception_handler(UnstorableText)
    @app.exception_handler(TooDeep)
    async def unreadable_value(request: Request, exc: UnstorableText | TooDeep) -> Response:
        log.info("http.input_refused", path=request.url.path, reason=str(exc))
        if _wants_html(request):
            return _error_page(request, 422, "Check your input", "Nothing was saved.", [str(exc)])
        return JSONResponse({"detail": exc.errors}, status_code=422)

    @app.exception_handler(DocumentError)
    async def document_error(request: Request, exc: DocumentError) -> Response:
        if _wants_html(request):
            lines = [f"line {line}: {msg}" if line else msg for line, msg in exc.problems]
            return _error_page(request, 422, "This document cannot be used", "Nothing was saved.", lines)
        problems = [{"line": line, "message": msg} for line, msg in exc.problems]
        return JSONResponse({"detail": str(exc), "problems": problems}, status_code=422)

    @app.exception_handler(UnknownActivityType)
    async def unknown_type(request: Request, exc: UnknownActivityType) -> Response:
        return JSONResponse({"detail": str(exc), "known_types": KNOWN_TYPES}, status_code=422)

    @app.exception_handler(LeadloopError)
    async def leadloop_error(request: Request, exc: LeadloopError) -> Response:
        if _wants_html(request):
            titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Check your input"}
            return _error_page(
                request, exc.status_code, titles.get(exc.status_code, "Something is wrong"), str(exc)
            )
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if _wants_html(request):
            lines = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in errors]
            return _error_page(request, 422, "Check your input", "Some values could not be read.", lines)
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            # FastAPI's parse of a body nested thousands deep gave up: say why.
            return await unreadable_value(request, TooDeep(("body",), MAX_DEPTH))
        if exc.status_code == 405:
            exc.headers = {"Allow": ", ".join(_allowed_methods(request))}
        if _wants_html(request):
            message = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
            return _error_page(
                request, exc.status_code, "Not found" if exc.status_code == 404 else "Error", message
            )
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(sa.exc.OperationalError)
    async def database_unavailable(request: Request, exc: sa.exc.OperationalError) -> Response:
        """The database is restarting, unreachable or busy: a 503 to retry, not a crash (the pool
        checks connections before lending them, so the next request reconnects by itself)."""
        log.warning("http.database_unavailable", error=str(exc.orig)[:200])
        message = (
            "The database is not reachable right now. Send it again in a few seconds; with the same "
            "Idempotency-Key it is stored once."
        )
        headers = {"Retry-After": "5"}
        if _wants_html(request):
            page = _error_page(request, 503, "Try again in a moment", message)
            page.headers.update(headers)
            return page
        return JSONResponse({"detail": message}, status_code=503, headers=headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("http.unhandled", error=type(exc).__name__)
        rid = str(structlog.contextvars.get_contextvars().get("request_id", ""))
        if _wants_html(request):
            return _error_page(
                request,
                500,
                "Something broke on our side",
                "The error was logged. Try again; if it keeps happening, give this to your admin.",
                [f"request id: {rid}"] if rid else None,
            )
        return JSONResponse({"detail": "internal error; it was logged"}, status_code=500)
