"""Sequence use cases: enrol people (by hand, in bulk, or on a trigger), take a person's due steps
(the `nurture_step` timer), and end enrolments on their goals. Each loads, asks the rules in
`model.py`, writes once and publishes; the caller owns the transaction (ADR 0014).

A step and everything it causes share one transaction: the e-mail's outbox row, the send the
throttle counts, the step log, the move of the enrolment to its next step and the re-armed timer.
A crash before the commit loses all of it (the timer's claim expires and the step runs again); a
crash after it loses none of it, and the outbox sends each message once, keyed by enrolment and
action number. So no step is sent twice or forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.clock import as_utc
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.core.events import Event, LeadReachedMQL, TaskRequested
from leadloop.core.reactions import publish
from leadloop.jobs import outbox
from leadloop.jobs.timers import Due, TimerHandler, schedule
from leadloop.lifecycle.handlers import move
from leadloop.lifecycle.model import IllegalTransition, Stage, Trigger
from leadloop.mailtrack.instrument import authored, instrument
from leadloop.mailtrack.policy import policy_of as tracking_policy
from leadloop.mailtrack.tokens import Source
from leadloop.nurture import repository as repo
from leadloop.nurture.document import END, SequenceDoc
from leadloop.nurture.model import (
    Allowed,
    CallWebhook,
    ChangeStage,
    Finished,
    History,
    MailPiece,
    MakeTask,
    Plan,
    Refused,
    SendEmail,
    Signal,
    SkipPiece,
    Throttle,
    Took,
    WaitFor,
    admit,
    matching,
    patient,
    run,
)
from leadloop.nurture.policy import SendPolicy, lock_person
from leadloop.nurture.postal import check_address
from leadloop.nurture.templates import Footer, RenderFailed, render_message, render_text
from leadloop.store.tables import Enrolment, Lead, NurtureSend, SequenceRow

MAX_BULK = 10_000  # people one enrol request may name


@dataclass(frozen=True)
class Mailer:
    """How a sequence's e-mail goes out (from settings, wired by the composition root)."""

    postal_address: str  # the physical address every marketing message carries
    system_from: str  # LEADLOOP_MAIL_FROM: the sender when no person can be named
    throttle: Throttle


@dataclass
class Enrolled:
    enrolled: list[int] = field(default_factory=list)  # enrolment ids
    refused: list[tuple[int, str]] = field(default_factory=list)  # (person id, why)

    def summary(self) -> dict[str, Any]:
        return {
            "enrolled": len(self.enrolled),
            "enrolment_ids": self.enrolled,
            "refused": [{"person_id": p, "why": w} for p, w in self.refused],
        }


# Enrolling.
def enrol(
    session: Session,
    sequence: str,
    people: Sequence[tuple[int, int | None]],
    *,
    trigger: str,
    now: datetime,
    detail: str | None = None,
    by_user_id: int | None = None,
) -> Enrolled:
    """Enrol (person, lead or None) pairs in the active version of `sequence`, as its re-entry
    policy allows; each refusal comes back with its reason. A merged person is enrolled as the
    person they were merged into."""
    found = repo.active_sequence(session, sequence)
    if found is None:
        raise NotFound(f"no version of sequence {sequence!r} is active; activate one first")
    if len(people) > MAX_BULK:
        raise InvalidInput(f"enrol at most {MAX_BULK:,} people at once, not {len(people):,}")
    return _enrol(session, *found, people, trigger=trigger, detail=detail, by_user_id=by_user_id, now=now)


def _enrol(
    session: Session,
    sequence_id: int,
    doc: SequenceDoc,
    people: Sequence[tuple[int, int | None]],
    *,
    trigger: str,
    detail: str | None,
    by_user_id: int | None,
    now: datetime,
) -> Enrolled:
    out = Enrolled()
    live = repo.survivors(session, [p for p, _ in people])
    repo.lock_people(session, list(live.values()))
    past = repo.histories(session, doc.name, list(live.values()))
    new: list[repo.NewEnrolment] = []
    taken: set[int] = set()
    for asked, lead_id in people:
        pid = live.get(asked)
        if pid is None:
            out.refused.append((asked, "there is no such person"))
            continue
        if pid in taken:
            continue
        ok, why = admit(doc.re_entry, past.get(pid, History()), now)
        if not ok:
            out.refused.append((asked, why))
            continue
        taken.add(pid)
        new.append(repo.NewEnrolment(pid, lead_id))
    out.enrolled = repo.add_enrolments(
        session, sequence_id, doc, new, trigger=trigger, detail=detail, by_user_id=by_user_id, now=now
    )
    return out


