"""What attribution reads, in three statements whatever the number of opportunities: the
opportunities in scope (with their lead's creation), then every engagement touch of their accounts'
people in one windowed range per chunk of accounts, campaigns joined in. No query per opportunity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.attribution import ENGAGEMENT_TYPES, Opp, Outcome, Timeline, Touch
from leadloop.contract.vocab import default_channel
from leadloop.core.errors import InvalidInput
from leadloop.store.bulk import chunks
from leadloop.store.tables import Activity, Campaign, Lead, Opportunity, Person

_OUTCOMES: dict[str, Outcome] = {"won": "won", "lost": "lost", "open": "open"}


@dataclass(frozen=True, slots=True)
class Loaded:
    opps: list[Opp]
    touches: dict[int, list[Touch]]  # opportunity id -> its touches in window, oldest first


def campaign_named(session: Session, key: str) -> str:
    """The campaign's name from its name or external id; an unknown one is said, not ignored."""
    name = session.scalars(
        sa.select(Campaign.name).where(sa.or_(Campaign.name == key, Campaign.external_id == key)).limit(1)
    ).first()
    if name is None:
        raise InvalidInput(f"there is no campaign {key!r}; give a campaign's name or external id")
    return name


def load(
    session: Session,
    *,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    window: timedelta,
    default_currency: str,
    ids: Sequence[int] | None = None,
) -> Loaded:
    """Won and lost opportunities closed in [start, end), open ones created in it (an open deal has
    no close yet), and the touches of each (of the opportunities `ids` alone when given). A won or
    lost one without a close date is dated by its creation."""
    closed_on = sa.func.coalesce(Opportunity.closed_at, Opportunity.created_at)
    dated = sa.case((Opportunity.outcome == "open", Opportunity.created_at), else_=closed_on)
    q = (
        sa.select(
            Opportunity.id,
            Opportunity.account_id,
            Opportunity.amount,
            Opportunity.currency,
            Opportunity.created_at,
            Opportunity.closed_at,
            Opportunity.outcome,
            Lead.opened_at,
        )
        .outerjoin(Lead, Lead.id == Opportunity.lead_id)
        .where(Opportunity.outcome.in_(("won", "lost", "open")))
        .order_by(Opportunity.id)
    )
    if start is not None:
        q = q.where(dated >= start)
    if end is not None:
        q = q.where(dated < end)
    if ids is not None:
        q = q.where(Opportunity.id.in_(sorted(ids)))
    opps: list[Opp] = []
    account_of: dict[int, int] = {}
    for oid, account_id, amount, currency, created, closed, outcome, lead_created in session.execute(q):
        opps.append(
            Opp(
                oid,
                amount or Decimal(0),
                currency or default_currency,
                created,
                closed,
                _OUTCOMES[outcome],
                lead_created,
            )
        )
        if account_id is not None:
            account_of[oid] = account_id
    timelines = {
        a: Timeline(ts) for a, ts in _touches(session, opps, account_of, now=now, window=window).items()
    }
    nothing = Timeline([])
    touches = {
        o.id: timelines.get(account_of.get(o.id, -1), nothing).window(o, now=now, window=window) for o in opps
    }
    return Loaded(opps, touches)


def _touches(
    session: Session, opps: list[Opp], account_of: dict[int, int], *, now: datetime, window: timedelta
) -> dict[int, list[Touch]]:
    """Every engagement touch of the accounts' live people (a merged-away person's activities moved
    to the survivor, so they count once), in the widest window any of the opportunities needs."""
    scoped = [o for o in opps if o.id in account_of]
    if not scoped:
        return {}
    earliest = min(o.created_at for o in scoped) - window
    latest = max(o.closed_at or now for o in scoped)
    out: dict[int, list[Touch]] = defaultdict(list)
    for part in chunks(sorted(set(account_of.values()))):
        rows = session.execute(
            sa.select(
                Person.account_id,
                Activity.id,
                Activity.occurred_at,
                Campaign.name,
                Campaign.id,
                sa.func.coalesce(Campaign.channel, Activity.channel),
                Activity.url,
                Activity.person_id,
                Activity.type,
            )
            .join(Person, Person.id == Activity.person_id)
            .outerjoin(Campaign, Campaign.id == Activity.campaign_id)
            .where(
                Person.account_id.in_(part),
                Person.merged_into_id.is_(None),
                Activity.type.in_(sorted(ENGAGEMENT_TYPES)),
                Activity.occurred_at >= earliest,
                Activity.occurred_at <= latest,
            )
        )
        for account_id, aid, at, campaign, campaign_id, channel, url, person_id, kind in rows:
            touch = Touch(
                aid,
                at,
                campaign,
                channel or default_channel(kind),
                url,
                int(person_id or 0),
                kind,
                campaign_id,
            )
            out[int(account_id or 0)].append(touch)
    return out
