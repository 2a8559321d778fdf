"""Labelled duplicates for judging dedupe: people, and for some of them one to three more records
of the same person as real systems hold them: typos, swapped first and last names, nicknames,
missing fields, an old employer's e-mail, free mail instead of work mail, other spellings of the
phone and postcode, transliterated or accented names. Seeded and pure. `entity` is the truth."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator

from leadloop.demo import names as N
from leadloop.identity.normal import NICKNAMES

Row = dict[str, str]
FORMAL: dict[str, list[str]] = {}
for nick, formal in NICKNAMES.items():
    FORMAL.setdefault(formal.title(), []).append(nick.title())
ACCENTED = {
    "Muller": "Müller",
    "Jose": "José",
    "Francois": "François",
    "Bjorn": "Björn",
    "Zoe": "Zoë",
    "Renee": "Renée",
}


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 1)
    op = rng.random()
    if op < 0.3:
        return s[:i] + s[i + 1 :]  # drop
    if op < 0.6:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]  # swap neighbours
    if op < 0.85:
        return s[:i] + rng.choice(string.ascii_lowercase) + s[i + 1 :]  # replace
    return s[:i] + s[i] + s[i:]  # double


def _base(rng: random.Random, i: int) -> Row:
    first = rng.choice(N.FIRST + list(FORMAL) * 2 + list(ACCENTED.values()))
    last = rng.choice(
        [*N.LAST, "Müller", "García", "Nguyen", "O'Brien", "van der Berg", "Kowalski", "Andersson"]
    )
    company = f"{rng.choice(N.COMPANY_A)} {rng.choice(N.COMPANY_B)}"
    domain = "".join(c for c in company.lower() if c.isalnum()) + rng.choice((".com", ".de", ".co.uk", ".io"))
    country = rng.choice(("US", "GB", "DE", "FR"))
    city, _, postcode = rng.choice(N.CITIES[country])
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}_{last}"))
    local = "".join(c for c in local.lower() if c.isalnum() or c in "._")
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{local}@{domain}",
        "company": f"{company} {rng.choice(('Inc.', 'GmbH', 'Ltd', 'LLC', 'SA'))}",
        "phone": f"{N.PHONE_PREFIX.get(country, '+1 212 555 ')}{rng.randrange(1000, 9999)}{i % 10}",
        "postcode": postcode,
        "city": city,
        "address": f"{rng.randrange(1, 300)} {rng.choice(('High Street', 'Main Street', 'Hauptstraße', 'Rue de la Paix', 'Park Avenue', 'Station Road'))}",
        "dob": f"{rng.randrange(1950, 2002)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
    }


def _variant(rng: random.Random, base: Row) -> Row:
    v = dict(base)
    changes = rng.sample(
        [
            "typo_first",
            "typo_last",
            "swap",
            "nick",
            "no_email",
            "no_phone",
            "old_email",
            "free_mail",
            "phone_format",
            "no_company",
            "case",
            "accent",
            "dob_swap",
            "no_dob",
            "address",
        ],
        k=rng.randint(1, 3),
    )
    for c in changes:
        if c == "typo_first":
            v["first_name"] = _typo(rng, v["first_name"])
        elif c == "typo_last":
            v["last_name"] = _typo(rng, v["last_name"])
        elif c == "swap":
            v["first_name"], v["last_name"] = v["last_name"], v["first_name"]
        elif c == "nick" and v["first_name"] in FORMAL:
            v["first_name"] = rng.choice(FORMAL[v["first_name"]])
        elif c == "no_email":
            v["email"] = ""
        elif c == "no_phone":
            v["phone"] = ""
        elif c == "old_email":
            local = v["email"].split("@")[0] if v["email"] else "x"
            v["email"] = f"{local}@{rng.choice(N.COMPANY_A).lower()}-old.com"
        elif c == "free_mail":
            first, last = v["first_name"].lower(), v["last_name"].lower()
            handle = "".join(
                ch for ch in f"{first}.{last}{rng.randrange(10, 99)}" if ch.isalnum() or ch == "."
            )
            v["email"] = f"{handle}@{rng.choice(N.FREE_MAIL)}"
        elif c == "phone_format" and v["phone"]:
            digits = "".join(ch for ch in v["phone"] if ch.isdigit())
            v["phone"] = (
                "0" + digits[-10:]
                if rng.random() < 0.5
                else f"({digits[-10:-7]}) {digits[-7:-4]}-{digits[-4:]}"
            )
        elif c == "no_company":
            v["company"] = ""
        elif c == "case":
            v["first_name"], v["last_name"] = v["first_name"].upper(), v["last_name"].upper()
        elif c == "accent":
            v["last_name"] = v["last_name"].replace("ü", "ue").replace("é", "e").replace("ö", "oe")
            v["first_name"] = ACCENTED.get(v["first_name"], v["first_name"])
        elif c == "dob_swap" and v["dob"]:
            y, m, d = v["dob"].split("-")
            if int(d) <= 12:
                v["dob"] = f"{y}-{d}-{m}"
        elif c == "no_dob":
            v["dob"] = ""
        elif c == "address":
            v["address"] = (
                v["address"].replace("Street", "St").replace("Road", "Rd").replace("straße", "str.")
            )
    return v


def people_with_duplicates(n: int, *, seed: int = 1, dup_share: float = 0.3) -> Iterator[Row]:
    """About n rows: each base person (entity) has a `dup_share` chance of one to three more records."""
    rng = random.Random(seed)
    produced = entity = 0
    while produced < n:
        base = _base(rng, entity)
        rows = [base]
        if rng.random() < dup_share:
            rows += [_variant(rng, base) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        for r in rows:
            if produced >= n:
                break
            yield {"id": f"R{produced + 1:07d}", "entity": f"E{entity:07d}", **r}
            produced += 1
        entity += 1
