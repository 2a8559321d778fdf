"""Escalations grouped into one digest per manager per interval. A sweep that finds 158 breached
leads of one rep writes 158 escalations and ONE e-mail to their manager, listing them.

The rule is pure: an escalation at time `at` belongs to the window [end - every, end) where `end`
is the next multiple of `every` after `at` (counted from the Unix epoch, so windows are the same
for every worker and every restart). The digest of a (manager, window) is a timer due at `end`,
and its e-mail's outbox key names the manager and the window: a sweeper that runs twice, or an
escalation retried, never sends a second e-mail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DIGEST = "sla_digest"  # the timer kind


@dataclass(frozen=True)
class Escalation:
    manager_id: int
    lead_id: int
    at: datetime
    title: str = ""  # "Account · product"
    owner: str = ""  # the rep's name
    policy: str | None = None


def window(at: datetime, every: timedelta) -> tuple[datetime, datetime]:
    """The digest window [start, end) that `at` falls in."""
    if every <= timedelta(0):
        raise ValueError("a digest interval must be positive")
    n = (at - EPOCH) // every
    start = EPOCH + n * every
    return start, start + every


def subject_of(manager_id: int, end: datetime) -> str:
    """The digest timer's subject: one per manager and window."""
    return f"manager:{manager_id}:{end.isoformat()}"


def group(
    escalations: Iterable[Escalation], every: timedelta
) -> dict[tuple[int, datetime], list[Escalation]]:
    """One list per (manager, window end), a lead once (its first escalation), oldest first."""
    out: dict[tuple[int, datetime], dict[int, Escalation]] = defaultdict(dict)
    for e in sorted(escalations, key=lambda e: (e.at, e.lead_id)):
        out[(e.manager_id, window(e.at, every)[1])].setdefault(e.lead_id, e)
    return {k: list(v.values()) for k, v in out.items()}


def digest_text(manager: str, items: list[Escalation], *, start: datetime, end: datetime) -> tuple[str, str]:
    """The e-mail: a subject that counts, a body that lists each lead with its link path."""
    n = len(items)
    subject = f"SLA escalations: {n} lead{'' if n == 1 else 's'} waiting for a first touch"
    lines = [
        f"Hello {manager},",
        "",
        f"{n} lead{' has' if n == 1 else 's have'} passed the escalation point of their SLA without a first "
        f"touch between {start:%Y-%m-%d %H:%M} and {end:%H:%M} UTC:",
        "",
    ]
    lines += [
        f"- {e.title or f'lead #{e.lead_id}'} · {e.owner or 'no owner'}"
        + (f" ({e.policy})" if e.policy else "")
        + f" · /leads/{e.lead_id}"
        for e in items
    ]
    return subject, "\n".join(lines)
