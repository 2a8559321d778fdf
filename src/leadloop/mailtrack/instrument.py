"""Instrumenting a message before it is sent: every http(s) link becomes a signed redirect through
`/r/<token>`, and the HTML gets a 1x1 open pixel, `/o/<token>.gif`. Pure: text in, text out.

Left as they are, on purpose:
- `mailto:`, `tel:`, anchors (`#top`) and relative links: nothing to follow for us, or not a page;
- our own public pages, `/u/` and `/c/` (unsubscribe, preferences, the double opt-in
  confirmation): RFC 8058 needs the unsubscribe link to reach us as it is, a link scanner must meet
  the consent page's button rather than a redirect, and counting an unsubscribe as a click would be
  perverse; and `/r/` and `/o/`, so instrumenting twice changes nothing;
- a URL longer than the activity log keeps (2,048 characters): it still works, untracked.

The HTML is read with the standard library's parser and only the start tags of links are touched;
every other byte of the message is kept. A link tag is written again from the attributes the
parser read (the only way to be sure the href replaced is the one a mail client would follow),
which may change its quoting. Outlook's conditional comments (`<!--[if mso]>`) are read too, so
the VML buttons inside them (`<v:roundrect href=...>`) are tracked like the links they stand for.
Images (`<img src>`), stylesheets (`<link href>`) and `<base href>` are never links to rewrite:
every open would count as a click.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

from leadloop.mailtrack.tokens import CLICK, MAX_URL, OPEN, Claim, LinkSigner, Source

LINK_TAGS = frozenset({"a", "area"})  # and VML shapes (v:roundrect, v:rect...) inside conditional comments
OWN_PAGES = ("u", "c", "r", "o")  # consent's unsubscribe and confirmation, and our own two
# A URL in plain text ends at a space, a quote or an angle bracket; punctuation that ends a sentence
# is not part of it ("see https://acme.com/pricing.").
_TEXT_URL = re.compile(r"""https?://[^\s<>"'\x00-\x1f\x7f]+""", re.IGNORECASE)
_TRAILING = ".,;:!?*'\""
_INVISIBLE = re.compile(r"[\t\n\r]")  # browsers drop these from a URL (WHATWG URL parsing)


@dataclass(frozen=True)
class Instrumented:
    html: str | None
    text: str | None
    links: tuple[str, ...] = ()  # each destination rewritten, once, in the order first met
    pixel: str | None = None  # the open pixel's URL (None without an HTML part)


def trackable(url: str, base_url: str) -> bool:
    """Is this link one to send through our redirect? An absolute http(s) URL, short enough, and
    not one of our own public pages."""
    if len(url) > MAX_URL:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host, say: the mail client would not follow it either
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    ours = urlsplit(base_url)
    if parts.netloc.lower() == ours.netloc.lower():
        root = ours.path.rstrip("/")
        if any(parts.path.startswith(f"{root}/{page}/") for page in OWN_PAGES):
            return False
    return True


def clean(href: str) -> str:
    """The URL a mail client follows for this href: without surrounding spaces, tabs or newlines."""
    return _INVISIBLE.sub("", href.strip())


@dataclass
class _Links:
    """Signs each destination once (the same URL in the HTML and the text gets the same link)."""

    claim: Claim
    signer: LinkSigner
    base_url: str
    made: dict[str, str] = field(default_factory=dict)
    only: frozenset[str] | None = None  # the destinations the message's author wrote (None: any)

    def redirect(self, raw: str) -> str | None:
        url = clean(raw)
        if not trackable(url, self.base_url):
            return None
        if self.only is not None and url not in self.only:
            return None  # a URL that came in with the data (a "name" that is a link): never signed
        if url not in self.made:
            token = self.signer.make(Claim(CLICK, *self._common(), url=url))
            self.made[url] = f"{self.base_url}/r/{token}"
        return self.made[url]

    def pixel(self) -> str:
        return f"{self.base_url}/o/{self.signer.make(Claim(OPEN, *self._common()))}.gif"

    def _common(self) -> tuple[int, str, datetime, Source]:
        c = self.claim
        return c.person_id, c.message, c.sent_at, c.source


