"""Bounds on what anyone may send: text a database can store, and nesting a parser survives.

Pure. A NUL byte is a valid Python and JSON character that PostgreSQL refuses in any text column
(and SQLite silently truncates at in some drivers); a lone surrogate cannot be encoded as UTF-8 at
all. Both are refused at the door, naming the field, so that no database ever sees them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from leadloop.core.errors import InvalidInput

MAX_DEPTH = 32
MAX_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL's int4 is the narrower of our databases

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

Loc = tuple[str | int, ...]


class UnstorableText(InvalidInput):
    def __init__(self, loc: Loc, char: str) -> None:
        self.loc = loc
        what = "a NUL byte" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"
        self.errors = [
            {"loc": list(loc), "msg": f"contains {what}, which cannot be stored", "type": "string_unstorable"}
        ]
        super().__init__(f"{_name(loc)}: contains {what}, which cannot be stored; remove it and send again")


class TooDeep(InvalidInput):
    def __init__(self, loc: Loc, limit: int) -> None:
        self.loc = loc
        self.errors = [{"loc": list(loc), "msg": f"nested more than {limit} levels deep", "type": "too_deep"}]
        super().__init__(f"{_name(loc)}: nested more than {limit} levels deep; the limit is {limit}")


def _name(loc: Loc) -> str:
    return ".".join(str(p) for p in loc[1:]) or str(loc[0]) if loc else "input"


def unstorable_char(text: str) -> str | None:
    """The first character no database can store, or None."""
    found = _UNSTORABLE.search(text)
    return found.group() if found else None


def check_text(text: str, loc: Loc) -> None:
    if (char := unstorable_char(text)) is not None:
        raise UnstorableText(loc, char)


def check_pairs(pairs: Sequence[tuple[str, str]], where: str) -> None:
    """Query parameters, form fields, path parameters: (name, value) pairs."""
    for name, value in pairs:
        check_text(name, (where,))
        check_text(value, (where, name))


def check_tree(data: Any, root: Loc, *, max_depth: int = MAX_DEPTH) -> None:
    """Every key and string in a parsed JSON document, and its depth. Iterative, so a document
    nested far deeper than the limit costs no recursion."""
    for loc, depth, value in _walk(data, root):
        if depth > max_depth:
            raise TooDeep(loc, max_depth)
        if isinstance(value, str):
            check_text(value, loc)


def _walk(data: Any, root: Loc) -> Iterator[tuple[Loc, int, Any]]:
    stack: list[tuple[Loc, int, Any]] = [(root, 0, data)]
    while stack:
        loc, depth, value = stack.pop()
        yield loc, depth, value
        if isinstance(value, dict):
            for key, item in value.items():
                check_text(key, loc)
                stack.append(((*loc, key), depth + 1, item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), depth + 1, item) for i, item in enumerate(value))
