"""`leadloop opportunity convert|update|show` as a person uses them: the same rights as the app
(`--by`), the sentence for bad input, and the history with a step back."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadloop import bootstrap
from leadloop.cli import app
from leadloop.core.clock import utcnow
from leadloop.settings import Settings
from tests.fixtures.opportunities import build_deal


def test_convert_update_and_show_from_the_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = bootstrap.database(Settings(database_url=url))
    with db.write() as s:
        deal = build_deal(s, now=utcnow())
    db.dispose()
    run = CliRunner().invoke
    people = [f"--contact={deal.people[0]}:champion", f"--contact={deal.people[1]}"]
    base = ["--database-url", url]
    denied = run(
        app, ["opportunity", "convert", str(deal.lead_id), "--by", deal.other_rep.email, *people, *base]
    )
    assert denied.exit_code == 2 and "only the lead's owner" in denied.output
    bad = run(
        app,
        [
            "opportunity",
            "convert",
            str(deal.lead_id),
            "--by",
            deal.owner.email,
            *people,
            "--amount",
            "lots",
            *base,
        ],
    )
    assert bad.exit_code == 2 and "'lots' is not a number" in bad.output
    ok = run(
        app,
        [
            "opportunity",
            "convert",
            str(deal.lead_id),
            "--by",
            deal.owner.email,
            *people,
            "--primary",
            str(deal.people[1]),
            "--stage",
            "proposal",
            "--amount",
            "4,200",
            *base,
        ],
    )
    assert ok.exit_code == 0 and "opportunity #1 is open" in ok.output
    back = run(app, ["opportunity", "update", "1", "--by", deal.owner.email, "--stage", "discovery", *base])
    assert back.exit_code == 0, back.output
    lost = run(app, ["opportunity", "update", "1", "--by", deal.owner.email, "--outcome", "lost", *base])
    assert lost.exit_code == 2 and "needs a reason" in lost.output
    shown = run(app, ["opportunity", "show", "1", "--json", *base])
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.stdout)
    assert (view["stage"], view["amount"]) == ("discovery", "4200.00")
    assert [(c["person_id"], c["role"], c["is_primary"]) for c in view["contacts"]] == [
        (deal.people[1], None, True),
        (deal.people[0], "champion", False),
    ]
    assert [h["backwards"] for h in view["history"]] == [False, True]
    table = run(app, ["opportunity", "show", "1", *base])
    assert table.exit_code == 0 and "History" in table.output
    assert run(app, ["opportunity", "show", "99", *base]).exit_code == 2
