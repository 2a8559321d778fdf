"""Home, search and lists as a person uses them, on a desktop and at 390 px: type "jurgen" in the
search box and open the person; a manager ticks two leads and sees the assign form; a view is
saved and opened again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))  # home, whatever the role
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good day")


@pytest.mark.parametrize("size", SIZES)
def test_type_jurgen_and_open_the_person(page: Page, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    email = f"jurgen.{size}@kaeltetechnik-mueller.de"
    r = page.request.post(
        "/forms/lead",
        form={
            "email": email,
            "first_name": "Jürgen",
            "last_name": "Müller",
            "company": "Kältetechnik Müller GmbH",
        },
    )
    assert r.ok, r.text()
    sign_in(page, "marketing@demo.leadloop.dev")
    shot(page, f"home-marketing-{size}")
    box = page.locator("#global-q")
    box.click()
    box.press_sequentially("jurgen", delay=120)  # as a person types: the search waits for a pause
    hit = page.locator("#search-dropdown a.search-hit", has_text="Jürgen Müller").first
    expect(hit).to_be_visible()
    expect(page.locator("#search-dropdown h3").first).to_have_text("People")
    shot(page, f"search-jurgen-{size}")
    box.press("ArrowDown")  # into the results by keyboard
    focused = page.evaluate("document.activeElement.textContent")
    assert "Jürgen" in focused or "Müller" in focused
    hit.click()
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    expect(page.locator("main")).to_contain_text("Jürgen")
    assert page.evaluate("document.querySelector('main').scrollWidth") <= SIZES[size]["width"] + 10


@pytest.mark.parametrize("size", SIZES)
def test_a_manager_ticks_two_leads_and_sees_the_assign_form(page: Page, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    sign_in(page, "manager@demo.leadloop.dev")
    shot(page, f"home-manager-{size}")
    page.goto("/leads")
    boxes = page.locator('#leads tbody input[type=checkbox][name="lead_ids"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.locator("form.bulk summary", has_text="Assign to").click()
    expect(page.get_by_label("New owner")).to_be_visible()
    expect(page.get_by_label("Reason")).to_be_visible()
    expect(page.get_by_role("button", name="Assign the selected leads")).to_be_visible()
    shot(page, f"leads-assign-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_save_a_view_and_open_it_again(page: Page, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    sign_in(page, "rep2@demo.leadloop.dev")
    shot(page, f"home-rep-{size}")
    page.goto("/leads?stage=mql&per_page=50")
    page.locator("details.views summary").click()
    name = f"My MQLs {size}"
    page.get_by_label("Save these filters as").fill(name)
    page.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"/leads\?stage=mql&per_page=50$"))
    page.goto("/leads")
    page.locator("details.views summary").click()
    shot(page, f"leads-views-{size}")
    page.locator("ul.saved-views").get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(r"/leads\?stage=mql&per_page=50$"))
    expect(page.locator("#leads-count")).to_contain_text("leads")
    page.goto("/leads?page=999")
    expect(page.locator("#leads-count")).to_contain_text("no leads here")
    shot(page, f"leads-past-last-{size}")
