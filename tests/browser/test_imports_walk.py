"""Marketing imports a messy trade-show list in the browser, on a desktop and on a phone: upload,
check the mapping, choose the campaign and an unknown stage, run it, watch the progress bar reach
100%, download the rejects. Nobody is lost to a country spelling."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

MESSY = Path(__file__).resolve().parents[1] / "fixtures" / "files" / "messy-trade-show.csv"


def _too_wide(page) -> list[str]:  # type: ignore[no-untyped-def]
    """What in the page's content reaches past the screen (a table may scroll inside its own box).
    The navigation bar's phone layout is another part of the issue's work, so it is not judged here."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.overflow-auto'))
            .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))"""
    )
    return found


@pytest.mark.parametrize(("width", "name"), [(1280, "desktop"), (390, "phone")])
def test_marketing_imports_a_messy_list_and_downloads_the_rejects(
    browser: Browser, server: str, width: int, name: str, tmp_path: Path
) -> None:
    context = browser.new_context(
        base_url=server, viewport={"width": width, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill("marketing@demo.leadloop.dev")
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))  # home
    nav_to(page, "Imports")
    expect(page.get_by_role("heading", name="Imports", level=1)).to_be_visible()
    page.get_by_label(re.compile("CSV file")).set_input_files(str(MESSY))
    page.get_by_role("button", name="Upload and check").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("messy-trade-show.csv")
    expect(page.locator("#file-facts")).to_contain_text("semicolon (;)")
    expect(page.locator("select[name=encoding]")).to_have_value("latin-1")
    website = page.locator("#columns tr", has_text="Website URL").locator("select")
    expect(website).to_have_value("website")
    expect(page.locator("#sample")).to_contain_text("Müller")
    expect(page.locator("#sample tr", has_text="Müller")).to_contain_text("AT")  # Oesterreich, understood
    unknown = page.locator("#stages tr", has_text="Sonstiges").locator("select")
    expect(unknown).to_have_value("")  # nobody taught us this one
    unknown.select_option("nurture")
    expect(page.locator("#owners tr", has_text="Pieter Unknown")).to_contain_text("no user is called")
    page.get_by_label(re.compile("Link every row to a campaign")).select_option(
        label="Trade show – Web Summit"
    )
    assert _too_wide(page) == [], "the mapping page reaches past the screen"
    shot(page, f"import-01-mapping-{name}")
    page.locator("#stages-title").scroll_into_view_if_needed()
    page.screenshot(
        path=str(shot(page, f"import-01-mapping-{name}").with_name(f"import-01b-stages-{name}.png"))
    )

    page.get_by_role("button", name="Start the import").click()
    # A busy machine may take a while; whatever the run ends as, its own words say why.
    expect(page.locator("#run-state")).not_to_have_text("Running", timeout=90_000)
    assert page.locator("#run-state").inner_text() == "Done", page.locator("#progress").inner_text()
    expect(page.locator("#percent")).to_have_text("100%")
    expect(page.locator("#bar")).to_have_attribute("value", "100")
    expect(page.locator("#rejected")).to_contain_text("3")
    expect(page.locator("#rejects tbody tr")).to_have_count(3)
    assert _too_wide(page) == [], "the run page reaches past the screen"
    shot(page, f"import-02-done-{name}")

    with page.expect_download() as download:
        page.locator("#rejects-link").click()
    saved = tmp_path / "rejects.csv"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith("\ufeff".encode())  # a BOM: Excel reads it as UTF-8
    with open(saved, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0][:3] == ["Line", "Reason", "Record ID"]
    assert sorted(row[2] for row in table[1:]) == ["TS-12", "TS-13", "TS-16"]
    assert all(row[1] for row in table[1:])  # every reject says why

    page.get_by_role("link", name="Imports").first.click()
    first = page.locator("#imports tbody tr").first
    expect(first).to_contain_text("messy-trade-show.csv")
    expect(first).to_contain_text("Done")
    expect(first).to_contain_text("Trade show – Web Summit")
    shot(page, f"import-03-history-{name}")
    context.close()
