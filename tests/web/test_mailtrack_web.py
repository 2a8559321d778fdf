"""The open pixel and the click redirect, reached by anyone's mail client with no cookie, session or
CSRF token: a GIF whatever the token, a redirect only to the URL signed in the message, a kind page
for a link that was tampered with, and a HEAD answered but not scored."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.mailtrack import handlers
from leadloop.mailtrack.instrument import instrument
from leadloop.mailtrack.policy import policy_of
from leadloop.mailtrack.public_web import PIXEL
from leadloop.mailtrack.tokens import CLICK, OPEN, Claim, LinkSigner, Source
from leadloop.store.tables import Activity, Person
from tests.fixtures.capture import capture_people
from tests.fixtures.web import Web

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
HTML = (
    "<html><body><p>Hello Ann, <a href='https://acme.com/pricing?plan=pro&amp;x=1'>see pricing</a> or"
    " <a href='https://acme.com/demo'>book a demo</a>.</p></body></html>"
)


@pytest.fixture
def ann(web: Web) -> int:
    pid = capture_people(web.db, web.clock, {"email": "ann@acme.com"}, kind="form_submit")[0].id
    assert pid is not None
    return pid


def _client(web: Web) -> TestClient:
    """A mail client or a person's browser: no cookie, no session, no CSRF token."""
    return TestClient(web.app, follow_redirects=False, headers={"User-Agent": BROWSER})


def _signer(web: Web) -> LinkSigner:
    with web.db.read() as s:
        return policy_of(s).signer


def _message(web: Web, pid: int, **kw: Any) -> dict[str, str]:
    """The links of a message sent now to this person: its pixel and each destination's redirect,
    as paths on our own server."""
    with web.db.read() as s:
        policy = policy_of(s)
    done = instrument(
        html=HTML,
        text=None,
        person_id=pid,
        message="nurture:7:1",
        sent_at=web.clock(),
        base_url=policy.public_url,
        signer=policy.signer,
        source=Source(sequence="welcome", step="hello"),
        **kw,
    )
    assert done.pixel and done.html
    paths = {"pixel": done.pixel.removeprefix(policy.public_url)}
    for url in done.links:
        token = _signer(web).make(
            Claim(CLICK, pid, "nurture:7:1", web.clock(), Source("welcome", "hello"), url)
        )
        paths[url] = f"/r/{token}"
        assert f"{policy.public_url}/r/{token}" in done.html
    return paths


def _activities(web: Web, *types: str) -> list[Any]:
    with web.db.read() as s:
        return s.execute(
            sa.select(Activity.type, Activity.person_id, Activity.url, Activity.payload)
            .where(
                Activity.type.in_(
                    types or ("email_open", "email_click", "email_open_machine", "email_click_machine")
                )
            )
            .order_by(Activity.id)
        ).all()


def _engagement(web: Web, pid: int) -> float:
    with web.db.read() as s:
        return float(s.scalar(sa.select(Person.engagement_s).where(Person.id == pid)) or 0.0)


def test_a_person_opens_and_clicks_a_message(web: Web, ann: int) -> None:
    links = _message(web, ann)
    web.clock.advance(minutes=20)
    before = _engagement(web, ann)
    client = _client(web)
    pixel = client.get(links["pixel"])
    assert pixel.status_code == 200 and pixel.content == PIXEL
    assert pixel.headers["content-type"] == "image/gif" and pixel.headers["cache-control"] == "no-store"
    click = client.get(links["https://acme.com/pricing?plan=pro&x=1"])
    assert click.status_code == 302 and click.headers["location"] == "https://acme.com/pricing?plan=pro&x=1"
    assert click.headers["cache-control"] == "no-store" and click.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in pixel.headers and "set-cookie" not in click.headers
    rows = _activities(web)
    assert [(r.type, r.person_id, r.url) for r in rows] == [
        ("email_open", ann, None),
        ("email_click", ann, "https://acme.com/pricing?plan=pro&x=1"),
    ]
    assert rows[1].payload["message"] == "nurture:7:1" and rows[1].payload["user_agent"] == BROWSER
    assert _engagement(web, ann) > before


def test_a_head_to_the_redirect_is_answered_and_not_scored(web: Web, ann: int) -> None:
    links = _message(web, ann)
    web.clock.advance(minutes=20)
    before = _engagement(web, ann)
    r = _client(web).head(links["https://acme.com/demo"])
    assert r.status_code == 302 and r.headers["location"] == "https://acme.com/demo"
    pixel = _client(web).head(links["pixel"])
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert [(a.type, a.payload["machine"]) for a in _activities(web)] == [
        ("email_click_machine", ["head"]),
        ("email_open_machine", ["head"]),
    ]
    assert _engagement(web, ann) == before


def test_a_scanner_at_delivery_is_redirected_recorded_and_not_scored(web: Web, ann: int) -> None:
    links = _message(web, ann)
    web.clock.advance(seconds=3)
    before = _engagement(web, ann)
    scanner = TestClient(web.app, follow_redirects=False, headers={"User-Agent": "Mimecast URL Protect"})
    assert scanner.get(links["https://acme.com/demo"]).headers["location"] == "https://acme.com/demo"
    assert [a.type for a in _activities(web)] == ["email_click_machine"]
    assert _engagement(web, ann) == before


def _tampered(token: str) -> str:
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


