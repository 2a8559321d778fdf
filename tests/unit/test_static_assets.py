"""The hand-written CSS and JS stay whole: several branches append blocks to the same two files, and
a merge that drops one closing brace silently turns the rest of the stylesheet into a media query or
stops every script on every page."""

from __future__ import annotations

import re

from leadloop.web.context import STATIC_DIR


def test_every_css_block_closes_before_the_next_begins() -> None:
    depth = 0
    for n, line in enumerate((STATIC_DIR / "leadloop.css").read_text().splitlines(), 1):
        if line.startswith("/*"):
            assert depth == 0, f"leadloop.css line {n}: a block above it is not closed"
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"leadloop.css line {n}: a closing brace too many"
    assert depth == 0


def test_every_script_block_is_a_closed_function() -> None:
    text = (STATIC_DIR / "leadloop.js").read_text()
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    code = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', code)
    code = re.sub(r"/(?:\\.|[^/\\\n])+/[gimsuy]*(?=[.,;)\s])", '""', code)  # regular expressions
    assert code.count("{") == code.count("}") and code.count("(") == code.count(")")
    assert code.count("(function () {") == len(re.findall(r"\}\)\(\);", code))