def on_signal(
    session: Session, signal: Signal, people: Sequence[tuple[int, int | None]], *, now: datetime
) -> Enrolled:
    """A trigger happened to these (person, lead) pairs: enrol them in every active sequence it
    starts (the re-entry policy of each decides)."""
    out = Enrolled()
    if not people:
        return out
    active = repo.active_sequences(session)
    names = set(matching([(doc.name, doc.triggers) for _, doc in active], signal))
    for sequence_id, doc in active:
        if doc.name in names:
            done = _enrol(
                session,
                sequence_id,
                doc,
                people,
                trigger=signal.kind,
                detail=signal.value,
                by_user_id=None,
                now=now,
            )
            out.enrolled += done.enrolled
            out.refused += done.refused
    return out


def exit_enrolments(
    session: Session,
    *,
    reason: str,
    now: datetime,
    enrolment_ids: Sequence[int] = (),
    person_ids: Sequence[int] = (),
    lead_ids: Sequence[int] = (),
    note: str | None = None,
) -> list[int]:
    """End the active enrolments named, or of these people, or on these leads (and of their
    accounts' people who entered without a lead), with the reason. Returns the ids ended."""
    ids = set(enrolment_ids) | set(repo.active_ids(session, person_ids=person_ids, lead_ids=lead_ids))
    return repo.end_enrolments(session, sorted(ids), state=repo.EXITED, reason=reason, now=now, note=note)


def cancel_sends(
    session: Session, person_ids: Sequence[int], *, scopes: set[str], erased: bool, now: datetime
) -> int:
    """The drip e-mails of these people (of sequences of these subscription types, "*": all) still in
    the outbox are cancelled; an erasure also empties every message kept of them. Returns how many
    were cancelled."""
    sends = repo.sends_of(session, person_ids)
    keys = [key for key, subscription in sends if erased or "*" in scopes or subscription in scopes]
    if erased:
        repo.forget_subjects(session, person_ids)
    reason = "the person was erased" if erased else "the person unsubscribed"
    return outbox.cancel(session, keys, reason=reason, now=now, scrub=erased)


def exit_by_hand(session: Session, enrolment_id: int, *, by_user_id: int | None, now: datetime) -> Enrolment:
    e = session.get(Enrolment, enrolment_id)
    if e is None:
        raise NotFound(f"there is no enrolment #{enrolment_id}")
    if e.state != repo.ACTIVE:
        raise InvalidInput(f"enrolment #{enrolment_id} has already ended ({e.exit_reason}); nothing to stop")
    note = f"by user #{by_user_id}" if by_user_id else None
    repo.end_enrolments(session, [e.id], state=repo.EXITED, reason="manual", now=now, note=note)
    session.refresh(e)
    return e


def retire(session: Session, sequence: str, *, stop_running: bool, now: datetime) -> list[int]:
    """Nobody new enters `sequence` from now on. With `stop_running`, the people in it leave too
    (reason `sequence_retired`); otherwise they finish the version they entered with. Returns the
    enrolments ended."""
    found = repo.active_sequence(session, sequence)
    if found is None:
        raise NotFound(f"no version of sequence {sequence!r} is active; there is nothing to retire")
    session.execute(sa.update(SequenceRow).where(SequenceRow.id == found[0]).values(status="retired"))
    if not stop_running:
        return []
    running = session.scalars(
        sa.select(Enrolment.id).where(Enrolment.sequence_name == sequence, Enrolment.state == repo.ACTIVE)
    )
    return repo.end_enrolments(session, list(running), state=repo.EXITED, reason="sequence_retired", now=now)


# Taking steps.
def step_handler(policy: SendPolicy, mailer: Mailer) -> TimerHandler:
    """The `nurture_step` timer: take the enrolment's due steps."""

    def handler(session: Session, due: Due, now: datetime) -> list[Event]:
        return take_steps(
            session,
            int(due.subject.split(":", 1)[1]),
            due.payload.get("step"),
            now=now,
            policy=policy,
            mailer=mailer,
        )

    return handler


