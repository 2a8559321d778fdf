"""Persistence for sequences: the active versions, enrolments and their timers, the step log and
the sends, and what a step needs to know about its person (loaded here, decided in model.py)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.jobs.timers import cancel_many, schedule_many
from leadloop.lifecycle.model import DEFAULT_PRODUCT
from leadloop.nurture.checks import parse_sequence
from leadloop.nurture.document import PERSON_FIELDS, SequenceDoc
from leadloop.nurture.model import Allowed, Facts, History, Throttle, Verdict
from leadloop.nurture.zones import zone_for
from leadloop.routing.calendar import CalendarError, holiday_table
from leadloop.scoring.decay import Decaying, decay_rate, epoch
from leadloop.scoring.repository import active_model
from leadloop.segments.queries import segments_of
from leadloop.store.bulk import chunks, connection
from leadloop.store.tables import (
    Account,
    Activity,
    DirectMail,
    Enrolment,
    Lead,
    NurtureSend,
    NurtureStep,
    Person,
    SequenceRow,
    Timer,
    User,
)

STEP_TIMER = "nurture_step"  # one pending timer per active enrolment, subject "enrolment:<id>"
ACTIVE, COMPLETED, EXITED = "active", "completed", "exited"
MAX_MERGE_HOPS = 20


def subject(enrolment_id: int) -> str:
    return f"enrolment:{enrolment_id}"


@functools.cache
def default_sequence() -> SequenceDoc:
    return parse_sequence(resources.files("leadloop.nurture").joinpath("default_sequence.yaml").read_text())


@functools.lru_cache(maxsize=128)
def _parsed(document: str) -> SequenceDoc:
    # Keyed by the text: a saved version never changes, and a row id means nothing across databases.
    return parse_sequence(document)


def active_sequences(session: Session) -> list[tuple[int, SequenceDoc]]:
    """Every active sequence (one version per name), oldest activation first."""
    rows = session.execute(
        sa.select(SequenceRow.id, SequenceRow.document)
        .where(SequenceRow.status == "active")
        .order_by(SequenceRow.activated_at, SequenceRow.id)
    ).all()
    return [(r.id, _parsed(r.document)) for r in rows]


def active_sequence(session: Session, name: str) -> tuple[int, SequenceDoc] | None:
    row = session.execute(
        sa.select(SequenceRow.id, SequenceRow.document).where(
            SequenceRow.status == "active", SequenceRow.name == name
        )
    ).first()
    return (row.id, _parsed(row.document)) if row else None


def latest_active(session: Session) -> tuple[SequenceDoc, int | None]:
    """The documents machine's "active one": the latest activated sequence, else the shipped example."""
    found = active_sequences(session)
    return (found[-1][1], found[-1][0]) if found else (default_sequence(), None)


def document(session: Session, sequence_id: int) -> SequenceDoc:
    text = session.scalar(sa.select(SequenceRow.document).where(SequenceRow.id == sequence_id))
    if text is None:
        raise LookupError(f"sequence version #{sequence_id} is gone")
    return _parsed(text)


# People and leads.
def survivors(session: Session, person_ids: Iterable[int]) -> dict[int, int]:
    """Each live person id for the ids given (a merged person stands for the one it merged into);
    ids of nobody are left out."""
    out: dict[int, int] = {}
    todo = {p: p for p in person_ids}
    for _ in range(MAX_MERGE_HOPS):
        if not todo:
            break
        rows = session.execute(
            sa.select(Person.id, Person.merged_into_id).where(Person.id.in_(set(todo.values())))
        ).all()
        found = {r.id: r.merged_into_id for r in rows}
        nxt: dict[int, int] = {}
        for asked, current in todo.items():
            if current not in found:
                continue
            if found[current] is None:
                out[asked] = current
            else:
                nxt[asked] = found[current]
        todo = nxt
    return out


def lock_people(session: Session, person_ids: Sequence[int]) -> None:
    """Row locks on PostgreSQL, in id order (no deadlock between two bulk enrolments)."""
    if session.get_bind().dialect.name == "postgresql" and person_ids:
        for part in chunks(sorted(set(person_ids))):
            session.execute(
                sa.select(Person.id).where(Person.id.in_(part)).order_by(Person.id).with_for_update()
            ).all()


