"""E-mail tracking, the pure part: the signed tokens, rewriting a message's links, the machine
classifier and what a hit becomes."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.contract.vocab import ACTIVITY_TYPES, MACHINE_TYPES
from leadloop.mailtrack.classify import Request, Rules, Sibling, agent_reasons, machine_reasons
from leadloop.mailtrack.instrument import instrument, trackable
from leadloop.mailtrack.model import TYPES, WINDOWS, judge
from leadloop.mailtrack.tokens import CLICK, MAX_TOKEN, OPEN, BadLink, Claim, LinkSigner, Source, expired
from leadloop.scoring.document import ModelDocumentError, parse_model

BASE = "https://ll.example.com"
SENT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SIGNER = LinkSigner("k" * 40)
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"


def _instrument(html: str | None, text: str | None = None, **kw: object) -> tuple[str | None, str | None]:
    done = instrument(
        html=html,
        text=text,
        person_id=7,
        message="nurture:1:2",
        sent_at=SENT,
        base_url=BASE + "/",
        signer=SIGNER,
        **kw,  # type: ignore[arg-type]
    )
    return done.html, done.text


class _Hrefs(HTMLParser):
    """Every href of a link tag, as a mail client reads it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area"):
            self.hrefs += [v for k, v in attrs if k == "href" and v is not None]


def _hrefs(html: str) -> list[str]:
    p = _Hrefs()
    p.feed(html)
    p.close()
    return p.hrefs


def _destination(url: str) -> str:
    assert url.startswith(BASE + "/r/"), url
    claim = SIGNER.read(CLICK, url.removeprefix(BASE + "/r/"))
    assert claim.url is not None
    return claim.url


# Tokens.


def test_a_click_token_says_who_which_message_when_and_where() -> None:
    claim = Claim(CLICK, 42, "nurture:9:3", SENT, Source("welcome", "hello"), "https://acme.com/pricing?x=1")
    assert SIGNER.read(CLICK, SIGNER.make(claim)) == claim


@given(
    pid=st.integers(min_value=1, max_value=2**53),
    message=st.text(min_size=1, max_size=200),
    url=st.text(max_size=300).map(lambda t: "https://acme.com/" + t),
    campaign=st.none() | st.text(min_size=1, max_size=100),
)
def test_any_claim_reads_back_as_it_was_made(pid: int, message: str, url: str, campaign: str | None) -> None:
    claim = Claim(CLICK, pid, message, SENT, Source(campaign=campaign), url)
    assert SIGNER.read(CLICK, SIGNER.make(claim)) == claim


@settings(max_examples=300)
@given(data=st.data())
def test_a_changed_token_is_refused_or_says_exactly_the_same(data: st.DataObject) -> None:
    """Change, drop or add any character: the signature refuses it. (A change in the spare bits of a
    base64 character's last group decodes to the same bytes, so it can only say the same thing.)"""
    claim = Claim(CLICK, 42, "nurture:9:3", SENT, Source(), "https://acme.com/pricing")
    token = SIGNER.make(claim)
    i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    how = data.draw(st.sampled_from(["change", "drop", "add"]))
    c = data.draw(st.characters(codec="ascii", exclude_characters="\x00"))
    bad = {
        "change": token[:i] + c + token[i + 1 :],
        "drop": token[:i] + token[i + 1 :],
        "add": token[:i] + c + token[i:],
    }[how]
    if bad == token:
        return
    try:
        read = SIGNER.read(CLICK, bad)
    except BadLink:
        return
    assert read == claim


def test_a_token_for_another_url_cannot_be_made_from_a_genuine_one() -> None:
    """Its payload is only (compressed) base64: put another destination in it, keep the signature,
    and it is refused."""
    genuine = SIGNER.make(Claim(CLICK, 42, "m", SENT, Source(), "https://acme.com/pricing"))
    evil = LinkSigner("whoever made this does not have our key!").make(
        Claim(CLICK, 42, "m", SENT, Source(), "https://evil.example/phish")
    )
    forged = evil.rsplit(".", 1)[0] + "." + genuine.rsplit(".", 1)[1]
    with pytest.raises(BadLink):
        SIGNER.read(CLICK, forged)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b.c",
        "x" * (MAX_TOKEN + 1),
        "é" * 50,
        SIGNER.make(Claim(OPEN, 1, "m", SENT)),  # an open token is not a click link
        LinkSigner("another key entirely, 40 characters long").make(
            Claim(CLICK, 1, "m", SENT, url="https://a.b")
        ),
    ],
    ids=["empty", "garbage", "dots", "huge", "non-ascii", "open-as-click", "other-key"],
)
def test_a_bad_token_is_refused(token: str) -> None:
    with pytest.raises(BadLink):
        SIGNER.read(CLICK, token)


