"""A segment definition as text people edit (YAML, of which JSON is a part): parsed strictly,
every problem reported with its line, and written back in a stable form."""

from __future__ import annotations

from typing import Any

import yaml

# yamldoc's own depth guard, shared rather than copied (it counts events before anything is composed).
from leadloop.core.yamldoc import DocumentError, _too_deep_at, line_of
from leadloop.segments.model import Definition
from leadloop.segments.parse import DefinitionError, parse_definition, where

MAX_CHARS = 20_000


class SegmentDocumentError(DocumentError):
    """A definition that cannot be saved, with every problem and its line."""


def parse_text(text: str) -> Definition:
    if len(text) > MAX_CHARS:
        raise SegmentDocumentError(
            [(None, f"the definition is {len(text):,} characters; at most {MAX_CHARS:,}")]
        )
    if (deep := _too_deep_at(text)) is not None:
        raise SegmentDocumentError([(deep, "nested too deep; flatten the all/any/not groups")])
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SegmentDocumentError(
            [(mark.line + 1 if mark else None, f"not valid YAML: {problem}")]
        ) from None
    try:
        return parse_definition(data)
    except DefinitionError as exc:
        raise SegmentDocumentError(
            [
                (line_of(root, path) if path else None, f"{where(path)}: {msg}" if path else msg)
                for path, msg in exc.problems
            ]
        ) from None


def to_text(definition: Definition | dict[str, Any]) -> str:
    doc = definition.document() if isinstance(definition, Definition) else definition
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
