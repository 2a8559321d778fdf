"""`leadloop export`: the warehouse back out, in the contract's field names, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from leadloop.contract.csvio import CsvWriter
from leadloop.contract.vocab import ENTITY_FIELDS
from leadloop.core.errors import InvalidInput
from leadloop.scoring.decay import Decaying, decay_rate, epoch
from leadloop.scoring.repository import active_model
from leadloop.store.db import Database
from leadloop.store.tables import Account, Activity, Campaign, Lead, Partner, Person, Team, User

EXPORTABLE = ("people", "accounts", "leads", "activities")
# Computed columns: engagement is decayed to the moment of the export; the priority rank comes from
# the time-invariant key, so it is the order of the engagement values at that moment too.
# A person carries their own predicted probability and, last, their account's most promising lead's.
SCORE_COLUMNS = ("fit_score", "grade", "engagement", "predicted_probability", "priority_rank")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return value


def _query(entity: str) -> tuple[list[str], Any]:
    acct = aliased(Account)
    if entity == "people":
        cols = [c for c in ENTITY_FIELDS["people"]]
        stmt: Any = (
            sa.select(
                Person.external_id,
                acct.external_id,
                Person.email,
                Person.first_name,
                Person.last_name,
                Person.title,
                Person.seniority,
                Person.department,
                Person.phone,
                Person.company,
                Person.website,
                Person.street,
                Person.country,
                Person.state,
                Person.city,
                Person.postcode,
                Person.lead_source,
                Campaign.name,
                Person.created_at,
                Person.email_opt_in,
                Person.id,
                acct.domain,
                Person.email_kind,
                Person.fit_score,
                Person.grade,
                Person.engagement_s,
                Person.engagement_t0,
                Person.predicted,
                sa.func.rank().over(order_by=Person.engagement_key.desc()),
                sa.select(sa.func.max(Lead.predicted))
                .where(Lead.account_id == Person.account_id)
                .scalar_subquery(),
            )
            .outerjoin(acct, acct.id == Person.account_id)
            .outerjoin(Campaign, Campaign.id == Person.campaign_id)
            .where(Person.merged_into_id.is_(None))  # one row per person: the merged-away are their survivor
            .order_by(Person.id)
        )
        # the person's own probability (the people's model) in predicted_probability; their account's
        # most promising lead's after the rank
        extra = ["account_predicted_probability"]
        return [*cols, "leadloop_id", "account_domain", "email_kind", *SCORE_COLUMNS, *extra], stmt
    if entity == "accounts":
        parent = aliased(Account)
        cols = list(ENTITY_FIELDS["accounts"])
        stmt = (
            sa.select(
                Account.external_id,
                Account.name,
                Account.domain,
                Account.industry,
                Account.employees,
                Account.annual_revenue,
                Account.country,
                Account.state,
                Account.city,
                Account.postcode,
                Account.sic_code,
                Account.naics_code,
                Account.sites,
                sa.func.coalesce(parent.external_id, Account.parent_external_id),
                Account.id,
            )
            .outerjoin(parent, parent.id == Account.parent_id)
            .where(
                Account.merged_into_id.is_(None)
            )  # one row per account: the merged-away are their survivor
            .order_by(Account.id)
        )
        return [*cols, "leadloop_id"], stmt
    if entity == "activities":
        person = aliased(Person)
        cols = list(ENTITY_FIELDS["activities"])
        stmt = (
            sa.select(
                Activity.external_id,
                person.external_id,
                person.email,
                acct.external_id,
                Activity.occurred_at,
                Activity.type,
                Activity.channel,
                Activity.direction,
                Campaign.name,
                Activity.product,
                Activity.value,
                Activity.url,
                Activity.id,
                Activity.source,
                Activity.visitor_id,
            )
            .outerjoin(person, person.id == Activity.person_id)
            .outerjoin(acct, acct.id == Activity.account_id)
            .outerjoin(Campaign, Campaign.id == Activity.campaign_id)
            .order_by(Activity.id)
        )
        return [*cols, "leadloop_id", "source", "visitor_id"], stmt
    if entity == "leads":
        owner = sa.func.coalesce(User.email, Team.name, Partner.name)
        owner_type = sa.case(
            (Lead.owner_user_id.is_not(None), "user"),
            (Lead.owner_team_id.is_not(None), "queue"),
            else_="partner",
        )
        stmt = (
            sa.select(
                Lead.id,
                acct.external_id,
                acct.name,
                acct.domain,
                Lead.product,
                Lead.stage,
                owner_type,
                owner,
                Lead.source,
                Campaign.name,
                Lead.opened_at,
                Lead.stage_changed_at,
                Lead.last_activity_at,
                Lead.activity_count,
                Lead.contact_count,
                Lead.fit_score,
                Lead.grade,
                Lead.engagement_s,
                Lead.engagement_t0,
                Lead.predicted,
                sa.func.rank().over(order_by=Lead.engagement_key.desc()),
                Lead.expected_value,
            )
            .join(acct, acct.id == Lead.account_id)
            .outerjoin(User, User.id == Lead.owner_user_id)
            .outerjoin(Team, Team.id == Lead.owner_team_id)
            .outerjoin(Partner, Partner.id == Lead.owner_partner_id)
            .outerjoin(Campaign, Campaign.id == Lead.campaign_id)
            .order_by(Lead.id)
        )
        header = [
            "leadloop_id",
            "account_external_id",
            "account_name",
            "account_domain",
            "product",
            "stage",
            "owner_type",
            "owner",
            "source",
            "campaign",
            "opened_at",
            "stage_changed_at",
            "last_activity_at",
            "activity_count",
            "contact_count",
            *SCORE_COLUMNS,
            "expected_value",  # predicted_probability times the expected deal size, default currency
        ]
        return header, stmt
    raise InvalidInput(f"cannot export {entity!r}; use one of {', '.join(EXPORTABLE)}")


def iter_export(db: Database, entity: str, *, now: datetime) -> tuple[list[str], Iterator[list[Any]]]:
    header, stmt = _query(entity)
    scored = entity in ("people", "leads")

    def gen() -> Iterator[list[Any]]:
        with db.read() as session:
            rate = decay_rate(active_model(session)[0].engagement.half_life_days)
            t = epoch(now)
            for row in session.execute(stmt.execution_options(yield_per=5000)):
                cells = list(row)
                # after the rank: a lead's expected value, a person's account's best lead probability
                extra = [cells.pop()] if entity in ("leads", "people") else []
                if scored:  # (fit, grade, S, t0, p, rank) -> (fit, grade, engagement now, p, rank)
                    fit, grade, s, t0, predicted, rank = cells[-6:]
                    p = None if predicted is None else round(float(predicted), 4)
                    cells[-6:] = [fit, grade, round(Decaying(s, t0).current(t, rate), 3), p, rank]
                digits = 2 if entity == "leads" else 4
                extra = [None if v is None else round(float(v), digits) for v in extra]
                yield [_cell(v) for v in [*cells, *extra]]

    return header, gen()


def export_csv(db: Database, entity: str, out: IO[str], *, now: datetime) -> int:
    header, data = iter_export(db, entity, now=now)
    writer = CsvWriter(out, header)
    n = 0
    for cells in data:
        writer.write(cells)
        n += 1
    return n
