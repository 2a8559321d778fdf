"""Was this open or click a person's, or a machine's? Pure.

Machines fetch our pixels and follow our links without anyone reading: privacy proxies load every
image of every message when it arrives (Apple Mail Privacy Protection), webmail image proxies
fetch and cache them (Google, Yahoo), and mail-security gateways follow every link at delivery to
check it (Microsoft Safe Links, Proofpoint, Mimecast, Barracuda...). Their hits are recorded, so a
report can count them, but as their own activity types, which no score, segment or sequence
branch counts (ADR 0032). The reasons a hit is a machine's, any one of which decides:

- `head`: a HEAD request. A browser following a link asks with GET; checkers ask with HEAD.
- `no_user_agent`, `automated`: no user agent, or one that names a library, crawler or previewer.
- `proxy:apple`: the bare `Mozilla/5.0` that Apple's Mail Privacy Protection fetches with.
- `proxy:google`, `proxy:yahoo`: GoogleImageProxy (via ggpht.com) and YahooMailProxy. Gmail's
  proxy fetches a pixel once and caches it, and may do so before anyone reads: an open through it
  says little about a person, so it is not scored either.
- `scanner:<name>`: a mail-security product that names itself in its user agent.
- `network:<name>`: a request from a network that only ever scans mail (the built-in ranges below,
  plus LEADLOOP_MAILTRACK_MACHINE_NETWORKS).
- `too_soon`: within `machine_after` (30 s by default) of the send: delivery-time scanning and
  prefetching. A person needs longer to get the message, open it and read it.
- `burst`: another link of the same message was followed within a second: a scanner walking every
  link. The first link of such a burst was already judged alone; what comes after it is not scored.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadloop.mailtrack.tokens import CLICK

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges that carry no person's own request, only mail filtering, each with who publishes it.
# Microsoft 365 / Exchange Online Protection (*.protection.outlook.com; Microsoft's "Office 365 URLs
# and IP address ranges", the Exchange Online SMTP endpoints): Safe Links detonation runs here and
# no mailbox is read from it. Outlook on the web's own image proxy is deliberately not listed.
BUILTIN_NETWORKS: tuple[tuple[str, str], ...] = (
    ("40.92.0.0/15", "microsoft-eop"),
    ("40.107.0.0/16", "microsoft-eop"),
    ("52.100.0.0/14", "microsoft-eop"),
    ("104.47.0.0/17", "microsoft-eop"),
    ("2a01:111:f400::/48", "microsoft-eop"),
    ("2a01:111:f403::/48", "microsoft-eop"),
)
# Substrings (lower case) of the user agents mail-security products announce themselves with. A
# scanner that hides behind a browser's user agent is caught by its network, the timing or a burst.
SCANNERS: tuple[tuple[str, str], ...] = (
    ("barracuda", "barracuda"),
    ("mimecast", "mimecast"),
    ("proofpoint", "proofpoint"),
    ("safelinks", "microsoft-safe-links"),
    ("ms-office", "microsoft-office"),  # Office's link check before the browser opens the page
    ("microsoft office existence discovery", "microsoft-office"),
    ("symantec", "symantec"),
    ("messagelabs", "symantec"),
    ("trend micro", "trend-micro"),
    ("trendmicro", "trend-micro"),
    ("forcepoint", "forcepoint"),
    ("sophos", "sophos"),
    ("fortiguard", "fortinet"),
    ("zscaler", "zscaler"),
    ("ironport", "cisco"),
    ("cisco", "cisco"),
    ("checkpoint", "check-point"),
    ("bitdefender", "bitdefender"),
    ("spamtitan", "spamtitan"),
    ("hornetsecurity", "hornetsecurity"),
    ("vadesecure", "vade"),
    ("libraesva", "libraesva"),
)
PROXIES: tuple[tuple[str, str], ...] = (
    ("googleimageproxy", "google"),
    ("ggpht.com", "google"),
    ("yahoomailproxy", "yahoo"),
)
APPLE_MPP_AGENT = "Mozilla/5.0"  # exactly this, nothing after it: no browser sends so little
_AUTOMATED = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|curl|wget|python|httpx|aiohttp|java/|go-http|okhttp|"
    r"libwww|headless|phantom|scrapy|axios|node-fetch|httpclient|urllib|scanner",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Request:
    """What the hit's HTTP request said: its method, user agent and client address."""

    method: str
    user_agent: str
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class Sibling:
    """Another click on the same message: when, and to which URL."""

    at: datetime
    url: str | None


@dataclass(frozen=True)
class Rules:
    machine_after: timedelta = timedelta(seconds=30)
    burst: timedelta = timedelta(seconds=1)
    networks: tuple[tuple[Network, str], ...] = ()

    @classmethod
    def with_networks(cls, extra: Iterable[str] = (), **kw: timedelta) -> Rules:
        nets = [(ipaddress.ip_network(n, strict=False), name) for n, name in BUILTIN_NETWORKS]
        nets += [(ipaddress.ip_network(n.strip(), strict=False), "configured") for n in extra if n.strip()]
        return cls(networks=tuple(nets), **kw)


def machine_reasons(
    kind: str,
    request: Request,
    *,
    sent_at: datetime,
    at: datetime,
    url: str | None = None,
    siblings: Iterable[Sibling] = (),
    rules: Rules | None = None,
) -> tuple[str, ...]:
    """Why this hit is a machine's (empty: a person's). `siblings`: the other clicks of the same
    message near `at`, whatever they were judged."""
    rules = rules or Rules.with_networks()
    why: list[str] = []
    if request.method.upper() == "HEAD":
        why.append("head")
    why.extend(agent_reasons(request.user_agent))
    network = network_of(request.ip, rules.networks)
    if network:
        why.append(f"network:{network}")
    if at - sent_at < rules.machine_after:
        why.append("too_soon")
    if kind == CLICK and any(
        s.url != url and abs((s.at - at).total_seconds()) <= rules.burst.total_seconds() for s in siblings
    ):
        why.append("burst")
    return tuple(why)


def agent_reasons(user_agent: str) -> list[str]:
    agent = user_agent.strip()
    if not agent:
        return ["no_user_agent"]
    if agent == APPLE_MPP_AGENT:
        return ["proxy:apple"]
    low = agent.lower()
    found = [f"proxy:{name}" for part, name in PROXIES if part in low]
    found += [f"scanner:{name}" for part, name in SCANNERS if part in low]
    if not found and _AUTOMATED.search(agent):
        found.append("automated")
    return list(dict.fromkeys(found))


def network_of(ip: str | None, networks: Iterable[tuple[Network, str]]) -> str | None:
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:40.92.0.1, as a dual-stack server may see it
    return next((name for net, name in networks if address in net), None)
