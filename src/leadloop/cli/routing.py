"""`leadloop routing …`: the rule set as a versioned document (export, import, whatif, activate,
from the documents machine)."""

from __future__ import annotations

from typing import Any

from leadloop.cli._common import console
from leadloop.cli.documents import document_commands
from leadloop.routing.kind import ROUTING


def show(summary: dict[str, Any]) -> None:
    console.print(
        f"{summary['leads']:,} leads replayed; {summary['changed']:,} sent elsewhere by a rule "
        f"(besides {summary['turns']:,} other turns of the same pool, {summary['unavailable']:,} with "
        f"nobody available where the rule points, {summary['by_hand']:,} with an owner a person chose)"
    )
    for owner, n in summary["by_owner"].items():
        console.print(f"  {owner}: {n}")
    for lead_id, account, now_owner, would in summary["examples"]:
        console.print(f"  lead {lead_id} {account}: {now_owner} → {would}")


routing_app = document_commands(
    ROUTING, show=show, help="Routing rules: export, import a draft, what-if on past leads, activate."
)
