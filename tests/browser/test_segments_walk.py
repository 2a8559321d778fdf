"""Segments as marketing builds one, on a desktop and at 390 px: from the navigation, choose
"Account country is one of DE, AT" and watch the count, add "did pricing_page_view at least once
in the last 30 days", see the count change and a bad window refused beside its row, save, and read
the segment's page (size, last built, members, history), then the people list filtered by it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))


def settled(page: Page) -> None:
    """htmx has swapped and processed what it fetched: new rows answer a person's next choice."""
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added")).to_have_count(0)
    page.wait_for_timeout(50)


def _count(page: Page) -> int:
    live = page.locator("#segment-live-count")
    expect(live).to_be_visible()
    return int(live.inner_text().replace(",", ""))


@pytest.mark.parametrize("size", SIZES)
def test_build_a_segment_with_a_live_count_and_read_its_page(page: Page, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    sign_in(page, "marketing@demo.leadloop.dev")
    nav_to(page, "Segments")
    expect(page).to_have_url(re.compile(r"/segments$"))
    page.get_by_role("button", name="New segment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New segment")
    page.wait_for_load_state()  # htmx is loaded and has wired the form
    page.get_by_label("Name").fill(f"DACH pricing visitors ({size})")
    settled(page)
    page.get_by_label("Condition 1: what it tests").select_option("account.country")
    how = page.get_by_label("Condition 1: how", exact=True)
    expect(how).to_be_visible()  # the row was drawn again for the field chosen
    how.select_option("in")
    page.get_by_label("Condition 1: value", exact=True).press_sequentially("DE, AT", delay=60)
    # The count follows the typing (a debounced request): it settles on the DACH people, never 0.
    expect(page.locator("#segment-live-count")).not_to_have_text(re.compile(r"^\s*0\s*$"))
    settled(page)
    everyone_dach = _count(page)
    assert everyone_dach > 0
    page.get_by_role("button", name="Add a condition").click()
    expect(page.get_by_label("Condition 2: what it tests")).to_be_visible()
    settled(page)
    page.get_by_label("Condition 2: what it tests").select_option("did")
    expect(page.get_by_label("Condition 2: how", exact=True)).to_be_visible()
    page.get_by_label("Condition 2: value", exact=True).select_option("pricing_page_view")
    days = page.get_by_label("Condition 2: in the last how many days (empty: ever)")
    days.fill("-3")
    expect(page.locator("#segment-count .error-box")).to_contain_text("a window of -3 days is not possible")
    days.fill("30")
    expect(page.locator("#segment-count .error-box")).to_have_count(0)
    narrowed = _count(page)
    assert 0 < narrowed <= everyone_dach
    shot(page, f"segment-builder-{size}")
    # By keyboard: after a full-page screenshot Chromium may put the mouse-up of a click on another
    # element than its mouse-down (the page was laid out at full height), and no click happens.
    page.get_by_role("button", name="Save segment").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/segments/\d+\?saved=1$"))
    expect(page.locator("#segment-saved")).to_contain_text("Saved and built")
    expect(page.locator("#segment-size")).to_have_text(f"{narrowed:,}")
    expect(page.locator("#segment-members tbody tr").first).to_be_visible()
    expect(page.locator("#segment-history li").first).to_contain_text("entered")
    assert page.evaluate("document.querySelector('main').scrollWidth") <= SIZES[size]["width"] + 10
    shot(page, f"segment-page-{size}")
    page.get_by_role("button", name="In the people list").click()
    expect(page).to_have_url(re.compile(r"/people\?segment=\d+$"))
    expect(page.locator("#people-count")).to_contain_text(f"of {narrowed:,}")
    page.goto("/segments")
    expect(page.locator("#segments")).to_contain_text(f"DACH pricing visitors ({size})")
    shot(page, f"segments-list-{size}")
