"""The guides: every role has one, they render without raw HTML, and screenshots are only served
from the guide's own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadloop.auth.model import STAFF
from leadloop.help.guides import FOR_ROLE, GUIDE_DIR, Guide, image, render


def test_every_staff_role_has_a_guide_and_every_guide_is_written() -> None:
    assert {r.value for r in STAFF} <= set(FOR_ROLE)
    for guide in Guide:
        page = render(guide)
        assert "<h1>" in page.html, guide
        assert "not installed" not in page.html


def test_raw_html_in_a_guide_is_shown_as_text(tmp_path: Path) -> None:
    (tmp_path / "rep.md").write_text("# Hi\n\n<script>alert(1)</script>\n\n![shot](img/inbox.png)\n")
    html = render(Guide.REP, tmp_path).html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'src="/help/img/inbox.png"' in html


@pytest.mark.parametrize(
    "name", ["../rep.md", "..%2Frep.md", "x.svg", "A.PNG", ".png", "img/x.png", "x.png\n"]
)
def test_only_plain_png_names_are_images(name: str) -> None:
    assert image(name) is None


def test_an_existing_screenshot_is_found(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "inbox.png").write_bytes(b"\x89PNG")
    assert image("inbox.png", tmp_path) == tmp_path / "img" / "inbox.png"
    assert image("missing.png", tmp_path) is None
    assert GUIDE_DIR.name == "guide"


def test_every_screenshot_a_guide_shows_is_there() -> None:
    import re

    for guide in Guide:
        text = (GUIDE_DIR / f"{guide.value}.md").read_text()
        for name in re.findall(r"\(img/([^)]+)\)", text):
            assert image(name) is not None, f"{guide.value}.md shows img/{name}, which is missing"
