"""A manager finds who breached: the SLA report names reps, a breach count opens the leads behind
it, and Team's numbers do the same; on a desktop and at 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import nav_to, shot
from tests.browser.test_walk import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.mark.parametrize("width", [1280, 390])
def test_manager_opens_the_sla_report_and_clicks_a_breach_count(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "manager@demo.leadloop.dev")
    nav_to(page, "SLA report")
    expect(page.get_by_role("heading", name="SLA report")).to_be_visible()
    page.get_by_label("Period").select_option("90")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"days=90"))
    table = page.locator("#sla")
    expect(table).to_contain_text("Rep")  # reps by name ("Rita Rep"), never an e-mail address
    expect(table).not_to_contain_text("@demo.leadloop.dev")
    shot(page, f"sla-01-report-{width}")
    breach = table.locator("a[href*='sla=breached']").first
    expect(breach).to_be_visible()
    count = int(breach.inner_text())
    rep = breach.locator("xpath=ancestor::tr/td[1]").inner_text()
    breach.click()
    expect(page).to_have_url(re.compile(r"/leads\?rep=\d+&days=90&sla=breached"))
    expect(page.locator("#leads-count")).to_have_text(re.compile(rf"(^| of ){count} leads?$"))
    expect(page.locator("#sla-scope")).to_contain_text(
        f"Leads last assigned to {rep}, assigned in the last 90 days"
    )
    expect(page.get_by_label("SLA")).to_have_value("breached")
    shot(page, f"sla-02-breached-leads-{width}")
    # Team: an overdue count opens the same kind of list.
    page.goto("/team")
    overdue = page.locator("#team a[href*='sla=breached_week']").first
    expect(overdue).to_be_visible()
    n = int(overdue.inner_text())
    overdue.click()
    expect(page.locator("#leads-count")).to_have_text(re.compile(rf"(^| of ){n} leads?$"))
    shot(page, f"sla-03-team-breached-{width}")


def test_a_slow_action_shows_it_is_working_and_the_what_if_separates_turns(page: Page) -> None:
    """Every htmx action marks its button and target busy (leadloop.js); the routing what-if on the
    rules in force counts no rule change, only pool turns (and, after the qualification walk, the
    rep a BDR picked as a person's choice)."""
    sign_in(page, "manager@demo.leadloop.dev")
    page.goto("/routing")

    def slow(route):  # type: ignore[no-untyped-def]
        page.wait_for_timeout(1500)
        route.continue_()

    page.route("**/routing/preview", slow)
    button = page.get_by_role("button", name="Try on past leads")
    button.click()
    expect(button).to_have_attribute("aria-busy", "true")
    expect(button).to_be_disabled()
    expect(page.locator("#preview")).to_have_attribute(
        "data-busy-text", re.compile("trying it on past leads")
    )
    shot(page, "sla-04-preview-busy")
    expect(page.locator("#whatif-headline")).to_contain_text("would be sent elsewhere by a rule")
    expect(page.locator("#whatif-headline strong")).to_have_text("0")
    expect(page.locator("#whatif-breakdown")).to_contain_text("A different turn of the same pool")
    expect(button).not_to_have_attribute("aria-busy", "true")
    expect(button).to_be_enabled()
    shot(page, "sla-05-preview-done")
