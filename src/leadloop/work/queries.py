"""Read models of the workbench: a lead's contacts with their last activities, "why now", the notes
and tasks of a record, and a user's tasks by when they are due. Callers check visibility first
(access/); these read what they are asked for."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import may_work
from leadloop.access.repository import managers_of
from leadloop.auth.model import Principal
from leadloop.contract.vocab import ACTIVITY_TYPES
from leadloop.lifecycle.history import ARRIVAL
from leadloop.lifecycle.model import DEFAULT_PRODUCT
from leadloop.store.tables import Account, Activity, Lead, LeadStageChange, Note, Person, Task, User
from leadloop.work.model import (
    DUE_LABELS,
    OUTCOME_CHOICES,
    TOUCH_CHOICES,
    Due,
    Signal,
    Subject,
    TouchKind,
    WhyNow,
    classify,
    done_message,
    outcome_label,
    tomorrow_morning,
    why_now,
    zone,
)

LAST_ACTIVITIES = 3
MAX_PEOPLE = 200  # of one account, behind "more"
_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HAND_RAISES = tuple(sorted(t for t, (_, raised) in ACTIVITY_TYPES.items() if raised))


def buying_role(seniority: str | None) -> str:
    """The buying-centre role a seniority suggests (scoring counts the same roles on a lead)."""
    s = (seniority or "").casefold()
    if s in ("c-level", "vp", "director", "owner", "partner", "head"):
        return "Decision maker"
    if s in ("manager", "team lead"):
        return "Manager"
    return "Practitioner" if s else ""


def person_name(first: str | None, last: str | None, email: str | None) -> str:
    return " ".join(x for x in (first, last) if x) or email or "(no name)"


@dataclass(frozen=True)
class RecentActivity:
    type: str
    occurred_at: datetime
    outcome: str  # a label, for a logged touch
    note: str | None

    @property
    def label(self) -> str:
        return self.type.replace("_", " ")


@dataclass
class Contact:
    id: int
    name: str
    title: str | None
    role: str
    department: str | None
    phone: str | None
    email: str | None
    engaged: bool  # has activity about this lead's product
    last_activity_at: datetime | None
    recent: list[RecentActivity] = field(default_factory=list)

    @property
    def tel(self) -> str | None:
        """The number as a tel: URI takes it: digits and a leading +, nothing else."""
        if not self.phone:
            return None
        digits = "".join(c for c in self.phone if c.isdigit() or c == "+")
        return digits or None


@dataclass(frozen=True)
class WhyNowView:
    type: str
    occurred_at: datetime
    person_id: int | None
    person: str | None
    reason: str  # "hand_raise" | "crossed_mql"
    explanation: str | None  # the lifecycle's words when it moved the lead to MQL, if any

    @property
    def label(self) -> str:
        what = self.type.replace("_", " ")
        return (
            f"Raised a hand: {what}" if self.reason == "hand_raise" else f"Crossed the MQL threshold: {what}"
        )


@dataclass
class LeadWork:
    """What the inbox row and the lead page show to work one lead."""

    lead_id: int
    contacts: list[Contact]  # engaged with the lead's product, latest first
    others: list[Contact]  # the rest of the account's people, behind "more"
    why: WhyNowView | None

    @property
    def primary(self) -> Contact | None:
        """Whom to call first: whoever raised the hand (or tipped the lead), else the latest engaged."""
        if self.why is not None and self.why.person_id is not None:
            for c in self.contacts:
                if c.id == self.why.person_id:
                    return c
        return self.contacts[0] if self.contacts else (self.others[0] if self.others else None)

    @property
    def follow_up_title(self) -> str:
        """What a follow-up is called when it is offered, ready to save."""
        return f"Follow up with {self.primary.name}" if self.primary else "Follow up"


def _recent(session: Session, person_ids: Sequence[int]) -> dict[int, list[RecentActivity]]:
    """Each person's last few activities, newest first, in one query (a window per person)."""
    if not person_ids:
        return {}
    ranked = (
        sa.select(
            Activity.person_id,
            Activity.type,
            Activity.occurred_at,
            Activity.payload,
            sa.func.row_number()
            .over(partition_by=Activity.person_id, order_by=(Activity.occurred_at.desc(), Activity.id.desc()))
            .label("n"),
        )
        .where(Activity.person_id.in_(list(person_ids)))
        .subquery()
    )
    out: dict[int, list[RecentActivity]] = defaultdict(list)
    for pid, kind, at, payload, _ in session.execute(
        sa.select(ranked).where(ranked.c.n <= LAST_ACTIVITIES).order_by(ranked.c.person_id, ranked.c.n)
    ):
        data = payload or {}
        note = data.get("note") if isinstance(data.get("note"), str) else None
        out[pid].append(RecentActivity(kind, at, outcome_label(data.get("outcome")), note))
    return out


