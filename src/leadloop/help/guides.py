"""Find and render the user guides. Markdown from docs/guide, rendered with raw HTML off, so a
guide can never carry a script into the app; image links point at /help/img."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from markdown_it import MarkdownIt

import leadloop

GUIDE_DIR = Path(leadloop.__file__).resolve().parents[2] / "docs" / "guide"
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}\.png$")


class Guide(StrEnum):
    REP = "rep"
    BDR = "bdr"
    MANAGER = "manager"
    MARKETER = "marketer"
    ADMIN = "admin"


TITLES = {
    Guide.REP: "The rep's day",
    Guide.BDR: "The qualification desk (BDR)",
    Guide.MANAGER: "The sales manager's week",
    Guide.MARKETER: "Marketing: from signal to sales",
    Guide.ADMIN: "Setting Leadloop up",
}

# Which guide a role opens first under Help.
FOR_ROLE = {
    "rep": Guide.REP,
    "bdr": Guide.BDR,
    "manager": Guide.MANAGER,
    "marketing": Guide.MARKETER,
    "admin": Guide.ADMIN,
}


@dataclass(frozen=True, slots=True)
class Page:
    guide: Guide
    title: str
    html: str


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True}).enable("table")


def _image_links(html: str) -> str:
    # Guides name screenshots as img/NAME.png beside them; the app serves them at /help/img/NAME.png.
    return html.replace('src="img/', 'src="/help/img/')


def render(guide: Guide, directory: Path = GUIDE_DIR) -> Page:
    path = directory / f"{guide.value}.md"
    if not path.is_file():
        return Page(guide, TITLES[guide], "<p>This guide is not installed with this copy of Leadloop.</p>")
    return Page(guide, TITLES[guide], _image_links(_md.render(path.read_text(encoding="utf-8"))))


def image(name: str, directory: Path = GUIDE_DIR) -> Path | None:
    """The screenshot called `name`, or None: only plain .png names inside the guide's img folder."""
    if not IMAGE_NAME.match(name):
        return None
    path = directory / "img" / name
    return path if path.is_file() else None
