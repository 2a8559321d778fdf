"""The rules every list follows, pure: paging, the page sizes on offer, what a saved view may hold."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 25
EXPORT_LIMIT = 10_000  # rows in one CSV export; the file says when it stopped short
MAX_SELECTED = 500  # ids in one bulk action
MAX_QUERY = 2000  # characters of a saved view's query string
MAX_VIEW_NAME = 80
MAX_VIEWS = 50  # per person and list

# The filters each list understands: a saved view keeps these and nothing else (never the page).
LISTS: dict[str, tuple[str, ...]] = {
    "leads": (
        "q",
        "stage",
        "product",
        "owner",
        "sort",
        "dir",
        "per_page",
        "sla",
        "rep",
        "rep_team",
        "days",
        "segment",
    ),
    "people": ("q", "country", "seniority", "segment", "per_page"),
    "accounts": ("q", "country", "industry", "with_leads", "segment", "per_page"),
    "campaigns": ("q", "channel", "status", "per_page"),
}


def query_string(values: dict[str, object]) -> str:
    """A list's filter as a query string: empty values and the default page size left out, so the
    same filter always reads the same (and a saved view matches the page it was saved from)."""
    return urlencode(
        {
            k: v
            for k, v in values.items()
            if v not in (None, "") and not (k == "per_page" and v == DEFAULT_PAGE_SIZE)
        }
    )


def page_size(value: int | None) -> int:
    """One of the sizes on offer; anything else (0, 5000, -1) is the default."""
    return value if value in PAGE_SIZES else DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Paging:
    """Where a page sits among `total` rows. A page past the last one is kept as asked (so the
    list can say "page 9 of 8") and fetches nothing."""

    total: int
    page: int
    per_page: int

    @classmethod
    def of(cls, total: int, page: int | None, per_page: int | None) -> Paging:
        return cls(max(0, total), max(1, page or 1), page_size(per_page))

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def beyond_last(self) -> bool:
        """Rows exist, but not on this page."""
        return self.total > 0 and self.page > self.pages

    @property
    def first(self) -> int:
        """1-based number of the first row shown (0 when none is)."""
        return 0 if self.beyond_last or self.total == 0 else self.offset + 1

    @property
    def last(self) -> int:
        return 0 if self.first == 0 else min(self.total, self.offset + self.per_page)

    @property
    def has_prev(self) -> bool:
        return 1 < self.page <= self.pages

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class ViewError(ValueError):
    """A saved view that cannot be kept; the message says what to change."""


@dataclass(frozen=True)
class ViewIn:
    list_name: str
    name: str
    query: str


def clean_view(list_name: str, name: str, query: str) -> ViewIn:
    """A saved view as it will be stored: a known list, a name of 1 to 80 characters, and only that
    list's filters from the query string (the page is never saved; empty values are dropped)."""
    if list_name not in LISTS:
        raise ViewError(f"there is no list called {list_name!r}; views are kept for: {', '.join(LISTS)}")
    name = " ".join(name.split())
    if not name:
        raise ViewError("give the view a name, such as “My hot leads”")
    if len(name) > MAX_VIEW_NAME:
        raise ViewError(f"a view's name has at most {MAX_VIEW_NAME} characters; this one has {len(name)}")
    if len(query) > MAX_QUERY:
        raise ViewError(f"these filters are too long to keep ({len(query)} characters; at most {MAX_QUERY})")
    allowed = LISTS[list_name]
    kept = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k in allowed and v]
    return ViewIn(list_name, name, urlencode(kept))


def selected_ids(values: list[str], *, limit: int = MAX_SELECTED) -> list[int]:
    """The ids ticked in a list: digits only, each once, in order, at most `limit`."""
    out: list[int] = []
    for v in values:
        v = v.strip()
        if v.isdigit() and len(v) < 11 and 0 < int(v) < 2**31 and int(v) not in out:
            out.append(int(v))
        if len(out) >= limit:
            break
    return out
