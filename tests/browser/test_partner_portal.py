"""The partner portal in Chromium, on the demo world: the partner signs in, lands on their own
leads, accepts one, reports it contacted, tries another organisation's lead id and gets nothing,
and registers a deal; the channel manager sees it on the scorecard page. At 1280 px and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _sign_in(page: Page, email: str, lands: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(lands))


def test_a_partner_works_their_leads_and_sees_no_one_elses(page: Page) -> None:
    # A demo request from the partner's territory (the Netherlands) goes to the partner at once: the
    # walk accepts a lead of its own, whichever of the demo's leads still wait (the first sweep
    # recalls the ones the partner left past its deadline).
    r = page.request.post(
        "/forms/lead",
        form={
            "first_name": "Femke",
            "last_name": "Dijkstra",
            "email": "femke.dijkstra@dijkstra-meettechniek.nl",
            "title": "Head of Operations",
            "company": "Dijkstra Meettechniek BV",
            "country": "NL",
            "activity_type": "demo_request",
        },
    )
    assert r.ok, r.text()
    _sign_in(page, "partner@demo.leadloop.dev", r"/partner$")
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Resellers")
    cards = page.locator("article.partner-lead")
    fresh = cards.filter(has_text="Dijkstra Meettechniek BV")
    # A busy server answers the form at once and lands it moments later: the partner refreshes.
    for _ in range(30):
        if fresh.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(fresh).to_have_count(1)
    assert cards.count() > 1  # the demo's history: the leads it accepted and reported on
    shot(page, "20-partner-inbox")
    ours = {int(x.split("-")[1]) for x in cards.evaluate_all("els => els.map(e => e.id)")}
    lead_id = fresh.get_attribute("id")
    fresh.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_contain_text("accepted")
    card = page.locator(f"#{lead_id}")
    expect(card.locator(".badge.sal")).to_be_visible()
    card.get_by_label(re.compile("Outcome of lead")).select_option("contacted")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("contacted")
    expect(page.locator(f"#{lead_id}")).to_contain_text("Contacted")
    # Another organisation's lead, or the company's own pages: nothing to see.
    other = next(i for i in range(1, 5000) if i not in ours)
    r = page.request.get(f"/api/v1/partner/leads/{other}")
    assert r.status == 404
    assert page.request.get("/api/v1/leads").status == 403
    page.goto("/leads")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    # A deal they found.
    page.goto("/partner#deals")
    page.get_by_label("Company").fill("Fjord Analytics AS")
    page.get_by_label("Website or domain").fill("fjord-analytics.no")
    page.get_by_label("Amount", exact=True).fill("42000")
    page.get_by_role("button", name="Register the deal").click()
    expect(page.locator("#my-deals")).to_contain_text("Fjord Analytics AS")
    expect(page.locator("#my-deals")).to_contain_text("Pending")
    shot(page, "21-partner-deal")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/partner")
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(page, "22-partner-phone")
    assert width <= 400, f"the partner page is {width} px wide on a 390 px phone"


def test_the_channel_manager_sees_the_scorecard_and_the_registration(page: Page) -> None:
    _sign_in(page, "manager@demo.leadloop.dev", r"/$")  # home: the team
    nav_to(page, "Partners", exact=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Partners")
    expect(page.locator("#scorecard")).to_contain_text("Northwind Resellers")
    shot(page, "23-partners-scorecard")
