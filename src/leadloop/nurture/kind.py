"""Sequences as a kind of versioned document: what the documents machine needs from nurture."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.auth.model import WRITERS
from leadloop.consent.policy import policy_of
from leadloop.core.yamldoc import Problem
from leadloop.documents.model import Activation, DocumentKind, NothingToReport
from leadloop.nurture.checks import parse_sequence, sequence_warnings
from leadloop.nurture.document import SequenceDoc
from leadloop.nurture.repository import latest_active
from leadloop.nurture.whatif import SIMULATED, what_if
from leadloop.segments.queries import segment_choices
from leadloop.store.tables import SequenceRow


def _activate(session: Session, doc: SequenceDoc, *, now: datetime) -> Activation:
    # New enrolments take the new version from now on; people already in the sequence finish the
    # version they entered with (their steps and timers were planned on it).
    return Activation(NothingToReport(), [])


def _line_naming(text: str, key: str, value: str) -> int | None:
    """The first line where `key` and `value` both appear (the YAML as it was typed)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if key in line and value in line:
            return number
    return None


def _refuse(session: Session, doc: SequenceDoc, text: str) -> list[Problem]:
    """A subscription type consent does not know would refuse every send; a segment that does not
    exist would never let anyone in (or never be true in a branch)."""
    out: list[Problem] = []
    codes = policy_of(session).codes
    if doc.subscription not in codes:
        out.append(
            (
                _line_naming(text, "subscription", doc.subscription),
                f"subscription: {doc.subscription!r} is not a subscription type; types: {', '.join(codes)}",
            )
        )
    live = {name.casefold() for _, name in segment_choices(session)}
    named = [("segments", n) for n in doc.triggers.segments] + [
        ("segment", s.branch.if_.segment) for s in doc.steps if s.branch and s.branch.if_.segment
    ]
    for key, name in named:
        if name.casefold() not in live:
            out.append(
                (
                    _line_naming(text, key, name),
                    f"{key}: there is no segment called {name!r}; create it under Marketing → Segments first",
                )
            )
    return out


SEQUENCES = DocumentKind[SequenceDoc](
    slug="sequences",
    noun="sequence",
    table=SequenceRow,
    parse=parse_sequence,
    active=latest_active,
    preview=what_if,
    preview_limit=SIMULATED,
    activate=_activate,
    warnings=sequence_warnings,
    refuse=_refuse,
    editors=WRITERS,  # marketing writes the drips
)
