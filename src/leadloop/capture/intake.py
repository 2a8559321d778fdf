"""Use cases behind the API and the web form: validate, write once, answer the same on a retry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.capture.results import REFUSED, Refused
from leadloop.capture.schemas import (
    ActivityCreate,
    BatchPart,
    IngestBatch,
    IngestResult,
    LeadCaptured,
    LeadCreate,
    PersonFields,
    Rejected,
)
from leadloop.contract.custom import CustomLimits
from leadloop.core.errors import Conflict, InvalidInput
from leadloop.core.events import Event, LeadOpened
from leadloop.core.logging import get_logger
from leadloop.store.bulk import RaceLost
from leadloop.store.db import Database
from leadloop.store.tables import IdempotencyKey

T = TypeVar("T")
log = get_logger("leadloop.capture")


def field_errors(exc: InvalidInput, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """RowErrors 'field: message; ...' as FastAPI-style [{'loc': [...], 'msg': ...}]."""
    messages = exc.errors if isinstance(exc, m.RowErrors) else [str(exc)]
    out = []
    for msg in messages:
        name, sep, rest = msg.partition(": ")
        if sep and name.isidentifier():
            out.append({"loc": ["body", *prefix, name], "msg": rest, "type": "value_error"})
        else:
            out.append({"loc": ["body", *prefix], "msg": msg, "type": "value_error"})
    return out


class FieldErrors(InvalidInput):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors))


def write_with_retry(db: Database, work: Callable[[Session], T], attempts: int = 4) -> T:
    """Run one unit of work; when a concurrent writer took a unique key first (or SQLite was busy
    past its timeout), run it again: the second pass finds the other writer's row."""
    for attempt in range(attempts):
        try:
            with db.write() as session:
                return work(session)
        except (IntegrityError, OperationalError, RaceLost) as exc:
            if attempt == attempts - 1 or (isinstance(exc, OperationalError) and "locked" not in str(exc)):
                raise
    raise AssertionError("unreachable")


