"""Enrichment from a reference file (CSV or Parquet) on SQLite and PostgreSQL: empty fields are
filled with their provenance, filled ones are kept unless asked, bad reference rows are reported
one by one, codes are checked against the code lists, and the sweeper enriches new accounts after
capture without the capture waiting for it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadloop.bootstrap import arm_recurring, timer_handlers
from leadloop.cli import app
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import ImportFileError, InvalidInput
from leadloop.enrich.codes import naics_code, sic_code
from leadloop.enrich.handlers import enrich_accounts
from leadloop.enrich.provider import FileProvider, make_provider
from leadloop.enrich.repository import provenance
from leadloop.jobs.worker import Worker
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Account

REFERENCE = """domain,revenue,employees,sic,naics,sites,industry,hq_country
acme.com,12500000,240,7372,513210,3,Software,United States
www.globex.de,,5000,,,12,Manufacturing,DE
broken.io,lots,-5,99999,123,,,
initech.co.uk,800000,12,0100,111110,1,Agriculture,GB
acme.com,1,1,,,,,
not a domain,1,1,,,,,
"""


def test_codes_are_checked_against_the_lists() -> None:
    assert naics_code("513210") == "513210" and sic_code("7372") == "7372"
    with pytest.raises(InvalidInput, match="511210 is not a NAICS 2022 code"):
        naics_code("511210")
    with pytest.raises(InvalidInput, match="there is no SIC major group 00"):
        sic_code("0012")


def _accounts(db: Database, clock: FrozenClock) -> dict[str, int]:
    now = clock()
    with db.write() as s:
        rows = [
            Account(name="Acme", name_key="acme", domain="acme.com", created_at=now, updated_at=now),
            Account(
                name="Globex",
                name_key="globex",
                domain="globex.de",
                employees=4200,
                created_at=now,
                updated_at=now,
            ),
            Account(
                name="Initech", name_key="initech", domain="initech.co.uk", created_at=now, updated_at=now
            ),
            Account(name="No Site", name_key="no site", created_at=now, updated_at=now),
        ]
        s.add_all(rows)
        s.flush()
        return {a.name: a.id for a in rows}


def test_file_provider_fills_empty_fields_with_provenance(
    db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    ids = _accounts(db, clock)
    ref = tmp_path / "ref.csv"
    ref.write_text(REFERENCE)
    provider = FileProvider(ref)
    assert provider.rows == 6
    problems = {p.line: p.message for p in provider.problems}
    assert problems[4] == (
        "annual_revenue 'lots' is not a number; employees '-5' cannot be negative; "
        "SIC code '99999' must be 2 to 4 digits; 123 is not a NAICS 2022 code"
    )
    assert problems[6] == "acme.com is listed again; the first row is used"
    assert problems[7] == "website 'not a domain' has no registrable domain"
    with db.write() as s:
        result = enrich_accounts(s, provider, now=clock())
    assert (result.checked, result.found, result.kept) == (3, 3, 1)  # Globex's employees were already filled
    with db.read() as s:
        acme = s.get(Account, ids["Acme"])
        globex = s.get(Account, ids["Globex"])
        assert acme is not None and globex is not None
        assert (acme.employees, acme.naics_code, acme.sic_code, acme.country, acme.sites) == (
            240,
            "513210",
            "7372",
            "US",
            3,
        )
        assert globex.employees == 4200 and globex.sites == 12  # kept, and filled
        src = provenance(s, "account", ids["Acme"])
        assert src["employees"].source == "file:ref.csv" and src["employees"].value == 240
        assert src["annual_revenue"].value == "12500000" and src["employees"].fetched_at == clock()
        assert "employees" not in provenance(s, "account", ids["Globex"])
    with db.write() as s:  # asked to overwrite, the reference wins and says so
        again = enrich_accounts(s, provider, now=clock() + timedelta(days=1), overwrite=True)
    assert again.kept == 0
    with db.read() as s:
        globex = s.get(Account, ids["Globex"])
        assert globex is not None and globex.employees == 5000
        assert provenance(s, "account", ids["Globex"])["employees"].fetched_at == clock() + timedelta(days=1)


def test_parquet_and_bad_reference_files(tmp_path: Path) -> None:
    import duckdb

    csv_path = tmp_path / "ref.csv"
    csv_path.write_text(REFERENCE)
    parquet = tmp_path / "ref.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar=true)) TO '{parquet}' (FORMAT parquet)"
    )
    provider = FileProvider(parquet)
    assert provider.lookup(["acme.com"])["acme.com"].values["employees"] == 240
    nodomain = tmp_path / "x.csv"
    nodomain.write_text("company,employees\nAcme,5\n")
    with pytest.raises(ImportFileError, match="has no domain column; the columns are: company, employees"):
        FileProvider(nodomain)
    with pytest.raises(InvalidInput, match="unknown enrichment provider 'clearbit'"):
        make_provider("clearbit", None)


def test_the_sweeper_enriches_new_accounts_after_capture(
    db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    ref = tmp_path / "ref.csv"
    ref.write_text(REFERENCE)
    ids = _accounts(db, clock)
    settings = Settings(
        enrich_provider="file", enrich_path=str(ref), retrain_every_days=0, facts_every_minutes=0
    )
    arm_recurring(settings, db, clock())
    worker = Worker(db, clock, timer_handlers(settings))
    assert worker.run_once() == 1
    with db.read() as s:
        acme = s.get(Account, ids["Acme"])
        assert acme is not None and acme.employees == 240 and acme.enriched_at == clock()
    clock.advance(minutes=5)
    assert worker.run_once() == 1  # it re-arms itself; accounts already asked about are not asked again


def test_enrich_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    ref = tmp_path / "ref.csv"
    ref.write_text(REFERENCE)
    out = CliRunner().invoke(app, ["enrich", "--provider", "file", "--path", str(ref), "--database-url", url])
    assert (
        out.exit_code == 0
        and "line 4:" in out.output
        and "6 reference rows read, 3 with problems" in out.output
    )
    bad = CliRunner().invoke(app, ["enrich", "--provider", "file", "--database-url", url])
    assert bad.exit_code == 2 and "needs a reference file" in bad.output
