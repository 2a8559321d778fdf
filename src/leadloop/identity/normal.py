"""Match keys: values normalised for comparing people, not for storing them. Pure.

Names in any script are transliterated (anyascii) and case-folded, never dropped; a value too
short to tell people apart (an empty name, a one-letter company, an address of spaces) is no key.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

import jellyfish
from anyascii import anyascii

from leadloop.contract.normalise import company_key as _company_key

_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
GMAIL = frozenset({"gmail.com", "googlemail.com"})
NICKNAMES = {
    "bob": "robert",
    "bobby": "robert",
    "rob": "robert",
    "robbie": "robert",
    "bill": "william",
    "billy": "william",
    "will": "william",
    "willy": "william",
    "liam": "william",
    "jim": "james",
    "jimmy": "james",
    "jamie": "james",
    "mike": "michael",
    "mikey": "michael",
    "mick": "michael",
    "dave": "david",
    "davy": "david",
    "tom": "thomas",
    "tommy": "thomas",
    "dick": "richard",
    "rick": "richard",
    "ricky": "richard",
    "rich": "richard",
    "chris": "christopher",
    "kit": "christopher",
    "tony": "anthony",
    "ant": "anthony",
    "joe": "joseph",
    "joey": "joseph",
    "jo": "joanna",
    "dan": "daniel",
    "danny": "daniel",
    "matt": "matthew",
    "steve": "steven",
    "stephen": "steven",
    "stevie": "steven",
    "ed": "edward",
    "eddie": "edward",
    "ted": "edward",
    "ned": "edward",
    "alex": "alexander",
    "sandy": "alexander",
    "sasha": "alexander",
    "andy": "andrew",
    "drew": "andrew",
    "nick": "nicholas",
    "nicky": "nicholas",
    "pete": "peter",
    "sam": "samuel",
    "sammy": "samuel",
    "ben": "benjamin",
    "benny": "benjamin",
    "greg": "gregory",
    "jeff": "jeffrey",
    "geoff": "geoffrey",
    "jon": "jonathan",
    "johnny": "john",
    "jack": "john",
    "hank": "henry",
    "harry": "henry",
    "larry": "lawrence",
    "len": "leonard",
    "leo": "leonard",
    "ken": "kenneth",
    "kenny": "kenneth",
    "ron": "ronald",
    "ronnie": "ronald",
    "don": "donald",
    "donnie": "donald",
    "fred": "frederick",
    "freddie": "frederick",
    "frank": "francis",
    "gerry": "gerald",
    "jerry": "gerald",
    "phil": "philip",
    "ray": "raymond",
    "tim": "timothy",
    "timmy": "timothy",
    "vince": "vincent",
    "walt": "walter",
    "wally": "walter",
    "beth": "elizabeth",
    "liz": "elizabeth",
    "lizzie": "elizabeth",
    "betty": "elizabeth",
    "eliza": "elizabeth",
    "kate": "katherine",
    "katie": "katherine",
    "kathy": "katherine",
    "cathy": "catherine",
    "kat": "katherine",
    "maggie": "margaret",
    "meg": "margaret",
    "peggy": "margaret",
    "jenny": "jennifer",
    "jen": "jennifer",
    "sue": "susan",
    "susie": "susan",
    "becky": "rebecca",
    "becca": "rebecca",
    "patty": "patricia",
    "pat": "patricia",
    "trish": "patricia",
    "debbie": "deborah",
    "deb": "deborah",
    "mandy": "amanda",
    "abby": "abigail",
    "ally": "alison",
    "annie": "anne",
    "ann": "anne",
    "vicky": "victoria",
    "tori": "victoria",
    "nancy": "ann",
    "molly": "mary",
    "polly": "mary",
    "sally": "sarah",
    "jess": "jessica",
    "jessie": "jessica",
    "chrissy": "christine",
    "tina": "christina",
    "steph": "stephanie",
    "sophie": "sophia",
    "hans": "johannes",
    "jan": "johannes",
    "sepp": "josef",
    "franz": "franziskus",
    "fritz": "friedrich",
    "lisa": "elisabeth",
    "kathi": "katharina",
    "gabi": "gabriele",
    "uli": "ulrich",
    "wolf": "wolfgang",
}


@lru_cache(maxsize=200_000)
def text_key(value: str | None) -> str | None:
    """Transliterated, case-folded, punctuation-free, single-spaced; None when empty."""
    if value is None:
        return None
    text = anyascii(unicodedata.normalize("NFKC", str(value))).casefold()
    text = _SPACES.sub(" ", _NON_ALNUM.sub(" ", text)).strip()
    return text or None


def name_key(value: str | None) -> str | None:
    """A name part good enough to match on: at least two letters."""
    text = text_key(value)
    return text if text and sum(c.isalpha() for c in text) >= 2 else None


@lru_cache(maxsize=200_000)
def first_name_key(value: str | None) -> str | None:
    """The canonical first name: "Bob" and "Robert" are one key."""
    text = name_key(value)
    if text is None:
        return None
    head = text.split(" ")[0]
    return NICKNAMES.get(head, head)


@lru_cache(maxsize=200_000)
def phonetic(value: str | None) -> str | None:
    """Metaphone of the transliterated name (None for one-letter or empty names)."""
    if not value or len(value) < 2:
        return None
    code = jellyfish.metaphone(value.replace(" ", ""))
    return code or value


def email_key(value: str | None, *, gmail_dots: bool = True, plus_tags: bool = True) -> str | None:
    """Lower-case; `+tag` removed (configurable); dots in Gmail local parts removed (configurable)."""
    if not value or "@" not in value:
        return None
    local, _, domain = value.strip().casefold().rpartition("@")
    if not local or "." not in domain:
        return None
    if domain == "googlemail.com":
        domain = "gmail.com"
    if plus_tags and "+" in local:
        local = local.split("+", 1)[0]
    if gmail_dots and domain in GMAIL:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


_HANDLE_DROP = re.compile(r"[^a-z0-9._-]+")


@lru_cache(maxsize=200_000)
def handle_key(value: str | None) -> str | None:
    """An e-mail handle (the part before the @) spelled as names are: transliterated and
    case-folded, so "josé.garcía" and "jose.garcia", or "łukaszr" and "lukaszr", are one handle
    (and a handle made of the person's name is recognised as such); None when nothing is left."""
    if not value:
        return None
    text = _HANDLE_DROP.sub("", anyascii(unicodedata.normalize("NFKC", value)).casefold())
    return text or None


def phone_key(value: str | None) -> str | None:
    """The last ten digits (so "+44 20 7946 0000" and "020 7946 0000" agree); None under seven digits."""
    digits = re.sub(r"\D", "", value or "")
    return digits[-10:] if len(digits) >= 7 else None


@lru_cache(maxsize=200_000)
def postcode_key(value: str | None) -> str | None:
    text = re.sub(r"[^0-9A-Za-z]", "", anyascii(value or "")).upper()
    return text if len(text) >= 3 else None


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%Y%m%d",
    "%d %b %Y",
    "%d %B %Y",
)


