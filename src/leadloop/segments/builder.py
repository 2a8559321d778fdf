"""The segment builder's rows (what the page shows: field, operator, value, a count and a window
for behaviour, "not") to and from a definition document. Pure.

The builder writes a flat list joined by "all" or "any"; anything deeper (groups within groups)
is edited as the document itself, which the page offers beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from leadloop.contract.vocab import KNOWN_TYPES
from leadloop.core.yamldoc import DocumentError
from leadloop.segments.document import parse_text, to_text
from leadloop.segments.model import (
    CONSENT_VALUES,
    DAY_OPS,
    FIELDS,
    LIST_OPS,
    NO_VALUE,
    OP_WORDS,
    OPS,
    SCHEMA,
    STAGES,
    All,
    AnyOf,
    Compare,
    Cond,
    Definition,
    Did,
    HasLead,
    Not,
    value_doc,
)
from leadloop.segments.parse import DefinitionError, parse_definition

DID = "did"
LEAD_FIELDS = {"lead.stage": "stage", "lead.owner": "owner", "lead.product": "product"}
DID_OPS = ("at_least", "at_most", "never")
LEAD_OPS = ("in", "not_in")
MAX_ROWS = 30
WORDS = {**OP_WORDS, "at_least": "at least", "at_most": "at most", "never": "never", "in": "is one of"}


@dataclass(frozen=True)
class Row:
    field: str = ""
    op: str = ""
    value: str = ""
    count: str = ""  # behaviour: how many times
    days: str = ""  # behaviour: in the last N days (empty: ever)
    negate: bool = False


@dataclass(frozen=True)
class Builder:
    combine: str = "all"  # all | any
    rows: tuple[Row, ...] = field(default_factory=lambda: (Row(),))

    def document(self) -> dict[str, Any]:
        """The rows as a definition document (parse_definition judges it). An empty row (no field
        chosen yet) is left out; a builder with no rows at all is left to the parser to refuse."""
        items = [_row_doc(r) for r in self.rows if r.field]
        return {"schema": SCHEMA, "match": {self.combine if self.combine in ("all", "any") else "all": items}}

    def row_of(self, path: Sequence[str | int]) -> int | None:
        """Which row a problem's path points at: ("match", "all", 2, ...) is the third row kept."""
        kept = [i for i, r in enumerate(self.rows) if r.field]
        if len(path) >= 3 and isinstance(path[2], int) and path[2] < len(kept):
            return kept[path[2]]
        return None


def ops_for(field_name: str) -> tuple[str, ...]:
    if field_name == DID:
        return DID_OPS
    if field_name in LEAD_FIELDS:
        return LEAD_OPS
    spec = FIELDS.get(field_name)
    return OPS[spec.kind] if spec else ()


def choices_for(field_name: str) -> tuple[str, ...]:
    """Values offered in a list instead of a text box (the rest are typed)."""
    if field_name == DID:
        return tuple(KNOWN_TYPES)
    if field_name == "lead.stage":
        return STAGES
    if field_name == "consent.email":
        return tuple(CONSENT_VALUES)
    return ()


def takes_value(field_name: str, op: str) -> bool:
    return op not in NO_VALUE


def normalised(row: Row) -> Row:
    """A row whose field changed keeps only what still fits: the operator reset when the new field
    has no such operator."""
    ops = ops_for(row.field)
    return row if not ops or row.op in ops else replace(row, op=ops[0], value="" if row.field else row.value)


