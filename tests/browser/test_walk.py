"""What a person clicks: sign in, the leads list, an account, a person's timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import fresh_hand_raiser, nav_to, shot

# Slow as a whole: the walk starts from a demo world built once (about 8 s), then drives Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def sign_in(page: Page, email: str = "rep1@demo.leadloop.dev") -> None:
    page.goto("/leads")
    expect(page).to_have_url(re.compile(r"/login\?next=/leads$"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/leads$"))


def test_login_leads_account_person_timeline(page: Page) -> None:
    sign_in(page, "marketing@demo.leadloop.dev")  # the whole warehouse: a rep sees only their share
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    rows = page.locator("#leads tbody tr")
    expect(rows).to_have_count(25)
    shot(page, "01-leads")
    # Sort by account through HTMX: the table is swapped and the URL follows.
    page.locator("#leads thead").get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"sort=account"))
    names = page.locator("#leads tbody tr td.card-title a").all_inner_texts()
    assert len(names) == 25
    assert names == sorted(names, key=str.lower, reverse=True) or names == sorted(names, reverse=True)
    first_account = rows.first.locator("td.card-title").get_by_role("link")
    account_name = first_account.inner_text()
    first_account.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(account_name)
    shot(page, "02-account")
    person = page.locator("main table tbody tr td a").first
    person_name = person.inner_text().strip()
    person.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(person_name)
    expect(page.locator("#timeline li").first).to_be_visible()
    assert page.locator("#timeline li").count() >= 1
    # The score and why it is what it is.
    expect(page.locator("#score")).to_contain_text("Engagement now")
    assert page.locator("#why-fit li").count() >= 1 and page.locator("#why-engagement li").count() >= 1
    shot(page, "03-person-timeline")


def test_hottest_lead_first_and_its_explanation(page: Page) -> None:
    sign_in(page, "marketing@demo.leadloop.dev")
    scores = [float(s) for s in page.locator("#leads tbody tr td[data-label='Score'] a").all_inner_texts()]
    assert len(scores) == 25 and scores == sorted(scores, reverse=True) and scores[0] > 0
    page.locator("#leads tbody tr td[data-label='Score'] a").first.click()
    expect(page.locator("#why-engagement li").first).to_be_visible()
    assert "now" in page.locator("#why-engagement li").first.inner_text()
    shot(page, "05-lead-score")


def test_wrong_password_is_said_plainly(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill("rep1@demo.leadloop.dev")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_have_text("That e-mail and password do not match an active user.")


def test_filter_by_stage_and_error_page(page: Page) -> None:
    sign_in(page, "manager@demo.leadloop.dev")
    page.get_by_label("Stage").select_option("won")
    expect(page).to_have_url(re.compile(r"stage=won"))
    expect(page.locator("#leads tbody .badge").first).to_have_text("Won")
    stages = page.locator("#leads tbody .badge").all_inner_texts()
    assert set(stages) == {"Won"}
    page.goto("/people/99999999")
    expect(page.locator("#error h1")).to_have_text("Not found")
    shot(page, "04-error")


def test_keyboard_only_sign_in(page: Page) -> None:
    page.goto("/login")
    page.keyboard.type("rep2@demo.leadloop.dev")  # the e-mail field has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type("leadloop-demo")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))  # home: the rep's day


def test_edit_a_scoring_model_preview_it_and_read_the_errors(page: Page) -> None:
    sign_in(page, "marketing@demo.leadloop.dev")
    nav_to(page, "Scoring")
    expect(page.get_by_role("heading", name="Scoring models")).to_be_visible()
    editor = page.get_by_label("Model document")
    text = editor.input_value()
    assert "version: 2" in text
    # A lower MQL threshold: the preview (HTMX, nothing saved) says how many leads it would change.
    editor.fill(text.replace("mql_threshold: 60.0", "mql_threshold: 25"))
    page.get_by_role("button", name="Preview changes").click()
    expect(page.locator("#preview")).to_contain_text("What-if against today's warehouse")
    expect(page.locator("#preview")).to_contain_text("become MQL")
    shot(page, "06-scoring-whatif")
    # A mistake is named by its line, and the text typed is still there.
    broken = text.replace("half_life_days: 30.0", "half_life_days: -3")
    editor.fill(broken)
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator("#preview [role=alert]")).to_contain_text("line ")
    assert page.get_by_label("Model document").input_value() == broken
    # Saved properly, it becomes a draft with its own what-if and an Activate button.
    page.get_by_label("Model document").fill(text)
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 2")
    expect(page.get_by_role("button", name="Activate and recompute every score")).to_be_visible()
    shot(page, "07-scoring-draft")


def test_rep_inbox_accept_reject_and_log_call(page: Page) -> None:
    # The walk's own lead: a demo request just now, so its clock runs whatever the demo's history
    # left in this rep's inbox (conftest.fresh_hand_raiser says why).
    lead_id, rep = fresh_hand_raiser(page, "inbox")
    sign_in(page, rep)
    nav_to(page, "My leads")
    expect(page.get_by_role("heading", name="My leads")).to_be_visible()
    row = page.locator(f"#lead-{lead_id}")
    expect(row.get_by_role("button", name="Accept")).to_be_visible()
    # Only a running clock ticks, in words nobody can misread (the demo's others too, if any run).
    expect(row.locator("time[data-due]")).to_have_text(re.compile(r"^due in \d+ (s|min)"))
    clocks = page.locator("#inbox time[data-due]")
    for i in range(clocks.count()):
        expect(clocks.nth(i)).to_have_text(re.compile(r"^(due in|overdue by) \d+ (s|min|h|d)"))
    shot(page, "08-inbox")
    # Accept stops the clock, and says in words how it went; a call and a rejection still work on the
    # accepted lead.
    row.get_by_role("button", name="Accept").click()
    expect(row).to_contain_text("Accepted")
    expect(row.locator(".badge.sal")).to_have_text("Sales accepted (SAL)")  # (the row has contact badges too)
    expect(row.locator("time[data-due]")).to_have_count(0)  # the clock stopped
    expect(row.locator(".sla-met")).to_have_text(re.compile(r"^met in "))
    row.locator(".work-log > summary").click()  # a call is logged with its outcome (the workbench)
    row.get_by_label("Outcome").select_option(label="Connected")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Call logged: Connected")
    # The lead page tells how it got its owner, and shows the same stopped clock.
    page.goto(f"/leads/{lead_id}")
    expect(page.locator("#routing-audit")).to_contain_text("pool emea")
    expect(page.locator("#sla")).to_contain_text(re.compile(r"met in .*clock stopped: accepted"))
    page.go_back()
    row.get_by_label(re.compile("Reason to reject")).select_option("no_budget")
    row.get_by_role("button", name="Reject").click()
    expect(row).to_contain_text("Rejected: no budget; back with marketing")
    shot(page, "09-inbox-after")


def test_manager_sees_team_load_and_the_sla_report(page: Page) -> None:
    sign_in(page, "manager@demo.leadloop.dev")
    nav_to(page, "Team")
    expect(page.locator("#team tbody tr")).to_have_count(6)  # four reps, the BDR and the manager
    nav_to(page, "SLA report")
    expect(page.get_by_role("heading", name="SLA report")).to_be_visible()
    expect(page.locator("#sla tbody tr").first).to_be_visible()
    shot(page, "10-sla")


def test_review_suspected_duplicates_merge_and_unmerge(page: Page) -> None:
    sign_in(page, "marketing@demo.leadloop.dev")
    nav_to(page, "Duplicates")
    expect(page.get_by_role("heading", name="Suspected duplicates")).to_be_visible()
    pairs = page.locator("article.pair")
    waiting = pairs.count()
    assert waiting >= 2, "the demo world should leave some pairs for review"
    shot(page, "10-duplicates")
    first, second = pairs.nth(0), pairs.nth(1)
    second_id = second.get_attribute("id")
    # Not the same: the pair leaves the queue for good.
    first.get_by_role("button", name="Not the same").click()
    expect(page.get_by_role("status").first).to_contain_text("not the same person")
    # Merge: the older record survives; the merge can be undone from the person's page.
    left = page.locator(f"#{second_id} dl").first.get_by_role("link").first
    survivor_href = left.get_attribute("href")
    page.locator(f"#{second_id}").get_by_role("button", name="Merge").click()
    expect(page.locator(f"#{second_id}")).to_contain_text("Merged (merge #")
    page.reload()
    expect(page.locator("article.pair")).to_have_count(waiting - 2)
    assert survivor_href is not None
    page.goto(survivor_href)
    identity = page.locator("#merges")
    expect(identity).to_contain_text("merged into this person")
    shot(page, "11-person-merged")
    identity.get_by_role("button", name="Unmerge").click()
    expect(page.locator("#merges")).to_contain_text("Undone")
    shot(page, "12-person-unmerged")


def test_merge_a_duplicate_account_and_undo_it(page: Page) -> None:
    sign_in(page, "marketing@demo.leadloop.dev")
    page.goto("/people/duplicates#accounts")
    expect(page.get_by_role("heading", name="Accounts that may be one")).to_be_visible()
    pairs = page.locator("article[id^='account-pair-']")
    waiting = pairs.count()
    assert waiting >= 1, "the demo world's legacy import should leave account pairs for review"
    pair = pairs.first
    pair.scroll_into_view_if_needed()
    shot(page, "13-account-duplicates")
    pair_id = pair.get_attribute("id")
    survivor_href = pair.locator("dl").first.get_by_role("link").first.get_attribute("href")
    pair.get_by_role("button", name="Merge accounts").click()
    expect(page.locator(f"#{pair_id}")).to_contain_text("Merged (account merge #")
    page.reload()
    expect(page.locator("article[id^='account-pair-']")).to_have_count(waiting - 1)
    assert survivor_href is not None
    page.goto(survivor_href)  # the account with the domain survives: the left one
    identity = page.locator("#merges")
    expect(identity).to_contain_text("merged into this account")
    shot(page, "14-account-merged")
    identity.get_by_role("button", name="Unmerge").click()
    expect(page.locator("#merges")).to_contain_text("Undone")
    shot(page, "15-account-unmerged")


def test_no_page_breaks_the_content_security_policy(page: Page) -> None:
    """The policy allows only /static: a page with inline code would fail here, not in production."""
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, "admin@demo.leadloop.dev")
    for path in (
        "/leads",
        "/inbox",
        "/people",
        "/people/duplicates",
        "/team",
        "/reports/sla",
        "/scoring",
        "/routing",
        "/docs",
        "/",
        "/accounts",
        "/campaigns",
        "/campaigns/1",
        "/search?q=mul",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.goto("/leads")
    page.locator("#leads thead").get_by_role("link", name="Account").click()  # an HTMX swap
    expect(page).to_have_url(re.compile(r"sort=account"))
    logout = page.get_by_role("button", name="Sign out")
    logout.click()
    expect(page).to_have_url(re.compile(r"/login"))
    assert refused == []


def test_marketing_tries_a_form_sample_on_the_forms_page(page: Page) -> None:
    sign_in(page, "marketing@demo.leadloop.dev")
    nav_to(page, "Forms", exact=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Web forms")
    page.get_by_label(re.compile("A sample submission")).fill(
        "your-name: Ann Lee\nyour-email: ann@acme.com\nfield_7: radio"
    )
    page.get_by_role("button", name="Try the sample").click()
    table = page.locator("#tried")
    expect(table).to_contain_text("your-email")
    expect(table).to_contain_text("kept as a custom field")
    shot(page, "24-forms-try")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.querySelector('main').scrollWidth") <= 400