def lead_contacts(session: Session, lead_ids: Sequence[int]) -> dict[int, list[int]]:
    """The people of each lead: who acted on its account about its product (as the lead's contact
    count is defined), live and with an address."""
    if not lead_ids:
        return {}
    rows = session.execute(
        sa.select(Lead.id, Activity.person_id)
        .join(
            Activity,
            sa.and_(
                Activity.account_id == Lead.account_id,
                sa.func.coalesce(Activity.product, DEFAULT_PRODUCT) == Lead.product,
            ),
        )
        .join(Person, Person.id == Activity.person_id)
        .where(Lead.id.in_(lead_ids), Person.merged_into_id.is_(None), Person.email.is_not(None))
        .distinct()
    ).all()
    out: dict[int, list[int]] = {lead_id: [] for lead_id in lead_ids}
    for lead_id, person_id in rows:
        if person_id is not None:
            out[lead_id].append(person_id)
    for people in out.values():
        people.sort()
    return out


def lead_stages(session: Session, lead_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(lead_ids))
    if not ids:
        return {}
    return dict(session.execute(sa.select(Lead.id, Lead.stage).where(Lead.id.in_(ids))).all())


def leads_of(session: Session, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, str]]:
    """(account, product) -> (lead id, stage) for those that have a lead."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(Lead.id, Lead.account_id, Lead.product, Lead.stage).where(
            Lead.account_id.in_({a for a, _ in wanted})
        )
    ).all()
    return {(r.account_id, r.product): (r.id, r.stage) for r in rows if (r.account_id, r.product) in wanted}


# Enrolments.
def histories(session: Session, name: str, person_ids: Sequence[int]) -> dict[int, History]:
    out: dict[int, History] = {}
    for part in chunks(sorted(set(person_ids))):
        rows = session.execute(
            sa.select(
                Enrolment.person_id,
                sa.func.count(),
                sa.func.sum(sa.case((Enrolment.state == ACTIVE, 1), else_=0)),
                sa.func.max(Enrolment.exited_at),
            )
            .where(Enrolment.sequence_name == name, Enrolment.person_id.in_(part))
            .group_by(Enrolment.person_id)
        ).all()
        for pid, entries, active, last_exit in rows:
            out[pid] = History(active=bool(active), entries=int(entries), last_exit=last_exit)
    return out


@dataclass(frozen=True)
class NewEnrolment:
    person_id: int
    lead_id: int | None


def add_enrolments(
    session: Session,
    sequence_id: int,
    doc: SequenceDoc,
    new: Sequence[NewEnrolment],
    *,
    trigger: str,
    detail: str | None,
    by_user_id: int | None,
    now: datetime,
) -> list[int]:
    """Insert active enrolments at the first step, each with its timer due now: the first step runs
    at the next sweep (inside the send window, or it waits for it)."""
    rows = [
        Enrolment(
            person_id=n.person_id,
            lead_id=n.lead_id,
            sequence_id=sequence_id,
            sequence_name=doc.name,
            state=ACTIVE,
            step=doc.first(),
            actions=0,
            trigger=trigger,
            trigger_detail=(detail or None) and str(detail)[:200],
            by_user_id=by_user_id,
            entered_at=now,
        )
        for n in new
    ]
    session.add_all(rows)
    session.flush()
    schedule_many(session, [(STEP_TIMER, subject(r.id), now, {"step": doc.first()}) for r in rows])
    return [r.id for r in rows]


def end_enrolments(
    session: Session, ids: Sequence[int], *, state: str, reason: str, now: datetime, note: str | None = None
) -> list[int]:
    """Complete or exit these active enrolments (the others are left as they are) and settle their
    timers, in this transaction. Returns the ids that ended here."""
    ended: list[int] = []
    for part in chunks(sorted(set(ids))):
        ended += list(
            session.scalars(
                sa.update(Enrolment)
                .where(Enrolment.id.in_(part), Enrolment.state == ACTIVE)
                .values(state=state, exited_at=now, exit_reason=reason, note=note and note[:300])
                .returning(Enrolment.id)
            )
        )
    if ended:
        cancel_many(session, (STEP_TIMER,), [subject(i) for i in ended], now=now)
        log_steps(session, [(i, "-", "exit", reason, now, note) for i in ended])
    return ended


def active_ids(
    session: Session, *, person_ids: Iterable[int] = (), lead_ids: Iterable[int] = ()
) -> list[int]:
    """Active enrolments of these people, or on these leads, or of these leads' accounts' people
    who entered without a lead."""
    people, leads = sorted(set(person_ids)), sorted(set(lead_ids))
    found: set[int] = set()
    for part in chunks(people):
        found |= set(
            session.scalars(
                sa.select(Enrolment.id).where(Enrolment.person_id.in_(part), Enrolment.state == ACTIVE)
            )
        )
    for part in chunks(leads):
        found |= set(
            session.scalars(
                sa.select(Enrolment.id).where(Enrolment.lead_id.in_(part), Enrolment.state == ACTIVE)
            )
        )
        accounts = sa.select(Lead.account_id).where(Lead.id.in_(part)).scalar_subquery()
        found |= set(
            session.scalars(
                sa.select(Enrolment.id)
                .join(Person, Person.id == Enrolment.person_id)
                .where(
                    Enrolment.lead_id.is_(None), Enrolment.state == ACTIVE, Person.account_id.in_(accounts)
                )
            )
        )
    return sorted(found)


def list_piece(session: Session, key: str, e: Enrolment, step: str, piece: str, *, now: datetime) -> None:
    """The person on the sequence's mailing list for `piece` (keyed like an outbox row: once)."""
    session.add(
        DirectMail(
            key=key,
            enrolment_id=e.id,
            person_id=e.person_id,
            sequence_name=e.sequence_name,
            step=step,
            piece=piece,
            listed_at=now,
        )
    )