def take_steps(
    session: Session,
    enrolment_id: int,
    step: str | None,
    *,
    now: datetime,
    policy: SendPolicy,
    mailer: Mailer,
) -> list[Event]:
    """Take the steps due now from `step` (the one the timer was armed for). A timer that no longer
    matches its enrolment (ended, or moved on since) does nothing: one step runs once."""
    person_id = session.scalar(sa.select(Enrolment.person_id).where(Enrolment.id == enrolment_id))
    if person_id is None:
        return []
    # The person's lock first, as an unsubscribe takes it: the two never interleave.
    lock_person(session, person_id)
    e = session.scalars(sa.select(Enrolment).where(Enrolment.id == enrolment_id).with_for_update()).one()
    if e.state != repo.ACTIVE or e.step != step:
        return []
    live = repo.survivors(session, [e.person_id]).get(e.person_id)
    if live != e.person_id and not _follow_merge(session, e, live, now=now):
        return []
    doc = repo.document(session, e.sequence_id)
    if e.step == END:
        repo.end_enrolments(session, [e.id], state=repo.COMPLETED, reason="completed", now=now)
        return []
    who = repo.recipient(session, e.person_id, e.lead_id, now=now)
    verdict = (
        policy.may_send(session, e.person_id, doc.subscription, now)
        if doc.emails()
        else Allowed(True, "no e-mail")
    )
    may_post = policy.may_post(session, e.person_id, now) if doc.pieces() else Allowed(True, "no post")
    facts = repo.facts(session, e.id, doc, who, verdict, mailer.throttle, now, may_post=may_post)
    plan = run(doc, e.step, facts, mailer.throttle, now)
    events = _act(session, e, doc, who, plan, policy, mailer, now=now)
    return publish(session, events, now=now)


def _follow_merge(session: Session, e: Enrolment, live: int | None, *, now: datetime) -> bool:
    """The person was merged into another: the enrolment goes on with them (True), unless they are
    already in this sequence (one enrolment per person: the other goes on, this one ends)."""
    if live is not None and not repo.histories(session, e.sequence_name, [live]).get(live, History()).active:
        lock_person(session, live)
        e.person_id = live
        session.flush()
        return True
    note = f"merged into person #{live}" if live else "the person is gone"
    repo.end_enrolments(session, [e.id], state=repo.EXITED, reason="merged", now=now, note=note)
    return False


def _act(
    session: Session,
    e: Enrolment,
    doc: SequenceDoc,
    who: repo.Recipient,
    plan: Plan,
    policy: SendPolicy,
    mailer: Mailer,
    *,
    now: datetime,
) -> list[Event]:
    """Write what the plan decided, then move the enrolment on. Events are returned, to be published
    after every write of the enrolment (a reaction to them may end it)."""
    events: list[Event] = []
    log: list[tuple[int, str, str, str, datetime, str | None]] = []
    sender = _sender(session, doc, who, mailer)
    for action in plan.actions:
        e.actions += 1
        key = f"nurture:{e.id}:{e.actions}"
        if isinstance(action, SendEmail):
            try:
                subject = _send(session, e, doc, who, sender, action.step, key, policy, mailer, now=now)
            except RenderFailed as exc:  # never retried: the same values would fail again
                plan = Plan(plan.actions, Refused(action.step, f"render_failed: {exc}"))
                break
            log.append((e.id, action.step, "email", "sent", now, subject))
        elif isinstance(action, MakeTask):
            events += _task(session, e, doc, who, action.step, log, now=now)
        elif isinstance(action, MailPiece):
            log.append(_direct_mail(session, e, doc, who, action.step, key, now=now))
        elif isinstance(action, SkipPiece):
            log.append((e.id, action.step, "postal", action.reason, now, action.words))
        elif isinstance(action, CallWebhook):
            hook = doc.step(action.step).webhook
            assert hook is not None
            data = {
                **hook.data,
                "enrolment_id": e.id,
                "person_id": e.person_id,
                "lead_id": e.lead_id,
                "sequence": doc.name,
                "step": action.step,
            }
            outbox.webhook(
                session,
                key,
                f"sequence.{hook.event}",
                data,
                f"{doc.name}: {hook.event} for person #{e.person_id}",
                now=now,
                link=f"/people/{e.person_id}",
            )
            log.append((e.id, action.step, "webhook", "queued", now, hook.event))
        elif isinstance(action, ChangeStage):
            events += _stage(session, e, who, action, log, now=now)
        elif isinstance(action, Took):
            log.append((e.id, action.step, "branch", action.note.split(" ", 1)[0], now, action.note))
    nxt = patient(plan.next, as_utc(e.entered_at), now)
    if isinstance(nxt, WaitFor):
        if nxt.why != "wait":
            log.append(
                (e.id, nxt.step, "email", "deferred", now, f"{nxt.why}: until {nxt.until:%Y-%m-%d %H:%M} UTC")
            )
        e.step, e.note = nxt.step, (f"waiting for the {nxt.why}" if nxt.why != "wait" else None)
        session.flush()
        schedule(session, repo.STEP_TIMER, repo.subject(e.id), nxt.until, {"step": nxt.step})
        repo.log_steps(session, log)
    elif isinstance(nxt, Finished):
        session.flush()
        repo.log_steps(session, log)
        repo.end_enrolments(session, [e.id], state=repo.COMPLETED, reason="completed", now=now)
    elif isinstance(nxt, Refused):
        session.flush()
        log.append((e.id, nxt.step, "email", "refused", now, nxt.reason))
        repo.log_steps(session, log)
        repo.end_enrolments(
            session, [e.id], state=repo.EXITED, reason="send_refused", now=now, note=str(nxt.reason)
        )
    return events