def test_a_genuine_token_of_a_shape_we_do_not_make_is_refused() -> None:
    from itsdangerous import URLSafeSerializer

    ours = URLSafeSerializer("k" * 40, salt="leadloop.mailtrack.click")
    for body in (
        [2, 1, "m", 0, None, None, None, "https://a.b"],
        {"u": "https://a.b"},
        [1, "1", "m", 0, None, None, None, "x"],
    ):
        with pytest.raises(BadLink):
            SIGNER.read(CLICK, ours.dumps(body))


def test_a_link_records_for_its_valid_days_after_the_send() -> None:
    claim = Claim(OPEN, 1, "m", SENT)
    assert not expired(claim, SENT + timedelta(days=365), 365)
    assert expired(claim, SENT + timedelta(days=365, seconds=1), 365)


def test_making_a_token_refuses_what_could_not_be_read_back() -> None:
    with pytest.raises(ValueError):
        SIGNER.make(Claim(CLICK, 1, "m", SENT, url=None))
    with pytest.raises(ValueError):
        SIGNER.make(Claim(OPEN, 1, "m" * 201, SENT))


# Instrumenting a message.

EXEMPT = [
    "mailto:ann@acme.com?subject=hi",
    "tel:+4930123456",
    "#top",
    "/relative/page",
    "javascript:alert(1)",
    "ftp://files.acme.com/x",
    f"{BASE}/u/abc.def",  # unsubscribe (RFC 8058 needs it as it is)
    f"{BASE}/u/abc.def/preferences",
    f"{BASE}/c/abc.def",  # the double opt-in confirmation
    f"{BASE}/r/already.tracked",
    "https://acme.com/" + "x" * 2100,  # longer than the activity log keeps
]


@pytest.mark.parametrize("href", EXEMPT)
def test_exempt_links_are_left_as_they_are(href: str) -> None:
    html, text = _instrument(f'<p><a href="{html_lib.escape(href)}">x</a></p>', f"go: {href}")
    assert _hrefs(html or "") == [href]
    assert text == f"go: {href}"


def test_every_web_link_goes_through_the_redirect_and_nothing_else_changes() -> None:
    html = (
        "<!doctype html><html><head><link href='https://acme.com/s.css' rel=stylesheet></head><body>\r\n"
        '<p>Hi <A HREF=" https://acme.com/pricing?a=1&amp;b=2 " class=cta>pricing</A>,'
        " <a href=https://acme.com/demo>demo</a> <img src='https://acme.com/logo.png'></p>\n"
        '<map><area shape=rect href="http://acme.com/area" alt=""></map>'
        '<!--[if mso]><v:roundrect href="https://acme.com/button" /><![endif]-->'
        "<!-- a comment https://acme.com/ignored --><script>var u='https://acme.com/js'</script>"
        "</body></html>"
    )
    out, _ = _instrument(html)
    assert out is not None
    assert [_destination(h) for h in _hrefs(out)] == [
        "https://acme.com/pricing?a=1&b=2",
        "https://acme.com/demo",
        "http://acme.com/area",
    ]
    vml = re.search(r'v:roundrect href="([^"]+)"', out)
    assert vml and _destination(vml.group(1)) == "https://acme.com/button"
    # What is not a link is untouched: the stylesheet, the image, comments and scripts.
    for kept in (
        "https://acme.com/s.css",
        "https://acme.com/logo.png",
        "https://acme.com/ignored",
        "https://acme.com/js",
    ):
        assert out.count(kept) == 1
    assert out.startswith("<!doctype html><html><head>") and "\r\n<p>Hi " in out


