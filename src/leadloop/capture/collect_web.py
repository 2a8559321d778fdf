"""The tracking script (/t.js) and the public collect endpoint (/collect), and the sites admin.

/collect is public and hostile-input safe. In order, before anything is stored: the body is at
most 8 KB; automated clients, prefetches and Global Privacy Control are dropped; the beacon must be
well formed; its site key must be a known, active site and the browser's Origin (and the page) one
of that site's origins; the IP and the visitor are rate-limited. Dropped beacons answer 204 like
stored ones (a crawler learns nothing); refused ones answer 4xx with the reason."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from leadloop.capture.form_mappings import form_key, saved_mapping
from leadloop.capture.forms import FORM_FIELDS, form_activity, map_form
from leadloop.capture.lane import Lane, form_lane
from leadloop.capture.tracking import MAX_BEACON_BYTES, Beacon, origin_allowed, read_beacon, robot
from leadloop.capture.tracking_cache import tracking_cache
from leadloop.capture.visits import add_site, record_visit
from leadloop.capture.web import _capture_form
from leadloop.core.errors import InvalidInput
from leadloop.core.logging import get_logger
from leadloop.store.tables import TrackingSite
from leadloop.web.context import AppContext
from leadloop.web.deps import Admin, Ctx, Writer

router = APIRouter()
log = get_logger("leadloop.collect")


@cache
def _script() -> bytes:
    return files("leadloop.capture").joinpath("assets/t.js").read_bytes()


@router.get("/t.js", include_in_schema=False)
def tracking_script() -> Response:
    return Response(
        _script(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=3600", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


def _cors(origin: str | None) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


@router.post("/collect", include_in_schema=False)
async def collect(request: Request, ctx: Ctx) -> Response:
    origin = request.headers.get("origin")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BEACON_BYTES):
        return _refused(413, f"a beacon is at most {MAX_BEACON_BYTES} bytes", origin)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BEACON_BYTES:
            return _refused(413, f"a beacon is at most {MAX_BEACON_BYTES} bytes", origin)
    headers = {k.lower(): v for k, v in request.headers.items()}
    why = robot(headers.get("user-agent"), headers)
    if why:
        log.info("collect.dropped", why=why)
        return Response(status_code=204)
    beacon = read_beacon(body)
    if isinstance(beacon, str):
        return _refused(400, beacon, origin)
    ip = request.client.host if request.client else "unknown"
    now_s = ctx.now_s()
    if (
        not ctx.beacon_ip_limiter.take(ip, now_s).allowed
        or not ctx.beacon_visitor_limiter.take(beacon.visitor_id, now_s).allowed
    ):
        log.info("collect.rate_limited", ip=ip)
        return _refused(429, "too many beacons; slow down", origin)
    if beacon.kind == "form" and not ctx.form_limiter.take(ip, now_s).allowed:
        return _refused(429, "too many form submissions from this address; slow down", origin)
    # The database work runs in the thread pool, never on the event loop: a busy SQLite writer
    # must not stall every other request (/healthz included) while it waits.
    return await run_in_threadpool(_store, ctx, form_lane(request), beacon, ip, origin)


def _store(ctx: AppContext, lane: Lane, beacon: Beacon, ip: str, origin: str | None) -> Response:
    cache = tracking_cache(ctx.db)
    site = cache.site(ctx.db, beacon.site_key, ctx.now_s())
    if site is None:
        log.warning("collect.unknown_site", ip=ip)
        return _refused(403, "unknown site key", origin)
    if not origin_allowed(origin, beacon.url, list(site.allowed_origins)):
        log.warning("collect.forged_origin", ip=ip, site=site.id)
        return _refused(403, "this site key does not accept beacons from that origin", origin)
    if beacon.kind == "form":
        if not site.collect_forms:
            return _refused(403, "this site does not collect its forms", origin)
        _collected_form(ctx, lane, beacon.fields, beacon.visitor_id, beacon.url)
        return Response(status_code=204, headers=_cors(origin))
    inferred = ctx.ip_provider.company_of(ip) if ctx.ip_provider else None
    # One transaction per page view: the rules are those of the model in force when it commits.
    with ctx.db.write() as session:
        rules = cache.url_rules(session)  # the scoring model says what a page is
        record_visit(session, beacon, site, now=ctx.clock(), rules=rules, inferred_domain=inferred)
    return Response(status_code=204, headers=_cors(origin))


def _refused(status: int, reason: str, origin: str | None) -> Response:
    return JSONResponse({"detail": reason}, status_code=status, headers=_cors(origin))


def _collected_form(ctx: Any, lane: Lane, fields: dict[str, str], visitor_id: str, url: str) -> None:
    """A form already on the site, submitted: captured as /forms/lead would, with the visitor id so
    the visitor's earlier pages join the person. A form without a usable e-mail (a search box, a
    newsletter field left empty) is not a lead and is dropped quietly: the site's own form
    still did its job, and no error can reach the visitor from here."""
    key = form_key(fields.pop("form_id", None), url)
    with ctx.db.read() as session:
        saved = saved_mapping(session, key)
    mapped = map_form(fields, known=FORM_FIELDS, saved=saved)
    body: dict[str, Any] = dict(mapped.fields)
    if not body.get("email"):
        log.info("collect.form_without_email", fields=len(fields))
        return
    body["attributes"] = mapped.extras
    activity = form_activity(body.pop("activity_type", None))  # a demo request form is a hand-raise
    body["activity_type"] = activity.type
    body["visitor_id"] = visitor_id
    body.pop("email_opt_in", None)  # consent is never inferred from a form we did not design
    try:
        _capture_form(ctx, lane, body, activity.payload)
    except (InvalidInput, ValidationError) as exc:  # no visitor sees an error from here: logged only
        log.info("collect.form_refused", reason=str(exc)[:200])


class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    origins: list[str] = Field(min_length=1, max_length=20)
    collect_forms: bool = False


@router.get("/api/v1/tracking/sites", tags=["tracking"])
def sites_api(ctx: Ctx, who: Writer) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        from sqlalchemy import select

        return [_site_out(s, ctx) for s in session.scalars(select(TrackingSite).order_by(TrackingSite.id))]


@router.post("/api/v1/tracking/sites", status_code=201, tags=["tracking"])
def add_site_api(ctx: Ctx, who: Admin, body: SiteIn) -> dict[str, Any]:
    with ctx.db.write() as session:
        site = add_site(
            session, name=body.name, origins=body.origins, collect_forms=body.collect_forms, now=ctx.clock()
        )
        return _site_out(site, ctx)


def _site_out(site: TrackingSite, ctx: Any) -> dict[str, Any]:
    base = ctx.settings.public_url.rstrip("/")
    return {
        "id": site.id,
        "name": site.name,
        "site_key": site.site_key,
        "allowed_origins": list(site.allowed_origins),
        "collect_forms": site.collect_forms,
        "active": site.active,
        "snippet": f'<script src="{base}/t.js" data-site="{site.site_key}"'
        + (" data-collect-forms" if site.collect_forms else "")
        + " async></script>",
    }


# The page: sites, their snippets, and how consent and forms work.
@router.get("/tracking", response_class=HTMLResponse, include_in_schema=False)
def tracking_page(request: Request, ctx: Ctx, who: Writer) -> Response:
    return _page(request, ctx, error=None)


def _page(request: Request, ctx: AppContext, *, error: str | None, status: int = 200) -> Response:
    from sqlalchemy import select

    with ctx.db.read() as session:
        sites = [_site_out(s, ctx) for s in session.scalars(select(TrackingSite).order_by(TrackingSite.id))]
    return ctx.templates.TemplateResponse(
        request,
        "tracking.html",
        {"sites": sites, "error": error, "base": ctx.settings.public_url.rstrip("/")},
        status_code=status,
    )


@router.post("/tracking/sites", include_in_schema=False)
def add_site_page(
    request: Request,
    ctx: Ctx,
    who: Admin,
    name: Annotated[str, Form(max_length=200)] = "",
    origins: Annotated[str, Form(max_length=5_000)] = "",
    collect_forms: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    try:
        with ctx.db.write() as session:
            add_site(
                session,
                name=name,
                origins=[o for o in origins.replace(",", "\n").split("\n") if o.strip()][:20],
                collect_forms=collect_forms is not None,
                now=ctx.clock(),
            )
    except InvalidInput as exc:
        return _page(request, ctx, error=str(exc), status=422)
    return RedirectResponse("/tracking?added=1", status_code=303)