def contacts_for(session: Session, leads: Iterable[Lead]) -> dict[int, tuple[list[Contact], list[Contact]]]:
    """Lead id -> (its engaged contacts, latest activity first; the account's other people)."""
    leads = list(leads)
    accounts = {lead.account_id for lead in leads}
    if not accounts:
        return {}
    engaged: dict[tuple[int, str], dict[int, datetime]] = defaultdict(dict)
    # Grouped by the raw product (PostgreSQL will not group by a bound coalesce); no product is
    # the default product, as the lead summary counts it.
    for acct, product, pid, last in session.execute(
        sa.select(
            Activity.account_id, Activity.product, Activity.person_id, sa.func.max(Activity.occurred_at)
        )
        .where(Activity.account_id.in_(accounts), Activity.person_id.is_not(None))
        .group_by(Activity.account_id, Activity.product, Activity.person_id)
    ):
        if acct is not None and pid is not None:
            seen = engaged[(acct, product or DEFAULT_PRODUCT)]
            seen[pid] = max(seen.get(pid, last), last)
    # At most MAX_PEOPLE of each account (a window per account: a large account is never all loaded).
    ranked = (
        sa.select(
            Person.id,
            sa.func.row_number().over(partition_by=Person.account_id, order_by=Person.id).label("n"),
        )
        .where(Person.account_id.in_(accounts), Person.merged_into_id.is_(None))
        .subquery()
    )
    people: dict[int, list[Person]] = defaultdict(list)
    for p in session.scalars(
        sa.select(Person)
        .join(ranked, ranked.c.id == Person.id)
        .where(ranked.c.n <= MAX_PEOPLE)
        .order_by(Person.id)
    ):
        if p.account_id is not None:
            people[p.account_id].append(p)
    recent = _recent(session, [p.id for ps in people.values() for p in ps])
    out: dict[int, tuple[list[Contact], list[Contact]]] = {}
    for lead in leads:
        mine = engaged.get((lead.account_id, lead.product), {})
        rows = [
            Contact(
                p.id,
                person_name(p.first_name, p.last_name, p.email),
                p.title,
                buying_role(p.seniority),
                p.department,
                p.phone,
                p.email,
                p.id in mine,
                mine.get(p.id),
                recent.get(p.id, []),
            )
            for p in people.get(lead.account_id, [])
        ]
        first = sorted(
            (c for c in rows if c.engaged), key=lambda c: (c.last_activity_at or _EPOCH, c.id), reverse=True
        )
        rest = [c for c in rows if not c.engaged]
        out[lead.id] = (first, rest)
    return out


def why_now_for(session: Session, lead: Lead) -> WhyNowView | None:
    """The activity that made the lead hot, from the log (work/model.py `why_now` decides)."""
    where = sa.and_(
        Activity.account_id == lead.account_id,
        sa.func.coalesce(Activity.product, DEFAULT_PRODUCT) == lead.product,
        # Sales' own calls, meetings and e-mails are answers to "why now", not reasons for it.
        sa.or_(Activity.type.not_in([k.value for k in TouchKind]), Activity.direction == "inbound"),
    )
    cols = (Activity.id, Activity.type, Activity.occurred_at, Activity.person_id)
    rows: list[Any] = []
    if lead.mql_at is not None:
        rows += session.execute(
            sa.select(*cols)
            .where(where, Activity.occurred_at <= lead.mql_at)
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
            .limit(5)
        ).all()
    raised = sa.select(*cols).where(where, Activity.type.in_(HAND_RAISES))
    if lead.mql_at is not None:
        raised = raised.where(Activity.occurred_at >= lead.mql_at)
    rows += session.execute(raised.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(1)).all()
    signals = [Signal(i, t, at, pid, t in HAND_RAISES) for i, t, at, pid in rows]
    found: WhyNow | None = why_now(signals, lead.mql_at)
    if found is None:
        return None
    s = found.signal
    person = session.get(Person, s.person_id) if s.person_id else None
    explanation = session.scalar(
        sa.select(LeadStageChange.reason)
        .where(
            LeadStageChange.lead_id == lead.id,
            LeadStageChange.to_stage == "mql",
            ARRIVAL,  # the move into MQL says why; a routing while it is one says whose it is
        )
        .order_by(LeadStageChange.at.desc(), LeadStageChange.id.desc())
        .limit(1)
    )
    return WhyNowView(
        s.type,
        s.occurred_at,
        s.person_id,
        person_name(person.first_name, person.last_name, person.email) if person else None,
        found.reason,
        explanation,
    )


