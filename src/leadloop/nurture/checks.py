"""A sequence's checks, pure: `parse_sequence` refuses what would go wrong while it runs, with
the line of every problem (a wait of zero or less, a branch on a field or step nobody knows, a loop
with no wait in it, a template with an unknown variable or one reaching into Python), and
`sequence_warnings` says what is allowed but will surprise someone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from leadloop.contract.vocab import ACTIVITY_TYPES
from leadloop.core.yamldoc import line_of, parse_document
from leadloop.nurture import templates
from leadloop.nurture.document import (
    CODE,
    CONDITIONS,
    END,
    EVENT,
    FIELDS,
    MAX_STEPS,
    MAX_WAIT_DAYS,
    PERSON_FIELDS,
    SCORE_FIELDS,
    STEP_KINDS,
    TRIGGER_STAGES,
    VIAS,
    Branch,
    Cooldown,
    DirectMail,
    FieldTest,
    SequenceDoc,
    SequenceDocumentError,
    Step,
    Triggers,
    Wait,
)
from leadloop.nurture.zones import known_zone


def parse_sequence(text: str) -> SequenceDoc:
    """YAML text -> a valid SequenceDoc, or SequenceDocumentError listing every problem by line."""
    doc, root = parse_document(text, SequenceDoc, what="a sequence", error=SequenceDocumentError)
    problems = [(_line(root, path, offset), msg) for path, offset, msg in _problems(doc)]
    if problems:
        raise SequenceDocumentError(sorted(problems, key=lambda p: (p[0] or 0, p[1])))
    return doc


Found = tuple[tuple[Any, ...], int | None, str]  # (YAML path, line within a template, sentence)


def _line(root: yaml.Node | None, path: tuple[Any, ...], offset: int | None) -> int | None:
    """The document line of `path`; for a template problem, the line inside the template too."""
    line = line_of(root, path)
    if offset is None or root is None:
        return line
    node = _node_at(root, path)
    if not isinstance(node, yaml.ScalarNode):
        return line
    if node.style in ("|", ">"):  # a block scalar starts on the line after its indicator
        return node.start_mark.line + 1 + offset
    return node.start_mark.line + offset


def _node_at(root: yaml.Node, path: tuple[Any, ...]) -> yaml.Node | None:
    node: yaml.Node | None = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
    return node


def _problems(doc: SequenceDoc) -> list[Found]:
    out: list[Found] = []
    ids = doc.ids()
    if len(doc.steps) > MAX_STEPS:
        out.append((("steps",), None, f"a sequence has at most {MAX_STEPS} steps"))
    seen: set[str] = set()
    for i, sid in enumerate(ids):
        if sid in seen:
            out.append((("steps", i, "id"), None, f"step id {sid!r} is used twice"))
        seen.add(sid)
    targets = set(ids) | {END}
    emails = set(doc.emails())
    for i, (sid, step) in enumerate(zip(ids, doc.steps, strict=True)):
        where = ("steps", i)
        if len(step.kinds) != 1:
            out.append(
                (
                    where,
                    None,
                    f"step {sid} needs exactly one of {', '.join(STEP_KINDS)}; it has "
                    f"{', '.join(step.kinds) or 'none'}",
                )
            )
            continue
        out += _step_problems(sid, step, (*where, step.kind), targets, emails)
    out += _trigger_problems(doc.triggers)
    out += _setting_problems(doc)
    out += [((("steps", ids.index(loop[0]))), None, _loop_sentence(loop)) for loop in _loops(doc)]
    return out


def _step_problems(
    sid: str, step: Step, where: tuple[Any, ...], targets: set[str], emails: set[str]
) -> list[Found]:
    out: list[Found] = []
    if step.email is not None:
        for part in ("subject", "text", "html"):
            source = getattr(step.email, part)
            if source is not None:
                out += [
                    ((*where, part), line, f"step {sid}, {part}, line {line} of the template: {msg}")
                    for line, msg in templates.check(source)
                ]
    elif step.wait is not None:
        out += _wait_problems(sid, step.wait, where)
    elif step.branch is not None:
        out += _branch_problems(sid, step.branch, where, targets, emails)
    elif step.task is not None:
        out += [
            ((*where, "title"), line, f"step {sid}, task title: {msg}")
            for line, msg in templates.check(step.task.title)
        ]
        if not 0 < step.task.due_in_hours <= 24 * 90:
            out.append(
                ((*where, "due_in_hours"), None, f"step {sid}: due_in_hours must be between 0 and 2160")
            )
    elif step.direct_mail is not None:
        out += _direct_mail_problems(sid, step.direct_mail, where)
    elif step.goto is not None and step.goto not in targets:
        out.append(
            (
                where,
                None,
                f"step {sid}: goto {step.goto!r} is not a step; steps: {', '.join(sorted(targets))}",
            )
        )
    return out


def _direct_mail_problems(sid: str, d: DirectMail, where: tuple[Any, ...]) -> list[Found]:
    out: list[Found] = []
    if not (d.piece or "").strip():
        out.append(
            (
                (*where, "piece") if d.piece is not None else where,
                None,
                f'step {sid}: direct mail needs a `piece`: what is sent, like "Spring postcard"',
            )
        )
    if d.via not in VIAS:
        out.append(
            (
                (*where, "via"),
                None,
                f"step {sid}: via {d.via!r} is not a way to send direct mail; use list (a mailing list "
                "to export for a print house) or webhook (a print-and-mail service)",
            )
        )
    elif d.via == "webhook" and d.event is None:
        out.append(
            (where, None, f"step {sid}: direct mail via webhook needs an `event`, like postcard_requested")
        )
    elif d.via == "list" and (d.event is not None or d.data):
        out.append(
            (
                (*where, "event" if d.event is not None else "data"),
                None,
                f"step {sid}: event and data are for direct mail via webhook; a list has neither",
            )
        )
    if d.event is not None and not re.fullmatch(EVENT, d.event):
        out.append(
            (
                (*where, "event"),
                None,
                f"step {sid}: event {d.event!r} is not a name like postcard_requested (lower-case "
                "letters, digits, _ and ., up to 60)",
            )
        )
    return out


def _wait_problems(sid: str, w: Wait, where: tuple[Any, ...]) -> list[Found]:
    if len(w.given) != 1:
        return [(where, None, f"step {sid}: a wait needs exactly one of hours, days, business_days, until")]
    unit = w.given[0]
    if unit == "until":
        return []
    value = float(getattr(w, unit))
    if value <= 0:
        return [
            (
                (*where, unit),
                None,
                f"step {sid}: a wait of {value:g} {unit.replace('_', ' ')} is not a wait; "
                "give a number above zero",
            )
        ]
    days = value / 24 if unit == "hours" else value * (7 / 5 if unit == "business_days" else 1)
    if days > MAX_WAIT_DAYS:
        return [((*where, unit), None, f"step {sid}: a wait of more than {MAX_WAIT_DAYS} days is refused")]
    return []


def _branch_problems(
    sid: str, b: Branch, where: tuple[Any, ...], targets: set[str], emails: set[str]
) -> list[Found]:
    out: list[Found] = []
    cond, at = b.if_, (*where, "if")
    if len(cond.given) != 1:
        out.append((at, None, f"step {sid}: a branch tests exactly one of {', '.join(CONDITIONS)}"))
    for key in ("opened", "clicked"):
        target = getattr(cond, key)
        if target is not None and target not in emails:
            out.append(
                (
                    (*at, key),
                    None,
                    f"step {sid}: {key}: {target!r} is not an e-mail step; e-mail steps: "
                    f"{', '.join(sorted(emails)) or 'none'}",
                )
            )
    if cond.score is not None and cond.score.min is None and cond.score.max is None:
        out.append(((*at, "score"), None, f"step {sid}: a score test needs min, max or both"))
    if (
        cond.score is not None
        and None not in (cond.score.min, cond.score.max)
        and (cond.score.min or 0) > (cond.score.max or 0)
    ):
        out.append(((*at, "score"), None, f"step {sid}: the score's min is above its max"))
    if cond.field is not None:
        out += _field_problems(sid, cond.field, (*at, "field"))
    for key, target in (("then", b.then), ("else", b.else_)):
        if target is not None and target not in targets:
            out.append(
                (
                    (*where, key),
                    None,
                    f"step {sid}: {key} {target!r} is not a step; steps: {', '.join(sorted(targets))}",
                )
            )
    return out


def _field_problems(sid: str, f: FieldTest, at: tuple[Any, ...]) -> list[Found]:
    out: list[Found] = []
    custom = f.name.startswith("attributes.") and re.match(r"^attributes\.[A-Za-z0-9_]{1,60}$", f.name)
    if f.name not in FIELDS and not custom:
        out.append(
            (
                (*at, "name"),
                None,
                f"step {sid}: there is no field {f.name!r}; use a person field "
                f"({', '.join(PERSON_FIELDS)}), {', '.join(SCORE_FIELDS)}, account.<field> or "
                "attributes.<key>",
            )
        )
    tests = [k for k in ("equals", "in_", "contains", "present") if getattr(f, k) is not None]
    if len(tests) != 1:
        out.append((at, None, f"step {sid}: a field test needs exactly one of equals, in, contains, present"))
    return out


def _trigger_problems(t: Triggers) -> list[Found]:
    out: list[Found] = []
    for i, stage in enumerate(t.stages):
        if stage not in TRIGGER_STAGES:
            out.append(
                (
                    ("triggers", "stages", i),
                    None,
                    f"a sequence can start when a lead moves to {', '.join(TRIGGER_STAGES)}; not {stage!r}",
                )
            )
    for i, kind in enumerate(t.activities):
        if kind not in ACTIVITY_TYPES:
            out.append((("triggers", "activities", i), None, f"unknown activity type {kind!r}"))
    if isinstance(t.recycled, list):
        for i, code in enumerate(t.recycled):
            if not re.match(CODE, code):
                out.append(
                    (("triggers", "recycled", i), None, f"{code!r} is not a reason code, like no_budget")
                )
    return out


def _setting_problems(doc: SequenceDoc) -> list[Found]:
    out: list[Found] = []
    w = doc.window
    try:
        opens, closes = w.opens, w.closes
        if closes <= opens:
            out.append((("window", "end"), None, "the send window ends before it starts"))
    except ValueError:
        out.append((("window",), None, 'start and end are times of day like "09:00" and "17:00"'))
    if not w.days:
        out.append((("window", "days"), None, "the send window needs at least one day"))
    if not known_zone(w.zone):
        out.append((("window", "zone"), None, f"unknown time zone {w.zone!r}; use a name like Europe/Berlin"))
    if isinstance(doc.re_entry, Cooldown) and not 0 < doc.re_entry.after_days <= MAX_WAIT_DAYS:
        out.append((("re_entry", "after_days"), None, "after_days must be between 0 and 3650"))
    if doc.from_ == "sender" and doc.sender is None:
        out.append((("from",), None, "from: sender needs a `sender` with a name and an e-mail address"))
    return out


def successors(doc: SequenceDoc, step_id: str) -> list[str]:
    """Where a person can go after `step_id` (END included)."""
    step = doc.step(step_id)
    if step.goto is not None:
        return [step.goto]
    if step.branch is not None:
        nxt = doc.after(step_id)
        return list(dict.fromkeys([step.branch.then or nxt, step.branch.else_ or nxt]))
    return [doc.after(step_id)]


def _reachable(doc: SequenceDoc) -> set[str]:
    ids = set(doc.ids())
    seen: set[str] = set()
    todo = [doc.first()]
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in ids:
            continue
        seen.add(sid)
        todo.extend(successors(doc, sid))
    return seen


def _loops(doc: SequenceDoc) -> Iterator[list[str]]:
    """Cycles through steps that take no time: a person would go round them forever at once."""
    ids = doc.ids()
    known = set(ids)
    if any(
        t not in known | {END} for sid in ids if len(doc.step(sid).kinds) == 1 for t in successors(doc, sid)
    ):
        return  # a bad target is reported on its own
    instant = {sid for sid in ids if len(doc.step(sid).kinds) == 1 and not _takes_time(doc.step(sid))}
    state: dict[str, int] = {}
    found: list[list[str]] = []

    def visit(sid: str, path: list[str]) -> None:
        state[sid] = 1
        path.append(sid)
        for nxt in successors(doc, sid):
            if nxt not in instant:
                continue
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[sid] = 2

    for sid in ids:
        if sid in instant and sid not in state:
            visit(sid, [])
    yield from found


def _takes_time(step: Step) -> bool:
    return step.wait is not None and step.wait.breaks_loops


def _loop_sentence(loop: list[str]) -> str:
    return (
        f"steps {' → '.join(loop)} loop without a wait: a person would go round them forever; "
        "put a wait of hours or days in the loop"
    )


def sequence_warnings(doc: SequenceDoc) -> list[str]:
    """Saved anyway, shown beside the document: what will surprise someone when it runs."""
    out: list[str] = []
    t = doc.triggers
    if not (t.inquiry or t.recycled or t.cooled or t.stages or t.activities or t.segments):
        out.append("no trigger: people enter this sequence only when someone enrols them")
    if doc.from_ == "owner" and doc.sender is None:
        out.append(
            "from: owner without a sender: people whose account has no rep get e-mail from the "
            "system address (LEADLOOP_MAIL_FROM); name a pre-sales contact under `sender`"
        )
    for sid, step in zip(doc.ids(), doc.steps, strict=True):
        if step.email is None:
            continue
        for source in (step.email.subject, step.email.text, step.email.html or ""):
            for name in templates.without_fallback(source):
                out.append(
                    f"step {sid} uses {{{{ {name} }}}} without a default; people without one see "
                    f'nothing there: {{{{ {name} | default("...") }}}}'
                )
    unreachable = set(doc.ids()) - _reachable(doc)
    if unreachable:
        out.append(f"no path reaches step(s) {', '.join(sorted(unreachable))}")
    return list(dict.fromkeys(out))
