"""What-if for a sequence that is not active yet: who would enter today, and what they would get
in the week after. Writes nothing.

"Today" is the last 24 hours of the triggers the sequence names (leads opened, recycled, cooled or
moved; activities), replayed against the re-entry policy and the send permission as they stand;
"what they would get" runs the step engine for each of them from now on, with nobody opening or
clicking anything, under the send window and the throttle (their real recent sends count). Direct
mail is counted for the people whose postal address is complete (consent is asked when it runs).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.lifecycle.model import Stage, Trigger
from leadloop.nurture import repository as repo
from leadloop.nurture.document import SequenceDoc
from leadloop.nurture.model import (
    ANY,
    Allowed,
    CallWebhook,
    ChangeStage,
    History,
    MailPiece,
    MakeTask,
    SendEmail,
    Signal,
    SkipPiece,
    Throttle,
    WaitFor,
    admit,
    simulate,
    strength,
)
from leadloop.store.tables import Activity, LeadStageChange, Person

THROTTLE_KEY = "leadloop.nurture.throttle"  # where a session carries the configured throttle
DEFAULT_THROTTLE = Throttle(limit=3, per=timedelta(days=7))
TODAY = timedelta(days=1)
WEEK = timedelta(days=7)
SIMULATED = 500  # people whose week is simulated (the count of who enters is exact)


@dataclass
class WhatIf:
    entering: int = 0
    by_trigger: Counter[str] = field(default_factory=Counter)
    not_again: int = 0  # refused by the re-entry policy
    no_mail: int = 0  # would enter, but may not be e-mailed (no address, opted out)
    simulated: int = 0
    emails: int = 0
    by_step: Counter[str] = field(default_factory=Counter)
    tasks: int = 0
    webhooks: int = 0
    pieces: int = 0  # direct mail to a complete address
    pieces_skipped: Counter[str] = field(default_factory=Counter)  # by reason (no_address...)
    stage_changes: int = 0
    deferred: Counter[str] = field(default_factory=Counter)  # the first wait each person hits
    examples: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "entering": self.entering,
            "by_trigger": dict(self.by_trigger.most_common()),
            "not_again": self.not_again,
            "no_mail": self.no_mail,
            "simulated": self.simulated,
            "emails_this_week": self.emails,
            "by_step": dict(self.by_step.most_common()),
            "tasks": self.tasks,
            "webhooks": self.webhooks,
            "direct_mail": self.pieces,
            "direct_mail_skipped": dict(self.pieces_skipped.most_common()),
            "stage_changes": self.stage_changes,
            "deferred": dict(self.deferred.most_common()),
            "examples": self.examples[:10],
        }


def _signals(session: Session, doc: SequenceDoc, since: datetime) -> dict[int, tuple[int | None, str]]:
    """(person -> (lead, trigger)) for every trigger of `doc` that happened since `since`."""
    t = doc.triggers
    leads: dict[int, str] = {}
    columns = (
        LeadStageChange.lead_id,
        LeadStageChange.from_stage,
        LeadStageChange.to_stage,
        LeadStageChange.trigger,
        LeadStageChange.reason,
    )
    moves = session.execute(
        sa.select(*columns).where(LeadStageChange.at >= since).order_by(LeadStageChange.id)
    ).all()
    for lead_id, previous, to, trigger, reason in moves:
        if previous is None and to == Stage.INQUIRY and t.inquiry:
            leads.setdefault(lead_id, "inquiry")
        elif trigger in (Trigger.REJECTED, Trigger.DISQUALIFIED) and strength(t, Signal("recycled", reason)):
            leads.setdefault(lead_id, "recycled")
        elif trigger == Trigger.COOLED and strength(t, Signal("cooled")) == ANY:
            leads.setdefault(lead_id, "cooled")
        elif previous != to and to in t.stages:
            leads.setdefault(lead_id, "stage")
    out: dict[int, tuple[int | None, str]] = {}
    still = repo.lead_stages(session, list(leads))
    keep = [i for i in leads if still.get(i) in (Stage.INQUIRY, Stage.NURTURE, Stage.RECYCLED, Stage.LOST)]
    for lead_id, people in repo.lead_contacts(session, keep).items():
        for pid in people:
            out.setdefault(pid, (lead_id, leads[lead_id]))
    if t.activities:
        for person in session.scalars(
            sa.select(Activity.person_id)
            .where(
                Activity.type.in_(t.activities),
                Activity.occurred_at >= since,
                Activity.person_id.is_not(None),
            )
            .distinct()
        ):
            if person is not None:
                out.setdefault(person, (None, "activity"))
    return out


def what_if(session: Session, doc: SequenceDoc, *, now: datetime, limit: int | None = None) -> WhatIf:
    out = WhatIf()
    throttle: Throttle = session.info.get(THROTTLE_KEY, DEFAULT_THROTTLE)
    found = _signals(session, doc, now - TODAY)
    live = repo.survivors(session, list(found))
    past = repo.histories(session, doc.name, sorted(set(live.values())))
    mail = {
        pid: bool(email) and opt_in is not False
        for pid, email, opt_in in session.execute(
            sa.select(Person.id, Person.email, Person.email_opt_in).where(
                Person.id.in_(list(live.values()) or [-1])
            )
        )
    }
    entering: list[tuple[int, int | None]] = []
    for asked, (lead_id, trigger) in sorted(found.items()):
        pid = live.get(asked)
        if pid is None:
            continue
        if not admit(doc.re_entry, past.get(pid, History()), now)[0]:
            out.not_again += 1
            continue
        out.entering += 1
        out.by_trigger[trigger] += 1
        if not mail.get(pid):
            out.no_mail += 1
        entering.append((pid, lead_id))
    for pid, lead_id in entering[: limit or SIMULATED]:
        who = repo.recipient(session, pid, lead_id, now=now)
        verdict = Allowed(bool(mail.get(pid)), "allowed" if mail.get(pid) else "no address or opted out")
        facts = repo.facts(session, None, doc, who, verdict, throttle, now)
        planned, nxt = simulate(doc, facts, throttle, now, WEEK)
        out.simulated += 1
        sends = [p for p in planned if isinstance(p.action, SendEmail)]
        out.emails += len(sends)
        out.by_step.update(p.action.step for p in sends)
        out.tasks += sum(isinstance(p.action, MakeTask) for p in planned)
        out.webhooks += sum(isinstance(p.action, CallWebhook) for p in planned)
        out.pieces += sum(isinstance(p.action, MailPiece) for p in planned)
        out.pieces_skipped.update(p.action.reason for p in planned if isinstance(p.action, SkipPiece))
        out.stage_changes += sum(isinstance(p.action, ChangeStage) for p in planned)
        if isinstance(nxt, WaitFor) and nxt.why != "wait":
            out.deferred[nxt.why] += 1
        if len(out.examples) < 10:
            out.examples.append(
                {
                    "person_id": pid,
                    "email": who.email,
                    "gets": [f"{p.at:%a %d %b %H:%M} UTC: {p.action.step}" for p in sends],
                }
            )
    return out
