"""Which column of a file is which field of a person, in the spellings files really use (English,
German, French, Spanish, Italian, Dutch and Nordic headers), with `--map 'Column=field'` to say so
where a header is not recognised, and any other column kept as generic evidence: an identifier
(customer number, national id, tax id) as a strong exact key, anything else compared as text.

Pure: `plan_columns` reads the headers, `check_values` the values; both say why a column was left
out, so the person running `leadloop dedupe` sees what the matcher used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from anyascii import anyascii

from leadloop.core.errors import InvalidInput

# field -> header spellings, compared with case, accents, spaces and punctuation removed.
ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": (
        "first name",
        "first",
        "given name",
        "given",
        "forename",
        "christian name",
        "vorname",
        "rufname",
        "prenom",
        "nombre",
        "nome",
        "voornaam",
        "imie",
        "fornavn",
        "fornamn",
        "etunimi",
        "primer nombre",
    ),
    "middle_name": (
        "middle name",
        "middle",
        "middle initial",
        "second name",
        "second first name",
        "second given name",
        "other names",
        "other given names",
        "zweiter vorname",
        "weitere vornamen",
        "zweitname",
        "deuxieme prenom",
        "second prenom",
        "autres prenoms",
        "segundo nombre",
        "secondo nome",
        "tweede voornaam",
        "mellannamn",
    ),
    "last_name": (
        "last name",
        "last",
        "surname",
        "family name",
        "nachname",
        "familienname",
        "zuname",
        "nom",
        "nom de famille",
        "apellido",
        "apellidos",
        "primer apellido",
        "cognome",
        "achternaam",
        "nazwisko",
        "efternamn",
        "etternavn",
        "sukunimi",
    ),
    "birth_name": (
        "birth name",
        "maiden name",
        "surname at birth",
        "name at birth",
        "geburtsname",
        "madchenname",
        "nom de naissance",
        "nom de jeune fille",
        "segundo apellido",
        "cognome da nubile",
        "geboortenaam",
    ),
    "full_name": (
        "name",
        "full name",
        "contact",
        "contact name",
        "person",
        "vollstandiger name",
        "nom complet",
        "nombre completo",
        "nome completo",
        "volledige naam",
    ),
    "email": (
        "email",
        "e mail",
        "email address",
        "e mail address",
        "mail",
        "e mail adresse",
        "emailadresse",
        "courriel",
        "adresse email",
        "adresse e mail",
        "correo",
        "correo electronico",
        "posta elettronica",
    ),
    "phone": (
        "phone",
        "telephone",
        "tel",
        "mobile",
        "phone number",
        "mobile phone",
        "cell",
        "cell phone",
        "telefon",
        "telefonnummer",
        "handy",
        "mobil",
        "mobilnummer",
        "portable",
        "numero de telephone",
        "telefono",
        "cellulare",
        "telefoonnummer",
    ),
    "postcode": (
        "postcode",
        "post code",
        "zip",
        "zipcode",
        "zip code",
        "postal code",
        "plz",
        "postleitzahl",
        "code postal",
        "cp",
        "cap",
        "codigo postal",
        "postnummer",
        "postcode nl",
        "eircode",
    ),
    "dob": (
        "dob",
        "date of birth",
        "birth date",
        "birthdate",
        "birthday",
        "born",
        "geburtsdatum",
        "geburtstag",
        "geb datum",
        "date de naissance",
        "date naissance",
        "ddn",
        "fecha de nacimiento",
        "fecha nacimiento",
        "data di nascita",
        "data nascita",
        "geboortedatum",
        "fodelsedatum",
    ),
    "dob_year": (
        "birth year",
        "year of birth",
        "yob",
        "by",
        "geburtsjahr",
        "annee de naissance",
        "ano nacimiento",
    ),
    "dob_month": (
        "birth month",
        "month of birth",
        "bm",
        "geburtsmonat",
        "mois de naissance",
        "mes nacimiento",
    ),
    "dob_day": ("day of birth", "bd", "geburtstag tag", "jour de naissance", "dia nacimiento"),
    "company": (
        "company",
        "organisation",
        "organization",
        "account",
        "account name",
        "employer",
        "firm",
        "firma",
        "unternehmen",
        "arbeitgeber",
        "societe",
        "entreprise",
        "empresa",
        "azienda",
        "bedrijf",
    ),
    "address": (
        "address",
        "street",
        "address line",
        "address line1",
        "address1",
        "street address",
        "addr",
        "address line 1",
        "adresse",
        "adresse 1",
        "adresse ligne 1",
        "strasse",
        "anschrift",
        "rue",
        "voie",
        "direccion",
        "calle",
        "indirizzo",
        "via",
        "straat",
        "adres",
        "gatuadress",
    ),
    "address_2": (
        "address 2",
        "address2",
        "address line 2",
        "address line2",
        "adresse 2",
        "adresse ligne 2",
        "adresszusatz",
        "zusatz",
        "complement d adresse",
        "complement adresse",
        "direccion 2",
        "indirizzo 2",
    ),
    "street_number": (
        "street number",
        "street no",
        "street nr",
        "house number",
        "housenumber",
        "house no",
        "hausnummer",
        "hausnr",
        "hnr",
        "numero de rue",
        "numero rue",
        "no de rue",
        "numero civico",
        "huisnummer",
        "numero de calle",
    ),
    "city": (
        "city",
        "town",
        "locality",
        "suburb",
        "ort",
        "wohnort",
        "stadt",
        "gemeinde",
        "ville",
        "commune",
        "localite",
        "ciudad",
        "localidad",
        "municipio",
        "citta",
        "comune",
        "localita",
        "plaats",
        "woonplaats",
        "municipality",
        "place",
        "ort wohnort",
        "postort",
    ),
    "state": (
        "state",
        "region",
        "province",
        "county",
        "bundesland",
        "departement",
        "provincia",
        "regione",
        "comunidad autonoma",
        "territory",
        "canton",
        "kanton",
        "provincie",
        "lan",
    ),
}
# Identifiers: a strong exact key where one value belongs to one person.
ID_NAMES = (
    "ssn",
    "soc sec id",
    "social security",
    "social security number",
    "national id",
    "national insurance",
    "ni number",
    "nhs number",
    "tax id",
    "tin",
    "steuer id",
    "steuernummer",
    "steueridentifikationsnummer",
    "sozialversicherungsnummer",
    "svnr",
    "ahv",
    "personalausweis",
    "ausweisnummer",
    "passport",
    "passport number",
    "customer number",
    "customer id",
    "customer no",
    "client id",
    "client number",
    "kundennummer",
    "kunden nr",
    "kundennr",
    "numero client",
    "numero de securite sociale",
    "nir",
    "insee",
    "dni",
    "nie",
    "nif",
    "codice fiscale",
    "bsn",
    "personnummer",
    "member id",
    "membership number",
    "patient id",
    "account number",
    "employee id",
    "personalnummer",
    "matricule",
)
ID_WORDS = frozenset({"id", "nr", "no", "number", "nummer", "numero", "num", "ssn", "code", "key", "ident"})
PERSON_FIELDS = tuple(ALIASES)
GENERIC = ("id", "text")  # --map Column=id | Column=text
SKIP = ("-", "skip", "ignore")
MAX_TEXT = 8  # free-text columns beyond this add noise, not evidence


def squash(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", anyascii(header).casefold())


def _words(header: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", anyascii(header))  # camelCase -> camel Case
    return [w for w in re.split(r"[^a-z0-9]+", spaced.casefold()) if w]


_BY_SQUASHED = {squash(a): f for f, names in ALIASES.items() for a in (f, *names)}
_ID_SQUASHED = frozenset(squash(a) for a in ID_NAMES)


def recognise(header: str) -> list[str]:
    """The field(s) this header names: by its whole spelling, else as an identifier if its last word
    says so (`Contact ID`, `Kunden-Nr`), else by the longest runs of its words (`postcode_fake`,
    `Client E-mail`, `birth_place`). Empty when it names none; more than one when it is ambiguous
    (`first_and_surname`)."""
    whole = squash(header)
    if whole in _BY_SQUASHED:
        return [_BY_SQUASHED[whole]]
    if whole in _ID_SQUASHED:
        return ["id"]
    words = _words(header)
    if words and words[-1] in ID_WORDS:
        head = "".join(words[:-1])
        return (
            [_BY_SQUASHED[head]]
            if _BY_SQUASHED.get(head) in ("phone", "street_number", "postcode")
            else ["id"]
        )
    for size in range(len(words), 0, -1):  # longest runs first: "date of birth" before "date"
        found: set[str] = set()
        for start in range(len(words) - size + 1):
            run = "".join(words[start : start + size])
            if run in _BY_SQUASHED and len(run) >= 3:
                found.add(_BY_SQUASHED[run])
            elif run in _ID_SQUASHED:
                found.add("id")
        if found:
            return sorted(found)
    return []


@dataclass(frozen=True)
class ColumnPlan:
    """What the matcher makes of each column: a person field, an identifier or text as generic
    evidence, or left out (with the reason)."""

    fields: dict[str, str]  # person field -> column
    ids: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    ignored: dict[str, str] = field(default_factory=dict)  # column -> why
    mapped: frozenset[str] = frozenset()  # columns the person mapped with --map

    def used(self) -> list[tuple[str, str]]:
        """(column, what it became), in the file's order of fields."""
        out = [(col, f) for f, col in self.fields.items()]
        out += [(col, "identifier (exact key)") for col in self.ids]
        out += [(col, "text (compared as strings)") for col in self.texts]
        return out

    def report(self) -> list[str]:
        lines = [
            f"  {col} → {what}" + (" (--map)" if col in self.mapped else "") for col, what in self.used()
        ]
        lines += [f"  {col}: not used, {why}" for col, why in self.ignored.items()]
        return lines