def test_the_pixel_goes_at_the_end_of_the_body() -> None:
    done = instrument(
        html="<html><body><p>x</p></BODY></html>",
        text="plain",
        person_id=7,
        message="m",
        sent_at=SENT,
        base_url=BASE,
        signer=SIGNER,
    )
    assert done.pixel and done.html == (
        f'<html><body><p>x</p><img src="{done.pixel}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0" /></BODY></html>'
    )
    token = done.pixel.removeprefix(BASE + "/o/").removesuffix(".gif")
    assert SIGNER.read(OPEN, token) == Claim(OPEN, 7, "m", SENT)
    fragment = instrument(
        html="<p>x</p>", text=None, person_id=7, message="m", sent_at=SENT, base_url=BASE, signer=SIGNER
    )
    assert (fragment.html or "").startswith(
        '<p>x</p><img src="https://ll.example.com/o/'
    )  # no </body>: at the end
    text_only = instrument(
        html=None, text="x", person_id=7, message="m", sent_at=SENT, base_url=BASE, signer=SIGNER
    )
    assert text_only.html is None and text_only.pixel is None


LINK = r"https://ll\.example\.com/r/\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"  # "." first: compressed


def test_links_in_the_text_part_keep_the_sentence_around_them() -> None:
    _, text = _instrument(
        None,
        "See https://acme.com/pricing. Or (https://acme.com/wiki/A_(b)), <https://acme.com/x>!\n"
        "Unsubscribe: https://ll.example.com/u/tok",
    )
    assert text is not None
    urls = re.findall(LINK, text)
    assert [_destination(u) for u in urls] == [
        "https://acme.com/pricing",
        "https://acme.com/wiki/A_(b)",
        "https://acme.com/x",
    ]
    assert "Unsubscribe: https://ll.example.com/u/tok" in text
    assert re.sub(LINK, "L", text) == ("See L. Or (L), <L>!\nUnsubscribe: https://ll.example.com/u/tok")


def test_one_destination_has_one_link_in_both_parts() -> None:
    done = instrument(
        html='<a href="https://acme.com/a">a</a><a href="https://acme.com/a">again</a>',
        text="https://acme.com/a",
        person_id=7,
        message="m",
        sent_at=SENT,
        base_url=BASE,
        signer=SIGNER,
    )
    assert done.links == ("https://acme.com/a",)
    assert len({*_hrefs(done.html or ""), done.text}) == 1


def test_instrumenting_twice_changes_nothing_more() -> None:
    once, text = _instrument('<a href="https://acme.com/a">a</a>', "https://acme.com/a")
    twice = instrument(
        html=once, text=text, person_id=7, message="nurture:1:2", sent_at=SENT, base_url=BASE, signer=SIGNER
    )
    assert _hrefs(twice.html or "") == _hrefs(once or "") and twice.text == text


_HOSTS = st.sampled_from(
    ["acme.com", "www.example.org", "shop.acme.co.uk", "[2001:db8::1]", "ll.example.com"]
)
_PATHS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=40
)
_WEB = st.builds(
    lambda s, h, p: f"{s}://{h}/{p}", st.sampled_from(["http", "https", "HTTPS"]), _HOSTS, _PATHS
)
_OTHER = st.sampled_from(EXEMPT)


@settings(max_examples=200)
@given(
    links=st.lists(st.tuples(st.booleans(), _WEB | _OTHER), min_size=1, max_size=8),
    filler=st.text(max_size=30),
)
def test_every_web_link_is_rewritten_and_every_other_kept(links: list[tuple[bool, str]], filler: str) -> None:
    """Whatever the links and the text between them: each trackable one leads, through its signed
    redirect, to exactly the URL that was there; each other one is exactly as it was."""
    parts = []
    for i, (single, url) in enumerate(links):
        quote = "'" if single else '"'
        parts.append(
            f"<p>{html_lib.escape(filler)}<a class=l{i} href={quote}{html_lib.escape(url)}{quote}>{i}</a></p>"
        )
    out, _ = _instrument("<body>" + "".join(parts) + "</body>")
    hrefs = _hrefs(out or "")
    assert len(hrefs) == len(links)
    for (_, url), href in zip(links, hrefs, strict=True):
        if trackable(url, BASE):
            assert _destination(href) == url
        else:
            assert href == url


