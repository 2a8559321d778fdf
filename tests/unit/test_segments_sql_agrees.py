"""The SQL of a segment (both shapes: the rebuild's set query and the event's per-person query)
takes exactly the people the pure evaluator takes, on generated people and generated definitions.
SQLite here; the integration tests run fixed cases on PostgreSQL too."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadloop.bootstrap import session_info
from leadloop.scoring.decay import Decaying, decay_rate
from leadloop.segments.compile import P, members_select
from leadloop.segments.evaluate import ActivityFact, Facts, LeadFact, evaluate
from leadloop.segments.handlers import create_segment
from leadloop.segments.membership import refresh_people
from leadloop.segments.model import (
    FIELDS,
    All,
    AnyOf,
    Compare,
    Cond,
    Definition,
    Did,
    HasLead,
    Not,
)
from leadloop.segments.parse import parse_definition
from leadloop.store.db import Database, make_engine
from leadloop.store.tables import (
    Account,
    Activity,
    Lead,
    Partner,
    Person,
    Segment,
    SegmentChange,
    SegmentMember,
    Team,
    User,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RATE = decay_rate(30.0)
TYPES = ("pricing_page_view", "webinar_attended", "page_view")
TEXTS = ("DE", "de", "FR", "", "Ünï", "VP Sales", "head of it", "100%_off", "a\\b")
PRODUCTS = ("crm", "general")
STAGES = ("inquiry", "mql", "recycled", "nurture", "won", "merged")
OWNERS = ("user:1", "user:2", "queue:1", "partner:1")
DAYS = (0, 7, 14, 30)  # ages and windows that meet: the edges of every window are tried
EMPTY_TABLES = ("activities", "leads", "people", "accounts")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[sa.Engine]:
    path = tmp_path_factory.mktemp("seg") / "agree.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    with eng.begin() as conn:
        for uid in (1, 2):
            conn.execute(
                sa.insert(User.__table__).values(
                    id=uid, email=f"u{uid}@x.example", name=f"U{uid}", role="rep", created_at=NOW
                )
            )
        conn.execute(sa.insert(Team.__table__).values(id=1, name="Nurture", is_queue=True, created_at=NOW))
        conn.execute(sa.insert(Partner.__table__).values(id=1, name="P", created_at=NOW))
    yield eng
    eng.dispose()


# Worlds: a few accounts, people, leads and activities with values chosen to hit the edges.
maybe_text = st.one_of(st.none(), st.sampled_from(TEXTS))
maybe_number = st.one_of(st.none(), st.sampled_from((0, 10, 49.5, 50, 1000)))


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    n_accounts = draw(st.integers(0, 3))
    accounts = [
        {
            "id": i + 1,
            "name": f"Acme {i}",
            "name_key": f"acme {i}",
            "industry": draw(maybe_text),
            "country": draw(st.one_of(st.none(), st.sampled_from(("DE", "FR")))),
            "employees": draw(st.one_of(st.none(), st.sampled_from((0, 10, 50, 1000)))),
            "annual_revenue": draw(maybe_number),
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i in range(n_accounts)
    ]
    n_people = draw(st.integers(1, 8))
    people = []
    for i in range(n_people):
        s = draw(st.sampled_from((0.0, 5.0, 30.0, 100.0)))
        t0 = (NOW - timedelta(days=draw(st.integers(0, 60)))).timestamp()
        people.append(
            {
                "id": i + 1,
                "account_id": draw(st.one_of(st.none(), st.integers(1, n_accounts))) if n_accounts else None,
                "title": draw(maybe_text),
                "country": draw(maybe_text),
                "seniority": draw(maybe_text),
                "fit_score": draw(maybe_number),
                "grade": draw(st.one_of(st.none(), st.sampled_from("ABCD"))),
                "email_opt_in": draw(st.one_of(st.none(), st.booleans())),
                "engagement_s": s,
                "engagement_t0": t0,
                "engagement_key": Decaying(s, t0).rank_key(RATE),
                "created_at": NOW
                - timedelta(days=draw(st.sampled_from(DAYS)), hours=draw(st.sampled_from((0, 5)))),
                "updated_at": NOW,
                "merged_into_id": 1 if i > 0 and draw(st.integers(0, 9)) == 0 else None,
            }
        )
    leads = []
    for a in accounts:
        for product in draw(st.lists(st.sampled_from(PRODUCTS), unique=True, max_size=2)):
            owner = draw(st.sampled_from(OWNERS))
            kind, _, oid = owner.partition(":")
            column = {"user": "owner_user_id", "queue": "owner_team_id", "partner": "owner_partner_id"}[kind]
            leads.append(
                {
                    "account_id": a["id"],
                    "product": product,
                    "stage": draw(st.sampled_from(STAGES)),
                    column: int(oid),
                    "opened_at": NOW,
                    "stage_changed_at": NOW,
                    "last_activity_at": NOW,
                }
            )
    activities = [
        {
            "dedupe_key": f"k{n}",
            "person_id": draw(st.one_of(st.none(), st.integers(1, n_people))),
            "type": draw(st.sampled_from(TYPES)),
            "occurred_at": NOW
            - timedelta(days=draw(st.integers(0, 30)), minutes=draw(st.sampled_from((0, 1)))),
            "recorded_at": NOW,
            "source": "api",
            "url": draw(
                st.one_of(st.none(), st.sampled_from(("https://x/Pricing", "https://x/blog", "/100%")))
            ),
        }
        for n in range(draw(st.integers(0, 12)))
    ]
    return {"accounts": accounts, "people": people, "leads": leads, "activities": activities}


# Definitions: every field with its operators, behaviour, leads, nested all/any/not.
def _values_for(field: str, op: str) -> st.SearchStrategy[Any]:
    kind = FIELDS[field].kind
    if op in ("is_set", "is_not_set"):
        return st.none()
    if kind == "text":
        text = st.sampled_from(("DE", "de", "vp", "Sales", "Ünï", "ünï", "%", "_", "a\\b", "1000"))
        return (
            st.lists(text, min_size=1, max_size=3, unique=True).map(tuple) if op in ("in", "not_in") else text
        )
    if kind in ("number", "engagement"):
        number = st.sampled_from((0.5, 1.0, 10.0, 49.5, 50.0, 1000.0))
        if op == "between":
            return st.tuples(number, number).map(lambda t: (min(t), max(t)))
        return number
    if kind == "grade":
        return (
            st.sampled_from("ABCD")
            if op == "at_least"
            else st.lists(st.sampled_from("ABCD"), min_size=1, unique=True).map(tuple)
        )
    if kind == "date":
        if op in ("in_last_days", "more_than_days_ago"):
            return st.sampled_from(DAYS[1:])
        return st.sampled_from((NOW - timedelta(days=7), NOW - timedelta(days=7, hours=5)))
    return st.sampled_from(("opted_in", "opted_out", "unknown"))


USED_FIELDS = (
    "person.title",
    "person.country",
    "person.seniority",
    "person.created_at",
    "account.industry",
    "account.country",
    "account.employees",
    "account.annual_revenue",
    "fit",
    "grade",
    "engagement",
    "consent.email",
)


@st.composite
def compares(draw: st.DrawFn) -> Cond:
    from leadloop.segments.model import OPS

    field = draw(st.sampled_from(USED_FIELDS))
    op = draw(st.sampled_from(OPS[FIELDS[field].kind]))
    return Compare(field, op, draw(_values_for(field, op)))


dids = st.builds(
    lambda types, least, most, days, url: Did(
        types, least, None if most is None else least + most, days, url
    ),
    st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True).map(tuple),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 2)),
    st.one_of(st.none(), st.sampled_from(DAYS[1:])),
    st.one_of(st.none(), st.sampled_from(("pricing", "%", "PRIC"))),
)
leads_ = st.builds(
    HasLead,
    st.lists(st.sampled_from(STAGES[:-1]), max_size=2, unique=True).map(tuple),
    st.lists(st.sampled_from(OWNERS), max_size=2, unique=True).map(tuple),
    st.lists(st.sampled_from(PRODUCTS), max_size=1).map(tuple),
)
conds = st.recursive(
    st.one_of(compares(), dids, leads_),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: All(tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
        inner.map(Not),
    ),
    max_leaves=6,
)


def _load(conn: sa.Connection, world: dict[str, list[dict[str, Any]]]) -> None:
    for name in EMPTY_TABLES:
        conn.execute(sa.text(f"DELETE FROM {name}"))
    for table, rows in ((Account, world["accounts"]), (Person, world["people"]), (Lead, world["leads"])):
        if rows:
            for row in rows:
                conn.execute(sa.insert(table.__table__).values(**row))
    if world["activities"]:
        conn.execute(sa.insert(Activity.__table__), world["activities"])


def _facts(world: dict[str, list[dict[str, Any]]], person: dict[str, Any]) -> Facts:
    account = next((a for a in world["accounts"] if a["id"] == person["account_id"]), {})
    values: dict[str, Any] = {f"person.{k}": v for k, v in person.items()}
    values |= {f"account.{k}": v for k, v in account.items()}
    values |= {
        "fit": person["fit_score"],
        "grade": person["grade"],
        "consent.email": person["email_opt_in"],
        "engagement_key": person["engagement_key"],
    }
    leads = tuple(
        LeadFact(
            lead["stage"],
            next(
                f"{k}:{lead[c]}"
                for k, c in (
                    ("user", "owner_user_id"),
                    ("queue", "owner_team_id"),
                    ("partner", "owner_partner_id"),
                )
                if c in lead
            ),
            lead["product"],
        )
        for lead in world["leads"]
        if person["account_id"] is not None and lead["account_id"] == person["account_id"]
    )
    acts = tuple(
        ActivityFact(a["type"], a["occurred_at"], a["url"])
        for a in world["activities"]
        if a["person_id"] == person["id"]
    )
    return Facts(values, leads, acts)


@pytest.mark.slow  # seconds of SQLite per run: `make test` runs it, `make test-fast` stays fast
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(world=worlds(), cond=conds)
def test_sql_takes_exactly_whom_the_evaluator_takes(
    engine: sa.Engine, world: dict[str, list[dict[str, Any]]], cond: Cond
) -> None:
    definition = Definition(cond)
    assert parse_definition(definition.document()) == definition  # the stored form reads back the same
    expected = {
        p["id"]
        for p in world["people"]
        if p["merged_into_id"] is None and evaluate(cond, _facts(world, p), now=NOW, rate=RATE)
    }
    with engine.begin() as conn:
        _load(conn, world)
        rebuilt = set(conn.execute(members_select(definition, now=NOW, rate=RATE)).scalars())
        ids = [p["id"] for p in world["people"]]
        one_by_one = set(
            conn.execute(
                members_select(definition, now=NOW, rate=RATE, few=True).where(P.c.id.in_(ids))
            ).scalars()
        )
    assert rebuilt == expected, f"set query disagrees for {definition.document()}"
    assert one_by_one == expected, f"per-person query disagrees for {definition.document()}"


def _expected(world: dict[str, list[dict[str, Any]]], cond: Cond) -> set[int]:
    return {
        p["id"]
        for p in world["people"]
        if p["merged_into_id"] is None and evaluate(cond, _facts(world, p), now=NOW, rate=RATE)
    }


@pytest.mark.slow  # seconds of SQLite per run: `make test` runs it, `make test-fast` stays fast
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(before=worlds(), after=worlds(), conds=st.lists(conds, min_size=1, max_size=3))
def test_an_event_update_lands_where_a_rebuild_would_and_the_history_adds_up(
    engine: sa.Engine,
    before: dict[str, list[dict[str, Any]]],
    after: dict[str, list[dict[str, Any]]],
    conds: list[Cond],
) -> None:
    """Build segments over one world, change everyone into another, decide them again through the
    event path: the members are whom the evaluator takes in the new world, and replaying the
    recorded entries and exits gives the members."""
    db = Database(engine, info=session_info())
    with db.write() as s:
        conn = s.connection()
        for name in ("segment_changes", "segment_members", "segments"):
            conn.execute(sa.text(f"DELETE FROM {name}"))
        _load(conn, before)
        ids = []
        for i, cond in enumerate(conds):
            ids.append(create_segment(s, name=f"s{i}", definition=Definition(cond), now=NOW).segment_id)
    with db.write() as s:
        conn = s.connection()
        _load(conn, after)
        people = {p["id"] for p in before["people"]} | {p["id"] for p in after["people"]}
        refresh_people(s, people, now=NOW)
    with db.read() as s:
        for segment_id, cond in zip(ids, conds, strict=True):
            members = set(
                s.scalars(sa.select(SegmentMember.person_id).where(SegmentMember.segment_id == segment_id))
            )
            assert members == _expected(after, cond), Definition(cond).document()
            replayed: set[int] = set()
            for person, entered in s.execute(
                sa.select(SegmentChange.person_id, SegmentChange.entered)
                .where(SegmentChange.segment_id == segment_id)
                .order_by(SegmentChange.id)
            ):
                assert (person in replayed) != entered, "an entry of a member or an exit of a non-member"
                (replayed.add if entered else replayed.discard)(person)
            assert replayed == members
            assert s.scalar(sa.select(Segment.size).where(Segment.id == segment_id)) == len(members)
