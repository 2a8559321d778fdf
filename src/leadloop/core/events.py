"""Domain events: what happened, raised by the handler that made it happen and handed to the
reactions wired in `leadloop.bootstrap` (see `core/reactions.py`) inside the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class ActivitiesAppended(Event):
    """Capture appended these activities (as the rows it inserted, ids included), or gave earlier
    anonymous ones their person: the lead summary, scoring and the SLA clocks react."""

    rows: tuple[dict[str, Any], ...]
    at: datetime


@dataclass(frozen=True)
class TouchLogged(Event):
    """A rep logged a call (or meeting, or e-mail) on a lead: capture appends it as an activity."""

    lead_id: int
    account_id: int
    product: str
    kind: str
    by_email: str
    note: str | None
    at: datetime
    outcome: str | None = None  # the workbench's vocabulary (work/model.py): connected, voicemail, ...
    person_id: int | None = None  # whom the rep reached, when they said


@dataclass(frozen=True)
class OpportunityChanged(Event):
    """An opportunity was opened, won or lost in the app (a conversion, a rep's update): capture
    appends the milestone to the activity log of its account and primary contact, as an import
    does its own, so attribution and scoring see it."""

    opportunity_id: int
    account_id: int
    person_id: int | None
    product: str | None
    kind: str  # created | won | lost
    amount: str | None
    at: datetime


@dataclass(frozen=True)
class TimelinesChanged(Event):
    """A merge or an unmerge moved activities between people or accounts: their scores are rebuilt
    from the log (never summed)."""

    person_ids: frozenset[int]
    account_ids: frozenset[int]
    at: datetime


@dataclass(frozen=True)
class LeadOpened(Event):
    lead_id: int
    account_id: int
    product: str
    at: datetime


@dataclass(frozen=True)
class LeadReachedMQL(Event):
    """A lead's engagement crossed the model's MQL threshold with a good enough fit, or a buyer raised
    a hand (`hand_raise`): routing runs."""

    lead_id: int
    account_id: int
    product: str
    engagement: float
    grade: str | None
    at: datetime
    # Hand-raise fast track (issue 13): the "talk to me" activity type that made it an MQL at once,
    # whatever its engagement; routing gives it the fastest SLA tier.
    hand_raise: str | None = None
    # Reactivation (issue 14): the hand-raise in words ("trial sign-up", "3rd pricing page view
    # within 14 days"), the activity that made it, and the stage it came back from (nurture,
    # recycled, lost) when it was not an inquiry: routing offers it to its earlier owner first and
    # tells them why it is back.
    signal: str | None = None
    activity_id: int | None = None
    reactivated_from: str | None = None


@dataclass(frozen=True)
class LeadCooled(Event):
    """An MQL that sales never accepted decayed below the threshold: it went back to nurture."""

    lead_id: int
    engagement: float
    at: datetime


@dataclass(frozen=True)
class LeadRecycled(Event):
    """A lead went to marketing's remarketing pool: rejected by sales, cooled off, lost, disqualified
    or sent back to nurture (`trigger`), with the person's reason where there is one (a rejection's
    reason code). Raised by the lifecycle with the move; the remarketing sequences will enrol it by
    trigger and reason (no lead dies)."""

    lead_id: int
    trigger: str
    reason: str | None
    from_stage: str
    stage: str
    at: datetime


@dataclass(frozen=True)
class LeadAssigned(Event):
    """Routing gave the lead an owner (a user, a queue or a partner). `note`: what the owner should
    know first (a reactivated lead: which activity brought it back, after how long)."""

    lead_id: int
    owner: str
    reason: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class LeadMoved(Event):
    """The lifecycle moved a lead (one row of its stage history): `trigger` says why, `reason` is
    the person's words where there are some (a rejection's reason code)."""

    lead_id: int
    previous: str | None
    stage: str
    trigger: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class LeadHandedBack(Event):
    """A partner gave a lead back (`why` "rejected", with their reason) or let its accept deadline
    pass (`why` "missed"): routing finds another owner, never that partner again."""

    lead_id: int
    partner_id: int
    why: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class PartnerReported(Event):
    """A partner says how a lead ended: won (with the amount) or lost (with the reason). Capture
    records it as the lead's opportunity, so the loop closes through the channel too."""

    lead_id: int
    account_id: int
    product: str
    outcome: str
    amount: str | None
    reason: str | None
    partner: str
    at: datetime


@dataclass(frozen=True)
class DealApproved(Event):
    """A channel manager approved a partner's registered deal: capture records the account, the
    lead (owned by the partner) and the open opportunity."""

    deal_id: int
    partner_id: int
    company: str
    domain: str | None
    product: str
    amount: str | None
    contact_email: str | None
    contact_name: str | None
    at: datetime


# Edit and reassign (issue 13, item 4).
@dataclass(frozen=True)
class RecordsEdited(Event):
    """Someone changed fields of people or an account by hand (a title, a country, the number of
    employees): their fit, which reads those fields, is scored again."""

    person_ids: frozenset[int]
    account_ids: frozenset[int]
    at: datetime


# The rep's workbench (issue 13): a task's reminder time came; notifications (and later others) react.
@dataclass(frozen=True)
class TaskDue(Event):
    task_id: int
    owner_user_id: int
    title: str
    due_at: datetime
    link: str | None
    at: datetime


