"""The hand-raise fast track, as pure rules: which activity is a buyer asking to talk, and what it
does to a lead. A demo request, a "contact sales", a pricing request or a trial sign-up (the list is
the scoring model's) makes the lead an MQL at once, whatever its engagement or fit, and routing
gives it the fastest SLA tier. Scores are not bent to get there: the lead keeps its real numbers,
and the reason says in words why it went to sales.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leadloop.lifecycle.model import Stage, Trigger
from leadloop.scoring.document import ScoringModel

# Where a hand-raise takes a lead: an inquiry reaches MQL; a lead marketing took back (nurtured,
# recycled) or a lost deal is reactivated. A lead with sales already stays as it is, and so does a
# won one: an existing customer asking for a demo is the account owner's, not a new MQL.
_MOVES = {
    Stage.INQUIRY: Trigger.REACHED_MQL,
    Stage.NURTURE: Trigger.REACTIVATED,
    Stage.RECYCLED: Trigger.REACTIVATED,
    Stage.LOST: Trigger.REACTIVATED,
}


def is_hand_raise(
    model: ScoringModel, activity_type: str, occurred_at: datetime, *, now: datetime, excluded_by: str | None
) -> bool:
    """A fresh "talk to me" from a contact no exclusion rule matched (a student, a throwaway
    address). A hand-raise older than `fresh_for_days` when it arrives is history being imported."""
    return (
        activity_type in model.hand_raise.types
        and excluded_by is None
        and now - occurred_at <= timedelta(days=model.hand_raise.fresh_for_days)
    )


def fast_track(stage: str) -> Trigger | None:
    """The lifecycle move a hand-raise asks for from this stage, or None (already with sales, won,
    merged)."""
    return _MOVES.get(Stage(stage))


def label(activity_type: str) -> str:
    """'demo_request' -> 'demo request'."""
    return activity_type.replace("_", " ")


def reason(activity_type: str, at: datetime) -> str:
    """The sentence on the lead: 'Hand-raise: demo request on 2026-12-01 09:14 UTC — sent to sales at once'."""
    return f"Hand-raise: {label(activity_type)} on {at:%Y-%m-%d %H:%M} UTC — sent to sales at once"