def parse_maps(items: Iterable[str]) -> list[tuple[str, str]]:
    """`Column=field` items as (column, field); the same column twice is refused."""
    out: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            raise InvalidInput(f"--map takes 'Column=field' (or 'Column=-' to leave it out), not {item!r}")
        if column in seen:
            raise InvalidInput(
                f"column {column!r} is mapped twice (to {seen[column]} and to {target}); map it once"
            )
        seen[column] = target
        out.append((column, target))
    return out


def plan_columns(
    headers: Sequence[str], maps: Sequence[tuple[str, str]] = (), *, row_id: str | None = None
) -> ColumnPlan:
    """Headers to fields: --map first, then the recognised spellings, then the rest as generic
    evidence (identifier by its name, else text). Raises InvalidInput for a --map to a column the
    file does not have, to an unknown field, or two columns mapped to one field."""
    fields: dict[str, str] = {}
    ids: list[str] = []
    texts: list[str] = []
    ignored: dict[str, str] = {}
    known = set(PERSON_FIELDS) | set(GENERIC) | set(SKIP)
    for column, target in maps:
        if column not in headers:
            raise InvalidInput(
                f"--map {column}={target}: the file has no column {column!r}; its columns are: {', '.join(headers)}"
            )
        if target not in known:
            raise InvalidInput(
                f"--map {column}={target}: {target!r} is not a field; use one of {', '.join(PERSON_FIELDS)}, "
                "id (an identifier), text (compared as text) or - (leave it out)"
            )
        if target in fields:
            raise InvalidInput(
                f"--map: columns {fields[target]!r} and {column!r} are both mapped to {target}; map one"
            )
        if column == row_id and target not in SKIP:
            raise InvalidInput(
                f"--map {column}={target}: {column!r} is the row id (--id-column), not evidence"
            )
        if target in SKIP:
            ignored[column] = "left out with --map"
        elif target == "id":
            ids.append(column)
        elif target == "text":
            texts.append(column)
        else:
            fields[target] = column
    mapped = frozenset(c for c, _ in maps)
    for column in headers:
        if column in mapped or not column.strip():
            continue
        if column == row_id:
            ignored[column] = "the row id (--id-column)"
            continue
        found = recognise(column)
        what = found[0] if len(found) == 1 else None
        if len(found) > 1:
            ignored[column] = f"it could be {' or '.join(found)}: say which with --map '{column}=FIELD'"
        elif what == "id":
            ids.append(column)
        elif what is None:
            texts.append(column)
        elif what in fields:
            ignored[column] = f"{what} is already column {fields[what]!r} (use --map to choose)"
        else:
            fields[what] = column
    if "full_name" in fields and ("first_name" in fields or "last_name" in fields):
        ignored[fields.pop("full_name")] = "a whole name, while first and last names have their own columns"
    return ColumnPlan(fields, tuple(ids), tuple(texts), ignored, mapped)


