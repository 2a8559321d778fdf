"""Folding text for search: "Jürgen" and "JURGEN" both become "jurgen", "Müller" and "muller" meet.

One pure function, used three ways: the search terms are folded with it; SQLite runs it as the SQL
function `ll_fold` (registered on every connection in store/db.py); PostgreSQL runs a function of
the same name that migration 0017 wrote from this function's table (a test compares the two on
every Latin letter). Beyond the Latin letters below, PostgreSQL's `lower` decides the case.
"""

from __future__ import annotations

import unicodedata

# Letters that carry no combining mark to strip, so NFKD leaves them whole: spelled out.
_EXTRA = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ħ": "h",
        "ı": "i",
        "ŧ": "t",
        "ŀ": "l",
        "ĸ": "k",
        "ŋ": "n",
        "ƀ": "b",
        "ƈ": "c",
        "ɨ": "i",
        "ʉ": "u",
    }
)

# The block PostgreSQL's ll_fold is built from, and the test checks, letter by letter.
LATIN_RANGE = range(0x00C0, 0x0250)


def fold(text: str | None) -> str:
    """Case-folded, accents stripped, compatibility forms spelled out ("ﬁ" -> "fi", "ß" -> "ss")."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.translate(_EXTRA)


def like_pattern(term: str) -> str:
    """A folded `%term%` for LIKE with `\\` as the escape: the user's % and _ are letters."""
    escaped = fold(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def postgres_tables() -> tuple[list[tuple[str, str]], str, str]:
    """What PostgreSQL's ll_fold needs to agree with `fold` on LATIN_RANGE: (multi-letter
    replacements, translate-from, translate-to). Used once, to write migration 0017."""
    multi: list[tuple[str, str]] = []
    src, dst = [], []
    for code in LATIN_RANGE:
        ch = chr(code)
        if unicodedata.category(ch)[0] != "L":
            continue
        folded = fold(ch)
        if folded == ch:
            continue
        if len(folded) == 1:
            src.append(ch)
            dst.append(folded)
        else:
            multi.append((ch, folded))
    return multi, "".join(src), "".join(dst)
