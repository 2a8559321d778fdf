"""The issue's case in a browser: an anonymous demo request posted to the public form reaches a rep's
inbox at once with an SLA clock, and the lead page says why. At 1280 px and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _sign_in(page: Page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize("width", [1280, 390])
def test_an_anonymous_demo_request_reaches_a_rep_at_once(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    company = f"Polar Signal {width} AB"
    r = page.request.post(
        "/forms/lead",
        form={
            "name": "Greta Lindqvist",
            "email": f"greta.lindqvist@polarsignal{width}.se",
            "title": "VP Engineering",
            "company": company,
            "activity_type": "demo_request",
        },
    )
    assert r.ok
    _sign_in(page, "manager@demo.leadloop.dev")  # the reps' manager sees their leads
    page.goto(f"/leads?q={company.replace(' ', '+')}")
    page.locator("#leads tbody tr td a").first.click()
    expect(page.locator("#mql-reason")).to_contain_text("Hand-raise: demo request on ")
    expect(page.locator("#mql-reason")).to_contain_text("sent to sales at once")
    expect(page.locator("#sla")).to_contain_text(re.compile(r"First-touch SLA: (due in|overdue by) "))
    audit = page.locator("#routing-audit")
    expect(audit).to_contain_text("hand-raise (demo request)")
    owner = re.search(r"(rep\d)@demo\.leadloop\.dev", audit.inner_text())
    assert owner, audit.inner_text()
    shot(page, f"hand-raise-lead-{width}")
    _sign_in(page, f"{owner.group(1)}@demo.leadloop.dev")
    page.goto("/inbox")
    row = page.locator("#inbox tbody tr", has_text=company)
    expect(row).to_be_visible()
    expect(row.locator("time[data-due]")).to_be_visible()
    shot(page, f"hand-raise-inbox-{width}")