# SLA (the sla work): a lead's first-touch deadline passed, and its escalation to a manager. The
# notifications capability reacts to these (wired in bootstrap); the e-mails leave through routing.
@dataclass(frozen=True)
class SlaBreached(Event):
    """The first-touch deadline of a lead passed without a touch, acceptance or rejection."""

    lead_id: int
    owner_id: int
    manager_ids: tuple[int, ...]  # the owner's manager chain, nearest first
    policy: str | None
    due_at: datetime
    at: datetime


@dataclass(frozen=True)
class SlaEscalated(Event):
    """A breached lead reached its escalation point: it goes into the manager's next digest."""

    lead_id: int
    owner_id: int
    manager_id: int | None  # None: no active manager above the owner
    policy: str | None
    at: datetime


# The qualification desk (issue 13, item 3).


@dataclass(frozen=True)
class LeadQualified(Event):
    """A BDR qualified an MQL on a call and hands it to field sales: routing gives it to the rep the
    BDR picked (`to_user_id`) or to the field-sales rules' choice, moves it to handed_over through
    the lifecycle and starts that rep's SLA clock. `brief` (the BANT answers with their notes and the
    firmographics) goes with the hand-over e-mail, so the rep has a reason to call."""

    lead_id: int
    by_user_id: int
    by_email: str
    to_user_id: int | None
    brief: str
    at: datetime


# Consent and GDPR (issue 14, items 4 and 5).
@dataclass(frozen=True)
class ConsentStated(Event):
    """A door captured what people said about marketing e-mail (the contract's `email_opt_in`):
    consent records it in its log, by its rules (an opt-out is never undone without the person's
    own tick, ADR 0004). `explicit`: the person ticked the box themselves (a web form)."""

    entries: tuple[tuple[int, bool], ...]  # (person id, opted in)
    explicit: bool
    source: str
    at: datetime


@dataclass(frozen=True)
class PeopleMerged(Event):
    """Identity merged one person into another: consent gives the survivor the most restrictive of
    the two (an opt-out always wins)."""

    survivor_id: int
    merged_id: int
    at: datetime


@dataclass(frozen=True)
class PeopleUnmerged(Event):
    """A merge was undone: both people come back, and an opt-out either gave meanwhile stays."""

    survivor_id: int
    merged_id: int
    at: datetime


@dataclass(frozen=True)
class ConsentWithdrawn(Event):
    """A person withdrew consent (an unsubscribe, a preference, an admin, a complaint): recorded in
    the transaction that raised this; sequences end the person's enrolments in the same one.
    `scopes`: the subscription types, or ("*",) for everything."""

    person_id: int
    scopes: tuple[str, ...]
    source: str
    at: datetime


@dataclass(frozen=True)
class UnsubscribeMailed(Event):
    """Mail-in received a message at the List-Unsubscribe mailto address, with the token the mailto
    carried (RFC 2369; its subject, "unsubscribe <token>"). Consent checks the token and, when it is
    genuine, current and the person's, unsubscribes them from everything; otherwise nothing changes
    (the sender's From is never trusted alone: anyone can write it)."""

    token: str
    sender: str
    at: datetime


@dataclass(frozen=True)
class PersonErased(Event):
    """A person was erased at their request (privacy/): `person_ids` are their row and every row
    merged into it. Consent records an opt-out from everything; whoever keeps per-person state
    (segments, enrolments) lets go of them here."""

    person_id: int
    person_ids: frozenset[int]
    at: datetime


# Segments (issue 14, item 1).
@dataclass(frozen=True)
class PeopleCaptured(Event):
    """Capture created or changed these people's records (fields, account, consent), whether or not
    an activity came with them: segments decide again whether they are in."""

    person_ids: frozenset[int]
    at: datetime


@dataclass(frozen=True)
class SegmentEntered(Event):
    """People entered a segment. They are the `segment_changes` rows of `segment_id` with ids from
    `first_change` to `last_change` and `entered` true (`segments.queries.changed_people` selects
    their person ids, for an INSERT ... SELECT); `count` says how many. A rebuild that lets a million
    in raises one event, not a million. `cause`: event | rebuild | refresh | edit. Sequences enrol on
    this (issue 14, item 2); a reaction must be idempotent per (segment, person, change id)."""

    segment_id: int
    first_change: int
    last_change: int
    count: int
    cause: str
    at: datetime


@dataclass(frozen=True)
class SegmentLeft(Event):
    """People left a segment: the same shape as SegmentEntered, over rows with `entered` false."""

    segment_id: int
    first_change: int
    last_change: int
    count: int
    cause: str
    at: datetime


# Sequences (issue 14, item 2): a step asks the lead's owner for a personal touch.
@dataclass(frozen=True)
class TaskRequested(Event):
    """A sequence step asks someone (the lead's owner, or the sequence's pre-sales contact) to do
    something by hand, such as call: the workbench creates the task and arms its reminder, in the
    transaction of the step (so a step that ran once made one task)."""

    owner_user_id: int
    title: str
    due_at: datetime
    lead_id: int | None
    person_id: int | None
    at: datetime


@dataclass(frozen=True)
class MailTracked(Event):
    """A message we sent was opened or one of its links followed (mailtrack/): capture appends it
    as an activity of `type` on the person, with `dedupe_key` making a repeat a no-op. A machine's
    hit (a privacy proxy, a link scanner) has a type of its own that nothing scores (ADR 0032)."""

    person_id: int
    account_id: int | None
    type: str
    at: datetime
    dedupe_key: str
    payload: dict[str, Any]
    url: str | None = None
    campaign: str | None = None
