"""Tracking, the pure part: beacons read or refused with the reason, robots and prefetches
dropped, origins checked, pages kinded by URL rules, page views grouped into visits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.capture.tracking import (
    MAX_BEACON_BYTES,
    Beacon,
    origin_allowed,
    page_kind,
    read_beacon,
    robot,
    session_of,
    utm_of,
)

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
GOOD = {
    "s": "ll_abcdefgh12",
    "v": "0b9f6a52-1c1e-4c1a-9a55-3f0f3f0f3f0f",
    "k": "pv",
    "u": "https://www.polar.se/pricing?utm_source=ads",
}


def _read(data: object) -> Beacon | str:
    return read_beacon(json.dumps(data).encode())


def test_a_page_view_beacon_is_read() -> None:
    b = _read({**GOOD, "t": "Pricing", "r": "https://www.google.com/"})
    assert (
        isinstance(b, Beacon)
        and b.kind == "pv"
        and b.title == "Pricing"
        and b.referrer == "https://www.google.com/"
    )


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({**GOOD, "s": "x"}, "site key"),
        ({**GOOD, "v": "<script>"}, "visitor id"),
        ({**GOOD, "k": "click"}, "kind"),
        ({**GOOD, "u": "javascript:alert(1)"}, "page URL"),
        ({**GOOD, "u": "https://x.io/" + "a" * 3000}, "page URL"),
        ({**GOOD, "k": "form", "f": {}}, "fields"),
        ({**GOOD, "k": "form", "f": {str(i): "x" for i in range(41)}}, "fields"),
        ([1, 2], "JSON object"),
    ],
)
def test_malformed_beacons_are_refused_with_the_reason(data: object, why: str) -> None:
    result = _read(data)
    assert isinstance(result, str) and why in result


def test_oversized_and_non_json_bodies_are_refused() -> None:
    assert "at most" in str(read_beacon(b"x" * (MAX_BEACON_BYTES + 1)))
    assert "JSON" in str(read_beacon(b"\xff\xfe not json"))


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=600))
def test_any_body_is_read_or_refused_never_a_crash(body: bytes) -> None:
    assert isinstance(read_beacon(body), Beacon | str)


def test_robots_prefetches_and_gpc_are_dropped() -> None:
    assert robot(CHROME, {}) is None
    assert robot(None, {}) == "no user agent"
    assert robot("Mozilla/5.0 (compatible; Googlebot/2.1)", {}) == "a crawler or automated client"
    assert robot("Mozilla/5.0 HeadlessChrome/131.0", {}) == "a crawler or automated client"
    assert robot(CHROME, {"sec-purpose": "prefetch;prerender"}) == "a prefetch"
    assert robot(CHROME, {"sec-gpc": "1"}) == "Global Privacy Control"


def test_origins_must_be_the_sites_own() -> None:
    allowed = ["https://www.polar.se", "https://polar.se:8443"]
    assert origin_allowed("https://www.polar.se", "https://www.polar.se/x", allowed)
    assert origin_allowed("https://polar.se:8443", "https://polar.se:8443/", allowed)
    assert not origin_allowed("https://evil.io", "https://www.polar.se/x", allowed)
    assert not origin_allowed("https://www.polar.se", "https://evil.io/x", allowed)  # a forged page
    assert not origin_allowed(None, "https://www.polar.se/x", allowed)
    assert not origin_allowed("http://www.polar.se", "http://www.polar.se/x", allowed)  # scheme counts


def test_url_rules_kind_pages_and_utm_is_kept() -> None:
    assert page_kind("https://polar.se/pricing") == "pricing_page_view"
    assert page_kind("https://polar.se/en/pricing/enterprise") == "pricing_page_view"
    assert page_kind("https://polar.se/karriere") == "careers_page_view"
    assert page_kind("https://polar.se/blog/x") == "page_view"
    assert page_kind("https://polar.se/docs/a", (("/docs/*", "content_download"),)) == "content_download"
    assert utm_of("https://x.io/?utm_source=ads&utm_campaign=q4&foo=1") == {
        "utm_source": "ads",
        "utm_campaign": "q4",
    }


def test_page_views_within_thirty_minutes_are_one_visit() -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    first = session_of("v1", None, t0)
    assert session_of("v1", (first, t0), t0 + timedelta(minutes=29)) == first
    assert session_of("v1", (first, t0), t0 + timedelta(minutes=31)) != first
    assert session_of("v1", (first, t0), t0 - timedelta(minutes=1)) != first  # a clock gone back


def test_url_rules_are_part_of_the_scoring_model_and_checked_when_saved() -> None:
    from leadloop.scoring.document import ModelDocumentError, parse_model
    from leadloop.scoring.repository import default_model

    assert ("/pricing*", "pricing_page_view") in default_model().url_rule_pairs()
    text = default_model().to_yaml() + ""
    custom = text.replace("url_rules:", "url_rules:\n- {pattern: /docs/*, type: content_download}", 1)
    assert parse_model(custom).url_rule_pairs()[0] == ("/docs/*", "content_download")
    bad = text.replace("url_rules:", "url_rules:\n- {pattern: docs, type: nonsense}", 1)
    with pytest.raises(ModelDocumentError) as refused:
        parse_model(bad)
    assert "unknown activity type 'nonsense'" in str(refused.value) and "not 'docs'" in str(refused.value)