def drop_listed(session: Session, person_ids: Iterable[int]) -> int:
    """These people leave every mailing list (a withdrawal from everything, an erasure)."""
    gone = 0
    for part in chunks(sorted(set(person_ids))):
        gone += (
            connection(session).execute(sa.delete(DirectMail).where(DirectMail.person_id.in_(part))).rowcount
        )
    return gone


def log_steps(session: Session, rows: Sequence[tuple[int, str, str, str, datetime, str | None]]) -> None:
    """(enrolment, step, kind, outcome, at, detail) rows of the step log."""
    if rows:
        connection(session).execute(
            sa.insert(NurtureStep),
            [
                {"enrolment_id": e, "step": s, "kind": k, "outcome": o, "at": at, "detail": d and d[:300]}
                for e, s, k, o, at, d in rows
            ],
        )


# What a step needs to know.
@dataclass(frozen=True)
class Recipient:
    """The enrolled person as a step sees them: where to write, what to call them, who sends."""

    person_id: int
    email: str | None
    values: dict[str, Any]  # the template variables, without the sender's
    fields: dict[str, Any]  # what a `field` branch tests
    country: str | None
    explicit_zone: str | None
    engagement: float
    fit: float | None
    lead_id: int | None
    lead_stage: str | None
    owner_user_id: int | None  # the lead's owner, if a user
    account_owner_user_id: int | None  # the account's rep (sticky routing)


def recipient(session: Session, person_id: int, lead_id: int | None, *, now: datetime) -> Recipient:
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError(f"person #{person_id} is gone")
    account = session.get(Account, person.account_id) if person.account_id else None
    lead = session.get(Lead, lead_id) if lead_id else None
    model, _ = active_model(session)
    rate = decay_rate(model.engagement.half_life_days)
    source = lead if lead is not None else person
    engagement = Decaying(source.engagement_s, source.engagement_t0).current(epoch(now), rate)
    attributes = person.attributes or {}
    fields: dict[str, Any] = {f: getattr(person, f, None) for f in PERSON_FIELDS}
    fields.update(grade=person.grade, fit_score=person.fit_score, email_kind=person.email_kind)
    if account is not None:
        for column in Account.__table__.columns:
            fields[f"account.{column.name}"] = getattr(account, column.key)
    fields.update({f"attributes.{k}": v for k, v in attributes.items()})
    values = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "title": person.title,
        "company": (account.name if account is not None else None) or person.company,
        "city": person.city,
        "country": person.country,
        "product": lead.product if lead is not None and lead.product != DEFAULT_PRODUCT else None,
    }
    zone = attributes.get("timezone") if isinstance(attributes.get("timezone"), str) else None
    return Recipient(
        person_id=person.id,
        email=person.email,
        values=values,
        fields=fields,
        country=person.country or (account.country if account is not None else None),
        explicit_zone=zone,
        engagement=engagement,
        fit=person.fit_score,
        lead_id=lead.id if lead is not None else None,
        lead_stage=lead.stage if lead is not None else None,
        owner_user_id=lead.owner_user_id if lead is not None else None,
        account_owner_user_id=account.owner_user_id if account is not None else None,
    )


