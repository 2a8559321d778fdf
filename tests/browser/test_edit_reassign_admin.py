"""Edit, reassign and admin in Chromium on the demo world, at 1280 px and at 390 px: an admin
creates a user (the temporary password shown once) and an API key (shown once); a manager
reassigns a lead with a reason and sees it in the routing audit, then corrects a contact's title."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile("/login"))


def _no_sideways_scroll(page: Page, part: str = "main") -> None:
    """This part's content fits the screen (the header's navigation and the person page's facts on
    a phone are the phone overhaul's)."""
    right = page.evaluate(
        "s => { const e = document.querySelector(s); return Math.max(e.getBoundingClientRect().right,"
        " e.getBoundingClientRect().left + e.scrollWidth); }",
        part,
    )
    room = page.evaluate("document.documentElement.clientWidth")
    assert right <= room + 1, f"{part} of {page.url} reaches {right} px in {room} px"


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_creates_a_user_and_an_api_key(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, "admin@demo.leadloop.dev")
    if width > 600:  # the phone's navigation is another engineer's; the page itself is what counts here
        nav_to(page, "Admin", exact=True)
    else:
        page.goto("/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Admin")
    shot(page, f"40-admin-index-{width}")
    page.get_by_role("link", name="Users", exact=True).first.click()
    page.get_by_text("New user").click()
    email = f"nora.{width}@demo.leadloop.dev"
    form = page.locator("#new-user")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Name").fill(f"Nora Nilsen {width}")
    form.locator("select[name=role]").select_option(label="Sales rep")
    form.get_by_role("button", name="Create user").click()
    secret = page.locator("#secret")
    expect(secret).to_contain_text(f"{email} can sign in with this temporary password")
    assert len(page.locator("#secret-value").inner_text()) >= 12
    expect(page.locator("#users")).to_contain_text(f"Nora Nilsen {width}")
    _no_sideways_scroll(page)
    shot(page, f"41-admin-user-created-{width}")
    page.get_by_role("link", name="API keys").click()
    key_form = page.locator("#new-key")
    if not key_form.is_visible():
        page.get_by_text("New API key").click()
    key_form.locator("select[name=user_email]").select_option(label=f"Nora Nilsen {width} ({email})")
    key_form.get_by_label("What it is for").fill("Website forms")
    key_form.locator("select[name=scope]").select_option(label="Capture only (a website's forms)")
    key_form.get_by_role("button", name="Create key").click()
    expect(page.locator("#secret")).to_contain_text("Website forms")
    assert page.locator("#secret-value").inner_text().startswith("ll_")
    expect(page.locator("#keys")).to_contain_text(email)
    _no_sideways_scroll(page)
    shot(page, f"42-admin-key-created-{width}")
    page.goto("/admin/audit")
    expect(page.locator("#audit")).to_contain_text("User created")
    expect(page.locator("#audit")).to_contain_text("API key created")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_manager_reassigns_a_lead_with_a_reason(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, "manager@demo.leadloop.dev")
    items = page.request.get("/api/v1/leads?stage=mql&per_page=100").json()["items"]
    lead = next(i for i in items if "rep2" not in str(i.get("owner")) and "Rafael" not in str(i.get("owner")))
    page.goto(f"/leads/{lead['id']}")
    page.get_by_text("Reassign", exact=True).click()
    form = page.locator("#reassign-form")
    rafael = form.locator("select[name=owner_id] option", has_text="Rafael Rep")
    expect(rafael).to_have_text(
        re.compile(r"^Rafael Rep · .+ · \d+ open$")
    )  # whom, in which team, how loaded
    form.locator("select[name=owner_id]").select_option(value=rafael.get_attribute("value"))
    form.get_by_label("Reason").fill(f"Rafael speaks their language ({width})")
    shot(page, f"43-reassign-form-{width}")
    form.get_by_role("button", name="Reassign lead").click()
    expect(page).to_have_url(re.compile(f"/leads/{lead['id']}$"))
    expect(page.locator("hgroup")).to_contain_text("owned by Rafael Rep")
    expect(page.locator("#routing-audit")).to_contain_text(
        f"reassigned by manager@demo.leadloop.dev: Rafael speaks their language ({width})"
    )
    _no_sideways_scroll(page, "#reassign")
    shot(page, f"44-reassigned-{width}")
    # The same manager corrects a contact's title on the account's person page.
    page.goto(f"/accounts/{lead['account_id']}")
    person = page.locator("table a[href^='/people/']").first
    person.click()
    page.get_by_text("Edit person").click()
    edit = page.locator("#edit-person")
    edit.get_by_label("Title").fill("Head of IT")
    edit.get_by_label("E-mail").fill("not an e-mail")
    edit.get_by_role("button", name="Save changes").click()
    expect(page.locator("#err-email")).to_contain_text("is not valid")
    expect(page.locator("#edit-person").get_by_label("Title")).to_have_value("Head of IT")
    shot(page, f"45-edit-refused-{width}")
    page.goto(page.url.removesuffix("/edit"))
    page.get_by_text("Edit person").click()
    page.locator("#edit-person").get_by_label("Title").fill("Head of IT")
    page.locator("#edit-person").get_by_role("button", name="Save changes").click()
    expect(page.locator("hgroup")).to_contain_text("Head of IT")
    page.get_by_text("Edit person").click()
    expect(page.locator(".edit-history")).to_contain_text("manager@demo.leadloop.dev")
    _no_sideways_scroll(page, "#edit-record")
    shot(page, f"46-edited-{width}")
