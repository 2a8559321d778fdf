"""Workbench use cases: log a touch with its outcome, write a note, set, complete and reopen a task,
and the task reminder timer. Each loads, asks the rules in `model.py`, writes, and publishes; the
caller owns the transaction (ADR 0014).

A touch is not written here: it is a `TouchLogged` event, which capture appends to the activity
log (the log is the truth), and routing's reaction to that activity stops the SLA clock through
the lifecycle, exactly as a call synced from a dialer would."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import Scope
from leadloop.access.repository import require_visible, require_worker
from leadloop.auth.model import Principal, Role
from leadloop.core.errors import InvalidInput, NotFound, PermissionDenied
from leadloop.core.events import Event, TaskDue, TaskRequested, TouchLogged
from leadloop.core.reactions import publish
from leadloop.jobs import outbox
from leadloop.jobs.timers import Due, cancel, schedule
from leadloop.store.tables import Account, Lead, Note, Person, Task, User
from leadloop.work.model import (
    NOTE_MAX,
    TITLE_MAX,
    Subject,
    Touch,
    check_due,
    clean_text,
    reminder_at,
    subject,
    touch,
    zone,
)

TASK_DUE = "task_due"  # the timer kind of a task's reminder
ENTITY: dict[Subject, type[Lead] | type[Person] | type[Account]] = {
    Subject.LEAD: Lead,
    Subject.PERSON: Person,
    Subject.ACCOUNT: Account,
}
_COLUMN = {Subject.LEAD: "lead_id", Subject.PERSON: "person_id", Subject.ACCOUNT: "account_id"}
_PATH = {Subject.LEAD: "/leads", Subject.PERSON: "/people", Subject.ACCOUNT: "/accounts"}


def link_to(kind: Subject, record_id: int) -> str:
    return f"{_PATH[kind]}/{record_id}"


def log_touch(
    session: Session,
    lead_id: int,
    who: Principal,
    *,
    kind: str,
    outcome: str,
    note: str | None,
    person_id: int | None = None,
    now: datetime,
) -> tuple[Touch, list[Event]]:
    """A call, meeting or e-mail on a lead, with its outcome: only whoever may work the lead (it
    stops the owner's SLA clock). `person_id`, if given, must be a contact of the lead's account."""
    decided = touch(kind, outcome, note)
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    require_worker(session, who, lead, doing=f"log a {decided.kind.value.replace('_sent', '')} on")
    if person_id is not None:
        account_id = session.scalar(sa.select(Person.account_id).where(Person.id == person_id))
        if account_id != lead.account_id:
            raise InvalidInput(
                f"person #{person_id} is not a contact of this lead's account: choose one listed"
            )
    logged = TouchLogged(
        lead.id,
        lead.account_id,
        lead.product,
        decided.kind.value,
        who.email,
        decided.note,
        now,
        outcome=decided.outcome.value,
        person_id=person_id,
    )
    return decided, publish(session, [logged], now=now)


def _require_subject(session: Session, scope: Scope, kind: Subject, record_id: int) -> None:
    require_visible(session, scope, ENTITY[kind], record_id)


def add_note(
    session: Session, scope: Scope, who: Principal, about: str, record_id: int, body: str, *, now: datetime
) -> Note:
    """Anyone who may see the record may write on it; the note is seen by whoever sees the record."""
    kind = subject(about)
    text = clean_text(body, NOTE_MAX, "note")
    _require_subject(session, scope, kind, record_id)
    assert text is not None
    note = Note(author_user_id=who.user_id, body=text, created_at=now, **{_COLUMN[kind]: record_id})
    session.add(note)
    session.flush()
    return note


def add_task(
    session: Session,
    scope: Scope,
    who: Principal,
    *,
    title: str,
    due_at: datetime,
    about: str,
    record_id: int,
    owner_user_id: int | None = None,
    now: datetime,
) -> Task:
    """A task about a record the author may see, owned by the author, or by someone whose leads the
    author sees (a manager's rep); its reminder is armed as a timer."""
    kind = subject(about)
    text = clean_text(title, TITLE_MAX, "title")
    assert text is not None
    due_at = check_due(due_at, now)
    _require_subject(session, scope, kind, record_id)
    owner = owner_user_id or who.user_id
    if owner != who.user_id:
        user = session.get(User, owner)
        if user is None or not user.active:
            raise InvalidInput(f"there is no active user #{owner} to own the task")
        if not (scope.everything and who.role is Role.ADMIN) and owner not in scope.users:
            raise PermissionDenied("you may set tasks for yourself, or for the reps whose leads you manage")
    task = Task(
        title=text,
        due_at=due_at,
        owner_user_id=owner,
        created_by_user_id=who.user_id,
        created_at=now,
        **{_COLUMN[kind]: record_id},
    )
    session.add(task)
    session.flush()
    _arm(session, task, now=now)
    return task


def _arm(session: Session, task: Task, *, now: datetime) -> None:
    when = reminder_at(task.due_at, now) if task.done_at is None else None
    if when is None:
        cancel(session, TASK_DUE, f"task:{task.id}", now=now)
    else:
        schedule(session, TASK_DUE, f"task:{task.id}", when, {"due_at": task.due_at.isoformat()})


def _own_task(session: Session, who: Principal, task_id: int) -> Task:
    """Its owner, its author, or an admin may change a task; anyone else is told it does not exist."""
    task = session.get(Task, task_id)
    if task is None or (
        who.user_id not in (task.owner_user_id, task.created_by_user_id) and who.role is not Role.ADMIN
    ):
        raise NotFound(f"there is no task #{task_id} of yours")
    return task


def complete_task(session: Session, who: Principal, task_id: int, *, now: datetime) -> Task:
    task = _own_task(session, who, task_id)
    if task.done_at is None:
        task.done_at = now
        _arm(session, task, now=now)
    return task


def reopen_task(session: Session, who: Principal, task_id: int, *, now: datetime) -> Task:
    """Open again; a reminder still ahead is armed again (one already sent is not repeated)."""
    task = _own_task(session, who, task_id)
    if task.done_at is not None:
        task.done_at = None
        if task.reminded_at is None:
            _arm(session, task, now=now)
    return task


def task_subject(task: Task) -> tuple[Subject, int]:
    for kind, column in _COLUMN.items():
        if (value := getattr(task, column)) is not None:
            return kind, value
    raise ValueError(f"task #{task.id} is about nothing")  # the table's CHECK forbids it


def task_due(session: Session, due: Due, now: datetime) -> list[Event]:
    """Timer: a task's reminder time came. One e-mail (the outbox key is the task and its due time)
    and a `TaskDue` event (notifications react); a task done or moved since is left alone."""
    task = session.get(Task, int(due.subject.split(":", 1)[1]))
    if task is None or task.done_at is not None or task.reminded_at is not None:
        return []
    if due.payload.get("due_at") != task.due_at.isoformat():
        return []  # moved since: its own timer is armed for the new time
    owner = session.get(User, task.owner_user_id)
    if owner is None or not owner.active:
        return []
    kind, record_id = task_subject(task)
    link = link_to(kind, record_id)
    task.reminded_at = now
    key = f"task-due:{task.id}:{task.due_at.isoformat()}"
    local = task.due_at.astimezone(zone(owner.timezone))  # the owner's clock, as the app shows it
    when = f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip()
    outbox.email(
        session,
        key,
        to=owner.email,
        subject=f"Task due {when}: {task.title}",
        body=f"{task.title} is due {when}.",
        link=link,
        now=now,
    )
    return publish(session, [TaskDue(task.id, owner.id, task.title, task.due_at, link, now)], now=now)


def on_task_requested(session: Session, events: list[TaskRequested], now: datetime) -> list[Event]:
    """Reaction: a sequence step asked for a personal touch. The task is its owner's own (they may
    complete or move it like any other), about the lead, else the person; its reminder is armed."""
    for e in events:
        owner = session.get(User, e.owner_user_id)
        if owner is None or not owner.active:
            continue
        about = {"lead_id": e.lead_id} if e.lead_id is not None else {"person_id": e.person_id}
        title = clean_text(e.title, TITLE_MAX, "title") or "Follow up"
        task = Task(
            title=title,
            due_at=e.due_at,
            owner_user_id=owner.id,
            created_by_user_id=owner.id,
            created_at=now,
            **about,
        )
        session.add(task)
        session.flush()
        _arm(session, task, now=now)
    return []