# The classifier.

HUMAN = Request("GET", BROWSER, "203.0.113.9")
LATER = SENT + timedelta(minutes=20)


def _why(
    request: Request = HUMAN, *, at: datetime = LATER, kind: str = CLICK, **kw: object
) -> tuple[str, ...]:
    return machine_reasons(kind, request, sent_at=SENT, at=at, url="https://acme.com/a", **kw)  # type: ignore[arg-type]


def test_a_person_in_a_browser_some_minutes_later_is_a_person() -> None:
    assert _why() == ()
    assert _why(kind=OPEN) == ()


@pytest.mark.parametrize(
    ("agent", "reason"),
    [
        ("Mozilla/5.0", "proxy:apple"),
        (
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            "proxy:google",
        ),
        ("YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", "proxy:yahoo"),
        ("Barracuda Sentinel (EE)", "scanner:barracuda"),
        ("Mozilla/5.0 (compatible; Mimecast URL Protect)", "scanner:mimecast"),
        ("Proofpoint URL Defense", "scanner:proofpoint"),
        ("Microsoft Office Existence Discovery", "scanner:microsoft-office"),
        ("", "no_user_agent"),
        ("python-requests/2.31", "automated"),
        ("Mozilla/5.0 (compatible; bingbot/2.0)", "automated"),
    ],
)
def test_proxies_scanners_and_robots_are_machines(agent: str, reason: str) -> None:
    assert reason in agent_reasons(agent)
    assert reason in _why(Request("GET", agent, "203.0.113.9"))


def test_a_head_request_is_a_machine() -> None:
    assert _why(Request("HEAD", BROWSER, "203.0.113.9")) == ("head",)


@pytest.mark.parametrize("ip", ["40.107.22.13", "104.47.1.1", "2a01:111:f400::5", "::ffff:40.92.3.4"])
def test_a_mail_security_network_is_a_machine(ip: str) -> None:
    assert _why(Request("GET", BROWSER, ip)) == ("network:microsoft-eop",)


def test_a_configured_network_is_a_machine_too() -> None:
    rules = Rules.with_networks(["17.0.0.0/8"])
    assert _why(Request("GET", BROWSER, "17.1.2.3"), rules=rules) == ("network:configured",)
    assert _why(Request("GET", BROWSER, "not an address"), rules=rules) == ()


@pytest.mark.parametrize(
    ("seconds", "machine"), [(-5, True), (0, True), (5, True), (29, True), (30, False), (3600, False)]
)
def test_a_hit_right_after_the_send_is_a_machine(seconds: int, machine: bool) -> None:
    at = SENT + timedelta(seconds=seconds)
    assert (_why(at=at) == ("too_soon",)) is machine
    assert (_why(at=at, kind=OPEN) == ("too_soon",)) is machine


def test_several_links_of_one_message_in_a_second_are_a_scanner() -> None:
    other = Sibling(LATER - timedelta(milliseconds=400), "https://acme.com/b")
    same_link = Sibling(LATER - timedelta(milliseconds=400), "https://acme.com/a")  # a double click
    long_ago = Sibling(LATER - timedelta(seconds=5), "https://acme.com/b")
    assert _why(siblings=[other]) == ("burst",)
    assert _why(siblings=[same_link, long_ago]) == ()
    assert _why(kind=OPEN, siblings=[other]) == ()


@given(
    agent=st.text(max_size=200),
    method=st.sampled_from(["GET", "HEAD", "get", "head"]),
    seconds=st.floats(min_value=-3600, max_value=10**7, allow_nan=False),
    ip=st.ip_addresses().map(str) | st.none(),
)
def test_what_makes_a_machine_always_does(agent: str, method: str, seconds: float, ip: str | None) -> None:
    """Whatever else a hit looks like: a HEAD, or a hit inside the window after the send, is a
    machine's; and a hit is a person's only when no rule found anything."""
    at = SENT + timedelta(seconds=seconds)
    why = machine_reasons(CLICK, Request(method, agent, ip), sent_at=SENT, at=at, url="https://a.b/")
    if method.upper() == "HEAD" or seconds < 30:
        assert why
    if not why:
        assert agent.strip() and agent.strip() != "Mozilla/5.0" and seconds >= 30