@pytest.mark.parametrize(
    "what",
    [
        "tampered",
        "other_url",
        "pixel_token",
        "other_key",
        "garbage",
        "huge",
        "slash",
        "empty_url",
        "javascript",
    ],
)
def test_a_bad_click_link_gets_a_kind_page_and_never_a_redirect(web: Web, ann: int, what: str) -> None:
    signer = _signer(web)
    now = web.clock()
    genuine = signer.make(Claim(CLICK, ann, "m", now, Source(), "https://acme.com/pricing"))
    evil = LinkSigner("x" * 40).make(Claim(CLICK, ann, "m", now, Source(), "https://evil.example/phish"))
    token = {
        "tampered": _tampered(genuine),
        "other_url": evil.rsplit(".", 1)[0] + "." + genuine.rsplit(".", 1)[1],  # our signature, their URL
        "pixel_token": signer.make(Claim(OPEN, ann, "m", now)),
        "other_key": evil,
        "garbage": "abc.d%C3%A9f..~",
        "huge": "a" * 20_000,
        "slash": genuine[:10] + "/" + genuine[10:],
        # Signed by us, yet no web page: only ever made by a bug, still never followed.
        "empty_url": signer.make(Claim(CLICK, ann, "m", now, Source(), "https://")),
        "javascript": signer.make(Claim(CLICK, ann, "m", now, Source(), "javascript:alert(1)")),
    }[what]
    web.clock.advance(minutes=20)
    for method in ("GET", "HEAD"):
        r = _client(web).request(method, f"/r/{token}")
        assert r.status_code == 400 and "location" not in r.headers
    page = _client(web).get(f"/r/{token}")
    assert page.template.name == "mailtrack/bad_link.html"  # type: ignore[attr-defined]
    assert "This link does not work" in page.text and "set-cookie" not in page.headers
    assert _activities(web) == []


def test_what_is_added_to_a_click_link_changes_nothing(web: Web, ann: int) -> None:
    links = _message(web, ann)
    r = _client(web).get(links["https://acme.com/demo"] + "?url=https://evil.example&next=//evil.example")
    assert r.status_code == 302 and r.headers["location"] == "https://acme.com/demo"


@pytest.mark.parametrize("what", ["tampered", "click_token", "garbage", "huge", "slash", "nobody"])
def test_a_bad_pixel_is_still_a_pixel_and_records_nothing(web: Web, ann: int, what: str) -> None:
    signer = _signer(web)
    now = web.clock()
    genuine = signer.make(Claim(OPEN, ann, "m", now))
    token = {
        "tampered": _tampered(genuine),
        "click_token": signer.make(Claim(CLICK, ann, "m", now, Source(), "https://acme.com/")),
        "garbage": "%C3%A9~~",
        "huge": "a" * 20_000,
        "slash": "a/b/c",
        "nobody": signer.make(Claim(OPEN, 987_654, "m", now)),
    }[what]
    web.clock.advance(minutes=20)
    r = _client(web).get(f"/o/{token}.gif")
    assert r.status_code == 200 and r.content == PIXEL and r.headers["cache-control"] == "no-store"
    assert _activities(web) == []


def test_a_click_for_nobody_or_from_long_ago_still_reaches_its_page(web: Web, ann: int) -> None:
    """The URL is the one we wrote: the person gets there; only the recording is skipped."""
    signer = _signer(web)
    sent = web.clock()
    nobody = signer.make(Claim(CLICK, 987_654, "m", sent, Source(), "https://acme.com/a"))
    old = signer.make(Claim(CLICK, ann, "m", sent, Source(), "https://acme.com/b"))
    web.clock.advance(days=400)
    assert _client(web).get(f"/r/{nobody}").headers["location"] == "https://acme.com/a"
    assert _client(web).get(f"/r/{old}").headers["location"] == "https://acme.com/b"
    assert _activities(web) == []


def test_a_destination_is_sent_as_a_valid_location(web: Web, ann: int) -> None:
    token = _signer(web).make(
        Claim(CLICK, ann, "m", web.clock(), Source(), "https://acme.com/über uns?q=a b&x=%2F#teil")
    )
    r = _client(web).get(f"/r/{token}")
    assert r.headers["location"] == "https://acme.com/%C3%BCber%20uns?q=a%20b&x=%2F#teil"


def test_a_failure_to_record_never_stands_between_a_person_and_their_page(
    web: Web, ann: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> handlers.Recorded:
        raise RuntimeError("the database is away")

    monkeypatch.setattr(handlers, "record_hit", broken)
    links = _message(web, ann)
    web.clock.advance(minutes=20)
    assert _client(web).get(links["https://acme.com/demo"]).headers["location"] == "https://acme.com/demo"
    assert _client(web).get(links["pixel"]).content == PIXEL


def test_links_stay_valid_a_year_with_the_key_kept(web: Web, ann: int) -> None:
    links = _message(web, ann)
    web.clock.advance(days=364)
    assert _client(web).get(links["https://acme.com/demo"]).status_code == 302
    assert [a.type for a in _activities(web)] == ["email_click"]
    web.clock.advance(days=2)  # 366 days after the send: still a working link, no longer recorded
    assert _client(web).get(links["https://acme.com/pricing?plan=pro&x=1"]).status_code == 302
    assert [a.type for a in _activities(web)] == ["email_click"]
