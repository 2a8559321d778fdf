"""The speed-to-lead curve (issue 15, item 6): a team's own Oldroyd curve. The leads opened in the
range that were handed to sales, by first-response bucket (under 5 min, 5-30, 30-60, 1-24 h, over
24 h, never: see `facts_model` for when the response starts and stops), with how many reached SAL,
SQL, opportunity and won, and the conversion to each. Conversion is measured on the bucket's own
leads: a lead not touched yet sits in "never" until it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.analytics.cube import totals
from leadloop.analytics.facts_model import BUCKETS, STAGES
from leadloop.analytics.filters import ReportFilters, resolve
from leadloop.analytics.slices import LF, lead_ids
from leadloop.core.errors import InvalidInput

OUTCOMES = ("sal", "sql", "opportunity", "won")


@dataclass(frozen=True, slots=True)
class SpeedRow:
    bucket: str
    leads: int
    sal: int
    sql: int
    opportunity: int
    won: int

    @property
    def key(self) -> str:
        return self.bucket

    def rate(self, outcome: str) -> float | None:
        return getattr(self, outcome) / self.leads if self.leads else None


def speed_report(session: Session, *, now: datetime, filters: ReportFilters) -> list[SpeedRow]:
    scope = resolve(session, filters)
    names = [f"bucket_{i}_{m}" for i in range(len(BUCKETS)) for m in ("leads", "sal", "sql", "opp", "won")]
    got = totals(session, scope, [], names).get(())
    return [
        SpeedRow(b, *(got[f"bucket_{i}_{m}"] for m in ("leads", "sal", "sql", "opp", "won")))
        for i, b in enumerate(BUCKETS)
    ]


def speed_leads(
    session: Session, *, now: datetime, filters: ReportFilters, bucket: str, measure: str = "leads"
) -> list[int]:
    """The leads behind one number of the curve: a bucket's leads, or those that reached `measure`."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"bucket one of {', '.join(BUCKETS)}, not {bucket!r}")
    if measure != "leads" and measure not in OUTCOMES:
        raise InvalidInput(f"measure one of leads, {', '.join(OUTCOMES)}, not {measure!r}")
    conds = [LF.c.bucket == bucket]
    if measure != "leads":
        conds.append(LF.c.furthest >= STAGES.index(measure))
    return lead_ids(session, resolve(session, filters), conds)