def _split(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _int_or_raw(text: str) -> Any:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() and len(text) < 10 else text


def _row_doc(r: Row) -> dict[str, Any]:
    doc = _atom_doc(r)
    return {"not": doc} if r.negate else doc


def _atom_doc(r: Row) -> dict[str, Any]:
    if r.field == DID:
        did: dict[str, Any] = {"did": _split(r.value) if "," in r.value else r.value.strip()}
        if r.op == "never":
            did["at_least"], did["at_most"] = 0, 0
        elif r.op == "at_most":
            did["at_least"], did["at_most"] = 0, _int_or_raw(r.count or "0")
        else:
            did["at_least"] = _int_or_raw(r.count or "1")
        if r.days.strip():
            did["within_days"] = _int_or_raw(r.days)
        return did
    if r.field in LEAD_FIELDS:
        lead = {"lead": {LEAD_FIELDS[r.field]: _split(r.value) or [""]}}
        return {"not": lead} if r.op == "not_in" else lead
    doc: dict[str, Any] = {"field": r.field, "op": r.op}
    if r.op in NO_VALUE:
        return doc
    spec = FIELDS.get(r.field)
    listed = r.op in LIST_OPS or r.op == "between"
    if listed or (spec is not None and spec.kind == "grade" and r.op != "at_least"):
        doc["value"] = _split(r.value)
    elif r.op in DAY_OPS:
        doc["value"] = _int_or_raw(r.value)
    else:
        doc["value"] = r.value.strip()
    return doc


def from_form(
    values: Mapping[str, str], *, add: bool = False, remove: int | None = None, reshape: bool = False
) -> Builder:
    """The builder from its form fields (`combine`, `field-N`, `op-N`, `value-N`, `count-N`,
    `days-N`, `not-N`), with a row added or one removed when the person asked. `reshape`: the
    rows are being drawn again (a field changed), so an operator the new field lacks is replaced;
    otherwise a row is judged as sent, and a wrong operator is reported."""
    indices = sorted({int(k.split("-", 1)[1]) for k in values if k.startswith("field-") and k[6:].isdigit()})
    shape = normalised if reshape else (lambda r: r)
    rows = [
        shape(
            Row(
                values.get(f"field-{i}", "")[:60],
                values.get(f"op-{i}", "")[:30],
                values.get(f"value-{i}", "")[:2000],
                values.get(f"count-{i}", "")[:12],
                values.get(f"days-{i}", "")[:12],
                values.get(f"not-{i}") in ("on", "1", "true"),
            )
        )
        for i in indices[:MAX_ROWS]
    ]
    if remove is not None and 0 <= remove < len(rows):
        del rows[remove]
    if add and len(rows) < MAX_ROWS:
        rows.append(Row())
    combine = values.get("combine", "all")
    return Builder(combine if combine in ("all", "any") else "all", tuple(rows) or (Row(),))


def from_definition(d: Definition) -> Builder | None:
    """The builder showing `d`, or None when it is more than a flat list (edit the document)."""
    match = d.match
    combine, items = (
        ("any", match.items)
        if isinstance(match, AnyOf)
        else ("all", match.items)
        if isinstance(match, All)
        else ("all", (match,))
    )
    rows = [_row_of(c) for c in items]
    if any(r is None for r in rows) or len(rows) > MAX_ROWS:
        return None
    return Builder(combine, tuple(r for r in rows if r is not None))


def _row_of(c: Cond) -> Row | None:
    negate = isinstance(c, Not)
    inner = c.item if isinstance(c, Not) else c
    if isinstance(inner, Compare):
        value = "" if inner.op in NO_VALUE else _shown(inner.value)
        return Row(inner.field, inner.op, value, negate=negate)
    if isinstance(inner, Did):
        value = ", ".join(inner.types)
        days = str(inner.within_days or "")
        if inner.at_most == 0 and inner.at_least == 0:
            return Row(DID, "never", value, "", days, negate)
        if inner.at_most is None:
            return Row(DID, "at_least", value, str(inner.at_least), days, negate)
        if inner.at_least == 0:
            return Row(DID, "at_most", value, str(inner.at_most), days, negate)
        return None
    if isinstance(inner, HasLead):
        given = [
            (k, v)
            for k, v in (
                ("lead.stage", inner.stages),
                ("lead.owner", inner.owners),
                ("lead.product", inner.products),
            )
            if v
        ]
        if len(given) != 1:
            return None
        name, values = given[0]
        return Row(name, "not_in" if negate else "in", ", ".join(values))
    return None


def _shown(value: Any) -> str:
    doc = value_doc(value)
    return ", ".join(map(str, doc)) if isinstance(doc, list) else str(doc)


# A draft on the page: the builder's rows or the document's text, and what is wrong with it.


@dataclass(frozen=True)
class Problem:
    row: int | None  # the builder's row it is about
    line: int | None  # the document's line it is on
    message: str

    def __str__(self) -> str:
        where = (
            f"condition {self.row + 1}: "
            if self.row is not None
            else f"line {self.line}: "
            if self.line
            else ""
        )
        return where + self.message


@dataclass(frozen=True)
class Draft:
    mode: str  # builder | document
    builder: Builder
    text: str
    definition: Definition | None
    problems: tuple[Problem, ...] = ()

    def problems_of(self, row: int) -> list[str]:
        return [p.message for p in self.problems if p.row == row]

    @property
    def general(self) -> list[str]:
        return [str(p) for p in self.problems if p.row is None]


def draft_of(
    values: Mapping[str, str],
    *,
    add: bool = False,
    remove: int | None = None,
    to: str | None = None,
    reshape: bool = False,
) -> Draft:
    """What the page holds, judged: in builder mode the rows, in document mode the text. `to`
    switches between them (the builder's rows written out as text, or text read into rows when it
    is a flat list)."""
    mode = "document" if values.get("mode") == "document" else "builder"
    if to == "document" or (mode == "document" and to != "builder"):
        text = values.get("document", "") if mode == "document" else _text_of(from_form(values).document())
        return _from_text(from_form(values), text)
    if mode == "document":  # to the builder
        text = values.get("document", "")
        judged = _from_text(Builder(), text)
        rows = from_definition(judged.definition) if judged.definition is not None else None
        if rows is None:
            why = (
                "groups within groups are edited as the document"
                if judged.definition
                else "fix the document first"
            )
            return replace(
                judged,
                problems=(*judged.problems, Problem(None, None, f"this cannot be shown as rows: {why}")),
            )
        return Draft("builder", rows, text, judged.definition)
    builder = from_form(values, add=add, remove=remove, reshape=reshape)
    doc = builder.document()
    if not any(r.field for r in builder.rows):
        return Draft(
            "builder", builder, "", None, (Problem(0, None, "choose what the first condition tests"),)
        )
    try:
        definition = parse_definition(doc)
    except DefinitionError as exc:
        problems = tuple(Problem(builder.row_of(path), None, msg) for path, msg in exc.problems)
        return Draft("builder", builder, _text_of(doc), None, problems)
    return Draft("builder", builder, to_text(definition), definition)


def _text_of(doc: dict[str, Any]) -> str:
    return to_text(doc)


def _from_text(builder: Builder, text: str) -> Draft:
    try:
        definition = parse_text(text)
    except DocumentError as exc:
        return Draft(
            "document", builder, text, None, tuple(Problem(None, line, msg) for line, msg in exc.problems)
        )
    return Draft("document", builder, text, definition)