@dataclass(frozen=True)
class _Sender:
    name: str
    email: str
    user_id: int | None


def _sender(session: Session, doc: SequenceDoc, who: repo.Recipient, mailer: Mailer) -> _Sender:
    """From the lead's owner, else the account's rep (`from: owner`), else the sequence's named
    pre-sales contact, else the system address. Replies go to the same person."""
    if doc.from_ == "owner":
        found = repo.users(session, [who.owner_user_id, who.account_owner_user_id])
        for uid in (who.owner_user_id, who.account_owner_user_id):
            if uid in found:
                return _Sender(found[uid].name, found[uid].email, uid)
    if doc.sender is not None:
        user = repo.user_by_email(session, doc.sender.email)
        return _Sender(doc.sender.name, doc.sender.email, user.id if user else None)
    return _Sender("", mailer.system_from, None)


def _send(
    session: Session,
    e: Enrolment,
    doc: SequenceDoc,
    who: repo.Recipient,
    sender: _Sender,
    step_id: str,
    key: str,
    policy: SendPolicy,
    mailer: Mailer,
    *,
    now: datetime,
) -> str:
    email = doc.step(step_id).email
    assert email is not None and who.email  # the policy refused a person without an address
    values = {**who.values, "sender_name": sender.name, "sender_email": sender.email}
    headers = policy.headers(session, e.person_id, now)
    rendered = render_message(
        subject=email.subject,
        text=email.text,
        html_source=email.html,
        values=values,
        footer=Footer(sender.name or sender.email, mailer.postal_address, _unsubscribe_url(headers)),
    )
    # Opens and clicks come back as activities (mailtrack/, ADR 0032); the unsubscribe links stay.
    tracking = tracking_policy(session)
    tracked = instrument(
        html=rendered.html,
        text=rendered.text,
        person_id=e.person_id,
        message=key,
        sent_at=now,
        base_url=tracking.public_url,
        signer=tracking.signer,
        source=Source(sequence=doc.name, step=step_id),
        only=authored(text=email.text, html=email.html),
    )
    outbox.enqueue(
        session,
        key,
        "email",
        {
            "to": who.email,
            "subject": rendered.subject,
            "body": tracked.text if tracked.text is not None else rendered.text,
            "html": tracked.html,
            "from": formataddr((sender.name, sender.email)) if sender.name else sender.email,
            "reply_to": sender.email,
            "headers": headers,
            "link": None,
        },
        now=now,
    )
    session.add(
        NurtureSend(
            person_id=e.person_id,
            enrolment_id=e.id,
            step=step_id,
            sent_at=now,
            outbox_key=key,
            subject=rendered.subject[:300],
            message_id=outbox.message_id(key),
        )
    )
    return rendered.subject