def _hash_request(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _idempotent(
    db: Database,
    key: str | None,
    body: Any,
    now: datetime,
    work: Callable[[Session], tuple[dict[str, Any], list[Event]]],
) -> tuple[dict[str, Any], list[Event], bool]:
    """Returns (response, events, replayed). The key is stored in the same transaction as the write,
    so a retry after a crash either finds both or neither."""
    request_hash = _hash_request(body)

    def unit(session: Session) -> tuple[dict[str, Any], list[Event], bool]:
        if key is not None:
            seen = session.get(IdempotencyKey, key)
            if seen is not None:
                if seen.request_hash != request_hash:
                    raise Conflict("this Idempotency-Key was used before with a different request body")
                return seen.response, [], True
        response, events = work(session)
        if key is not None:
            session.execute(
                sa.insert(IdempotencyKey).values(
                    key=key, request_hash=request_hash, status_code=200, response=response, created_at=now
                )
            )
        return response, events, False

    return write_with_retry(db, unit)


def _person_in(fields: PersonFields, custom: CustomLimits | None = None) -> m.PersonIn:
    data = fields.model_dump(exclude_none=True, exclude={"attributes"})
    if "created_at" in data:
        data["created_at"] = data["created_at"].isoformat()
    if "email_opt_in" in data:
        data["email_opt_in"] = str(data["email_opt_in"])
    data.update(fields.attributes)
    person = m.parse_person(data, custom=custom)
    # The raw values are kept beside the person (phone_raw, country_raw); the list of warnings is
    # the importer's to report, not an attribute to store.
    person.attributes.pop("_warnings", None)
    return person


def _activity_in(
    fields: ActivityCreate | dict[str, Any], now: datetime, *, require_subject: bool = True
) -> m.ActivityIn:
    data = fields.model_dump(exclude_none=True) if isinstance(fields, ActivityCreate) else dict(fields)
    payload = data.pop("payload", {}) or {}
    if isinstance(data.get("occurred_at"), datetime):
        data["occurred_at"] = data["occurred_at"].isoformat()
    if "value" in data:
        data["value"] = str(data["value"])
    return m.parse_activity(
        {**{k: str(v) for k, v in payload.items()}, **data}, now=now, require_subject=require_subject
    )


def capture_lead(
    db: Database,
    body: dict[str, Any],
    *,
    now: datetime,
    source: str,
    idempotency_key: str | None,
    explicit_consent: bool = False,
    custom: CustomLimits | None = None,
    activity_payload: dict[str, str] | None = None,
) -> tuple[LeadCaptured, list[Event], bool]:
    """One person and the activity that brought them (API single lead, web-to-lead form).
    `activity_payload`: what the door keeps on the activity besides (a form's unknown type)."""
    person, activity = prepare_lead(body, now=now, custom=custom, activity_payload=activity_payload)

    def work(session: Session) -> tuple[dict[str, Any], list[Event]]:
        out, events = store_lead(
            session, person, activity, now=now, source=source, explicit_consent=explicit_consent
        )
        return out.model_dump(), events

    response, events, _replayed = _idempotent(db, idempotency_key, body, now, work)
    return LeadCaptured.model_validate(response), events, _replayed


def prepare_lead(
    body: dict[str, Any],
    *,
    now: datetime,
    custom: CustomLimits | None = None,
    activity_payload: dict[str, str] | None = None,
) -> tuple[m.PersonIn, m.ActivityIn]:
    """A lead's fields checked, before any transaction: the person and the activity, or
    FieldErrors naming every field that is wrong."""
    lead = LeadCreate.model_validate(body)
    errors: list[dict[str, Any]] = []
    person: m.PersonIn | None = None
    try:
        person = _person_in(
            PersonFields.model_validate(lead.model_dump(include=set(PersonFields.model_fields))), custom
        )
    except InvalidInput as exc:
        errors.extend(field_errors(exc))
    payload = {
        k: v
        for k, v in lead.model_dump(
            include={"message", "utm_source", "utm_medium", "utm_term", "utm_content"}
        ).items()
        if v
    }
    if lead.lead_source:  # where the lead says it came from, shown with the activity that brought it
        payload["source"] = lead.lead_source
    payload.update(activity_payload or {})
    act_fields: dict[str, Any] = {
        "type": lead.activity_type,
        "occurred_at": lead.occurred_at,
        "product": lead.product,
        "url": lead.url,
        "visitor_id": lead.visitor_id,
        "campaign": lead.utm_campaign or lead.campaign,
    }
    act_fields = {k: v for k, v in act_fields.items() if v is not None}
    act_fields["payload"] = payload
    activity: m.ActivityIn | None = None
    try:
        # The person is linked by ingest_people, so the activity needs no subject of its own.
        activity = _activity_in(act_fields, now, require_subject=False)
    except InvalidInput as exc:
        errors.extend(e for e in field_errors(exc) if e not in errors)
    if errors or person is None or activity is None:
        raise FieldErrors(_rename_activity_fields(errors))
    activity.email = person.email
    return person, activity


def settle_form(
    body: dict[str, Any],
    *,
    now: datetime,
    custom: CustomLimits | None = None,
    activity_payload: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A web form's fields made landable, before anything is stored. A submission with a valid
    e-mail is never lost for a field we cannot use (a phone of 'n/a', a country we do not know, a
    hidden field the site set wrong): that field is kept aside on the person, its value as typed.
    Only what makes the lead itself is refused (FieldErrors or ValidationError, naming it)."""
    body = dict(body)
    for attempt in (1, 2):
        try:
            prepare_lead(body, now=now, custom=custom, activity_payload=activity_payload)
            return body
        except (InvalidInput, ValidationError) as exc:
            locs = (
                [tuple(e["loc"]) for e in exc.errors()]
                if isinstance(exc, ValidationError)
                else [tuple(e["loc"]) for e in getattr(exc, "errors", [])]
            )
            bad = {
                str(loc[-1])
                for loc in locs
                if loc and loc[-1] in body and loc[-1] not in ("email", "attributes")
            }
            email_refused = any(loc and loc[-1] == "email" for loc in locs)
            if attempt == 2 or not bad or not body.get("email") or email_refused:
                raise  # no usable e-mail: nothing makes this a lead, so the visitor hears why
            for name in bad:
                value = body.pop(name)
                body["attributes"] = {**body.get("attributes", {}), f"unusable_{name}": str(value)[:1000]}
            body.setdefault("activity_type", "form_submit")
            log.info("form.fields_set_aside", fields=sorted(bad))
    raise AssertionError("unreachable")


def store_lead(
    session: Session,
    person: m.PersonIn,
    activity: m.ActivityIn,
    *,
    now: datetime,
    source: str,
    explicit_consent: bool = False,
) -> tuple[LeadCaptured, list[Event]]:
    """Land a prepared lead in the caller's transaction: the person, the activity, and every
    reaction (scoring, a hand-raise's routing) before it returns."""
    result = h.ingest_people(
        session,
        [person],
        now=now,
        source=source,
        activities=[activity],
        explicit_consent=explicit_consent,
    )
    o = result.outcomes[0]
    if o.status == REFUSED:
        raise Refused(o.why or "this person may not be captured")
    assert o.id is not None
    leads = [e.lead_id for e in result.events if isinstance(e, LeadOpened)]
    out = LeadCaptured(
        person_id=o.id, account_id=o.account_id, activity_id=o.activity_id, status=o.status, lead_ids=leads
    )
    return out, result.events


def _rename_activity_fields(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for e in errors:
        if e["loc"][-1] == "type":
            e["loc"][-1] = "activity_type"
    return errors


def ingest_batch(
    db: Database,
    batch: IngestBatch,
    *,
    now: datetime,
    idempotency_key: str | None,
    custom: CustomLimits | None = None,
) -> tuple[IngestResult, list[Event]]:
    """People and activities in one transaction. Items that fail validation are listed with their
    errors; the others land."""
    people: list[m.PersonIn] = []
    people_idx: list[int] = []
    result = IngestResult(people=BatchPart(), activities=BatchPart())
    for i, p in enumerate(batch.people):
        try:
            people.append(_person_in(p, custom))
            people_idx.append(i)
        except InvalidInput as exc:
            result.people.rejected.append(Rejected(index=i, errors=field_errors(exc, ("people", i))))
    acts: list[m.ActivityIn] = []
    acts_idx: list[int] = []
    for i, a in enumerate(batch.activities):
        try:
            acts.append(_activity_in(a, now))
            acts_idx.append(i)
        except InvalidInput as exc:
            result.activities.rejected.append(Rejected(index=i, errors=field_errors(exc, ("activities", i))))

    def work(session: Session) -> tuple[dict[str, Any], list[Event]]:
        rp = h.ingest_people(session, people, now=now, source="api")
        ra = h.ingest_activities(session, acts, now=now, source="api")
        out = result.model_copy(deep=True)
        for part, res, idx, total in (
            (out.people, rp, people_idx, len(batch.people)),
            (out.activities, ra, acts_idx, len(batch.activities)),
        ):
            part.created, part.updated = res.count("created"), res.count("updated")
            part.unchanged = res.count("unchanged") + res.count("duplicate")
            ids: list[int | None] = [None] * total
            for i, o in zip(idx, res.outcomes, strict=True):
                ids[i] = o.id
                if o.status == REFUSED:
                    loc: list[str | int] = ["people" if part is out.people else "activities", i, "email"]
                    part.rejected.append(
                        Rejected(index=i, errors=[{"loc": loc, "msg": o.why or "refused", "type": "refused"}])
                    )
            part.ids = ids
        return out.model_dump(), rp.events + ra.events

    response, events, _ = _idempotent(db, idempotency_key, batch.model_dump(mode="json"), now, work)
    return IngestResult.model_validate(response), events


def capture_activity(
    db: Database, body: ActivityCreate, *, now: datetime, idempotency_key: str | None
) -> tuple[dict[str, Any], list[Event]]:
    try:
        act = _activity_in(body, now)
    except InvalidInput as exc:
        raise FieldErrors(field_errors(exc)) from None
    if idempotency_key:
        act.dedupe_key = f"idem:{idempotency_key}"

    def work(session: Session) -> tuple[dict[str, Any], list[Event]]:
        r = h.ingest_activities(session, [act], now=now, source="api")
        o = r.outcomes[0]
        return {"activity_id": o.id, "account_id": o.account_id, "status": o.status}, r.events

    response, events, _ = _idempotent(db, idempotency_key, body.model_dump(mode="json"), now, work)
    return response, events
