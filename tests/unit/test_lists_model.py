"""Pure rules of home, search and lists: folding, paging maths, saved-view validation, the ids of a
bulk selection, a campaign's status, the home page's periods and the labels for codes."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadloop.campaigns.model import cost_per, status
from leadloop.core.fold import LATIN_RANGE, fold, like_pattern, postgres_tables
from leadloop.core.labels import label
from leadloop.home.model import month_start, week_start
from leadloop.lists.model import (
    MAX_QUERY,
    PAGE_SIZES,
    Paging,
    ViewError,
    clean_view,
    page_size,
    selected_ids,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Jürgen", "jurgen"),
        ("JÜRGEN", "jurgen"),
        ("Müller", "muller"),
        ("Søren Ørsted", "soren orsted"),
        ("Łódź", "lodz"),
        ("Straße", "strasse"),
        ("ÆRØ", "aero"),
        ("Œuvre", "oeuvre"),
        ("François Pérez-Núñez", "francois perez-nunez"),
        ("ﬁnance", "finance"),  # a compatibility ligature is spelled out
        ("Ελένη", "ελενη"),  # other scripts: case and accents too
        ("", ""),
        (None, ""),
    ],
)
def test_fold_ignores_case_and_accents(text: str | None, folded: str) -> None:
    assert fold(text) == folded


def test_fold_is_idempotent_and_leaves_no_combining_mark_on_latin_letters() -> None:
    for code in LATIN_RANGE:
        once = fold(chr(code))
        assert fold(once) == once
        assert not any(unicodedata.combining(c) for c in once)


def test_like_pattern_folds_and_keeps_wildcards_literal() -> None:
    assert like_pattern("Jürgen") == "%jurgen%"
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_postgres_table_translates_letter_for_letter() -> None:
    multi, src, dst = postgres_tables()
    assert len(src) == len(dst) and "ü" in src and dst[src.index("Ü")] == "u"
    assert ("ß", "ss") in multi and ("Æ", "ae") in multi


@pytest.mark.parametrize(
    ("total", "page", "per_page", "pages", "offset", "first", "last", "beyond"),
    [
        (0, 1, 25, 1, 0, 0, 0, False),  # nothing at all: one empty page, not "beyond"
        (1, 1, 25, 1, 0, 1, 1, False),
        (25, 1, 25, 1, 0, 1, 25, False),
        (26, 2, 25, 2, 25, 26, 26, False),
        (1710, 69, 25, 69, 1700, 1701, 1710, False),
        (1710, 9, 200, 9, 1600, 1601, 1710, False),
        (1710, 10, 200, 9, 1800, 0, 0, True),  # past the last page: say so, fetch nothing
        (1710, 10**9, 25, 69, (10**9 - 1) * 25, 0, 0, True),
    ],
)
def test_paging_maths(
    total: int, page: int, per_page: int, pages: int, offset: int, first: int, last: int, beyond: bool
) -> None:
    p = Paging.of(total, page, per_page)
    assert (p.pages, p.offset, p.first, p.last, p.beyond_last) == (pages, offset, first, last, beyond)


@pytest.mark.parametrize(("asked", "got"), [(-1, 1), (0, 1), (None, 1), (3, 3)])
def test_a_page_below_one_is_the_first(asked: int | None, got: int) -> None:
    assert Paging.of(100, asked, 25).page == got


@pytest.mark.parametrize(("asked", "got"), [(25, 25), (200, 200), (5000, 25), (0, 25), (-5, 25), (30, 25)])
def test_page_sizes_are_the_ones_on_offer(asked: int, got: int) -> None:
    assert page_size(asked) == got and PAGE_SIZES == (25, 50, 100, 200)


def test_prev_and_next() -> None:
    assert (Paging.of(60, 1, 25).has_prev, Paging.of(60, 1, 25).has_next) == (False, True)
    assert (Paging.of(60, 3, 25).has_prev, Paging.of(60, 3, 25).has_next) == (True, False)
    assert not Paging.of(60, 9, 25).has_prev  # beyond the last page: the notice links back instead


def test_a_saved_view_keeps_only_its_lists_filters_and_never_the_page() -> None:
    v = clean_view("leads", "  Hot   MQLs ", "?stage=mql&page=4&q=m%C3%BCller&evil=1&owner=&per_page=100")
    assert (v.list_name, v.name) == ("leads", "Hot MQLs")
    assert v.query == "stage=mql&q=m%C3%BCller&per_page=100"


@pytest.mark.parametrize(
    ("list_name", "name", "query", "says"),
    [
        ("opportunities", "x", "", "there is no list called"),
        ("leads", "   ", "", "give the view a name"),
        ("leads", "x" * 81, "", "at most 80 characters"),
        ("leads", "ok", "q=" + "a" * MAX_QUERY, "too long to keep"),
    ],
)
def test_a_saved_view_that_cannot_be_kept_says_why(list_name: str, name: str, query: str, says: str) -> None:
    with pytest.raises(ViewError, match=says):
        clean_view(list_name, name, query)


def test_selected_ids_are_digits_each_once_and_bounded() -> None:
    assert selected_ids(["3", "x", "3", " 7 ", "-1", "0", "99999999999", "2147483648", "5"]) == [3, 7, 5]
    assert selected_ids([str(i) for i in range(1, 1000)], limit=10) == list(range(1, 11))


NOW = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # a Wednesday


def test_campaign_status_and_cost_per_lead() -> None:
    later, earlier = datetime(2027, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert status(later, None, NOW) == "planned"
    assert status(earlier, earlier, NOW) == "ended"
    assert status(earlier, later, NOW) == "active" and status(None, None, NOW) == "active"
    assert cost_per(Decimal(24000), 7) == Decimal("3428.57")
    assert cost_per(Decimal(24000), 0) is None and cost_per(None, 5) is None


def test_home_counts_in_calendar_weeks_and_months() -> None:
    assert week_start(NOW) == datetime(2026, 11, 30, tzinfo=UTC)  # Monday
    assert month_start(NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    assert week_start(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)) == datetime(2026, 11, 30, tzinfo=UTC)


def test_labels_are_words_not_codes() -> None:
    assert (label("sal"), label("paid_search"), label("no_budget"), label(None)) == (
        "Sales accepted (SAL)",
        "Paid search",
        "No budget",
        "",
    )
