"""The rules of sequences, pure: every function takes `now` and what was loaded, and returns a
decision. The handlers load, ask these, write once and publish.

- `run`: from the step a person is at, what happens now (e-mails, tasks, webhooks, direct mail, a
  stage change, branches taken) and what comes next (a wait until a moment, the end, or an exit with a reason).
- `matching`: which sequences a trigger starts; `admit`: whether a person may enter again.
- `throttle_until`: the per-person cap on marketing e-mail across every sequence, exactly.
- `inside`/`next_open`: the send window in the recipient's own time zone; `wait_until`: waits in
  hours, days, business days or until a date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from leadloop.nurture.document import DAYS, END, Condition, Cooldown, SequenceDoc, Triggers, Wait, Window
from leadloop.nurture.postal import check_address

MAX_RUN = 200  # steps one run may take; only a loop through a past `until` date could reach it


class Verdict(Protocol):
    """What a send policy answers (consent's `Decision` has this shape)."""

    @property
    def allowed(self) -> bool: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Allowed:
    allowed: bool
    reason: str


Holiday = Callable[[date], bool]  # is this local date a public holiday where the person is?


def no_holidays(_day: date) -> bool:
    return False


@dataclass(frozen=True)
class Throttle:
    """At most `limit` marketing e-mails to one person in any `per` (across every sequence)."""

    limit: int
    per: timedelta


@dataclass(frozen=True)
class Facts:
    """What the engine needs to know about one enrolled person, loaded by the handler."""

    zone: str
    holiday: Holiday = no_holidays
    fields: Mapping[str, Any] = field(default_factory=dict)
    engagement: float = 0.0
    fit: float | None = None
    opened: frozenset[str] = frozenset()  # e-mail step ids whose message was opened
    clicked: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()  # the names of the segments the person is in now
    sends: tuple[datetime, ...] = ()  # this person's marketing e-mails in the throttle's period
    verdict: Verdict = Allowed(True, "allowed")
    may_post: Verdict = Allowed(True, "no_objection")  # direct mail: consent's answer (not e-mail's)


# What a run does, in order.
@dataclass(frozen=True)
class SendEmail:
    step: str


@dataclass(frozen=True)
class MakeTask:
    step: str


@dataclass(frozen=True)
class CallWebhook:
    step: str


@dataclass(frozen=True)
class MailPiece:
    """Direct mail to a complete postal address: on the mailing list, or to the print service."""

    step: str


@dataclass(frozen=True)
class SkipPiece:
    """Direct mail not sent, and why (`reason`: no_address, bad_postcode, or consent's refusal,
    like unsubscribed or erased): recorded, and the sequence goes on."""

    step: str
    reason: str
    words: str


@dataclass(frozen=True)
class ChangeStage:
    step: str
    to: str


@dataclass(frozen=True)
class Took:
    """A branch decided (kept in the step log, so the path a person took can be read back)."""

    step: str
    note: str


Action = SendEmail | MakeTask | CallWebhook | MailPiece | SkipPiece | ChangeStage | Took


# What comes after.
@dataclass(frozen=True)
class WaitFor:
    """Run again at `until`, from step `step` (END: finish then). `why` for the enrolment's note."""

    step: str
    until: datetime
    why: str


@dataclass(frozen=True)
class Finished:
    pass


@dataclass(frozen=True)
class Refused:
    """A send the policy refused: the enrolment ends with the reason; nothing reaches the outbox."""

    step: str
    reason: str


Next = WaitFor | Finished | Refused

# Double opt-in: a person who ticked the box has not clicked the confirmation link yet. Their step
# waits (asking again every hour) rather than ending the drip, for as long as a confirmation link
# works by default (LEADLOOP_CONFIRM_LINK_DAYS); then it is refused like any other send.
AWAITING = "awaiting_confirmation"
ASK_AGAIN = timedelta(hours=1)
PATIENCE = timedelta(days=30)


def patient(nxt: Next, entered_at: datetime, now: datetime) -> Next:
    """A send refused only because the person has not confirmed yet waits for them (see AWAITING)."""
    if isinstance(nxt, Refused) and str(nxt.reason) == AWAITING and now - entered_at < PATIENCE:
        return WaitFor(nxt.step, now + ASK_AGAIN, "confirmation")
    return nxt


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    next: Next


def run(doc: SequenceDoc, at: str, facts: Facts, throttle: Throttle, now: datetime) -> Plan:
    """Take the steps due at `now` from step `at`: until a wait, a deferred e-mail, a refusal or
    the end. An e-mail goes out only if the policy allows it, inside the send window, under the
    throttle; otherwise it waits for the window or the throttle (the step is moved, never dropped)."""
    actions: list[Action] = []
    sends = list(facts.sends)
    step_id = at
    for _ in range(MAX_RUN):
        if step_id == END:
            return Plan(tuple(actions), Finished())
        step = doc.step(step_id)
        nxt = doc.after(step_id)
        if step.email is not None:
            if not facts.verdict.allowed:
                return Plan(tuple(actions), Refused(step_id, facts.verdict.reason))
            if not inside(doc.window, facts.zone, facts.holiday, now):
                return Plan(
                    tuple(actions),
                    WaitFor(step_id, next_open(doc.window, facts.zone, facts.holiday, now), "send window"),
                )
            if (free := throttle_until(sends, throttle, now)) is not None:
                until = next_open(doc.window, facts.zone, facts.holiday, free)
                return Plan(
                    tuple(actions),
                    WaitFor(step_id, until, f"throttle: {throttle.limit} e-mails a {_period(throttle.per)}"),
                )
            actions.append(SendEmail(step_id))
            sends.append(now)
        elif step.wait is not None:
            until = wait_until(step.wait, now, facts.zone, facts.holiday)
            if until > now:
                return Plan(tuple(actions), WaitFor(nxt, until, "wait"))
        elif step.branch is not None:
            yes = holds(step.branch.if_, facts)
            nxt = (step.branch.then if yes else step.branch.else_) or nxt
            actions.append(Took(step_id, f"{'yes' if yes else 'no'} → {nxt}"))
        elif step.task is not None:
            actions.append(MakeTask(step_id))
        elif step.webhook is not None:
            actions.append(CallWebhook(step_id))
        elif step.direct_mail is not None:
            actions.append(piece(step_id, facts))
        elif step.stage is not None:
            actions.append(ChangeStage(step_id, step.stage))
        elif step.goto is not None:
            nxt = step.goto
        step_id = nxt
    # Only a loop through waits until a date already past gets here: go on tomorrow, never spin.
    return Plan(tuple(actions), WaitFor(step_id, now + timedelta(days=1), "loop guard"))


def piece(step_id: str, facts: Facts) -> MailPiece | SkipPiece:
    """Direct mail is not e-mail: no send window, no e-mail throttle, no subscription type. What
    stops it: consent's answer for post (an erasure, a withdrawal from everything), then an address
    that is not complete (`postal.check_address`). Either way the sequence goes on."""
    if not facts.may_post.allowed:
        return SkipPiece(step_id, facts.may_post.reason, f"may not be sent post: {facts.may_post.reason}")
    found = check_address(facts.fields)
    if not found.allowed:
        return SkipPiece(step_id, found.reason, found.words)
    return MailPiece(step_id)


def _period(per: timedelta) -> str:
    days = per / timedelta(days=1)
    return "week" if days == 7 else f"{days:g} days"


def holds(cond: Condition, facts: Facts) -> bool:
    if cond.opened is not None:
        return cond.opened in facts.opened or cond.opened in facts.clicked  # a click implies an open
    if cond.clicked is not None:
        return cond.clicked in facts.clicked
    if cond.segment is not None:
        return cond.segment.casefold() in {n.casefold() for n in facts.segments}
    if cond.score is not None:
        value = facts.engagement if cond.score.of == "engagement" else facts.fit
        if value is None:
            return False
        return (cond.score.min is None or value >= cond.score.min) and (
            cond.score.max is None or value <= cond.score.max
        )
    if cond.field is not None:
        f = cond.field
        value = facts.fields.get(f.name)
        if f.present is not None:
            return (value not in (None, "")) is f.present
        if value in (None, ""):
            return False
        text = str(value).casefold()
        if f.equals is not None:
            if isinstance(f.equals, bool) or isinstance(value, bool):
                return (
                    bool(value) is f.equals
                    if isinstance(f.equals, bool)
                    else text == str(f.equals).casefold()
                )
            if isinstance(f.equals, int | float) and isinstance(value, int | float):
                return float(value) == float(f.equals)
            return text == str(f.equals).casefold()
        if f.in_ is not None:
            return text in {v.casefold() for v in f.in_}
        if f.contains is not None:
            return f.contains.casefold() in text
    return False


# The throttle.
def throttle_until(sends: Sequence[datetime], throttle: Throttle, now: datetime) -> datetime | None:
    """None when one more e-mail may go now; else the first moment it may. A send at `t` counts
    while `now - per < t <= now`: with `limit` counted, the next waits until enough drop out."""
    counted = sorted(t for t in sends if now - throttle.per < t <= now)
    if len(counted) < throttle.limit:
        return None
    return counted[len(counted) - throttle.limit] + throttle.per


# The send window.
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def inside(w: Window, zone: str, holiday: Holiday, at: datetime) -> bool:
    local = at.astimezone(_zone(zone))
    if DAYS[local.weekday()] not in w.days or (w.skip_holidays and holiday(local.date())):
        return False
    return w.opens <= local.time().replace(tzinfo=None) < w.closes


def next_open(w: Window, zone: str, holiday: Holiday, at: datetime) -> datetime:
    """`at` if it is inside the window, else the next moment the window opens (UTC)."""
    if inside(w, zone, holiday, at):
        return at
    tz = _zone(zone)
    day = at.astimezone(tz).date()
    for i in range(0, 400):  # a year of holidays on every allowed day would still end
        start = _opening(day + timedelta(days=i), w.opens, tz)
        if start >= at and inside(w, zone, holiday, start):
            return start
    raise ValueError("the send window never opens")  # refused at save time: at least one day


def _opening(day: date, opens: time, tz: ZoneInfo) -> datetime:
    """The first instant of local `day` whose wall clock reads `opens` or later. When the clock
    jumps over `opens` (a daylight-saving gap), that is the instant right after the jump."""
    wall = datetime.combine(day, opens)
    instant = wall.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    probe = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)  # before the gap, then forward
    while probe.astimezone(tz).replace(tzinfo=None) < wall:
        probe += timedelta(minutes=1)
    return probe


