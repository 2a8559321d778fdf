"""A peer CRM's state, as its exports spell it: lifecycle stages and lead statuses (HubSpot,
Salesforce) to Leadloop's stages, and record owners to users. Pure: the import shows these
guesses before the run, the person running it corrects them, and capture applies the result."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from leadloop.contract.headers import header_key

# "Don't carry this value over": the lead keeps the stage Leadloop gives it.
NOT_CARRIED = "-"

# Leadloop's stages an import may set, in funnel order, with the words people use for them.
STAGE_LABELS = {
    "inquiry": "Inquiry",
    "mql": "Marketing qualified (MQL)",
    "sal": "Accepted by sales (SAL)",
    "sql": "Sales qualified (SQL)",
    "opportunity": "Opportunity",
    "won": "Won (customer)",
    "lost": "Lost",
    "nurture": "Nurture",
    "recycled": "Recycled",
}

# The values of HubSpot's Lifecycle Stage and Lead Status and of Salesforce's Lead Status (labels
# and internal names; `header_key` folds case, spaces and punctuation), and what each means here.
_DEFAULTS = {
    # HubSpot lifecycle stages
    "subscriber": "inquiry",
    "lead": "inquiry",
    "marketing qualified lead": "mql",
    "marketingqualifiedlead": "mql",
    "sales qualified lead": "sql",
    "salesqualifiedlead": "sql",
    "opportunity": "opportunity",
    "customer": "won",
    "evangelist": "won",
    "other": NOT_CARRIED,
    # HubSpot lead statuses
    "new": "inquiry",
    "open": "mql",
    "in progress": "sal",
    "attempted to contact": "sal",
    "connected": "sal",
    "open deal": "opportunity",
    "bad timing": "nurture",
    "unqualified": "recycled",
    # Salesforce lead statuses (the standard picklist)
    "open - not contacted": "mql",
    "working - contacted": "sal",
    "closed - converted": "sql",
    "closed - not converted": "recycled",
    # Salesforce opportunity stages people put in lead files, and Leadloop's own words
    "closed won": "won",
    "closed lost": "lost",
    "inquiry": "inquiry",
    "mql": "mql",
    "sal": "sal",
    "sales accepted lead": "sal",
    "sql": "sql",
    "won": "won",
    "lost": "lost",
    "nurture": "nurture",
    "nurturing": "nurture",
    "recycled": "recycled",
}
DEFAULT_STAGES = {header_key(k): v for k, v in _DEFAULTS.items()}


def default_stage(value: str) -> str | None:
    """The stage a peer's value means (NOT_CARRIED for one that means nothing here), or None for
    a value nobody taught us: the import asks the person running it."""
    return DEFAULT_STAGES.get(header_key(value))


def stage_of(value: str, chosen: dict[str, str]) -> str | None:
    """The stage to carry over for one value: the run's choice, else the default; None when the
    value is not carried (unknown, or chosen '-')."""
    stage = chosen.get(value.strip()) or default_stage(value)
    return None if stage in (None, NOT_CARRIED) else stage


@dataclass(frozen=True, slots=True)
class UserRef:
    id: int
    email: str
    name: str


_EMAIL_IN = re.compile(r"[^\s<>()\[\],;]+@[^\s<>()\[\],;]+\.[^\s<>()\[\],;]+")
_SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """'Müller, Jürgen' -> 'jurgen muller': case, accents and the comma order folded."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    return _SPACES.sub(" ", re.sub(r"[^\w\s]", " ", text)).strip()


def match_owner(value: str, users: Sequence[UserRef]) -> tuple[int | None, str]:
    """The user a peer's owner value names, and how: by e-mail (HubSpot exports 'Name (e-mail)'
    or the address alone), else by a name exactly one user has. (None, why) otherwise."""
    text = value.strip()
    if not text:
        return None, "empty"
    if found := _EMAIL_IN.search(text):
        address = found.group(0).casefold()
        for u in users:
            if u.email.casefold() == address:
                return u.id, f"e-mail {u.email}"
        text = _EMAIL_IN.sub(" ", text).strip(" ()<>[]")
        if not text:
            return None, f"no user has the e-mail {address}"
    key = name_key(text)
    same = [u for u in users if name_key(u.name) == key]
    if len(same) == 1:
        return same[0].id, f"name {same[0].name}"
    if same:
        return None, f"{len(same)} users are called {text!r}"
    return None, f"no user is called {text!r}"