def test_a_network_that_is_not_one_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from leadloop.settings import Settings

    assert Settings(mailtrack_machine_networks=[" 17.0.0.0/8 ", ""]).mailtrack_machine_networks == [
        "17.0.0.0/8"
    ]
    with pytest.raises(ValidationError, match="is not a network"):
        Settings(mailtrack_machine_networks=["17.0.0.0/33"])


# What a hit becomes.


def test_a_persons_click_is_an_email_click_with_what_the_report_needs() -> None:
    claim = Claim(CLICK, 7, "nurture:1:2", SENT, Source("welcome", "hello", "Spring"), "https://acme.com/a")
    hit = judge(claim, HUMAN, at=LATER, rules=Rules.with_networks())
    assert (hit.type, hit.url, hit.campaign, hit.machine) == (
        "email_click",
        "https://acme.com/a",
        "Spring",
        False,
    )
    assert hit.payload == {
        "message": "nurture:1:2",
        "user_agent": BROWSER,
        "seconds_after_send": 1200,
        "sequence": "welcome",
        "step": "hello",
    }


def test_a_scanners_click_is_recorded_as_a_machines_with_why() -> None:
    claim = Claim(CLICK, 7, "m", SENT, Source(), "https://acme.com/a")
    hit = judge(
        claim, Request("HEAD", "Barracuda", None), at=SENT + timedelta(seconds=3), rules=Rules.with_networks()
    )
    assert hit.type == "email_click_machine" and hit.machine
    assert hit.payload["machine"] == ["head", "scanner:barracuda", "too_soon"]


def test_repeats_within_a_window_share_a_key_and_person_and_machine_never_do() -> None:
    claim = Claim(OPEN, 7, "m", SENT)
    rules = Rules.with_networks()
    first = judge(claim, HUMAN, at=LATER, rules=rules)
    assert judge(claim, HUMAN, at=LATER + timedelta(minutes=5), rules=rules).dedupe_key == first.dedupe_key
    assert judge(claim, HUMAN, at=LATER + WINDOWS[OPEN], rules=rules).dedupe_key != first.dedupe_key
    proxy = judge(claim, Request("GET", "Mozilla/5.0"), at=LATER, rules=rules)
    assert proxy.type == "email_open_machine" and proxy.dedupe_key != first.dedupe_key
    other_message = judge(Claim(OPEN, 7, "m2", SENT), HUMAN, at=LATER, rules=rules)
    assert other_message.dedupe_key != first.dedupe_key
    click = Claim(CLICK, 7, "m", SENT, url="https://acme.com/a")
    other_link = Claim(CLICK, 7, "m", SENT, url="https://acme.com/b")
    assert (
        judge(click, HUMAN, at=LATER, rules=rules).dedupe_key
        != judge(other_link, HUMAN, at=LATER, rules=rules).dedupe_key
    )
    long_message = Claim(CLICK, 7, "m" * 200, SENT, url="https://acme.com/" + "x" * 2000)
    assert len(judge(long_message, HUMAN, at=LATER, rules=rules).dedupe_key) <= 200  # the column's size


def test_the_machine_types_are_in_the_vocabulary_and_pair_with_the_persons() -> None:
    assert {machine: person for person, machine in TYPES.values()} == MACHINE_TYPES
    assert set(MACHINE_TYPES) | set(MACHINE_TYPES.values()) <= set(ACTIVITY_TYPES)


@pytest.mark.parametrize(
    "section",
    [
        "engagement: {weights: {email_open_machine: 1}}",
        "engagement: {per_product: {cloud: {email_click_machine: 2}}}",
        "hand_raise: {types: [demo_request, email_click_machine]}",
        "hand_raise: {clusters: [{type: email_open_machine, count: 3, within_days: 1}]}",
    ],
)
def test_a_scoring_model_cannot_weigh_a_machines_hit(section: str) -> None:
    with pytest.raises(ModelDocumentError, match="a machine's hit"):
        parse_model(f"name: m\n{section}\n")
