"""A real server on a small demo world, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

CHROMIUM = os.environ.get("LEADLOOP_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


_SERVER_LOGS: list[Path] = []  # this worker's server log, shown beside a failed walk


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and _SERVER_LOGS and _SERVER_LOGS[-1].exists():
        lines = _SERVER_LOGS[-1].read_text(errors="replace").splitlines()
        noise = ('"/static/', '"outbox.retry"', '"/notifications/badge"')
        tail = [ln for ln in lines if not any(n in ln for n in noise)][-60:]
        report.sections.append(("leadloop serve log (last lines)", "\n".join(tail)))


class _Sink:
    """Takes every message; the walks read the app, not the mail."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("browser") / "demo.db"
    cli = [sys.executable, "-m", "leadloop.cli"]
    subprocess.run(
        [*cli, "demo", "--path", str(db), "--accounts", "600", "--people", "2400", "--no-serve"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # The mail the app sends (assignments, reminders) goes to a real SMTP server that takes it.
    mail = Controller(_Sink(), hostname="127.0.0.1", port=_free_port())
    mail.start()
    env = {
        **os.environ,
        "LEADLOOP_SMTP_HOST": "127.0.0.1",
        "LEADLOOP_SMTP_PORT": str(mail.port),
        # Every walk signs in from 127.0.0.1, dozens of times a session: the sign-in limiter (10 a
        # minute per address by default, tested by the web tests) would refuse the later walks.
        "LEADLOOP_LOGIN_ATTEMPTS_PER_MINUTE": "600",
        "LEADLOOP_LOGIN_BURST": "200",
        # A walk that posts a form then opens its lead: the answer waits for the landing.
        "LEADLOOP_FORM_ANSWER_MS": "10000",
    }
    # The timers the demo left due (partner hand-offs, outbox sends, retraining) are swept now, not
    # by the server's sweeper while the first walk waits behind it on SQLite's one writer.
    subprocess.run(
        [*cli, "worker", "--once", "--database-url", f"sqlite:///{db}"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = _free_port()
    _SERVER_LOGS.append(db.with_suffix(".log"))
    log = open(db.with_suffix(".log"), "wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--database-url", f"sqlite:///{db}"],
        stdout=log,
        stderr=log,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):  # up to a minute: the machine may be busy
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("leadloop serve did not start: " + db.with_suffix(".log").read_text())
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    mail.stop()
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Phone and accessibility (issue 13, item 9): the nav folds its groups into dropdowns on a wide
# screen and into one Menu on a phone, so a walk follows a nav link through this, at any width.
def nav_to(page, name: str, *, exact: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Click the navigation's link `name`, opening its dropdown or the phone's Menu first."""
    links = page.locator("header.app nav").get_by_role("link", name=name, exact=exact, include_hidden=True)
    for i in range(links.count()):
        link = links.nth(i)
        if link.is_visible():
            link.click()
            return
        folded = link.locator("xpath=ancestor::details[1]")
        if folded.count() and folded.is_visible():  # the copy for this width, closed
            folded.locator("xpath=./summary").click()
            link.click()
            return
    raise AssertionError(f"no link {name!r} in the navigation")


def sign_in_as(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """Sign out whoever is signed in, and sign in as `email` (every demo login shares one password)."""
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("leadloop-demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


# A walk that works a fresh lead brings its own: which demo leads still wait untouched for which rep
# depends on the generated SLA history (the build time shifts the world's activity onto weekdays, and
# the first sweep passes every lead left past its SLA to the pool's next rep), and on the walks before.
def fresh_hand_raiser(page, tag: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Post a demo request from a new German company to the public form, as a website would; return
    the lead's id and the e-mail of the rep the rules gave it to (read from its routing audit as the
    manager). The fast track sends it to the EMEA pool at once with the hottest SLA clock. Leaves
    nobody signed in."""
    company = f"Kranich Messtechnik {tag} GmbH"
    r = page.request.post(
        "/forms/lead",
        form={
            "first_name": "Jonas",
            "last_name": f"Weber {tag}",
            "email": f"jonas.weber@kranich-{tag}.de",
            "phone": "+49 30 9018 2240",
            "title": "Head of IT",
            "company": company,
            "country": "DE",
            "activity_type": "demo_request",
        },
    )
    assert r.ok, r.text()
    sign_in_as(page, "manager@demo.leadloop.dev")
    page.goto("/leads?q=" + company.replace(" ", "+"))
    page.locator("#leads tbody tr td a").first.click()
    page.wait_for_url(re.compile(r"/leads/\d+$"))
    lead_id = page.url.rsplit("/", 1)[1]
    audit = page.locator("#routing-audit").inner_text()
    owner = re.search(r"(rep\d@demo\.leadloop\.dev) is next", audit)
    assert owner, f"the demo request went to no field rep: {audit}"
    page.context.clear_cookies()
    return lead_id, owner.group(1)
