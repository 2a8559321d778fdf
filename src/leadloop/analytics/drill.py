"""The leads behind one number of a report (issue 15: "a marketer can open any number down to the
leads behind it"), one dispatch for the API and the dashboards: the report's name, the row's key and
the column (measure) in, lead ids out, under the same filters the number was counted with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.analytics.audit import audit_leads
from leadloop.analytics.filters import ReportFilters
from leadloop.analytics.funnel import funnel_leads
from leadloop.analytics.roi import roi_leads
from leadloop.analytics.sla import aging_leads, sla_leads
from leadloop.analytics.speed import speed_leads
from leadloop.core.errors import InvalidInput

DRILLABLE = ("audit", "funnel", "speed", "roi", "aging", "sla")


def _int_key(key: str, what: str) -> int:
    raw = key.removeprefix("user:")
    if not raw.isdigit():
        raise InvalidInput(f"{what} key is its id, not {key!r}")
    return int(raw)


def leads_behind(
    session: Session,
    name: str,
    *,
    now: datetime,
    filters: ReportFilters,
    key: str,
    by: str | None = None,
    measure: str | None = None,
) -> list[int]:
    """`key` is the row's key column (a speed bucket, a campaign's id, an owner's user:<id>),
    `measure` the column (handed, won, sal, ...; an SLA state for `sla`)."""
    match name:
        case "audit":
            return audit_leads(
                session, now=now, filters=filters, by=by or "source", key=key, measure=measure or "handed"
            )
        case "funnel":
            return funnel_leads(
                session, now=now, filters=filters, by=by or "cohort", key=key, measure=measure or "inquiry"
            )
        case "speed":
            return speed_leads(session, now=now, filters=filters, bucket=key, measure=measure or "leads")
        case "roi":
            campaign_id = _int_key(key, "a campaign's")
            return roi_leads(
                session, now=now, filters=filters, campaign_id=campaign_id, measure=measure or "leads"
            )
        case "aging":
            return aging_leads(session, now=now, filters=filters, key=key, age=measure)
        case "sla":
            rep_id = _int_key(key, "a rep's")
            return sla_leads(session, now=now, filters=filters, rep_id=rep_id, state=measure or "breached")
    raise InvalidInput(f"leads behind a number: {', '.join(DRILLABLE)}, not {name!r}")
