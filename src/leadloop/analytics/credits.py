"""Attribution's credits kept per opportunity (ADR 0048), so that attribution and ROI read a range
of stored credits instead of every touch of every account in the activity log.

The facts' refresh keeps, under the default window and half-life, for each won and open opportunity
and each grouping (campaign, channel, content), each group's credit in cents under every model but
the data-driven one (`opportunity_credits`), and each opportunity's touches in order
(`opportunity_paths`): the Markov model's removal effects depend on which opportunities the range
holds, so they are learnt from the paths and shared out (in integers, `markov_units`) per report.
The rows are those `attribution_report.rollup` would sum: the same `credit` per opportunity.

What a refresh rewrites: every opportunity (full), else those whose facts changed and those of
accounts whose people have an engagement added since the last refresh (by activity id, so an
import of old touches counts too). A person moved to another account, or merged, waits for the
daily full rebuild, as the facts do. The credits are as of the last
refresh: an open opportunity's window ends at the refresh, not at the page view."""

from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics import credits_markov
from leadloop.analytics.attribution import (
    BY,
    DEFAULT_HALF_LIFE,
    DEFAULT_WINDOW,
    ENGAGEMENT_TYPES,
    NO_CAMPAIGN,
    NO_TOUCHES,
    Opp,
    Touch,
    credit,
    group_of,
)
from leadloop.analytics.attribution_queries import load
from leadloop.analytics.cube import day_runs, periods_between
from leadloop.analytics.filters import day_start
from leadloop.core.events import Event, PersonErased
from leadloop.store.bulk import chunks, connection, select_columns
from leadloop.store.tables import (
    CREDIT_CUBE,
    CREDIT_CUBE_KEYS,
    CREDIT_CUBE_SUMS,
    CREDIT_MODELS,
    OPP_CREDITS,
    OPP_PATHS,
    PATH_SEP,
    Activity,
    Campaign,
    FactsRefresh,
    Opportunity,
    Person,
)

STATE = "credits"  # its row in facts_refresh: present once the credits were built
UNTOUCHED = -1  # the campaign id of an opportunity's row when it had no touch
CURRENCY_KEY = "leadloop_default_currency"  # session.info: the currency of an amount without one
CR, CC, PA = OPP_CREDITS, CREDIT_CUBE, OPP_PATHS
PATH_COLUMN = {"channel": "channels", "content": "contents"}


def built(session: Session) -> bool:
    return session.get(FactsRefresh, STATE) is not None


def answers(session: Session, *, window: timedelta, half_life: timedelta) -> bool:
    """Can the kept credits answer (the default window and half-life, and built), else the log."""
    return window == DEFAULT_WINDOW and half_life == DEFAULT_HALF_LIFE and built(session)


def cents(amount: Decimal) -> int:
    units = amount.scaleb(2)
    if units != units.to_integral_value():
        raise ValueError(f"an amount in whole cents was expected, not {amount}")
    return int(units)


def dated(o: Opp) -> datetime:
    """Where a report's range finds an opportunity: an open one by its creation, else its close."""
    return o.created_at if o.outcome == "open" else (o.closed_at or o.created_at)


def _text(values: Iterable[str]) -> str:
    return PATH_SEP.join(v.replace(PATH_SEP, " ") for v in values)