# Waits.
def wait_until(w: Wait, now: datetime, zone: str, holiday: Holiday) -> datetime:
    if w.hours is not None:
        return now + timedelta(hours=w.hours)
    if w.days is not None:
        return now + timedelta(days=w.days)
    tz = _zone(zone)
    if w.until is not None:
        return datetime.combine(w.until, time(0), tz).astimezone(UTC)
    return add_business_days(now, int(w.business_days or 0), tz, holiday)


def add_business_days(start: datetime, n: int, tz: ZoneInfo, holiday: Holiday) -> datetime:
    """`n` working days (Monday to Friday, not a public holiday) after `start`, at the same local
    time of day in the person's zone."""
    local = start.astimezone(tz)
    day, counted = local.date(), 0
    while counted < n:
        day += timedelta(days=1)
        if day.weekday() < 5 and not holiday(day):
            counted += 1
    return datetime.combine(day, local.time().replace(tzinfo=None), tz).astimezone(UTC)


# Triggers.
@dataclass(frozen=True)
class Signal:
    """Something that may start sequences: `kind` is inquiry | recycled | cooled | stage | activity
    | segment | manual, `value` the reason, stage, activity type or segment name."""

    kind: str
    value: str | None = None


ANY, SPECIFIC = 1, 2


def strength(t: Triggers, s: Signal) -> int:
    """0: the trigger does not match; ANY: it matches whatever the value; SPECIFIC: it names it."""
    match s.kind:
        case "inquiry":
            return ANY if t.inquiry else 0
        case "cooled":
            return ANY if t.cooled else 0
        case "recycled":
            if t.recycled is True:
                return ANY
            return SPECIFIC if isinstance(t.recycled, list) and s.value in t.recycled else 0
        case "stage":
            return SPECIFIC if s.value in t.stages else 0
        case "activity":
            return SPECIFIC if s.value in t.activities else 0
        case "segment":
            return SPECIFIC if s.value in t.segments else 0
    return 0