def lead_work(session: Session, leads: Sequence[Lead]) -> dict[int, LeadWork]:
    contacts = contacts_for(session, leads)
    return {
        lead.id: LeadWork(lead.id, *contacts.get(lead.id, ([], [])), why_now_for(session, lead))
        for lead in leads
    }


def may_work_lead(session: Session, who: Principal, lead: Lead) -> bool:
    chain = managers_of(session, lead.owner_user_id) if lead.owner_user_id is not None else []
    return may_work(who.role, who.user_id, lead.owner_user_id, chain)


# Notes and tasks


@dataclass(frozen=True)
class NoteView:
    id: int
    author: str
    created_at: datetime
    body: str


def _about(kind: Subject) -> Any:
    return {Subject.LEAD: Note.lead_id, Subject.PERSON: Note.person_id, Subject.ACCOUNT: Note.account_id}[
        kind
    ]


def notes_of(session: Session, kind: Subject, record_id: int, *, limit: int = 100) -> list[NoteView]:
    rows = session.execute(
        sa.select(Note.id, User.name, Note.created_at, Note.body)
        .join(User, User.id == Note.author_user_id)
        .where(_about(kind) == record_id)
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(limit)
    ).all()
    return [NoteView(*r) for r in rows]


@dataclass(frozen=True)
class TaskView:
    id: int
    title: str
    due_at: datetime
    due_local: str  # in the viewer's time zone, with the zone's name
    due: Due
    owner: str
    about: str  # what the record is, for a person
    link: str
    done_at: datetime | None
    owner_user_id: int
    created_by_user_id: int

    @property
    def due_label(self) -> str:
        return DUE_LABELS[self.due]


