"""The qualification desk's use cases: a BDR saves the answers of a qualifying call and decides
the outcome. Qualified: a `LeadQualified` event, to which routing reacts by handing the lead to a
field rep (picked, or the field-sales rules' choice) through the lifecycle, with the rep's SLA
clock and an e-mail carrying the brief. Not ready or not a buyer: the lifecycle moves it back to
nurture or to the remarketing pool with the reason. Nothing here writes a lead's stage or owner."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import may_qualify
from leadloop.access.repository import managers_of
from leadloop.auth.model import Principal, Role
from leadloop.core.errors import InvalidInput, NotFound, PermissionDenied
from leadloop.core.events import LeadQualified
from leadloop.core.reactions import publish
from leadloop.lifecycle.handlers import move
from leadloop.lifecycle.model import BDR_QUEUE, OPEN, STAGE_LABELS, Stage, Trigger
from leadloop.qualification.model import (
    OUTCOME_LABELS,
    Answer,
    Outcome,
    brief,
    check_note,
    firmographics,
    missing,
    read_answers,
    reason_label,
    require_complete,
    stored_answers,
)
from leadloop.routing.document import Qualification
from leadloop.routing.repository import active_rules
from leadloop.store.tables import Account, Activity, Lead, LeadQualification, Person, Team, User

FIELD_ROLES = ("rep", "manager")  # who a BDR may hand a lead to


def desk_queue_id(session: Session) -> int | None:
    """The BDR queue's id, if it exists yet (reads never create it)."""
    return session.scalar(sa.select(Team.id).where(Team.name == BDR_QUEUE))


def form_of(session: Session) -> Qualification:
    return active_rules(session)[0].qualification


def _lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    return lead


def may_edit(session: Session, lead: Lead, who: Principal) -> bool:
    chain = managers_of(session, lead.owner_user_id) if lead.owner_user_id is not None else []
    return lead.stage in OPEN and may_qualify(
        who.role,
        who.user_id,
        owner_user_id=lead.owner_user_id,
        owner_team_id=lead.owner_team_id,
        desk_queue_id=desk_queue_id(session),
        owners_managers=chain,
    )


def at_desk(session: Session, lead: Lead) -> bool:
    """An MQL waiting in the BDR queue or owned by a BDR: the desk decides what happens to it."""
    if lead.stage != Stage.MQL:
        return False
    if lead.owner_team_id is not None:
        return lead.owner_team_id == desk_queue_id(session)
    if lead.owner_user_id is not None:
        return session.scalar(sa.select(User.role).where(User.id == lead.owner_user_id)) == Role.BDR
    return False


def _workable(session: Session, lead_id: int, who: Principal, *, doing: str) -> Lead:
    lead = _lead(session, lead_id)
    if lead.stage not in OPEN:
        raise InvalidInput(
            f"lead #{lead_id} is {STAGE_LABELS.get(lead.stage, lead.stage)}; the qualification form is for"
            " a lead with sales (an MQL at the desk, or one handed over)"
        )
    if not may_edit(session, lead, who):
        raise PermissionDenied(
            f"only the lead's owner, their manager, an admin or (while it waits in the {BDR_QUEUE}) a BDR"
            f" may {doing}"
        )
    return lead


def current(session: Session, lead_id: int) -> LeadQualification | None:
    """The visit the desk is working on: the latest row, unless it sent the lead away (a lead that
    comes back from nurture starts a new visit); a hand-over's row stays open to its rep's notes."""
    row = session.scalars(
        sa.select(LeadQualification)
        .where(LeadQualification.lead_id == lead_id)
        .order_by(LeadQualification.id.desc())
    ).first()
    if row is None or row.outcome in (Outcome.NURTURE, Outcome.DISQUALIFIED):
        return None
    return row


def _row(session: Session, lead_id: int, now: datetime) -> LeadQualification:
    row = current(session, lead_id)
    if row is None:
        row = LeadQualification(lead_id=lead_id, answers={}, started_at=now, updated_at=now)
        session.add(row)
    return row


def _store(row: LeadQualification, answers: dict[str, Answer], who: Principal, now: datetime) -> None:
    row.answers = {k: a.as_dict() for k, a in answers.items()}
    row.updated_at, row.updated_by_user_id = now, who.user_id


def save_answers(
    session: Session, lead_id: int, who: Principal, raw: dict[str, object], *, now: datetime
) -> LeadQualification:
    """Save the form as given (every field; an empty choice is "not answered yet")."""
    lead = _workable(session, lead_id, who, doing="fill in its qualification")
    answers = read_answers(form_of(session), raw)
    row = _row(session, lead.id, now)
    _store(row, answers, who, now)
    session.flush()
    return row


