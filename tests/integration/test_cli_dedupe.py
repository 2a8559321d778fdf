"""`leadloop dedupe FILE.csv` as a person uses it: a messy file in, one row per input row out; bad
files get a clear message and no half-written output."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from leadloop.cli import app


def test_dedupe_a_messy_file(tmp_path: Path) -> None:
    src = tmp_path / "contacts.csv"
    src.write_bytes(  # Windows-1252, semicolons, accents and their ASCII spellings
        "Contact ID;First Name;Last Name;E-mail;Telephone;ZIP\n"
        "c1;Jürgen;Müller;j.mueller@firma.de;+49 30 9018 2001;10115\n"
        "c2;Juergen;Mueller;;030 9018 2001;10115\n"
        "c3;Anna;Schmidt;anna@schmidt.example;;20095\n"
        "c4;Bob;Jones;bob.jones+crm@gmail.com;;\n"
        "c5;Robert;Jones;bobjones@gmail.com;;\n".encode("cp1252")
    )
    out = tmp_path / "clusters.csv"
    r = CliRunner().invoke(app, ["dedupe", str(src), "--id-column", "Contact ID", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "5 rows" in r.output and "3 people (2 duplicates)" in r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [x["id"] for x in rows] == ["c1", "c2", "c3", "c4", "c5"] and list(rows[0]) == [
        "id",
        "cluster_id",
        "match_confidence",
    ]
    cluster = {x["id"]: x["cluster_id"] for x in rows}
    assert (
        cluster["c1"] == cluster["c2"] == "c1"
        and cluster["c4"] == cluster["c5"] == "c4"
        and cluster["c3"] == "c3"
    )
    assert float(rows[1]["match_confidence"]) >= 0.9 and float(rows[2]["match_confidence"]) == 0.0
    # Gmail dots and plus tags are rules a user may turn off.
    strict = CliRunner().invoke(
        app,
        [
            "dedupe",
            str(src),
            "--id-column",
            "Contact ID",
            "--out",
            str(out),
            "--no-gmail-dots",
            "--no-plus-tags",
        ],
    )
    assert strict.exit_code == 0


def test_bad_files_are_refused_clearly(tmp_path: Path) -> None:
    run = CliRunner().invoke
    out = tmp_path / "out.csv"
    f = tmp_path / "f.csv"
    f.write_text("id,first_name,last_name\n1,Ann,Lee\n")
    r = run(app, ["dedupe", str(f), "--id-column", "ID", "--out", str(out)])
    assert r.exit_code == 2 and "no column 'ID'; the columns are: id, first_name, last_name" in r.output
    f.write_text("id,first_name,last_name\n1,Ann,Lee\n1,Bo,Li\n")
    r = run(app, ["dedupe", str(f), "--id-column", "id", "--out", str(out)])
    assert r.exit_code == 2 and "line 3: id '1' is used again (first on line 2)" in r.output
    f.write_text("id,colour,size\n1,red,XL\n")
    r = run(app, ["dedupe", str(f), "--id-column", "id", "--out", str(out)])
    assert r.exit_code == 2 and "nothing to match on" in r.output and "it has: id, colour, size" in r.output
    f.write_text("")
    r = run(app, ["dedupe", str(f), "--id-column", "id", "--out", str(out)])
    assert r.exit_code == 2 and "is empty" in r.output
    assert not out.exists() and not (tmp_path / "out.csv.part").exists()


def test_german_headers_map_and_the_column_report(tmp_path: Path) -> None:
    src = tmp_path / "personen.csv"
    src.write_text(
        "Nr,Vorname,Zweiter Vorname,Nachname,Geburtsname,Geburtsdatum,Kol\n"
        "1,Katharina,,Schneider,Weber,12.03.1980,x\n"
        "2,Kathi,,Schneider,,1980-03-12,y\n"
        "3,Anna,Maria,Weber,,01.07.1975,z\n"
        "4,Maria,Anna,Weber,,1975-07-01,z\n"
        "5,Jonas,,Becker,,03.11.1990,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    run = CliRunner().invoke
    r = run(app, ["dedupe", str(src), "--id-column", "Nr", "--out", str(out), "--map", "Kol=-"])
    assert r.exit_code == 0, r.output
    for line in ("Vorname → first_name", "Zweiter Vorname → middle_name", "Geburtsname → birth_name"):
        assert line in r.output
    assert "Kol: not used, left out with --map" in r.output and "Nr: not used, the row id" in r.output
    assert "chosen from the fitted model" in r.output and "5 rows → 3 people (2 duplicates)" in r.output
    cluster = {x["id"]: x["cluster_id"] for x in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert cluster["1"] == cluster["2"] and cluster["3"] == cluster["4"] != cluster["1"]

    for args, message in (
        (["--map", "Kol=first_name", "--map", "Kol=last_name"], "column 'Kol' is mapped twice"),
        (["--map", "Spalte=first_name"], "the file has no column 'Spalte'"),
        (["--map", "Kol=first_name", "--map", "Vorname=first_name"], "both mapped to first_name"),
    ):
        r = run(app, ["dedupe", str(src), "--id-column", "Nr", "--out", str(out), *args])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output
    src.write_text("Nr,Vorname,Nachname,Leer\n1,Anna,Weber,\n2,Jonas,Becker,\n", encoding="utf-8")
    r = run(app, ["dedupe", str(src), "--id-column", "Nr", "--out", str(out), "--map", "Leer=text"])
    assert r.exit_code == 2 and "'Leer' (mapped with --map) is empty on every row" in r.output
    r = run(app, ["dedupe", str(src), "--id-column", "Nr", "--out", str(out), "--threshold", "0.99"])
    assert (
        r.exit_code == 0
        and "threshold 0.99 (given)" in r.output
        and "Leer: not used, every value is empty" in r.output
    )