def instrument(
    *,
    html: str | None,
    text: str | None,
    person_id: int,
    message: str,
    sent_at: datetime,
    base_url: str,
    signer: LinkSigner,
    source: Source | None = None,
    only: Collection[str] | None = None,
) -> Instrumented:
    """The message's bodies with every trackable link sent through a signed redirect, and an open
    pixel at the end of the HTML body. `message` is the outbox key of the send (at most 200
    characters); `sent_at`, when the message is sent (the classifier measures from it)."""
    base = base_url.rstrip("/")
    allowed = frozenset(clean(u) for u in only) if only is not None else None
    links = _Links(Claim(OPEN, person_id, message, sent_at, source or Source()), signer, base, only=allowed)
    new_html = None
    pixel = None
    if html is not None:
        pixel = links.pixel()
        new_html = _with_pixel(rewrite_html(html, links.redirect), pixel)
    new_text = rewrite_text(text, links.redirect) if text is not None else None
    return Instrumented(new_html, new_text, tuple(links.made), pixel)


def authored(*, text: str | None, html: str | None) -> frozenset[str]:
    """The destinations a message's author wrote in its template sources, literally (a URL built
    from a template expression is not one): what `instrument(only=...)` may sign. A URL that only
    appears once the person's data is filled in (a first name that is a link) is never signed."""
    seen: set[str] = set()

    def note(raw: str) -> None:
        url = clean(raw)
        if "{{" not in url and "{%" not in url:
            seen.add(url)

    if text:
        rewrite_text(text, note)
    if html:
        rewrite_html(html, note)
    return frozenset(seen)


def rewrite_text(text: str, redirect: Callable[[str], str | None]) -> str:
    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and (url[-1] in _TRAILING or _unbalanced(url)):
            url, tail = url[:-1], url[-1] + tail
        new = redirect(url) if url else None
        return (new or url) + tail

    return _TEXT_URL.sub(one, text)


def _unbalanced(url: str) -> bool:
    """A closing bracket at the end that the URL never opened belongs to the sentence."""
    last = url[-1]
    pairs = {")": "(", "]": "["}
    return last in pairs and url.count(last) > url.count(pairs[last])


def rewrite_html(html: str, redirect: Callable[[str], str | None]) -> str:
    reader = _Reader(html, redirect)
    reader.feed(html)
    reader.close()
    out = html
    for start, end, new in sorted(reader.edits, reverse=True):
        out = out[:start] + new + out[end:]
    return out


def _with_pixel(html: str, pixel: str) -> str:
    img = (
        f'<img src="{html_lib.escape(pixel)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0" />'
    )
    at = html.lower().rfind("</body")
    return html[:at] + img + html[at:] if at >= 0 else html + img


class _Reader(HTMLParser):
    """Finds the link tags and conditional comments, and what each should become (`edits`)."""

    def __init__(self, html: str, redirect: Callable[[str], str | None]) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.redirect = redirect
        self.edits: list[tuple[int, int, str]] = []
        # getpos() counts lines at "\n" only; so does this table.
        self._lines = [0] + [i + 1 for i, ch in enumerate(html) if ch == "\n"]

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._lines[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._link(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._link(tag, attrs, closed=True)

    def _link(self, tag: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> None:
        if tag not in LINK_TAGS and not tag.startswith("v:"):
            return
        raw = self.get_starttag_text() or ""
        start = self._offset()
        if not raw or not self.html.startswith(raw, start):
            return  # the parser and this offset disagree: leave the tag as it was written
        changed = False
        out: list[tuple[str, str | None]] = []
        for name, value in attrs:
            new = self.redirect(value) if name == "href" and value else None
            changed = changed or new is not None
            out.append((name, new if new is not None else value))
        if changed:
            self.edits.append((start, start + len(raw), _tag(tag, out, closed=closed)))

    def handle_comment(self, data: str) -> None:
        if not data.lstrip().lower().startswith("[if"):
            return
        start = self._offset() + len("<!--")
        if not self.html.startswith(data, start):
            return
        inner = rewrite_html(data, self.redirect)
        if inner != data:
            self.edits.append((start, start + len(data), inner))


def _tag(name: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> str:
    parts = [name] + [n if v is None else f'{n}="{html_lib.escape(v, quote=True)}"' for n, v in attrs]
    return "<" + " ".join(parts) + (" />" if closed else ">")