@lru_cache(maxsize=200_000)
def date_key(value: str | None) -> str | None:
    """ISO date from the usual spellings; ambiguous day/month orders take the first that parses.
    Years from 1000 on: registers and historical files hold people born long before 1900."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 10 and text[4:5] == "-" and text[10:11] in ("T", " "):
        text = text[:10]  # an ISO timestamp: the date part
    for fmt in _DATE_FORMATS:
        try:
            d: date = datetime.strptime(text[:20], fmt).date()  # noqa: DTZ007 - a date, no zone
        except ValueError:
            continue
        if 1000 <= d.year <= 2100:
            return d.isoformat()
    return None


@lru_cache(maxsize=200_000)
def loose_date_key(value: str | None) -> str | None:
    """A date as `YYYY-MM-DD`, also when a typo made it impossible (19561509, 31.02.1970): such a
    date is still evidence (one digit off, day and month swapped), so its digits are kept in
    ISO order rather than dropped. Eight digits are read year first unless
    only the last four look like a year."""
    iso = date_key(value)
    if iso or not value:
        return iso
    digits = re.sub(r"\D", "", value)
    if len(digits) != 8:
        return None
    if digits[:2] in ("18", "19", "20") or digits[4:6] not in ("18", "19", "20"):
        y, m, d = digits[:4], digits[4:6], digits[6:]
    else:
        d, m, y = digits[:2], digits[2:4], digits[4:]
    return f"{y}-{m}-{d}"


def date_from_parts(year: str | None, month: str | None, day: str | None) -> str | None:
    """A birth date held in three columns (year, month, day), as registers often keep it."""
    parts = [re.sub(r"\D", "", p or "") for p in (year, month, day)]
    if len(parts[0]) != 4 or not parts[1] or not parts[2]:
        return None
    return f"{parts[0]}-{int(parts[1]):02d}-{int(parts[2]):02d}"


@lru_cache(maxsize=200_000)
def company_key(value: str | None) -> str | None:
    """Legal suffixes stripped (cleanco), case-folded; a one-letter company is no key."""
    key = _company_key(value) if value else None
    key = text_key(key)
    return key if key and len(key.replace(" ", "")) >= 2 else None


_STREET = {
    "street": "st",
    "str": "st",
    "strasse": "st",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "court": "ct",
    "square": "sq",
    "suite": "ste",
    "apartment": "apt",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}


@lru_cache(maxsize=200_000)
def address_key(value: str | None) -> str | None:
    text = text_key(value)
    if not text:
        return None
    text = " ".join(_STREET.get(t, t) for t in text.replace("strasse", " strasse").split())
    return text if sum(c.isalnum() for c in text) >= 3 else None
