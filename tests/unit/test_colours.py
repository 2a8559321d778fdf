"""Every badge's text on its background is at least 4.5:1 (WCAG AA) in the light and the dark theme,
read from leadloop.css itself: a colour changed there is checked here in milliseconds (the axe
crawl in tests/browser checks the rendered pages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import leadloop.web

CSS = (Path(leadloop.web.__file__).parent / "static" / "leadloop.css").read_text()
PAIRS = ("neutral", "amber", "blue", "purple", "green", "red")
WHITE, LIGHT_PAGE, DARK_PAGE, DARK_CARD = "#ffffff", "#ffffff", "#13161e", "#181c25"  # Pico's


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _theme(selector: str) -> dict[str, str]:
    block = re.search(re.escape(selector) + r"\s*\{([^}]*--ll-[^}]*)\}", CSS)
    assert block, f"leadloop.css has no {selector} block of colour variables"
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block.group(1)))


THEMES = {"light": _theme(":root"), "dark": _theme("[data-theme=dark]")}


def test_the_arithmetic() -> None:
    assert contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast("#ffffff", "#bf8700") == pytest.approx(3.14, abs=0.01)  # the old "mql" badge


@pytest.mark.parametrize("theme", sorted(THEMES))
@pytest.mark.parametrize("pair", PAIRS)
def test_badge_text_is_readable(theme: str, pair: str) -> None:
    colours = THEMES[theme]
    ratio = contrast(colours[f"ll-{pair}-fg"], colours[f"ll-{pair}-bg"])
    assert ratio >= 4.5, f"{theme} {pair} badge is {ratio:.2f}:1; it needs 4.5:1"


def test_warnings_are_readable_on_the_page_and_on_a_card() -> None:
    assert contrast(THEMES["light"]["ll-danger"], LIGHT_PAGE) >= 4.5
    for background in (DARK_PAGE, DARK_CARD):
        assert contrast(THEMES["dark"]["ll-danger"], background) >= 4.5
        assert contrast(THEMES["dark"]["pico-muted-color"], background) >= 4.5


def test_the_system_dark_theme_and_the_forced_one_agree() -> None:
    system = _theme(":root:not([data-theme])")
    assert system == THEMES["dark"], "the two dark blocks in leadloop.css drifted apart"