def _subject_names(session: Session, tasks: Sequence[Task]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    lead_ids = {t.lead_id for t in tasks if t.lead_id}
    if lead_ids:
        for lid, acct, product in session.execute(
            sa.select(Lead.id, Account.name, Lead.product)
            .join(Account, Account.id == Lead.account_id)
            .where(Lead.id.in_(lead_ids))
        ):
            names[("lead", lid)] = f"{acct} · {product}"
    person_ids = {t.person_id for t in tasks if t.person_id}
    if person_ids:
        for pid, first, last, email in session.execute(
            sa.select(Person.id, Person.first_name, Person.last_name, Person.email).where(
                Person.id.in_(person_ids)
            )
        ):
            names[("person", pid)] = person_name(first, last, email)
    account_ids = {t.account_id for t in tasks if t.account_id}
    if account_ids:
        for aid, name in session.execute(
            sa.select(Account.id, Account.name).where(Account.id.in_(account_ids))
        ):
            names[("account", aid)] = name
    return names


def task_views(session: Session, tasks: Sequence[Task], *, now: datetime, tz: ZoneInfo) -> list[TaskView]:
    names = _subject_names(session, tasks)
    owners = {
        i: n
        for i, n in session.execute(
            sa.select(User.id, User.name).where(User.id.in_({t.owner_user_id for t in tasks} or {-1}))
        )
    }
    out = []
    for t in tasks:
        kind, record_id = (
            ("lead", t.lead_id)
            if t.lead_id
            else ("person", t.person_id)
            if t.person_id
            else ("account", t.account_id)
        )
        assert record_id is not None
        path = {"lead": "/leads", "person": "/people", "account": "/accounts"}[kind]
        local = t.due_at.astimezone(tz)
        out.append(
            TaskView(
                t.id,
                t.title,
                t.due_at,
                f"{local:%a %d %b %H:%M} {local.tzname() or ''}".strip(),
                classify(t.due_at, t.done_at, now, tz),
                owners.get(t.owner_user_id, ""),
                names.get((kind, record_id), f"{kind} #{record_id}"),
                f"{path}/{record_id}",
                t.done_at,
                t.owner_user_id,
                t.created_by_user_id,
            )
        )
    return out


@dataclass
class MyTasks:
    overdue: list[TaskView]
    today: list[TaskView]
    upcoming: list[TaskView]
    done: list[TaskView]

    @property
    def open_count(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.upcoming)


def user_zone(session: Session, user_id: int) -> ZoneInfo:
    return zone(session.scalar(sa.select(User.timezone).where(User.id == user_id)))


def my_tasks(session: Session, user_id: int, *, now: datetime, limit: int = 100) -> MyTasks:
    """A user's open tasks by when they are due, and the few they finished in the last day."""
    tz = user_zone(session, user_id)
    open_ = session.scalars(
        sa.select(Task)
        .where(Task.owner_user_id == user_id, Task.done_at.is_(None))
        .order_by(Task.due_at, Task.id)
        .limit(limit)
    ).all()
    done = session.scalars(
        sa.select(Task)
        .where(Task.owner_user_id == user_id, Task.done_at.is_not(None), Task.done_at >= now - _DAY)
        .order_by(Task.done_at.desc())
        .limit(10)
    ).all()
    views = task_views(session, [*open_, *done], now=now, tz=tz)
    return MyTasks(
        [v for v in views if v.due is Due.OVERDUE],
        [v for v in views if v.due is Due.TODAY],
        [v for v in views if v.due is Due.UPCOMING],
        [v for v in views if v.due is Due.DONE],
    )


def tasks_of(
    session: Session, kind: Subject, record_id: int, *, now: datetime, tz: ZoneInfo
) -> list[TaskView]:
    """The tasks about one record: open ones by due time, then the finished ones."""
    column = {Subject.LEAD: Task.lead_id, Subject.PERSON: Task.person_id, Subject.ACCOUNT: Task.account_id}[
        kind
    ]
    tasks = session.scalars(
        sa.select(Task)
        .where(column == record_id)
        .order_by(Task.done_at.is_not(None), Task.due_at, Task.id)
        .limit(100)
    ).all()
    return task_views(session, tasks, now=now, tz=tz)


def inbox_context(
    session: Session, user_id: int, lead_ids: Sequence[int], *, now: datetime
) -> dict[str, Any]:
    """What the inbox rows need besides routing's row: each lead's contacts and "why now", its open
    tasks, and the forms' choices (a follow-up is offered for tomorrow morning, the user's time)."""
    leads = session.scalars(sa.select(Lead).where(Lead.id.in_(list(lead_ids) or [-1]))).all()
    open_tasks: dict[int, int] = {
        lead_id: n
        for lead_id, n in session.execute(
            sa.select(Task.lead_id, sa.func.count())
            .where(Task.lead_id.in_(list(lead_ids) or [-1]), Task.done_at.is_(None))
            .group_by(Task.lead_id)
        )
        if lead_id is not None
    }
    day, at = tomorrow_morning(now, user_zone(session, user_id))
    return {
        "work": lead_work(session, leads),
        "open_tasks": open_tasks,
        "touch_kinds": TOUCH_CHOICES,
        "outcomes": OUTCOME_CHOICES,
        "follow_up_date": day.isoformat(),
        "follow_up_time": at.strftime("%H:%M"),
    }


def lead_page_context(
    session: Session, who: Principal, lead: Lead, *, now: datetime, done: str = ""
) -> dict[str, Any]:
    """The workbench on a lead's page: contacts, why now, its notes and tasks, and whether this
    person may log touches on it (the owner's line: ADR 0016)."""
    tz = user_zone(session, who.user_id)
    day, at = tomorrow_morning(now, tz)
    return {
        "work": lead_work(session, [lead])[lead.id],
        "notes": notes_of(session, Subject.LEAD, lead.id),
        "tasks": tasks_of(session, Subject.LEAD, lead.id, now=now, tz=tz),
        "may_work": may_work_lead(session, who, lead),
        "touch_kinds": TOUCH_CHOICES,
        "outcomes": OUTCOME_CHOICES,
        "follow_up_date": day.isoformat(),
        "follow_up_time": at.strftime("%H:%M"),
        "done": done_message(done),
    }


__all__ = [
    "done_message",
    "inbox_context",
    "lead_page_context",
    "lead_work",
    "my_tasks",
    "notes_of",
    "tasks_of",
]
