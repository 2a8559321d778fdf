"""Documents people edit as YAML (scoring models, routing rules): parsed strictly, and every
problem reported with the line it is on, so it can be found in an editor or the admin page."""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from leadloop.core.bounds import MAX_DEPTH
from leadloop.core.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
Problem = tuple[int | None, str]
_SCALAR_TAGS = ("str", "float", "int", "list[str]", "bool")


class DocumentError(InvalidInput):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {line}: {msg}" if line else msg for line, msg in problems))


def problems_of(exc: InvalidInput) -> list[Problem]:
    """Every problem with its line, for showing beside the editor; a plain error is one problem."""
    return exc.problems if isinstance(exc, DocumentError) else [(None, str(exc))]


def line_of(root: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at `path` (the deepest part of it that exists)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, v in node.value if k.value == part), None)
            if nxt is None:
                break
            line = (key or nxt).start_mark.line + 1
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _too_deep_at(text: str) -> int | None:
    """The line where the document nests deeper than MAX_DEPTH, or None. PyYAML's composer
    recurses once per level (5,000 levels blew the stack); its event parser does not, so the depth
    is counted on the events before anything is composed. A syntax error is left to the compose."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return mark.line + 1 if mark is not None else 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def parse_document(
    text: str, schema: type[M], *, what: str, error: type[DocumentError] = DocumentError
) -> tuple[M, yaml.Node | None]:
    """YAML text -> a validated `schema` instance and the YAML node tree (for semantic checks'
    line numbers), or `error` listing every problem with its line."""
    if (too_deep := _too_deep_at(text)) is not None:
        raise error([(too_deep, f"nested more than {MAX_DEPTH} levels deep; the limit is {MAX_DEPTH}")])
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(
            [(mark.line + 1 if mark else None, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    if not isinstance(data, dict):
        raise error([(1, f"{what} is a mapping with at least a name")])
    try:
        return schema.model_validate(data), root
    except ValidationError as exc:
        problems: list[Problem] = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in _SCALAR_TAGS))
            where = ".".join(str(p) for p in loc)
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append((line_of(root, loc), f"{where}: {msg}"))
        raise error(problems) from None