def _contact(session: Session, lead: Lead) -> str | None:
    """The person behind the lead's latest activity, as a rep would dial them."""
    person = session.scalars(
        sa.select(Person)
        .join(Activity, Activity.person_id == Person.id)
        .where(Activity.account_id == lead.account_id)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(1)
    ).first()
    if person is None:
        return None
    name = (
        " ".join(p for p in (person.first_name, person.last_name) if p)
        or person.email
        or f"person #{person.id}"
    )
    bits = [name, person.title, person.email, person.phone]
    return ", ".join(b for b in bits if b)


def hand_over(
    session: Session,
    lead_id: int,
    who: Principal,
    *,
    now: datetime,
    to_user_id: int | None = None,
    note: str | None = None,
    answers: dict[str, object] | None = None,
) -> LeadQualification:
    """Qualified: the lead goes to a field rep with the answers, the note and the firmographics."""
    lead = _decidable(session, lead_id, who, doing="hand it over")
    form = form_of(session)
    row = _row(session, lead.id, now)
    if answers is not None:
        _store(row, read_answers(form, answers), who, now)
    given = stored_answers(form, row.answers)
    require_complete(form, given)
    note = check_note(note, form.note_max, what="the hand-over note")
    if to_user_id is not None:
        rep = session.get(User, to_user_id)
        if rep is None or not rep.active or rep.role not in FIELD_ROLES:
            raise InvalidInput(
                f"user #{to_user_id} cannot take a qualified lead; choose an active field rep or manager"
                " (or none, and the routing rules choose)"
            )
    account = session.get_one(Account, lead.account_id)
    firmo = firmographics(
        {
            k: getattr(account, k)
            for k in ("name", "domain", "industry", "employees", "annual_revenue", "country", "city")
        }
    )
    row.firmographics, row.outcome_note = firmo, note
    row.outcome, row.decided_at, row.decided_by_user_id = Outcome.HANDED_OVER.value, now, who.user_id
    session.flush()
    text = brief(form, given, firmo, note=note, contact=_contact(session, lead))
    publish(
        session,
        [LeadQualified(lead.id, who.user_id, who.email, to_user_id, text, now)],
        now=now,
    )
    row.handed_to_user_id = lead.owner_user_id  # routing's choice, or the one picked
    return row


def send_back(
    session: Session,
    lead_id: int,
    who: Principal,
    outcome: Outcome,
    *,
    reason: str | None,
    now: datetime,
    note: str | None = None,
    answers: dict[str, object] | None = None,
) -> LeadQualification:
    """Not ready yet (back to nurture) or not a buyer (disqualified, to the remarketing pool)."""
    if outcome is Outcome.HANDED_OVER:
        raise ValueError("use hand_over")
    doing = "send it back to nurture" if outcome is Outcome.NURTURE else "disqualify it"
    lead = _decidable(session, lead_id, who, doing=doing)
    form = form_of(session)
    reasons = form.nurture_reasons if outcome is Outcome.NURTURE else form.disqualify_reasons
    label = reason_label(outcome, reasons, reason)
    note = check_note(note, form.note_max)
    row = _row(session, lead.id, now)
    if answers is not None:
        _store(row, read_answers(form, answers), who, now)
    row.outcome, row.reason, row.reason_label, row.outcome_note = outcome.value, reason, label, note
    row.decided_at, row.decided_by_user_id = now, who.user_id
    trigger = Trigger.SENT_TO_NURTURE if outcome is Outcome.NURTURE else Trigger.DISQUALIFIED
    why = label + (f": {note}" if note else "")
    events = move(session, lead, trigger, now=now, reason=why, by_user_id=who.user_id)
    session.flush()
    publish(session, events, now=now)
    return row


def _decidable(session: Session, lead_id: int, who: Principal, *, doing: str) -> Lead:
    lead = _workable(session, lead_id, who, doing=doing)
    if not at_desk(session, lead):
        raise InvalidInput(
            f"lead #{lead_id} is not waiting at the qualification desk (it is"
            f" {STAGE_LABELS.get(lead.stage, lead.stage)}); only an MQL in the {BDR_QUEUE} or with a BDR"
            " can be handed over, sent back to nurture or disqualified"
        )
    return lead


# Read models: the panel on the lead page, the desk's list.


@dataclass
class Visit:
    id: int
    answers: dict[str, Answer]
    outcome: str | None
    outcome_label: str | None
    reason_label: str | None
    note: str | None
    decided_at: datetime | None
    decided_by: str | None
    handed_to: str | None
    firmographics: list[list[str]]
    updated_at: datetime
    updated_by: str | None


