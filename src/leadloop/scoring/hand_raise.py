"""The hand-raise fast track, as pure rules: which activity is a buyer asking to talk, and what it
does to a lead. A demo request, a "contact sales", a pricing request or a trial sign-up (the list is
the scoring model's) makes the lead an MQL at once, whatever its engagement or fit, and routing
gives it the fastest SLA tier. Scores are not bent to get there: the lead keeps its real numbers,
and the reason says in words why it went to sales.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

from leadloop.core.labels import label as words_for
from leadloop.lifecycle.model import Stage, Trigger
from leadloop.scoring.document import Cluster, ScoringModel

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


def raised_by(
    model: ScoringModel,
    activity_type: str,
    occurred_at: datetime,
    activity_id: int,
    *,
    now: datetime,
    excluded_by: str | None,
    history: Sequence[tuple[datetime, int]] = (),
) -> str | None:
    """The hand-raise this activity is, in words ('trial sign-up', '3rd pricing page view within 14
    days'), or None. `history`: the account's activities of this type around it, as `in_window`
    takes them (only a cluster's type needs it). A cluster's last activity must be fresh and from a
    contact no rule excluded, like any hand-raise; the ones before it only have to be there."""
    if is_hand_raise(model, activity_type, occurred_at, now=now, excluded_by=excluded_by):
        return label(activity_type)
    cluster = next((c for c in model.hand_raise.clusters if c.type == activity_type), None)
    if cluster is None or excluded_by is not None:
        return None
    if now - occurred_at > timedelta(days=model.hand_raise.fresh_for_days):
        return None
    n = completes(cluster, history, occurred_at, activity_id)
    return cluster_words(activity_type, n, cluster.within_days) if n is not None else None


def fast_track(stage: str) -> Trigger | None:
    """The lifecycle move a hand-raise asks for from this stage, or None (already with sales, won,
    merged)."""
    return _MOVES.get(Stage(stage))


def in_window(
    history: Sequence[tuple[datetime, int]], at: datetime, activity_id: int, within_days: float
) -> int:
    """How many of `history` (every activity of one type on one account, as (when, id), sorted) fall
    in the `within_days` that end with this one, itself included: those from `at - within_days`
    (inclusive) up to it. Activities at the same moment count in id order, so two of a batch's rows
    at one second are the Nth and the (N+1)th, never both the Nth."""
    start = bisect_left(history, at - timedelta(days=within_days), key=lambda row: row[0])
    return bisect_right(history, (at, activity_id)) - start


def completes(
    cluster: Cluster, history: Sequence[tuple[datetime, int]], at: datetime, activity_id: int
) -> int | None:
    """The count this activity brings its cluster to when that is at least the cluster's count
    (the Nth pricing view within 14 days, or a later one while the window still holds N), else None."""
    n = in_window(history, at, activity_id, cluster.within_days)
    return n if n >= cluster.count else None


def label(activity_type: str) -> str:
    """'trial_signup' -> 'trial sign-up': the vocabulary's words, as they read inside a sentence."""
    words = words_for(activity_type, "activity")
    return words[:1].lower() + words[1:]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def cluster_words(activity_type: str, n: int, within_days: float) -> str:
    """'3rd pricing page view within 14 days'."""
    days = f"{within_days:g} day" + ("" if within_days == 1 else "s")
    return f"{_ordinal(n)} {label(activity_type)} within {days}"


def reason(activity_type: str, at: datetime, *, what: str | None = None) -> str:
    """The sentence on the lead: 'Hand-raise: demo request on 2026-12-01 09:14 UTC — sent to sales at
    once'; `what` says it in other words (a cluster's '3rd pricing page view within 14 days')."""
    return f"Hand-raise: {what or label(activity_type)} on {at:%Y-%m-%d %H:%M} UTC — sent to sales at once"
