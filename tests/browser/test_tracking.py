"""The tracking snippet in a real browser: a customer's site on another origin carries /t.js;
a visitor browses three pages and submits the site's own contact form (collected, no change to
the form); their three visits are on their timeline before the form, and they count in the score."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadloop.store.db import make_engine
from tests.browser.conftest import shot

pytestmark = pytest.mark.slow

PAGE = """<!doctype html><html><head><title>{title}</title>
<script src="{leadloop}/t.js" data-site="{key}" data-collect-forms async></script></head>
<body><h1>{title}</h1><nav><a href="/">Home</a> <a href="/pricing.html">Pricing</a>
<a href="/docs.html">Docs</a> <a href="/contact.html">Contact</a></nav>{body}</body></html>"""
FORM = """<form method="post" action="/thanks.html"><label>Name <input name="your-name"></label>
<label>E-mail <input name="your-email" type="email"></label><button type="submit">Send</button></form>"""


# Headless Chromium says so in its user agent, and /collect drops it as automated: the visitor here
# stands for a person, so the context presents the desktop browser's own string.
PERSON_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Site(SimpleHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(303)
        self.send_header("Location", "/thanks.html")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    root = tmp_path_factory.mktemp("tracking")
    db = root / "leadloop.db"
    port, site_port = _free_port(), _free_port()
    leadloop, site = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{site_port}"
    cli = [sys.executable, "-m", "leadloop.cli"]
    out = subprocess.run(
        [
            *cli,
            "tracking",
            "add-site",
            "--name",
            "Polar",
            "--origin",
            site,
            "--collect-forms",
            "--database-url",
            f"sqlite:///{db}",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    key = out.split('data-site="')[1].split('"')[0]
    www = root / "www"
    www.mkdir()
    for name, title, body in (
        ("index.html", "Polar Signal", ""),
        ("pricing.html", "Pricing", "<p>Plans</p>"),
        ("docs.html", "Docs", "<p>Start here</p>"),
        ("contact.html", "Contact", FORM),
        ("thanks.html", "Thanks", "<p>We'll be in touch.</p>"),
    ):
        (www / name).write_text(PAGE.format(title=title, leadloop=leadloop, key=key, body=body))
    httpd = ThreadingHTTPServer(("127.0.0.1", site_port), lambda *a: _Site(*a, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    log = open(root / "serve.log", "wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--database-url", f"sqlite:///{db}"], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 120  # a loaded two-core machine takes its time to import
    while True:
        try:
            urllib.request.urlopen(leadloop + "/healthz", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("leadloop serve did not start: " + (root / "serve.log").read_text())
            time.sleep(0.1)
    yield site, leadloop, db
    proc.terminate()
    proc.wait(timeout=10)
    httpd.shutdown()
    httpd.server_close()
    log.close()


def _wait_for(db: Path, email: str) -> list[tuple[str, object]]:
    engine = make_engine(f"sqlite:///{db}")
    for _ in range(100):
        with engine.connect() as c:
            pid = c.scalar(sa.text("select id from people where email = :e"), {"e": email})
            if pid is not None:
                rows = c.execute(
                    sa.text(
                        "select type, occurred_at from activities where person_id = :p order by occurred_at, id"
                    ),
                    {"p": pid},
                ).all()
                if any(t == "form_submit" for t, _ in rows):
                    return [(t, at) for t, at in rows]
        time.sleep(0.1)
    raise AssertionError(f"{email} never arrived")


def _engagement(db: Path, email: str) -> float:
    with make_engine(f"sqlite:///{db}").connect() as c:
        return float(c.scalar(sa.text("select engagement_s from people where email = :e"), {"e": email}) or 0)


def test_three_visits_then_the_sites_own_form(browser, sites) -> None:  # type: ignore[no-untyped-def]
    site, _, db = sites
    context = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=PERSON_UA)
    page = context.new_page()
    page.goto(site + "/")
    page.click("text=Pricing")
    page.wait_for_url("**/pricing.html")
    page.click("text=Docs")
    page.wait_for_url("**/docs.html")
    page.click("text=Contact")
    page.fill("input[name=your-name]", "Greta Lindqvist")
    page.fill("input[name=your-email]", "greta@polar-signal.se")
    page.click("button[type=submit]")
    page.wait_for_url("**/thanks.html")
    shot(page, "tracking-site-thanks")
    cookie = next(c for c in context.cookies() if c["name"] == "_llvid")
    assert cookie["value"] and cookie["sameSite"] == "Lax"
    context.close()
    rows = _wait_for(db, "greta@polar-signal.se")
    kinds = [t for t, _ in rows]
    form_at = next(at for t, at in rows if t == "form_submit")
    visits = [(t, at) for t, at in rows if t.endswith("page_view")]
    assert {t for t, _ in visits} == {"page_view", "pricing_page_view"}  # home, docs and contact: one visit
    assert all(str(at) <= str(form_at) for _, at in visits), rows
    assert "form_submit" in kinds

    # The same form with no visits before it scores less: the visits count.
    other = browser.new_context(user_agent=PERSON_UA)
    p2 = other.new_page()
    p2.goto(site + "/contact.html")
    p2.fill("input[name=your-name]", "Lars Berg")
    p2.fill("input[name=your-email]", "lars@polar-signal.se")
    p2.click("button[type=submit]")
    p2.wait_for_url("**/thanks.html")
    other.close()
    _wait_for(db, "lars@polar-signal.se")
    assert _engagement(db, "greta@polar-signal.se") > _engagement(db, "lars@polar-signal.se")


def test_global_privacy_control_sends_nothing(browser, sites) -> None:  # type: ignore[no-untyped-def]
    site = sites[0]
    context = browser.new_context(user_agent=PERSON_UA)
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {value: true})")
    page = context.new_page()
    page.goto(site + "/pricing.html")
    page.wait_for_timeout(500)
    assert not [c for c in context.cookies() if c["name"] == "_llvid"]
    context.close()
