import codecs
from pathlib import Path

import pytest

from leadloop.contract.csvio import open_csv, rows, safe_cell
from leadloop.core.errors import ImportFileError
from tests.fixtures.capture import SALESFORCE_LEADS, write_csv


def _fields(path: Path, entity: str = "people", **kw: object) -> list[dict[str, str]]:
    return [r.fields for r in rows(open_csv(path, entity, **kw))]  # type: ignore[arg-type]


def test_salesforce_headers_map_automatically(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sf.csv", *SALESFORCE_LEADS)
    src = open_csv(path, "people")
    assert set(src.columns.values()) >= {
        "external_id",
        "first_name",
        "last_name",
        "email",
        "company",
        "email_opt_out",
    }
    assert src.unmapped == ["Favourite Colour"]
    assert _fields(path)[0]["email"] == "Asa.Lindstrom@NordicData.se"


def test_hubspot_headers_map_automatically(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "hs.csv",
        ["Record ID", "Email", "First Name", "Company Name", "Create Date", "Country/Region"],
        [["1", "a@b.com", "A", "B", "2026-01-01", "DE"]],
    )
    assert set(open_csv(path, "people").columns.values()) == {
        "external_id",
        "email",
        "first_name",
        "company",
        "created_at",
        "country",
    }


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    path = write_csv(
        tmp_path / "e.csv",
        ["Email", "Last Name"],
        [
            [
                "a@b.com",
                "Müller – Ärger" if encoding in ("cp1252", "utf-8", "utf-8-sig", "utf-16") else "Müller",
            ]
        ],
        encoding=encoding,
    )
    got = _fields(path)
    assert got[0]["last_name"].startswith("Müller")
    assert got[0]["email"] == "a@b.com"  # a BOM never sticks to the first header


def test_semicolon_and_tab_separators(tmp_path: Path) -> None:
    for sep in (";", "\t"):
        path = write_csv(tmp_path / "s.csv", ["E-Mail", "Vorname"], [["a@b.com", "Jörg"]], delimiter=sep)
        assert _fields(path, overrides={"Vorname": "first_name"}) == [
            {"email": "a@b.com", "first_name": "Jörg"}
        ]


def test_excel_workbook_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ImportFileError, match="Excel workbook"):
        open_csv(path, "people")


def test_binary_file_is_refused_with_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"email\na@b.com\n\x00\x01\x02")
    with pytest.raises(ImportFileError, match="NUL byte at byte 14"):
        open_csv(path, "people")


def test_missing_required_column_names_what_is_there(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", ["Name", "City"], [["Ann", "Oslo"]])
    with pytest.raises(ImportFileError) as info:
        open_csv(path, "people")
    assert "no external_id or email or phone column" in str(info.value)
    assert "Columns found: Name, City" in str(info.value)


def test_two_columns_spelling_one_field_keep_the_closer_and_the_other_as_custom(tmp_path: Path) -> None:
    """Salesforce's Phone and Mobile, or Email beside E-mail Address: not an error when automatic."""
    path = write_csv(
        tmp_path / "d.csv", ["Mobile", "Email", "E-mail Address", "Phone"], [["1", "a@b.com", "c@d.com", "2"]]
    )
    src = open_csv(path, "people")
    assert src.columns == {0: "_x_Mobile", 1: "email", 2: "_x_E-mail Address", 3: "phone"}


def test_two_columns_mapped_by_hand_to_one_field_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["Email", "Work mail"], [["a@b.com", "c@d.com"]])
    with pytest.raises(ImportFileError, match="both map to 'email'") as info:
        open_csv(path, "people", overrides={"Email": "email", "Work mail": "email"})
    assert "ignore it (Work mail=-)" in str(info.value)
    # By hand over an automatic guess: the hand wins, the guessed column is kept as custom.
    assert open_csv(path, "people", overrides={"Work mail": "email"}).columns == {0: "_x_Email", 1: "email"}


def test_map_to_a_missing_header_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["Email"], [["a@b.com"]])
    with pytest.raises(ImportFileError, match="not in the file: Mail"):
        open_csv(path, "people", overrides={"Mail": "email"})


def test_map_skip_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["Email", "Secret"], [["a@b.com", "x"]])
    assert _fields(path, overrides={"Secret": "-"}) == [{"email": "a@b.com"}]


def test_ragged_rows_are_reported_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "email,first_name\na@b.com,Ann\nb@c.com,Bob,EXTRA\nc@d.com\nd@e.com,Dee,,\n", encoding="utf-8"
    )
    got = list(rows(open_csv(path, "people")))
    assert [r.error for r in got] == [
        None,
        "ragged row: 3 cells where the header has 2",
        "ragged row: 1 cells where the header has 2",
        None,  # trailing empty cells are harmless
    ]
    assert got[1].line == 3


def test_empty_file_and_headerless_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError, match="is empty"):
        open_csv(empty, "people")
    blank = tmp_path / "blank.csv"
    blank.write_text(",,\n1,2,3\n")
    with pytest.raises(ImportFileError, match="no header row"):
        open_csv(blank, "people")


def test_a_ten_megabyte_field_is_parsed_then_left_to_validation(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("email,title\na@b.com," + "x" * (10 * 1024 * 1024) + "\nb@c.com,CEO\n", encoding="utf-8")
    got = list(rows(open_csv(path, "people")))
    assert len(got) == 2 and len(got[0].fields["title"]) == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("-42.5", "-42.5"),
        ("\t=1", "'\t=1"),
        ("plain", "plain"),
    ],
)
def test_formula_cells_are_neutralised(cell: str, safe: str) -> None:
    assert safe_cell(cell) == safe


def test_bom_constant_is_what_we_strip() -> None:
    assert codecs.BOM_UTF8.decode("utf-8") == "\ufeff"
