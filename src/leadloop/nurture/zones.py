"""A recipient's time zone: the one they gave, else their country's, else the sequence's default.

A country with one zone is exact (the tz database's zone.tab lists it). For the countries that span
several, the zone where most of their people live is the best single guess: a send window of 09:00
to 17:00 in New York still lands inside the working day in Chicago, and never at 3 a.m. anywhere
in the United States. A person's explicit zone (`attributes.timezone`) always wins.
"""

from __future__ import annotations

import functools
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Countries with several zones: where most of their people are.
MAIN_ZONE = {
    "US": "America/New_York",
    "CA": "America/Toronto",
    "RU": "Europe/Moscow",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "AU": "Australia/Sydney",
    "AR": "America/Argentina/Buenos_Aires",
    "KZ": "Asia/Almaty",
    "ID": "Asia/Jakarta",
    "CL": "America/Santiago",
    "PT": "Europe/Lisbon",
    "ES": "Europe/Madrid",
    "DE": "Europe/Berlin",
    "CN": "Asia/Shanghai",
    "NZ": "Pacific/Auckland",
    "MY": "Asia/Kuala_Lumpur",
    "UA": "Europe/Kyiv",
    "EC": "America/Guayaquil",
    "GL": "America/Nuuk",
    "MN": "Asia/Ulaanbaatar",
    "UZ": "Asia/Tashkent",
    "CY": "Asia/Nicosia",
}


@functools.cache
def _by_country() -> dict[str, str]:
    """The first zone zone.tab lists for each country (from the tzdata package, else the system)."""
    text = ""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        try:
            with open("/usr/share/zoneinfo/zone.tab", encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            out.setdefault(parts[0].upper(), parts[2])
    return out


@functools.lru_cache(maxsize=1024)
def known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def country_zone(country: str | None) -> str | None:
    if not country:
        return None
    code = country.upper()
    return MAIN_ZONE.get(code) or _by_country().get(code)


def zone_for(explicit: str | None, country: str | None, default: str) -> str:
    """The recipient's zone name: explicit if it is a real zone, else the country's, else `default`."""
    if explicit and known_zone(explicit):
        return explicit
    return country_zone(country) or default