def holiday_of(country: str | None) -> Any:
    """Is a local date a public holiday in this country? (None: no calendar, never.)"""
    if not country:
        return _never
    try:
        table = holiday_table(country.upper(), None)
    except CalendarError:
        return _never
    return lambda day: day in table


def _never(_day: date) -> bool:
    return False


def facts(
    session: Session,
    enrolment_id: int | None,
    doc: SequenceDoc,
    who: Recipient,
    verdict: Verdict,
    throttle: Throttle,
    now: datetime,
    *,
    may_post: Verdict = Allowed(True, "no_objection"),
) -> Facts:
    sends = tuple(
        session.scalars(
            sa.select(NurtureSend.sent_at).where(
                NurtureSend.person_id == who.person_id, NurtureSend.sent_at > now - throttle.per
            )
        )
    )
    opened, clicked = (
        engagement_with(session, enrolment_id, who.person_id) if enrolment_id else (frozenset(), frozenset())
    )
    return Facts(
        zone=zone_for(who.explicit_zone, who.country, doc.window.zone),
        holiday=holiday_of(who.country),
        fields=who.fields,
        engagement=who.engagement,
        fit=who.fit,
        opened=opened,
        clicked=clicked,
        segments=_segments_of(session, who.person_id) if _names_segments(doc) else frozenset(),
        sends=sends,
        verdict=verdict,
        may_post=may_post,
    )


def _names_segments(doc: SequenceDoc) -> bool:
    return any(s.branch is not None and s.branch.if_.segment is not None for s in doc.steps)


def _segments_of(session: Session, person_id: int) -> frozenset[str]:
    return frozenset(name for _, name, _ in segments_of(session, person_id))


def engagement_with(
    session: Session, enrolment_id: int, person_id: int
) -> tuple[frozenset[str], frozenset[str]]:
    """The e-mail steps of this enrolment whose message the person opened or clicked: an
    `email_open` / `email_click` activity that names the message (payload `message`: the outbox key),
    or, for trackers that do not say which message, any after that step's send."""
    sends = session.execute(
        sa.select(NurtureSend.step, NurtureSend.outbox_key, NurtureSend.sent_at).where(
            NurtureSend.enrolment_id == enrolment_id
        )
    ).all()
    if not sends:
        return frozenset(), frozenset()
    first = min(s.sent_at for s in sends)
    acts = session.execute(
        sa.select(Activity.type, Activity.occurred_at, Activity.payload).where(
            Activity.person_id == person_id,
            Activity.type.in_(("email_open", "email_click")),
            Activity.occurred_at >= first,
        )
    ).all()
    opened: set[str] = set()
    clicked: set[str] = set()
    for kind, at, payload in acts:
        named = (payload or {}).get("message")
        for s in sends:
            if (named == s.outbox_key) if named else at >= s.sent_at:
                (clicked if kind == "email_click" else opened).add(s.step)
    return frozenset(opened), frozenset(clicked)


def users(session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(wanted), User.active.is_(True)))
    }


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == email.lower(), User.active.is_(True))
    )


# The invariant: every active enrolment has exactly one pending timer; a finished one has none.
@dataclass(frozen=True)
class Broken:
    enrolment_id: int
    state: str
    problem: str  # "no pending timer" | "a pending timer after it ended"