def _unsubscribe_url(headers: dict[str, str]) -> str | None:
    """The https URI of a List-Unsubscribe header, for the footer (RFC 2369: `<uri>, <mailto:...>`)."""
    value = next((v for k, v in headers.items() if k.lower() == "list-unsubscribe"), "")
    return next((u.strip("<> ") for u in value.split(",") if u.strip().startswith("<http")), None)


def _task(
    session: Session,
    e: Enrolment,
    doc: SequenceDoc,
    who: repo.Recipient,
    step_id: str,
    log: list[tuple[int, str, str, str, datetime, str | None]],
    *,
    now: datetime,
) -> list[Event]:
    task = doc.step(step_id).task
    assert task is not None
    found = repo.users(session, [who.owner_user_id, who.account_owner_user_id])
    owner = next((uid for uid in (who.owner_user_id, who.account_owner_user_id) if uid in found), None)
    if owner is None and doc.sender is not None and (user := repo.user_by_email(session, doc.sender.email)):
        owner = user.id
    if owner is None:
        log.append((e.id, step_id, "task", "skipped", now, "no owner, rep or pre-sales user to give it to"))
        return []
    try:
        title = " ".join(render_text(task.title, who.values).split())[:200] or "Follow up"
    except Exception:  # checked at save time; a value it could not foresee still makes a task
        title = "Follow up"
    log.append((e.id, step_id, "task", "created", now, title))
    due = now + timedelta(hours=task.due_in_hours)
    return [TaskRequested(owner, title, due, who.lead_id, None if who.lead_id else e.person_id, now)]


def _direct_mail(
    session: Session,
    e: Enrolment,
    doc: SequenceDoc,
    who: repo.Recipient,
    step_id: str,
    key: str,
    *,
    now: datetime,
) -> tuple[int, str, str, str, datetime, str | None]:
    """The piece on the sequence's mailing list, or to the print-and-mail service through the outbox
    (its webhook channel, like a webhook step) with the address; returns the step log's line. The
    rule passed the address a moment ago, on the same row."""
    d = doc.step(step_id).direct_mail
    address = check_address({**who.fields, "company": who.values.get("company")}).address
    assert d is not None and d.piece is not None and address is not None
    if d.via == "list":
        repo.list_piece(session, key, e, step_id, d.piece, now=now)
        return (e.id, step_id, "postal", "listed", now, d.piece)
    assert d.event is not None  # checked at save time
    data = {
        **d.data,
        "piece": d.piece,
        "address": asdict(address),
        "enrolment_id": e.id,
        "person_id": e.person_id,
        "lead_id": e.lead_id,
        "sequence": doc.name,
        "step": step_id,
    }
    text = f"{doc.name}: {d.piece} by post for person #{e.person_id}"
    outbox.webhook(session, key, f"sequence.{d.event}", data, text, now=now, link=f"/people/{e.person_id}")
    return (e.id, step_id, "postal", "queued", now, d.piece)


def _stage(
    session: Session,
    e: Enrolment,
    who: repo.Recipient,
    action: ChangeStage,
    log: list[tuple[int, str, str, str, datetime, str | None]],
    *,
    now: datetime,
) -> list[Event]:
    """Through the lifecycle, the one writer of a lead's stage; a move it has no road for is
    recorded and the sequence goes on."""
    lead = session.get(Lead, e.lead_id) if e.lead_id else None
    if lead is None:
        log.append((e.id, action.step, "stage", "skipped", now, "entered without a lead"))
        return []
    current = Stage(lead.stage)
    if action.to == "mql":
        trigger = Trigger.REACHED_MQL if current is Stage.INQUIRY else Trigger.REACTIVATED
    else:
        trigger = Trigger.RECYCLED
    try:
        events = move(session, lead, trigger, now=now, reason=f"sequence {e.sequence_name}")
    except IllegalTransition as exc:
        log.append((e.id, action.step, "stage", "refused", now, str(exc)))
        return []
    log.append((e.id, action.step, "stage", "moved", now, f"{current} → {lead.stage}"))
    if lead.stage == Stage.MQL:  # routing gives it an owner, as for any MQL
        events.append(LeadReachedMQL(lead.id, lead.account_id, lead.product, who.engagement, lead.grade, now))
    return events