def matching(sequences: Sequence[tuple[str, Triggers]], s: Signal) -> list[str]:
    """The sequences a signal starts. A sequence that names the reason wins over one that takes
    any: a lead rejected for `no_budget` goes to the no-budget sequence, not the catch-all as well."""
    scored = [(name, strength(t, s)) for name, t in sequences]
    best = max((n for _, n in scored), default=0)
    return [name for name, n in scored if n and n == best]


# Re-entry.
@dataclass(frozen=True)
class History:
    """A person's past in one sequence (every version of its name)."""

    active: bool = False
    entries: int = 0
    last_exit: datetime | None = None


def admit(policy: str | Cooldown, history: History, now: datetime) -> tuple[bool, str]:
    """May the person enter (again)? With the reason in words either way."""
    if history.active:
        return False, "already in this sequence"
    if history.entries == 0:
        return True, "first time"
    if policy == "never":
        return False, "has been through this sequence before, and it is never repeated"
    if isinstance(policy, Cooldown):
        ready = (history.last_exit or now) + timedelta(days=policy.after_days)
        if now < ready:
            return (
                False,
                f"left this sequence less than {policy.after_days:g} days ago (again from {ready:%Y-%m-%d})",
            )
    return True, "again"


# What-if: what a person would get in the days after entering.
@dataclass(frozen=True)
class Planned:
    at: datetime
    action: Action


def simulate(
    doc: SequenceDoc, facts: Facts, throttle: Throttle, start: datetime, horizon: timedelta
) -> tuple[list[Planned], Next | None]:
    """Every action from entering at `start` until `start + horizon`, as the sweeper would take
    them (nobody opens or clicks anything meanwhile)."""
    out: list[Planned] = []
    at, step = start, doc.first()
    sends = list(facts.sends)
    end = start + horizon
    for _ in range(MAX_RUN):
        plan = run(doc, step, replace(facts, sends=tuple(sends)), throttle, at)
        out.extend(Planned(at, a) for a in plan.actions)
        sends.extend(at for a in plan.actions if isinstance(a, SendEmail))
        if not isinstance(plan.next, WaitFor):
            return out, plan.next
        if plan.next.until > end:
            return out, plan.next
        at, step = plan.next.until, plan.next.step
    return out, None
