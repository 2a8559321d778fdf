"""What the sequence pages and API read: a person's enrolments, and the sequence report (enrolled,
sent, opened, clicked, replied, direct mail, exited by reason, reactivated)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.nurture.repository import ACTIVE, active_sequences
from leadloop.store.tables import Activity, Enrolment, NurtureSend, NurtureStep, SequenceRow


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
    sends = (
        sa.select(Enrolment.sequence_name, NurtureSend.id, NurtureSend.person_id, NurtureSend.sent_at)
        .join(Enrolment, Enrolment.id == NurtureSend.enrolment_id)
        .subquery()
    )
    for name, n in session.execute(
        sa.select(sends.c.sequence_name, sa.func.count()).group_by(sends.c.sequence_name)
    ):
        of(name).sent = n
    # A message counts as opened (clicked) when its person opened (clicked) after it was sent.
    engaged: dict[tuple[str, str], set[int]] = defaultdict(set)
    for name, send_id, kind in session.execute(
        sa.select(sends.c.sequence_name, sends.c.id, Activity.type)
        .join(
            Activity,
            sa.and_(
                Activity.person_id == sends.c.person_id,
                Activity.occurred_at >= sends.c.sent_at,
                Activity.type.in_(("email_open", "email_click")),
            ),
        )
        .distinct()
    ):
        engaged[(name, kind)].add(send_id)
        if kind == "email_click":
            engaged[(name, "email_open")].add(send_id)
    for (name, kind), ids in engaged.items():
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