@dataclass
class PanelView:
    lead_id: int
    stage: str
    form: Qualification
    visit: Visit | None  # the one being worked, or the latest hand-over
    past: list[Visit]
    may_edit: bool
    may_decide: bool
    missing: list[str]
    reps: list[tuple[int, str]] = field(default_factory=list)


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())


def _visits(session: Session, form: Qualification, rows: list[LeadQualification]) -> list[Visit]:
    names = _names(
        session, {i for r in rows for i in (r.decided_by_user_id, r.handed_to_user_id, r.updated_by_user_id)}
    )
    return [
        Visit(
            r.id,
            stored_answers(form, r.answers),
            r.outcome,
            OUTCOME_LABELS.get(Outcome(r.outcome)) if r.outcome else None,
            r.reason_label,
            r.outcome_note,
            r.decided_at,
            names.get(r.decided_by_user_id) if r.decided_by_user_id else None,
            names.get(r.handed_to_user_id) if r.handed_to_user_id else None,
            r.firmographics or [],
            r.updated_at,
            names.get(r.updated_by_user_id) if r.updated_by_user_id else None,
        )
        for r in rows
    ]


def field_reps(session: Session) -> list[tuple[int, str]]:
    return [
        (uid, f"{name} ({email})")
        for uid, name, email in session.execute(
            sa.select(User.id, User.name, User.email)
            .where(User.active, User.role.in_(FIELD_ROLES))
            .order_by(User.name)
        )
    ]


def panel(session: Session, lead_id: int, who: Principal) -> PanelView:
    lead = _lead(session, lead_id)
    form = form_of(session)
    rows = list(
        session.scalars(
            sa.select(LeadQualification)
            .where(LeadQualification.lead_id == lead_id)
            .order_by(LeadQualification.id.desc())
        )
    )
    visits = _visits(session, form, rows)
    open_row = current(session, lead_id)
    visit = next((v for v in visits if open_row is not None and v.id == open_row.id), None)
    past = [v for v in visits if visit is None or v.id != visit.id]
    editable = may_edit(session, lead, who)
    decide = editable and at_desk(session, lead)
    answers = visit.answers if visit else stored_answers(form, {})
    return PanelView(
        lead.id,
        lead.stage,
        form,
        visit,
        past,
        editable,
        decide,
        missing(form, answers),
        field_reps(session) if decide else [],
    )


@dataclass(frozen=True)
class DeskRow:
    id: int
    account: str
    account_id: int
    product: str
    grade: str | None
    owner: str
    waiting_since: datetime
    due_at: datetime
    overdue: bool
    answered: int
    fields: int


def desk(session: Session, who: Principal, *, now: datetime) -> list[DeskRow]:
    """The MQLs waiting at the desk, oldest first: the BDR queue's and the BDR's own (a manager or
    an admin sees every BDR's)."""
    form = form_of(session)
    queue = desk_queue_id(session)
    if who.role is Role.BDR:
        mine = Lead.owner_user_id == who.user_id
    else:
        mine = Lead.owner_user_id.in_(sa.select(User.id).where(User.role == Role.BDR))
    owner = sa.func.coalesce(User.name, Team.name)
    rows = session.execute(
        sa.select(Lead, Account.name, owner)
        .join(Account, Account.id == Lead.account_id)
        .outerjoin(User, User.id == Lead.owner_user_id)
        .outerjoin(Team, Team.id == Lead.owner_team_id)
        .where(Lead.stage == Stage.MQL, sa.or_(Lead.owner_team_id == (queue or -1), mine))
        .order_by(sa.func.coalesce(Lead.assigned_at, Lead.stage_changed_at), Lead.id)
        .limit(500)
    ).all()
    drafts = {
        r.lead_id: r
        for r in session.scalars(
            sa.select(LeadQualification).where(
                LeadQualification.lead_id.in_([lead.id for lead, _, _ in rows] or [-1]),
                LeadQualification.outcome.is_(None),
            )
        )
    }
    within = timedelta(minutes=form.within_minutes)
    out = []
    for lead, account, owner_name in rows:
        since = lead.assigned_at or lead.stage_changed_at
        draft = drafts.get(lead.id)
        answered = sum(1 for a in (draft.answers if draft else {}).values() if a.get("choice"))
        out.append(
            DeskRow(
                lead.id,
                account,
                lead.account_id,
                lead.product,
                lead.grade,
                owner_name or "—",
                since,
                since + within,
                now > since + within,
                answered,
                len(form.fields),
            )
        )
    return out