def check_values(plan: ColumnPlan, rows: Sequence[Mapping[str, str | None]]) -> ColumnPlan:
    """Leave out what the values show to be no evidence: an empty column (an error if the person
    mapped it), an identifier with one value on half the rows or a different value on every row,
    and text beyond the first few columns."""
    n = len(rows)
    ignored = dict(plan.ignored)

    def values(col: str) -> list[str]:
        return [v for r in rows if (v := (r.get(col) or "").strip())]

    def empty(col: str) -> bool:
        if values(col):
            return False
        if col in plan.mapped:
            raise InvalidInput(
                f"column {col!r} (mapped with --map) is empty on every row; map another column or leave it out"
            )
        ignored[col] = "every value is empty"
        return True

    fields = {f: col for f, col in plan.fields.items() if not empty(col)}
    ids: list[str] = []
    for col in plan.ids:
        if empty(col):
            continue
        vals = values(col)
        top, count = Counter(vals).most_common(1)[0]
        if n and count * 2 >= n:
            ignored[col] = f"not an identifier: {top!r} is the value of {count:,} of {n:,} rows"
        elif len(set(vals)) == len(vals) and col not in plan.mapped:
            ignored[col] = (
                "a different value on every row: a row key, not evidence that two rows are one person"
            )
        else:
            ids.append(col)
    texts = [col for col in plan.texts if not empty(col)]
    for col in texts[MAX_TEXT:]:
        ignored[col] = f"more than {MAX_TEXT} text columns: map the telling ones with --map {col}=text"
    return replace(plan, fields=fields, ids=tuple(ids), texts=tuple(texts[:MAX_TEXT]), ignored=ignored)
