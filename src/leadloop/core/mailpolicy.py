"""How our e-mail is written: the standard library's policy, with one fix for the RFC 2369 list
headers (List-Unsubscribe and its kin).

The standard policy treats an unknown header as text, and text with a "word" longer than the line
limit (a URL with a token, say) is folded into RFC 2047 encoded words (`=?utf-8?q?=3Chttps...`).
That is legal for text, but a list header holds URIs, which no mail client decodes there: Gmail
and Yahoo then see no List-Unsubscribe at all. So those headers are folded only between their
`<URI>`s, one per line when they do not fit on one: RFC 5322 asks for 78 characters a line and
demands 998; a URI we make is far below 998, so folding at the commas keeps both rules.
"""

from __future__ import annotations

import re
from email import policy as std
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from typing import Any, cast

_URI = re.compile(r"<[^<>]*>")
LIST_HEADERS = ("list-unsubscribe", "list-help", "list-subscribe", "list-post", "list-owner", "list-archive")


class UriListHeader(UnstructuredHeader):
    """A comma-separated list of <URI>s, folded between them and never encoded."""

    name: str  # BaseHeader's, which the registry mixes into every header class it makes

    def fold(self, *, policy: Any) -> str:
        uris = _URI.findall(str(self)) or [str(self)]
        limit = policy.max_line_length or 998
        lines = [f"{self.name}:"]
        for i, uri in enumerate(uris):
            piece = uri + ("," if i < len(uris) - 1 else "")
            if len(lines[-1]) + 1 + len(piece) > limit and lines[-1] != f"{self.name}:":
                lines.append(" " + piece)
            else:
                lines[-1] += " " + piece
        linesep: str = policy.linesep
        return linesep.join(lines) + linesep


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in LIST_HEADERS:
        registry.map_to_type(name, cast("type[BaseHeader]", UriListHeader))
    return registry


# For every EmailMessage we build (jobs/outbox.py): the default policy with the list headers fixed.
POLICY = std.default.clone(header_factory=_registry())
