"""The qualification desk's rules, pure: reading a BDR's answers against the form the routing rule
set configures (BANT by default), what a hand-over needs, the reasons to send a lead back, and the
brief a field rep gets. Every problem is a sentence that names the field and says what to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leadloop.core.errors import InvalidInput
from leadloop.routing.document import Qualification


class Outcome(StrEnum):
    HANDED_OVER = "handed_over"
    NURTURE = "nurture"
    DISQUALIFIED = "disqualified"


OUTCOME_LABELS = {
    Outcome.HANDED_OVER: "Qualified and handed over",
    Outcome.NURTURE: "Back to nurture",
    Outcome.DISQUALIFIED: "Disqualified",
}


class QualificationError(InvalidInput):
    """Answers the form cannot take; `problems` has one sentence per field, all of them at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Answer:
    choice: str | None  # the choice's code; None: not answered yet
    label: str | None  # the choice's label as the form read when it was saved
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {"choice": self.choice, "label": self.label, "note": self.note}


def read_answers(form: Qualification, raw: Mapping[str, Any]) -> dict[str, Answer]:
    """`raw`: field key -> {"choice": code or "", "note": text}. Every field of the form comes back
    (unanswered ones empty); anything the form does not know, or cannot take, is refused."""
    problems: list[str] = []
    known = [f.key for f in form.fields]
    for key in raw:
        if form.field(str(key)) is None:
            problems.append(f"unknown field {str(key)[:60]!r}; the form's fields are: {', '.join(known)}")
    out: dict[str, Answer] = {}
    for f in form.fields:
        given = raw.get(f.key)
        if given is None:
            out[f.key] = Answer(None, None, "")
            continue
        if not isinstance(given, Mapping):
            problems.append(
                f"{f.label}: give an object with a choice and a note, like {{'choice': ..., 'note': ...}}"
            )
            continue
        extra = sorted(str(k) for k in given if k not in ("choice", "note"))
        if extra:
            problems.append(f"{f.label}: unknown key {extra[0][:40]!r}; an answer has a choice and a note")
        choice, note = given.get("choice") or None, given.get("note") or ""
        if choice is not None and (not isinstance(choice, str) or choice not in f.choices):
            labels = ", ".join(f"{code} ({label})" for code, label in f.choices.items())
            problems.append(f"{f.label}: {str(choice)[:40]!r} is not one of the choices: {labels}")
            continue
        if not isinstance(note, str):
            problems.append(f"{f.label}: the note must be text")
            continue
        note = note.strip()
        if len(note) > form.note_max:
            problems.append(
                f"{f.label}: the note has {len(note):,} characters; keep it to {form.note_max:,} "
                "(the rest belongs in a call log)"
            )
            continue
        out[f.key] = Answer(choice, f.choices[choice] if choice else None, note)
    if problems:
        raise QualificationError(problems)
    return out


def stored_answers(form: Qualification, stored: Mapping[str, Any] | None) -> dict[str, Answer]:
    """What a saved row holds, as answers, for every field of today's form (a field added since is
    empty; one removed since is kept under its old key, with the label it was saved with)."""
    stored = stored or {}
    out: dict[str, Answer] = {}
    for key in [*(f.key for f in form.fields), *(k for k in stored if form.field(k) is None)]:
        s = stored.get(key) or {}
        out[key] = Answer(s.get("choice"), s.get("label"), s.get("note") or "")
    return out


def missing(form: Qualification, answers: Mapping[str, Answer]) -> list[str]:
    """The labels of the required fields still without a choice."""
    return [
        f.label for f in form.fields if f.required and (f.key not in answers or not answers[f.key].choice)
    ]


def require_complete(form: Qualification, answers: Mapping[str, Answer]) -> None:
    if gaps := missing(form, answers):
        why = "the rep needs them for the first call"
        raise QualificationError([f"answer {', '.join(gaps)} before handing the lead over: {why}"])


def reason_label(outcome: Outcome, reasons: Mapping[str, str], code: str | None) -> str:
    """The label of a reason to send a lead back or disqualify it; a named error without one."""
    doing = "send it back to nurture" if outcome is Outcome.NURTURE else "disqualify it"
    choices = ", ".join(f"{c} ({label})" for c, label in reasons.items())
    if not code:
        raise QualificationError([f"choose a reason to {doing}: {choices}"])
    if code not in reasons:
        raise QualificationError([f"unknown reason {code[:40]!r}; to {doing}, choose one of: {choices}"])
    return reasons[code]


def check_note(note: str | None, limit: int, *, what: str = "the note") -> str | None:
    if note is None or not note.strip():
        return None
    if len(note.strip()) > limit:
        raise QualificationError([f"{what} has {len(note.strip()):,} characters; keep it to {limit:,}"])
    return note.strip()


FIRMOGRAPHICS = (
    ("name", "Company"),
    ("domain", "Website"),
    ("industry", "Industry"),
    ("employees", "Employees"),
    ("annual_revenue", "Annual revenue"),
    ("country", "Country"),
    ("city", "City"),
)


def firmographics(account: Mapping[str, Any]) -> list[list[str]]:
    """The account as a rep reads it before a first call: [label, value] for what is known."""
    out: list[list[str]] = []
    for key, label in FIRMOGRAPHICS:
        value = account.get(key)
        if value is None or value == "":
            continue
        if key in ("employees", "annual_revenue"):
            value = f"{float(value):,.0f}"
        out.append([label, str(value)])
    return out


def brief(
    form: Qualification,
    answers: Mapping[str, Answer],
    firmo: list[list[str]],
    *,
    note: str | None = None,
    contact: str | None = None,
) -> str:
    """The text a field rep reads in the hand-over e-mail: the answers with their notes, the BDR's
    note, the firmographics."""
    lines = []
    for f in form.fields:
        a = answers.get(f.key)
        if a is None or (not a.choice and not a.note):
            continue
        said = a.label or "not answered"
        lines.append(f"- {f.label}: {said}" + (f" — {a.note}" if a.note else ""))
    if note:
        lines.append(f"\nFrom the call: {note}")
    if contact:
        lines.append(f"\nContact: {contact}")
    if firmo:
        lines.append("\n" + " · ".join(f"{label}: {value}" for label, value in firmo))
    return "\n".join(lines)
