"""Marketing writes a sequence in the browser: a bad edit is refused with its line, the what-if says
who would enter today, the draft is saved and activated, and a person is enrolled from their page
and stopped again. At 1280 px and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _sign_in(page: Page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize("width", [1280, 390])
def test_marketing_writes_tries_activates_and_enrols(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, "marketing@demo.leadloop.dev")
    nav_to(page, "Sequences")
    expect(page.get_by_role("heading", name="Sequences", exact=True)).to_be_visible()
    editor = page.locator("#document")
    text = editor.input_value()  # the latest active sequence as its next version, or the example
    assert "business_days: 3" in text
    name = f"walk-{width}"
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", text)
    editor.fill(text.replace("business_days: 3", "business_days: -3"))
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator(".error-box")).to_contain_text("a wait of -3 business days is not a wait")
    expect(page.locator(".error-box")).to_contain_text(re.compile(r"line \d+:"))
    page.locator("#document").fill(text)
    page.get_by_role("button", name="Who would enter today, and what they would get").click()
    expect(page.locator("#whatif-headline")).to_contain_text("would enter today")
    shot(page, f"sequences-whatif-{width}")
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("status")).to_contain_text("New enrolments take this version from now on.")
    # Someone who may be e-mailed (the consent gate refuses a step for anyone else, at once).
    page.goto("/segments")
    page.get_by_role("link", name="Opted in to e-mail").click()
    page.locator("#segment-members tbody tr td a").first.click()
    section = page.locator("#sequences")
    expect(section.get_by_role("button", name="Enrol")).to_be_visible()
    section.get_by_label("Sequence", exact=True).select_option(name)
    section.get_by_role("button", name="Enrol").click()
    expect(page.locator("#sequences")).to_contain_text(f"Enrolled in {name}.")
    expect(page.locator("#sequences tbody")).to_contain_text("active")
    shot(page, f"sequences-person-{width}")
    page.locator("#sequences").get_by_role("button", name="Stop").first.click()
    expect(page.locator("#sequences")).to_contain_text("Stopped ")
    nav_to(page, "Sequences")
    expect(page.locator("#sequence-report")).to_contain_text(name)
    shot(page, f"sequences-report-{width}")
