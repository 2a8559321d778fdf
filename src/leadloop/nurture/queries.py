"""What the sequence pages and API read: a person's enrolments, and the sequence report (enrolled,
sent, opened, clicked, replied, direct mail, exited by reason, reactivated)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.clock import as_utc
from leadloop.nurture.repository import ACTIVE, active_sequences
from leadloop.store.tables import Activity, Enrolment, Lead, NurtureSend, NurtureStep, Person, SequenceRow


@dataclass(frozen=True)
class EnrolmentView:
    id: int
    sequence: str
    version: int
    state: str
    step: str
    trigger: str
    trigger_detail: str | None
    entered_at: datetime
    exited_at: datetime | None
    exit_reason: str | None
    note: str | None
    sent: int

    def json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def person_enrolments(session: Session, person_id: int) -> list[EnrolmentView]:
    sent = (
        sa.select(sa.func.count())
        .where(NurtureSend.enrolment_id == Enrolment.id)
        .correlate(Enrolment)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(Enrolment, SequenceRow.version, sent)
        .join(SequenceRow, SequenceRow.id == Enrolment.sequence_id)
        .where(Enrolment.person_id == person_id)
        .order_by(Enrolment.id.desc())
    ).all()
    return [
        EnrolmentView(
            e.id,
            e.sequence_name,
            version,
            e.state,
            e.step,
            e.trigger,
            e.trigger_detail,
            e.entered_at,
            e.exited_at,
            e.exit_reason,
            e.note,
            int(n or 0),
        )
        for e, version, n in rows
    ]


def enrollable(session: Session) -> list[str]:
    """The names of the active sequences, for the enrol button."""
    return sorted(doc.name for _, doc in active_sequences(session))


@dataclass
class Report:
    sequence: str
    enrolled: int = 0
    active: int = 0
    completed: int = 0
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    deferred: int = 0
    pieces: int = 0  # direct mail listed or handed to the print service
    pieces_skipped: dict[str, int] = field(default_factory=dict)  # by reason: no_address...
    exited: dict[str, int] = field(default_factory=dict)

    @property
    def replied(self) -> int:
        return self.exited.get("replied", 0)

    @property
    def reactivated(self) -> int:
        """Left the drip because they came back to sales (MQL, or a salesperson took them)."""
        return self.exited.get("reached_mql", 0) + self.exited.get("owned_by_sales", 0)

    def json(self) -> dict[str, Any]:
        return {**self.__dict__, "replied": self.replied, "reactivated": self.reactivated}


def _engaged(session: Session, sends: Sequence[Any]) -> dict[tuple[str, str], set[int]]:
    """Which sends were opened (clicked): a person's `email_open`/`email_click` names the message it
    came from (payload `message`, the outbox key: the same reading as a branch's, repository
    `engagement_with`); one from a tracker that does not say goes to their latest send before it,
    never to every earlier one. A machine's hit has a type of its own and never counts (ADR 0032)."""
    by_key = {r.outbox_key: (r.sequence_name, r.id) for r in sends}
    by_person: dict[int, list[tuple[datetime, str, int]]] = defaultdict(list)
    for r in sends:
        by_person[r.person_id].append((as_utc(r.sent_at), r.sequence_name, r.id))
    for history in by_person.values():
        history.sort()
    engaged: dict[tuple[str, str], set[int]] = defaultdict(set)
    if not by_person:
        return engaged
    hits = session.execute(
        sa.select(Activity.person_id, Activity.type, Activity.occurred_at, Activity.payload).where(
            Activity.type.in_(("email_open", "email_click")),
            Activity.person_id.in_(sa.select(NurtureSend.person_id).distinct()),
        )
    )
    for person_id, kind, at, payload in hits:
        message = (payload or {}).get("message")
        if message is not None:
            found = by_key.get(str(message))
        else:
            earlier = [h for h in by_person.get(person_id, []) if h[0] <= as_utc(at)]
            found = (earlier[-1][1], earlier[-1][2]) if earlier else None
        if found is None:
            continue  # another system's message, or one from before any drip
        engaged[(found[0], kind)].add(found[1])
        if kind == "email_click":
            engaged[(found[0], "email_open")].add(found[1])  # a click implies an open
    return engaged


def report(session: Session) -> list[Report]:
    out: dict[str, Report] = {}

    def of(name: str) -> Report:
        return out.setdefault(name, Report(name))

    for name, state, reason, n in session.execute(
        sa.select(Enrolment.sequence_name, Enrolment.state, Enrolment.exit_reason, sa.func.count()).group_by(
            Enrolment.sequence_name, Enrolment.state, Enrolment.exit_reason
        )
    ):
        r = of(name)
        r.enrolled += n
        if state == ACTIVE:
            r.active += n
        elif reason == "completed":
            r.completed += n
        else:
            r.exited[reason or "unknown"] = r.exited.get(reason or "unknown", 0) + n
    sends = session.execute(
        sa.select(
            Enrolment.sequence_name,
            NurtureSend.id,
            NurtureSend.person_id,
            NurtureSend.sent_at,
            NurtureSend.outbox_key,
        ).join(Enrolment, Enrolment.id == NurtureSend.enrolment_id)
    ).all()
    for name, n in Counter(r.sequence_name for r in sends).items():
        of(name).sent = n
    for (name, kind), ids in _engaged(session, sends).items():
        if kind == "email_open":
            of(name).opened = len(ids)
        else:
            of(name).clicked = len(ids)
    for name, n in session.execute(
        sa.select(Enrolment.sequence_name, sa.func.count())
        .join(NurtureStep, NurtureStep.enrolment_id == Enrolment.id)
        .where(NurtureStep.outcome == "deferred")
        .group_by(Enrolment.sequence_name)
    ):
        of(name).deferred = n
    for name, outcome, n in session.execute(
        sa.select(Enrolment.sequence_name, NurtureStep.outcome, sa.func.count())
        .join(NurtureStep, NurtureStep.enrolment_id == Enrolment.id)
        .where(NurtureStep.kind == "postal")
        .group_by(Enrolment.sequence_name, NurtureStep.outcome)
    ):
        r = of(name)
        if outcome in ("listed", "queued"):
            r.pieces += n
        else:
            r.pieces_skipped[outcome] = r.pieces_skipped.get(outcome, 0) + n
    for _, doc in active_sequences(session):
        of(doc.name)
    return sorted(out.values(), key=lambda r: r.sequence)


def accounts_of_visible(
    session: Session, shown: sa.Select[Any] | None, person_ids: Sequence[int]
) -> dict[int, int | None]:
    """Person id -> account id, for the people named that exist and that the caller may see
    (`shown`: access.visible_ids; None: everyone)."""
    query = sa.select(Person.id, Person.account_id).where(Person.id.in_(sorted(set(person_ids))))
    if shown is not None:
        query = query.where(Person.id.in_(shown))
    return {int(r.id): r.account_id for r in session.execute(query)}


def off_the_lead(session: Session, lead_id: int, accounts: dict[int, int | None]) -> list[int]:
    """The people (of `accounts`: person -> account) who are not on the lead's account."""
    account = session.scalar(sa.select(Lead.account_id).where(Lead.id == lead_id))
    return sorted(p for p, a in accounts.items() if a != account)
