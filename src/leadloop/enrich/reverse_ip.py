"""Reverse-IP company lookup: which company's network a visit came from. A provider answers for an
address; the built-in one reads a file of networks (CIDR) and the company domain that owns each
(`network,domain`), the way commercial providers deliver theirs. What it says is an inference,
never a fact about a person: a visit matched this way shows on the account, flagged as inferred."""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from leadloop.contract.csvio import read_plain
from leadloop.contract.normalise import registrable_domain
from leadloop.core.errors import ImportFileError

MAX_NETWORKS = 1_000_000


class IpProvider(Protocol):
    name: str

    def company_of(self, address: str) -> str | None: ...


@dataclass
class FileIpProvider:
    """Networks from a CSV file; the most specific network that holds the address wins."""

    name: str
    _starts: list[int]
    _rows: list[tuple[int, int, int, str]]  # (start, end, prefix length, domain), sorted by start

    @classmethod
    def from_file(cls, path: Path) -> FileIpProvider:
        rows: list[tuple[int, int, int, str]] = []
        try:
            _headers, lines = read_plain(path)
        except OSError as exc:
            raise ImportFileError(f"the reverse-IP file {path} cannot be read: {exc}") from None
        for _line, raw in lines:
            if len(rows) >= MAX_NETWORKS:
                break
            row = {k.strip().lower(): v for k, v in raw.items()}
            net_text = (row.get("network") or row.get("cidr") or "").strip()
            domain = registrable_domain(row.get("domain") or row.get("website"))
            try:
                net = ipaddress.ip_network(net_text, strict=False)
            except ValueError:
                continue
            if domain and net.version == 4:
                rows.append((int(net.network_address), int(net.broadcast_address), net.prefixlen, domain))
        rows.sort()
        return cls(name=f"file:{path.name}", _starts=[r[0] for r in rows], _rows=rows)

    def company_of(self, address: str) -> str | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if ip.version != 4 or ip.is_private or ip.is_loopback:
            return None
        value = int(ip)
        best: tuple[int, str] | None = None
        # Networks that start at or before the address; walk back over the few that may hold it.
        i = bisect.bisect_right(self._starts, value)
        for start, end, prefix, domain in reversed(self._rows[max(0, i - 64) : i]):
            if start <= value <= end and (best is None or prefix > best[0]):
                best = (prefix, domain)
        return best[1] if best else None
