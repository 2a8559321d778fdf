"""Marketing opens its dashboard from the navigation, sees the charts drawn from the tables, narrows
the period, opens a number down to the leads behind it and downloads a panel as CSV; a manager's
board shows SLA and forecast; on a desktop and at 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import nav_to, shot
from tests.browser.test_walk import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _drawn(page: Page, panel: str) -> None:
    """Chart.js drew the panel's chart: its canvas has a chart bound to it and a size."""
    canvas = page.locator(f"#panel-{panel} canvas")
    expect(canvas).to_be_visible()
    page.wait_for_function(
        "id => { const c = document.querySelector('#panel-' + id + ' canvas');"
        " return c && window.Chart && window.Chart.getChart(c) && c.width > 0; }",
        arg=panel,
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_marketing_reads_its_dashboard_and_opens_a_number(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "marketing@demo.leadloop.dev")
    nav_to(page, "Dashboard")
    expect(page).to_have_url(re.compile(r"/dashboards/marketing"))
    expect(page.get_by_role("heading", name="Marketing dashboard")).to_be_visible()
    for panel in ("funnel", "roi", "attribution", "speed"):
        _drawn(page, panel)
    shot(page, f"dashboard-01-marketing-{width}")
    # The whole last year, then a linked number of the funnel opens the leads behind it.
    page.get_by_label("From").fill("2025-12-01")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"from=2025-12-01"))
    link = page.locator("#panel-funnel table a[href*='measure=mql']").first
    expect(link).to_be_visible()
    count = int(link.inner_text().replace(",", ""))
    link.click()
    expect(page.get_by_role("heading", name="Leads behind a number")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{count} lead")
    expect(page.locator("#leads-behind tbody tr")).to_have_count(min(count, 50))
    shot(page, f"dashboard-02-leads-behind-{width}")
    # Every panel downloads as CSV.
    page.go_back()
    with page.expect_download() as download:
        page.locator("#panel-roi").get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("marketing-roi-")


def test_a_manager_reads_sla_aging_and_forecast_on_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 900})
    sign_in(page, "manager@demo.leadloop.dev")
    nav_to(page, "Dashboard")
    expect(page).to_have_url(re.compile(r"/dashboards/manager"))
    for panel in ("sla", "aging", "forecast"):
        _drawn(page, panel)
    expect(page.locator("#panel-sla table")).to_contain_text("Rep")
    # Nothing wider than the phone: the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dashboard-03-manager-390")
