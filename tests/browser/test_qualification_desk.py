"""The qualification desk in Chromium, on the demo world, at 1280 px and 390 px: a BDR signs in,
opens a lead waiting in the BDR queue, fills in BANT with notes, hands it to a field rep; the rep
signs in and finds it in the inbox, with the notes on the lead page. Refusals keep what was typed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

ANSWERS = {
    "Budget": ("Budget approved", "€40k signed off for Q3"),
    "Authority": ("Decision-maker", "the VP Engineering signs"),
    "Need": ("Urgent pain", "their pipeline tool is retired in March"),
    "Timeline": ("This quarter", "wants to start in January"),
}


def _sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile("/login"))


def _fits(page: Page, selector: str) -> None:
    """The desk's own part fits the screen (the page's navigation is the phone-layout work's)."""
    widest = page.evaluate(
        "s => [...document.querySelectorAll(s + ' *')].map(e => [e.getBoundingClientRect().right,"
        " e.tagName + '#' + e.id + '.' + e.className]).sort((a, b) => b[0] - a[0])[0]",
        selector,
    )
    assert widest[0] <= page.viewport_size["width"] + 1, f"{widest[1]} reaches {widest[0]} px"  # type: ignore[index]


@pytest.mark.parametrize(("width", "height", "tag"), [(1280, 900, "desktop"), (390, 844, "phone")])
def test_a_bdr_qualifies_a_lead_and_the_rep_gets_it_with_the_notes(
    page: Page, width: int, height: int, tag: str
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    _sign_in(page, "bdr@demo.leadloop.dev")
    page.goto("/desk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Qualification desk")
    rows = page.locator("#desk tbody tr")
    assert rows.count() >= 1, "the demo should send some MQLs to the BDR queue"
    shot(page, f"30-desk-{tag}")
    lead_link = rows.first.get_by_role("link").first
    account = lead_link.inner_text()
    lead_link.click()
    panel = page.locator("#qualification")
    expect(panel.get_by_role("heading", name="Qualification")).to_be_visible()
    # A refusal first: back to nurture without a reason says so, and keeps the typed note.
    panel.get_by_label("Note on Budget").fill(ANSWERS["Budget"][1])
    panel.get_by_role("button", name="Back to nurture").click()
    expect(page.locator("#qualification-error")).to_contain_text("choose a reason to send it back to nurture")
    expect(page.locator("#qualification").get_by_label("Note on Budget")).to_have_value(ANSWERS["Budget"][1])
    panel = page.locator("#qualification")
    for field, (choice, note) in ANSWERS.items():
        panel.get_by_label(field, exact=True).select_option(label=choice)
        panel.get_by_label(f"Note on {field}").fill(note)
    panel.get_by_label("Note for the outcome").fill("Greta wants a demo on Tuesday")
    shot(page, f"31-bant-filled-{tag}")
    _fits(page, "#qualification")
    rep_choice = panel.get_by_label("Hand over to")
    rep_label = rep_choice.locator("option").filter(has_text="Rita Rep").first.inner_text()
    rep_choice.select_option(label=rep_label)
    panel.get_by_role("button", name="Qualify and hand over").click()
    expect(page.locator("#qualification").get_by_role("status")).to_contain_text(
        "Qualified and handed over to Rita Rep", timeout=20_000
    )
    shot(page, f"32-handed-over-{tag}")
    # The field rep finds it in the inbox, with the notes on the lead page.
    page.context.clear_cookies()
    _sign_in(page, "rep1@demo.leadloop.dev")
    page.goto("/inbox")
    row = page.locator("#inbox tbody tr").filter(has_text=account).first
    expect(row).to_be_visible()
    expect(row.locator(".badge.handed_over")).to_be_visible()
    expect(row.get_by_role("button", name="Accept")).to_be_visible()
    shot(page, f"33-rep-inbox-{tag}")
    row.get_by_role("link").first.click()
    handover = page.locator("#handover")
    expect(handover).to_contain_text("Qualified by Bea BDR")
    for choice, note in ANSWERS.values():
        expect(handover).to_contain_text(choice)
        expect(handover).to_contain_text(note)
    expect(handover).to_contain_text("Greta wants a demo on Tuesday")
    expect(handover).to_contain_text("Company")
    shot(page, f"34-rep-lead-notes-{tag}")
    _fits(page, "#qualification")
