"""Reverse-IP lookup from a file: the most specific network wins; bad rows, private and IPv6
addresses answer nothing."""

from __future__ import annotations

from pathlib import Path

from leadloop.enrich.reverse_ip import FileIpProvider


def test_the_most_specific_network_wins(tmp_path: Path) -> None:
    f = tmp_path / "n.csv"
    f.write_text(
        "network,domain\n81.2.0.0/16,bigisp.net\n81.2.69.0/24,polar-signal.se\nnot-a-net,x.io\n10.0.0.0/8,intra.io\n"
    )
    p = FileIpProvider.from_file(f)
    assert p.company_of("81.2.69.160") == "polar-signal.se"
    assert p.company_of("81.2.70.1") == "bigisp.net"
    assert p.company_of("82.0.0.1") is None
    assert p.company_of("10.1.2.3") is None  # a private address says nothing about a company
    assert p.company_of("::1") is None and p.company_of("garbage") is None
