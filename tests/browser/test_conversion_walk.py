"""Conversion in Chromium, on the demo world, at 1280 px and 390 px: a rep opens a fresh lead of
theirs, converts it from the lead page with a contact role, sees the deal open with its contact,
then marks it lost, first without a reason (refused, with the sentence) and then with one."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import fresh_hand_raiser, shot, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _fits(page: Page, selector: str) -> None:
    widest = page.evaluate(
        "s => [...document.querySelectorAll(s + ' *')].map(e => [e.getBoundingClientRect().right,"
        " e.tagName + '#' + e.id + '.' + e.className]).sort((a, b) => b[0] - a[0])[0]",
        selector,
    )
    assert widest[0] <= page.viewport_size["width"] + 1, f"{widest[1]} reaches {widest[0]} px"  # type: ignore[index]


@pytest.mark.parametrize(("width", "height", "tag"), [(1280, 900, "desktop"), (390, 844, "phone")])
def test_a_rep_converts_a_lead_from_its_page(page: Page, width: int, height: int, tag: str) -> None:
    page.set_viewport_size({"width": width, "height": height})
    lead_id, rep = fresh_hand_raiser(page, f"conv{tag}")
    sign_in_as(page, rep)
    page.goto(f"/leads/{lead_id}")
    panel = page.locator("#opportunities")
    panel.get_by_text("Convert to opportunity").click()
    form = page.locator("#convert-form")
    form.get_by_label("Amount").fill("18,500")
    # Lower case becomes the ISO code; the demo's own currency (a deal in EUR with no rate set would
    # rightly stop the forecast a later walk reads).
    form.get_by_label("Currency").fill("usd")
    form.get_by_label("Stage").select_option(label="Discovery")
    form.get_by_label("Role of Jonas Weber").select_option(label="Decision maker")
    _fits(page, "#opportunities")
    shot(page, f"60-convert-form-{tag}")
    form.get_by_role("button", name="Convert").click()
    expect(page.locator("#opportunity-done")).to_contain_text("Converted: opportunity #", timeout=20_000)
    deal = page.locator("#opportunities article.opportunity").first
    expect(deal).to_contain_text("18,500.00 USD")
    expect(deal.locator(".contact-roles")).to_contain_text("decision maker")
    expect(deal.locator(".contact-roles")).to_contain_text("primary")
    expect(page.locator("#convert-open")).to_have_count(0)  # one open deal per lead
    shot(page, f"61-converted-{tag}")
    # Lost without a reason: refused with the sentence; then with one.
    deal.get_by_label("Outcome").select_option(label="Lost")
    deal.get_by_role("button", name="Save opportunity").click()
    expect(page.locator("#opportunity-error")).to_contain_text("needs a reason")
    deal = page.locator("#opportunities article.opportunity").first
    deal.get_by_label("Outcome").select_option(label="Lost")
    deal.get_by_label("Reason if lost").select_option(label="Competitor")
    deal.get_by_role("button", name="Save opportunity").click()
    expect(page.locator("#opportunity-done")).to_contain_text("saved")
    expect(page.locator("#opportunities article.opportunity").first).to_contain_text("lost: competitor")
    _fits(page, "#opportunities")
    shot(page, f"62-lost-{tag}")
    page.reload()
    expect(page.locator("hgroup .badge")).to_have_text("Lost")
