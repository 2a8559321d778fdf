"""What a person does with the links in our mail, in a real browser with no cookie of ours: opens
the preference centre, keeps one kind of mail and drops the rest, then unsubscribes from everything,
on a desktop (1280 px) and a phone (390 px). The admin sees it on the person's page at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import shot
from tests.browser.test_accessibility import _axe, _too_wide

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _sign_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill("admin@demo.leadloop.dev")
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _consenting_people(page: Page, n: int) -> list[int]:
    """People of the demo who consented to every type (most of them: the demo's opt-ins)."""
    found: list[int] = []
    for pid in range(1, 400):
        r = page.request.get(f"/api/v1/people/{pid}/consent")
        if r.ok and all(t["may_send"]["allowed"] for t in r.json()["types"]):
            found.append(pid)
            if len(found) == n:
                return found
    raise AssertionError("the demo has no consenting person among its first 400")


def _consent(page: Page, pid: int) -> dict[str, Any]:
    data: dict[str, Any] = page.request.get(f"/api/v1/people/{pid}/consent").json()
    return data


@pytest.fixture
def admin(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, viewport=WIDTHS["desktop"])
    page = context.new_page()
    _sign_in(page)
    yield page
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_preference_centre_then_unsubscribe(admin: Page, browser: Browser, server: str, width: str) -> None:
    pid = _consenting_people(admin, 2)[0 if width == "desktop" else 1]
    headers = admin.request.get(f"/api/v1/people/{pid}/unsubscribe-headers").json()
    path = urlsplit(headers["preferences_url"]).path  # the mail's host is LEADLOOP_PUBLIC_URL's

    person = browser.new_context(base_url=server, viewport=WIDTHS[width], bypass_csp=True)  # type: ignore[arg-type]
    page = person.new_page()
    page.goto(path)
    expect(page.get_by_role("heading", name="Your e-mail preferences")).to_be_visible()
    for box in ("Newsletter", "Product updates", "Events and webinars"):
        expect(page.get_by_label(box)).to_be_checked()
    assert _too_wide(page) <= 0 and not _axe(page)
    shot(page, f"consent-preferences-{width}")

    page.get_by_label("Newsletter").uncheck()
    page.get_by_label("Product updates").uncheck()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.locator("#saved")).to_contain_text("Saved")
    expect(page.get_by_label("Events and webinars")).to_be_checked()
    expect(page.get_by_label("Newsletter")).not_to_be_checked()
    status = {t["code"]: t["may_send"]["reason"] for t in _consent(admin, pid)["types"]}
    assert status == {"newsletter": "unsubscribed", "product_updates": "unsubscribed", "events": "consent"}
    shot(page, f"consent-preferences-saved-{width}")

    page.get_by_role("button", name="Unsubscribe from everything").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert _too_wide(page) <= 0 and not _axe(page)
    shot(page, f"consent-unsubscribed-{width}")
    assert person.cookies() == []  # no session, no cookie: the signed link was the only key
    person.close()

    data = _consent(admin, pid)
    assert {t["may_send"]["reason"] for t in data["types"]} == {"unsubscribed"}
    assert data["email_opt_in"] is False and data["history"][0]["source"] == "unsubscribe"
    admin.set_viewport_size(WIDTHS[width])
    admin.goto(f"/people/{pid}")
    panel = admin.locator("#consent")
    expect(panel.locator("#consent-types")).to_contain_text("the person unsubscribed")
    panel.locator("#consent-history summary").click()
    expect(panel.locator("#consent-history")).to_contain_text("Preference centre")
    panel.scroll_into_view_if_needed()
    shot(admin, f"consent-person-page-{width}")