def rows_of(o: Opp, touches: Sequence[Touch]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Pure: one opportunity's credit rows and its path row (its touches already in its window).
    By campaign a row is keyed by the campaign's id alone (named when read); by channel or content,
    by the group and the campaign (the report's campaign filter keeps one campaign's touches)."""
    when, amount = dated(o), cents(o.amount)
    path = {
        "dated": when,
        "opp_id": o.id,
        "outcome": o.outcome,
        "currency": o.currency,
        "amount": amount,
        "touches": len(touches),
        "campaign_ids": struct.pack(f"<{len(touches)}I", *(t.campaign_id or 0 for t in touches)),
        "channels": _text(group_of(t, "channel") for t in touches),
        "contents": _text(group_of(t, "content") for t in touches),
    }
    if o.outcome == "lost":
        return [], path
    base = {
        "dated": when,
        "day": when.astimezone(UTC).date().isoformat(),
        "opp_id": o.id,
        "outcome": o.outcome,
        "currency": o.currency,
        "amount": amount,
    }
    if not touches:
        return [
            base
            | {"by_kind": by, "seq": 0, "grp": NO_TOUCHES, "campaign_id": UNTOUCHED, "touches": 0}
            | dict.fromkeys(CREDIT_MODELS, amount)
            for by in BY
        ], path
    parts = {m: [cents(p) for p in credit(m, o, touches, half_life=DEFAULT_HALF_LIFE)] for m in CREDIT_MODELS}
    rows = []
    for by in BY:
        sums: dict[tuple[str, int], list[int]] = {}
        for i, t in enumerate(touches):
            grp = "" if by == "campaign" else group_of(t, by)
            acc = sums.setdefault((grp, t.campaign_id or 0), [0] * (1 + len(CREDIT_MODELS)))
            acc[0] += 1
            for k, m in enumerate(CREDIT_MODELS, start=1):
                acc[k] += parts[m][i]
        for seq, ((grp, campaign_id), acc) in enumerate(sums.items()):
            rows.append(
                base
                | {"by_kind": by, "seq": seq, "grp": grp, "campaign_id": campaign_id, "touches": acc[0]}
                | dict(zip(CREDIT_MODELS, acc[1:], strict=True))
            )
    return rows, path


# Activities numbered up to this many before the last refresh's newest are looked at again: on
# PostgreSQL ids are handed out in one order and committed in another, so a transaction still open
# at a refresh commits rows below its mark. A longer one (a big import) waits for the daily rebuild.
OVERLAP = 10_000  # PostgreSQL: ids are taken before commit, so a lower id can land later


def mark(session: Session) -> int:
    """The newest activity now (read before anything is derived): the next refresh looks at those
    after it, less OVERLAP."""
    return int(connection(session).scalar(sa.select(sa.func.max(Activity.id))) or 0)


def campaigns_key(session: Session) -> str:
    """A digest of every campaign's channel: the kept credits group by channel as built."""
    rows = connection(session).execute(sa.select(Campaign.id, Campaign.channel).order_by(Campaign.id))
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


def _engaged_accounts(session: Session, after: int, since: datetime | None) -> set[int]:
    """The accounts whose live people have an engagement (an attribution touch) added after the
    activity `after` less OVERLAP, whatever its date (an import of last year's touches too), or
    dated at or after `since` (the last refresh's `now`: a touch recorded while it ran, dated after
    the end of an open opportunity's window then)."""
    conn = connection(session)
    kinds = sorted(ENGAGEMENT_TYPES)
    # SQLite gives ids in commit order (one writer, max + 1, and no activity is ever deleted): no
    # overlap there. The type is tested as an expression, so the id range is the index read (by
    # the type's index SQLite would scan every engagement ever recorded).
    # An activity that carries a visitor id may have stitched that visitor's earlier anonymous
    # engagements to its person (capture/log.py): its person counts too, whatever its type.
    back = 0 if conn.dialect.name == "sqlite" else OVERLAP
    parts = [
        sa.select(Activity.person_id).where(
            Activity.id > after - back,
            sa.or_(sa.func.coalesce(Activity.type, "").in_(kinds), Activity.visitor_id.is_not(None)),
        )
    ]
    if since is not None:
        parts.append(
            sa.select(Activity.person_id).where(Activity.type.in_(kinds), Activity.occurred_at >= since)
        )
    people = sa.select(sa.union(*parts).subquery().c[0])
    return {
        int(a or 0)  # never None: the query excludes it
        for a in conn.execute(
            sa.select(Person.account_id)
            .where(Person.id.in_(people), Person.merged_into_id.is_(None), Person.account_id.is_not(None))
            .distinct()
        ).scalars()
    }


def refresh(
    session: Session,
    *,
    now: datetime,
    full: bool,
    after: int | None,
    changed: Collection[int],
    default_currency: str,
    since: datetime | None = None,
) -> int:
    """Rewrite the credits of every opportunity (`full`), else of the opportunities `changed` (their
    facts were rewritten) and of the accounts with an engagement added after the activity `after`;
    returns how many."""
    conn = connection(session)
    days: set[str] = set()  # the rollup's days whose credits change
    if full:
        conn.execute(CR.delete())
        conn.execute(PA.delete())
        ids: list[int] = sorted(conn.execute(sa.select(Opportunity.id)).scalars())
    else:
        todo = set(changed)
        if after is not None:
            accounts = sorted(_engaged_accounts(session, after, since))
            for part in chunks(accounts):
                todo |= set(
                    conn.execute(sa.select(Opportunity.id).where(Opportunity.account_id.in_(part))).scalars()
                )
        ids = sorted(todo)
        for part in chunks(ids):
            days |= set(conn.execute(sa.select(CR.c.day).where(CR.c.opp_id.in_(part)).distinct()).scalars())
            conn.execute(CR.delete().where(CR.c.opp_id.in_(part)))
            conn.execute(PA.delete().where(PA.c.opp_id.in_(part)))
    for part in chunks(ids, 5000):
        loaded = load(
            session,
            now=now,
            start=None,
            end=None,
            window=DEFAULT_WINDOW,
            default_currency=default_currency,
            ids=part,
        )
        credit_rows: list[dict[str, Any]] = []
        paths: list[dict[str, Any]] = []
        for o in loaded.opps:
            rows, path = rows_of(o, loaded.touches.get(o.id, []))
            credit_rows += rows
            paths.append(path)
        if credit_rows:
            conn.execute(CR.insert(), credit_rows)
            days |= {r["day"] for r in credit_rows}
        if paths:
            conn.execute(PA.insert(), paths)
    _rollup(conn, None if full else days)
    return len(ids)


def on_person_erased(session: Session, events: list[PersonErased], now: datetime) -> list[Event]:
    """An erasure strips the query of the person's page addresses (privacy/erase.py): the credits
    of their accounts' opportunities, which keep those addresses as content, are written again in
    the same transaction rather than at the next refresh."""
    if not built(session):
        return []
    people = sorted(frozenset().union(*(e.person_ids for e in events)))
    conn = connection(session)
    accounts = set(conn.execute(sa.select(Person.account_id).where(Person.id.in_(people))).scalars())
    opps = set(
        conn.execute(sa.select(Opportunity.id).where(Opportunity.account_id.in_(accounts - {None}))).scalars()
    )
    if opps:
        refresh(
            session,
            now=now,
            full=False,
            after=None,
            changed=opps,
            default_currency=str(session.info.get(CURRENCY_KEY, "USD")),
        )
    return []


def _rollup(conn: sa.Connection, days: set[str] | None) -> None:
    """Rewrite the rollup's day rows of `days` (every day when None) from the credits, read by each
    grouping's key (grouping, date), and their months from the day rows."""
    keys = [CR.c[k] for k in CREDIT_CUBE_KEYS]
    cols = ["grain", "period", *CREDIT_CUBE_KEYS, *CREDIT_CUBE_SUMS]
    by_day = sa.select(sa.literal("D"), CR.c.day, *keys, *(sa.func.sum(CR.c[m]) for m in CREDIT_CUBE_SUMS))
    month = sa.func.substr(CC.c.period, 1, 7)
    ckeys = [CC.c[k] for k in CREDIT_CUBE_KEYS]
    by_month = (
        sa.select(sa.literal("M"), month + "-01", *ckeys, *(sa.func.sum(CC.c[m]) for m in CREDIT_CUBE_SUMS))
        .where(CC.c.grain == "D")
        .group_by(month, *ckeys)
    )
    if days is None:
        conn.execute(CC.delete())
        conn.execute(CC.insert().from_select(cols, by_day.group_by(CR.c.day, *keys)))
        conn.execute(CC.insert().from_select(cols, by_month))
        return
    wanted = sorted(days)
    if not wanted:
        return
    months = sorted({d[:7] + "-01" for d in wanted})
    for part in chunks(wanted):
        conn.execute(CC.delete().where(CC.c.grain == "D", CC.c.period.in_(part)))
    for part in chunks(months):
        conn.execute(CC.delete().where(CC.c.grain == "M", CC.c.period.in_(part)))
    for first, last in day_runs(wanted):
        for by in BY:
            conn.execute(
                CC.insert().from_select(
                    cols,
                    by_day.where(
                        CR.c.by_kind == by,
                        CR.c.dated >= day_start(first),
                        CR.c.dated < day_start(last + timedelta(days=1)),
                    ).group_by(CR.c.day, *keys),
                )
            )
    for m in months:
        first = date.fromisoformat(m)
        conn.execute(
            CC.insert().from_select(
                cols,
                by_month.where(
                    CC.c.period >= m,
                    CC.c.period < (first + timedelta(days=32)).replace(day=1).isoformat(),
                ),
            )
        )


def _range(col: sa.ColumnElement[Any], start: datetime | None, end: datetime | None) -> list[Any]:
    return [
        c
        for c in (None if start is None else col >= start, None if end is None else col < end)
        if c is not None
    ]


def campaign_names(session: Session) -> dict[int, str]:
    """Campaign id -> name as now; 0 (a touch without a campaign) and a campaign since deleted are
    "(no campaign)", as the log's join reads them; UNTOUCHED is the no-touches row."""
    names: dict[int, str] = defaultdict(lambda: NO_CAMPAIGN)
    names.update(connection(session).execute(sa.select(Campaign.id, Campaign.name)).all())
    names[UNTOUCHED] = NO_TOUCHES
    return names


def campaign_id(session: Session, name: str) -> int:
    found = connection(session).scalar(sa.select(Campaign.id).where(Campaign.name == name))
    return int(found) if found is not None else UNTOUCHED - 1  # matches no row


def sums(
    session: Session,
    *,
    by: str,
    models: Sequence[str],
    start: datetime | None,
    end: datetime | None,
    campaign: str | None,
    per_campaign: bool = False,
) -> list[tuple[str, str, str, int, int, list[int]]]:
    """Per group, currency and outcome: the opportunities' amount, their touches and each model's
    credit (cents), over the opportunities of [start, end); of one campaign's touches if given.
    `per_campaign` (by campaign): the campaigns alone, touches without one and no-touch rows left
    out."""
    key = CC.c.campaign_id if by == "campaign" else CC.c.grp
    q = sa.select(
        key,
        CC.c.currency,
        CC.c.outcome,
        sa.func.sum(CC.c.amount),
        sa.func.sum(CC.c.touches),
        *(sa.func.sum(CC.c[m]) for m in models),
    ).where(CC.c.by_kind == by, periods_between(start, end, CC))
    if campaign is not None:
        q = q.where(CC.c.campaign_id == campaign_id(session, campaign))
    if per_campaign:
        q = q.where(CC.c.campaign_id > 0)
    names = campaign_names(session) if by == "campaign" else None
    return [
        (names[g] if names is not None else g, cur, out, int(amount), int(n), [int(x) for x in credits])
        for g, cur, out, amount, n, *credits in connection(session).execute(
            q.group_by(key, CC.c.currency, CC.c.outcome)
        )
    ]


def markov(
    session: Session, *, by: str, start: datetime | None, end: datetime | None, campaign: str | None
) -> dict[tuple[str, str, str], int]:
    """The data-driven model over the range: removal effects learnt from its won and lost paths, each
    won and open opportunity's amount shared out by them; per (group, currency, outcome), cents."""
    # Straight from the driver's cursor into column lists (store/bulk.select_columns): 70,000 row
    # objects would cost more than the model itself.
    column = PA.c[PATH_COLUMN[by]] if by != "campaign" else sa.literal("")
    columns = select_columns(
        session,
        sa.select(PA.c.outcome, PA.c.currency, PA.c.amount, PA.c.touches, PA.c.campaign_ids, column).where(
            *_range(PA.c.dated, start, end)
        ),
    )
    keep = None if campaign is None else campaign_id(session, campaign)
    return credits_markov.shares(columns, campaign_names(session), by=by, keep=keep)