def broken(session: Session) -> list[Broken]:
    pending = (
        sa.select(Timer.id)
        .where(
            Timer.kind == STEP_TIMER,
            Timer.done_at.is_(None),
            Timer.subject == sa.literal("enrolment:") + sa.cast(Enrolment.id, sa.String),
        )
        .exists()
    )
    stuck = session.execute(
        sa.select(Enrolment.id, Enrolment.state).where(Enrolment.state == ACTIVE, ~pending)
    ).all()
    zombies = session.execute(
        sa.select(Enrolment.id, Enrolment.state).where(Enrolment.state != ACTIVE, pending)
    ).all()
    return [Broken(i, s, "no pending timer") for i, s in stuck] + [
        Broken(i, s, "a pending timer after it ended") for i, s in zombies
    ]


def repair(session: Session, found: Sequence[Broken], *, now: datetime) -> None:
    """Re-arm a stuck enrolment at its step now; settle a finished one's timer."""
    stuck = [b.enrolment_id for b in found if b.state == ACTIVE]
    steps: dict[int, str] = {
        i: step
        for i, step in session.execute(sa.select(Enrolment.id, Enrolment.step).where(Enrolment.id.in_(stuck)))
    }
    schedule_many(session, [(STEP_TIMER, subject(i), now, {"step": steps[i]}) for i in stuck])
    cancel_many(
        session, (STEP_TIMER,), [subject(b.enrolment_id) for b in found if b.state != ACTIVE], now=now
    )


def lead_owners(session: Session, lead_ids: Iterable[int]) -> dict[int, int | None]:
    """Each lead's owner, if a user (a queue or a partner: None)."""
    ids = list(set(lead_ids))
    if not ids:
        return {}
    return dict(session.execute(sa.select(Lead.id, Lead.owner_user_id).where(Lead.id.in_(ids))).all())


def sends_of(session: Session, person_ids: Sequence[int]) -> list[tuple[str, str]]:
    """(outbox key, the sequence's subscription type) of every drip e-mail sent to these people."""
    rows = session.execute(
        sa.select(NurtureSend.outbox_key, SequenceRow.document)
        .join(Enrolment, Enrolment.id == NurtureSend.enrolment_id)
        .join(SequenceRow, SequenceRow.id == Enrolment.sequence_id)
        .where(NurtureSend.person_id.in_(list(person_ids)))
    ).all()
    return [(r.outbox_key, _parsed(r.document).subscription) for r in rows]


def forget_subjects(session: Session, person_ids: Sequence[int]) -> None:
    """An erased person's sends keep their count and time, not what they said to them."""
    session.execute(
        sa.update(NurtureSend).where(NurtureSend.person_id.in_(list(person_ids))).values(subject="(erased)")
    )


def enrolments_answered(session: Session, message_ids: set[str]) -> list[int]:
    """The active enrolments whose drip e-mail went out with one of these Message-IDs."""
    return sorted(
        set(
            session.scalars(
                sa.select(Enrolment.id)
                .join(NurtureSend, NurtureSend.enrolment_id == Enrolment.id)
                .where(NurtureSend.message_id.in_(sorted(message_ids)), Enrolment.state == ACTIVE)
            )
        )
    )


def active_by_subscription(session: Session, person_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(enrolment id, its sequence's subscription type) of these people's active enrolments."""
    out: list[tuple[int, str]] = []
    for part in chunks(sorted(set(person_ids))):
        rows = session.execute(
            sa.select(Enrolment.id, SequenceRow.document)
            .join(SequenceRow, SequenceRow.id == Enrolment.sequence_id)
            .where(Enrolment.person_id.in_(part), Enrolment.state == ACTIVE)
        ).all()
        out += [(r.id, _parsed(r.document).subscription) for r in rows]
    return out


def with_sales(session: Session, person_ids: Sequence[int], stages: Iterable[str]) -> set[int]:
    """The people whose account has a lead in one of these stages (sales is working it)."""
    out: set[int] = set()
    wanted = list(stages)
    for part in chunks(sorted(set(person_ids))):
        out |= set(
            session.scalars(
                sa.select(Person.id)
                .join(Lead, Lead.account_id == Person.account_id)
                .where(Person.id.in_(part), Lead.stage.in_(wanted))
                .distinct()
            )
        )
    return out
