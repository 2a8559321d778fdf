"""Enrichment providers: where firmographics come from. A provider answers for a list of domains;
the built-in one reads a reference file (CSV or Parquet) keyed by domain. Every bad row of the
file is reported with its line and reason, and the good rows are still used."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from leadloop.contract.csvio import read_plain
from leadloop.contract.normalise import normalise_country, parse_decimal, parse_int, registrable_domain
from leadloop.core.errors import ImportFileError, InvalidInput
from leadloop.enrich.codes import naics_code, sic_code

FIELDS = ("annual_revenue", "employees", "sic_code", "naics_code", "sites", "industry", "country")
ALIASES = {
    "domain": ("domain", "website", "web", "url", "company_domain"),
    "annual_revenue": ("annual_revenue", "revenue", "annualrevenue", "turnover"),
    "employees": ("employees", "employee_count", "numberofemployees", "headcount", "staff"),
    "sic_code": ("sic", "sic_code", "siccode"),
    "naics_code": ("naics", "naics_code", "naicscode"),
    "sites": ("sites", "locations", "number_of_sites", "offices"),
    "industry": ("industry", "sector"),
    "country": ("hq_country", "country", "headquarters_country", "hq"),
}


@dataclass(frozen=True)
class Firmographics:
    values: dict[str, Any]  # field -> value, only the fields the source has


@dataclass
class RowProblem:
    line: int
    message: str


class Provider(Protocol):
    name: str
    method: str

    def lookup(self, domains: list[str]) -> dict[str, Firmographics]: ...


def _canon(h: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in h.strip().casefold()).strip("_")


def _parse(row: dict[str, str], columns: dict[str, str]) -> tuple[str, dict[str, Any]]:
    domain = registrable_domain(row.get(columns["domain"]))
    if not domain:
        raise InvalidInput(f"domain {row.get(columns['domain'])!r} is not a web domain")
    values: dict[str, Any] = {}
    raw = {f: (row.get(columns[f]) or "").strip() for f in FIELDS if f in columns}
    problems = []
    parsers: dict[str, Any] = {
        "annual_revenue": lambda v: parse_decimal(v, field="annual_revenue"),
        "employees": lambda v: parse_int(v, field="employees"),
        "sites": lambda v: parse_int(v, field="sites"),
        "sic_code": sic_code,
        "naics_code": naics_code,
        "industry": lambda v: v[:200] or None,
        "country": normalise_country,
    }
    for f, v in raw.items():
        if not v:
            continue
        try:
            parsed = parsers[f](v)
        except InvalidInput as exc:
            problems.append(str(exc))
            continue
        if isinstance(parsed, (int, Decimal)) and parsed < 0:
            problems.append(f"{f} cannot be negative ({v})")
            continue
        if parsed is not None:
            values[f] = parsed
    if problems:
        raise InvalidInput("; ".join(problems))
    return domain, values


@dataclass
class FileProvider:
    """A CSV or Parquet file with a domain column and any of revenue, employees, SIC, NAICS, sites,
    industry and HQ country."""

    path: Path
    name: str = "file"
    method: str = "reference file"
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0
    _by_domain: dict[str, Firmographics] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = f"file:{self.path.name}"
        headers, data = self._read()
        canon = {_canon(h): h for h in headers}
        columns = {f: canon[a] for f, names in ALIASES.items() for a in names if a in canon}
        columns = {f: columns[f] for f in ALIASES if f in columns}
        if "domain" not in columns:
            raise ImportFileError(
                f"{self.path.name} has no domain column; the columns are: {', '.join(headers)}"
            )
        if len(columns) == 1:
            raise ImportFileError(
                f"{self.path.name} has a domain but nothing to enrich with (revenue, employees, sic, naics, sites, industry, hq_country)"
            )
        for line, row in data:
            self.rows += 1
            try:
                domain, values = _parse(row, columns)
            except InvalidInput as exc:
                self.problems.append(RowProblem(line, str(exc)))
                continue
            if domain in self._by_domain:
                self.problems.append(RowProblem(line, f"{domain} is listed again; the first row is used"))
                continue
            self._by_domain[domain] = Firmographics(values)

    def _read(self) -> tuple[list[str], Any]:
        if self.path.suffix.lower() == ".parquet":
            import duckdb

            if not self.path.is_file():
                raise ImportFileError(f"{self.path} does not exist or is not a file")
            rel = duckdb.read_parquet(str(self.path))
            headers = list(rel.columns)
            rows = (
                (k + 2, {h: ("" if v is None else str(v)) for h, v in zip(headers, r, strict=True)})
                for k, r in enumerate(rel.fetchall())
            )
            return headers, rows
        return read_plain(self.path)

    def lookup(self, domains: list[str]) -> dict[str, Firmographics]:
        return {d: self._by_domain[d] for d in domains if d in self._by_domain}


def make_provider(kind: str, path: str | Path | None) -> Provider:
    """The configured provider; a clear error when it cannot be built."""
    if kind != "file":
        raise InvalidInput(f"unknown enrichment provider {kind!r}; available: file")
    if not path:
        raise InvalidInput("the file provider needs a reference file (--path, or LEADLOOP_ENRICH_PATH)")
    return FileProvider(Path(path))
