"""Capture doors over HTTP: the JSON API (login or API key) and the public web-to-lead form."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadloop.capture import crm, intake
from leadloop.capture import model as m
from leadloop.capture.form_mappings import all_mappings, form_key, save_mapping, saved_mapping
from leadloop.capture.forms import FORM_FIELDS, IGNORE, form_activity, map_form
from leadloop.capture.lane import Lane, form_lane
from leadloop.capture.results import REFUSED
from leadloop.capture.schemas import ActivityCreate, IngestBatch, IngestResult, LeadCaptured, LeadCreate
from leadloop.capture.spool import land_here, new_submission
from leadloop.contract.vocab import ACTIVITY_TYPES, KNOWN_TYPES
from leadloop.core.errors import InvalidInput
from leadloop.core.logging import get_logger
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Staff, Writer

router = APIRouter()
log = get_logger("leadloop.capture")

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _scoped(key: str | None, principal_id: int) -> str | None:
    # Keys are per client: two clients choosing the same key never see each other's answer.
    return f"u{principal_id}:{key}" if key else None


@router.post("/api/v1/leads", response_model=LeadCaptured, tags=["capture"])
def create_lead(
    body: LeadCreate, ctx: Ctx, who: Writer, response: Response, idempotency_key: IdemKey = None
) -> Any:
    """Capture one lead: the person (matched or created) and the activity that brought them."""
    out, _, replayed = intake.capture_lead(
        ctx.db,
        body.model_dump(mode="json", exclude_unset=True),
        now=ctx.clock(),
        source="api",
        idempotency_key=_scoped(idempotency_key, who.user_id),
        custom=ctx.custom_limits,
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return out


@router.post("/api/v1/ingest", response_model=IngestResult, tags=["capture"])
def ingest(body: IngestBatch, ctx: Ctx, who: Writer, idempotency_key: IdemKey = None) -> Any:
    """People and activities in one transaction (up to 5,000 of each). Items that fail validation
    come back under `rejected` with field-level errors; the rest land."""
    out, _ = intake.ingest_batch(
        ctx.db,
        body,
        now=ctx.clock(),
        idempotency_key=_scoped(idempotency_key, who.user_id),
        custom=ctx.custom_limits,
    )
    return out


@router.post("/api/v1/activities", tags=["capture"])
def create_activity(body: ActivityCreate, ctx: Ctx, who: Writer, idempotency_key: IdemKey = None) -> Any:
    out, _ = intake.capture_activity(
        ctx.db, body, now=ctx.clock(), idempotency_key=_scoped(idempotency_key, who.user_id)
    )
    return out


@router.get("/api/v1/activity-types", tags=["capture"])
def activity_types(who: Staff) -> list[dict[str, Any]]:
    return [
        {"type": t, "channel": ACTIVITY_TYPES[t][0], "hand_raise": ACTIVITY_TYPES[t][1]} for t in KNOWN_TYPES
    ]


# ---------------------------------------------------------------- web-to-lead (public)


HONEYPOT = "hp_email_confirm"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_return_url(request: Request, url: str | None, allowed: list[str]) -> str | None:
    """Redirect only to the site the form was posted from, or to a configured host: never an open redirect."""
    if not url:
        return None
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        return None
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    origin_host = urlsplit(origin).hostname
    if target.hostname == origin_host or target.hostname in allowed:
        return url
    return None


@router.post("/forms/lead", include_in_schema=True, tags=["capture"])
async def web_to_lead(request: Request, ctx: Ctx) -> Response:
    """Public HTML form endpoint (urlencoded). Hidden fields: activity_type (demo_request,
    contact_sales, pricing_request, trial_signup, ...; default form_submit), source, campaign, utm_*,
    product, return_url, visitor_id. A filled honeypot field is accepted silently and dropped."""
    decision = ctx.form_limiter.take(_client_ip(request), ctx.now_s())
    if not decision.allowed:
        retry = max(1, round(decision.retry_after_s))
        return ctx.templates.TemplateResponse(
            request,
            "form_result.html",
            {"ok": False, "errors": [f"Too many submissions from your address. Try again in {retry} s."]},
            status_code=429,
            headers={"Retry-After": str(retry)},
        )
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str) and v.strip()}
    return_url = _safe_return_url(
        request, data.pop("return_url", None), ctx.settings.form_allowed_redirect_hosts
    )
    if data.pop(HONEYPOT, None):
        log.info("form.honeypot", ip=_client_ip(request))
        return _form_done(request, ctx, return_url)
    data.pop("csrf_token", None)
    # Any form as it is: its field names mapped the way imports map headers (capture/forms.py),
    # with the form's own saved mapping, if marketing made one, winning.
    key = form_key(data.pop("form_id", None), request.headers.get("referer"))
    with ctx.db.read() as session:
        saved = saved_mapping(session, key)
    mapped = map_form(data, known=FORM_FIELDS, saved=saved)
    body: dict[str, Any] = dict(mapped.fields)
    body["attributes"] = mapped.extras
    activity = form_activity(body.pop("activity_type", None))
    body["activity_type"] = activity.type
    if activity.warning:
        log.warning("form.activity_type_unknown", warning=activity.warning)
    consent = body.pop("email_opt_in", None)
    if consent is not None:
        body["email_opt_in"] = consent.lower() in ("1", "true", "yes", "on")
    body["email_opt_in"] = body.get("email_opt_in")
    try:
        settled = intake.settle_form(
            body, now=ctx.clock(), custom=ctx.custom_limits, activity_payload=activity.payload
        )
    except InvalidInput as exc:
        errors = [f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in getattr(exc, "errors", [])] or [
            str(exc)
        ]
        log.info("form.refused", ip=_client_ip(request), fields=len(data), errors=errors[:5])
        return ctx.templates.TemplateResponse(
            request, "form_result.html", {"ok": False, "errors": errors}, status_code=422
        )
    except ValidationError as exc:  # a value of the wrong type in a form field
        errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return ctx.templates.TemplateResponse(
            request, "form_result.html", {"ok": False, "errors": errors}, status_code=422
        )
    # Two speeds (capture/spool.py): the submission is stored at once; the form lane lands it with
    # the others waiting, and the visitor's answer waits for that up to form_answer_ms. An erased
    # person's submission is dropped there, and the page does not tell a stranger we once held it.
    sub = new_submission(settled, activity.payload, consent=bool(body.get("email_opt_in")), now=ctx.clock())
    lane = form_lane(request)
    lane.spool.put(sub)
    if lane.running and not lane.quiet:
        behind = lane.behind  # more than a batch waits: answer now, land moments later
        landed = asyncio.wrap_future(lane.submit(sub))  # counted as waiting either way
        try:
            what = (
                "waiting"
                if behind
                else await asyncio.wait_for(asyncio.shield(landed), ctx.settings.form_answer_ms / 1000)
            )
        except TimeoutError:
            what = "waiting"
    else:  # quiet, or no lane: land it here
        what = land_here(lane.spool, ctx.db, sub, now=ctx.clock(), custom=ctx.custom_limits)
    response = _form_done(request, ctx, return_url)
    response.headers["Leadloop-Intake"] = "waiting" if what == "waiting" else "done"
    return response


def _capture_form(
    ctx: AppContext, lane: Lane, body: dict[str, Any], activity_payload: dict[str, str]
) -> None:
    """A form captured where no visitor waits for the answer (a tracked site's own form): settled,
    spooled and landed at once."""
    settled = intake.settle_form(
        body, now=ctx.clock(), custom=ctx.custom_limits, activity_payload=activity_payload
    )
    sub = new_submission(settled, activity_payload, consent=bool(body.get("email_opt_in")), now=ctx.clock())
    lane.spool.put(sub)
    land_here(lane.spool, ctx.db, sub, now=ctx.clock(), custom=ctx.custom_limits)


def _form_done(request: Request, ctx: Ctx, return_url: str | None) -> Response:
    if return_url:
        return RedirectResponse(return_url, status_code=303)
    return ctx.templates.TemplateResponse(request, "form_result.html", {"ok": True, "errors": []})


# Forms: saved per-form mappings and a test submission that shows what each field becomes.


class FormMappingIn(BaseModel):
    form_key: str = Field(
        min_length=1, max_length=300, description="the form's form_id, or host/path of its page"
    )
    mapping: dict[Annotated[str, Field(max_length=200)], Annotated[str, Field(max_length=50)]] = Field(
        default_factory=dict, max_length=200, description='posted name -> field, or "-" to ignore it'
    )


class FormTry(BaseModel):
    form_key: str | None = Field(default=None, max_length=300)
    fields: dict[Annotated[str, Field(max_length=200)], Annotated[str, Field(max_length=2000)]] = Field(
        max_length=200
    )


def _becomes(target: str | None, lead: dict[str, str]) -> str:
    if target is None:
        return "kept as a custom field"
    if target == IGNORE:
        return "ignored"
    if target == "name":
        return (
            f"full name: first_name {lead.get('first_name') or '—'}, last_name {lead.get('last_name') or '—'}"
        )
    return target


def _tried(session: Any, key: str | None, fields: dict[str, str]) -> dict[str, Any]:
    result = map_form(fields, known=FORM_FIELDS, saved=saved_mapping(session, key))
    return {
        "form_key": key,
        "becomes": [
            {
                "posted": name,
                "field": result.mapped.get(name),
                "what": _becomes(result.mapped.get(name), result.fields),
            }
            for name in fields
        ],
        "lead": result.fields,
        "custom": result.extras,
        "is_a_lead": bool(result.fields.get("email") or result.fields.get("phone")),
    }


def _parse_lines(text: str, sep: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, found, value = line.partition(sep)
        if found and name.strip():
            out[name.strip()] = value.strip()
    return out


@router.get("/forms", response_class=HTMLResponse, include_in_schema=False)
def forms_page(request: Request, ctx: Ctx, who: Writer) -> Response:
    with ctx.db.read() as session:
        rows = all_mappings(session)
    return ctx.templates.TemplateResponse(
        request, "forms.html", {"rows": rows, "fields": sorted(FORM_FIELDS | {"name", IGNORE}), "tried": None}
    )


@router.post("/forms/mappings", include_in_schema=False)
def forms_save(
    request: Request,
    ctx: Ctx,
    who: Writer,
    form_key_: Annotated[str, Form(alias="form_key", max_length=300)] = "",
    mapping: Annotated[str, Form(max_length=20_000)] = "",
    sample: Annotated[str, Form(max_length=20_000)] = "",
    action: Annotated[str, Form(max_length=10)] = "save",
) -> Response:
    """Save a form's mapping ("posted name = field" per line), or try a sample submission
    ("posted name: value" per line) against it without saving anything."""
    if action == "try":
        with ctx.db.read() as session:
            tried = _tried(session, form_key_.strip() or None, _parse_lines(sample, ":"))
            rows = all_mappings(session)
        return ctx.templates.TemplateResponse(
            request,
            "forms.html",
            {
                "rows": rows,
                "fields": sorted(FORM_FIELDS | {"name", IGNORE}),
                "tried": tried,
                "sample": sample,
            },
        )
    with ctx.db.write() as session:
        save_mapping(
            session,
            form_key_,
            _parse_lines(mapping, "="),
            known=FORM_FIELDS,
            by_user_id=who.user_id,
            now=ctx.clock(),
        )
    return RedirectResponse("/forms?saved=1", status_code=303)


@router.get("/api/v1/form-mappings", tags=["capture"])
def mappings_api(ctx: Ctx, who: Writer) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        return [
            {"form_key": r.form_key, "mapping": r.mapping, "updated_at": r.updated_at}
            for r in all_mappings(session)
        ]


@router.put("/api/v1/form-mappings", tags=["capture"])
def mapping_put_api(ctx: Ctx, who: Writer, body: FormMappingIn) -> dict[str, Any]:
    """Save how one form names its fields; the automatic mapping does the rest."""
    with ctx.db.write() as session:
        row = save_mapping(
            session, body.form_key, body.mapping, known=FORM_FIELDS, by_user_id=who.user_id, now=ctx.clock()
        )
        return {"form_key": row.form_key, "mapping": row.mapping, "updated_at": row.updated_at}


@router.post("/api/v1/form-mappings/try", tags=["capture"])
def mapping_try_api(ctx: Ctx, who: Writer, body: FormTry) -> dict[str, Any]:
    """What a submission of these fields would become: nothing is stored."""
    with ctx.db.read() as session:
        return _tried(session, body.form_key, body.fields)


# Outcomes from another CRM (issue 15): the API twin of importing opportunities and contact roles.
class OutcomesBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opportunities: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=5000,
        description="contract fields: external_id, account_external_id, person_external_id, stage, outcome, "
        "amount, currency, created_at, closed_at, lost_reason, name, product",
    )
    contact_roles: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=5000,
        description="opportunity_external_id, person_external_id, role, is_primary, external_id",
    )


def _part(parsed: list[tuple[int, Any]], bad: list[dict[str, Any]], outcomes: list[Any]) -> dict[str, Any]:
    rejected = list(bad)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    warnings = []
    for (index, _), o in zip(parsed, outcomes, strict=True):
        if o.status == REFUSED:
            rejected.append({"index": index, "errors": [o.why]})
            continue
        counts[o.status] = counts.get(o.status, 0) + 1
        if o.why:
            warnings.append({"index": index, "warning": o.why})
    return {**counts, "rejected": sorted(rejected, key=lambda r: r["index"]), "warnings": warnings}


@router.post("/api/v1/opportunities/bulk", tags=["opportunities"])
def bulk_api(ctx: Ctx, who: Writer, body: OutcomesBatch) -> dict[str, Any]:
    """Another CRM's opportunities and contact roles, by their external ids, in one transaction.
    Re-sending updates (each change appends to the history); an item on an unknown account,
    opportunity or person comes back under `rejected` with the reason, and the rest land."""
    now = ctx.clock()
    opps: list[tuple[int, m.OpportunityIn]] = []
    roles: list[tuple[int, m.ContactRoleIn]] = []
    bad_opps: list[dict[str, Any]] = []
    bad_roles: list[dict[str, Any]] = []
    for i, raw in enumerate(body.opportunities):
        try:
            opps.append((i, m.parse_opportunity(raw, now=now)))
        except InvalidInput as err:
            bad_opps.append({"index": i, "errors": [str(err)]})
    for i, raw in enumerate(body.contact_roles):
        try:
            roles.append((i, m.parse_contact_role(raw)))
        except InvalidInput as err:
            bad_roles.append({"index": i, "errors": [str(err)]})
    with ctx.db.write() as session:
        done_opps = crm.upsert_opportunities(session, [o for _, o in opps], now=now)
        done_roles = crm.upsert_contact_roles(session, [r for _, r in roles], now=now)
    return {
        "opportunities": _part(opps, bad_opps, done_opps.outcomes),
        "contact_roles": _part(roles, bad_roles, done_roles.outcomes),
    }
