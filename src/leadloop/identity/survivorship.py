"""Which values a merged person keeps. Pure.

- Per field, the most recent non-empty value, with source priority: a value from a source earlier in
  the policy's list wins over a later one; among equal sources, the record updated last wins.
- Consent is not chosen here: consent/ reacts to the merge and gives the survivor the most
  restrictive of both, in its log (an opt-out on either side is kept; ADR 0027).
- Where the person came from (lead source, first campaign, created) is the earlier record's.
- E-mail and external id stay with their records (both keep finding the survivor); the survivor
  takes the other's e-mail only when it has none.
- Attributes are united, the winning record's value first.
Scores are not chosen at all: they are recomputed from the merged timeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

SURVIVING_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "company",
    "website",
    "street",
    "country",
    "state",
    "city",
    "postcode",
    "email_kind",
    "account_id",
)
FIRST_WINS = ("lead_source", "campaign_id")


def _rank(source: str | None, updated_at: datetime, priority: Sequence[str]) -> tuple[int, datetime]:
    tier = priority.index(source) if source in priority else len(priority)
    return (-tier, updated_at)


def survive(
    survivor: Mapping[str, Any],
    merged: Mapping[str, Any],
    *,
    sources: tuple[str | None, str | None],
    priority: Sequence[str],
    now: datetime,
    pinned: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
) -> tuple[dict[str, Any], dict[str, str]]:
    """The survivor's new values, and for each field changed, where the value came from. A field
    `pinned` (set by hand) on one record wins over any source; pinned on both, the survivor's."""
    ranked = sorted(
        ((survivor, sources[0], "survivor"), (merged, sources[1], "merged")),
        key=lambda x: _rank(x[1], x[0]["updated_at"], priority),
        reverse=True,
    )
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for f in SURVIVING_FIELDS:
        if f in pinned[0]:
            continue  # the survivor's value was set by hand: it stays
        if f in pinned[1]:
            if merged[f] != survivor[f]:
                values[f], origin[f] = merged[f], "merged (set by hand)"
            continue
        for row, _, who in ranked:
            if row[f] not in (None, ""):
                if row[f] != survivor[f]:
                    values[f], origin[f] = row[f], who
                break
    older, newer = sorted((survivor, merged), key=lambda r: (r["created_at"], r["id"]))
    for f in FIRST_WINS:
        value = older[f] if older[f] is not None else newer[f]
        if value != survivor[f]:
            values[f], origin[f] = value, "earlier record"
    if older["created_at"] != survivor["created_at"]:
        values["created_at"] = older["created_at"]
    if not survivor["email"] and merged["email"]:
        values["email"], origin["email"] = merged["email"], "merged"
    attrs = {**ranked[1][0]["attributes"], **ranked[0][0]["attributes"]}
    if attrs != survivor["attributes"]:
        values["attributes"] = attrs
    values["updated_at"] = now
    return values, origin


# Accounts: the survivor keeps what it has; what it lacks (firmographics, a domain, an owner, a
# parent) comes from the merged account. Identity (external id, name) stays with each row.
ACCOUNT_FILLED = (
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "state",
    "city",
    "postcode",
    "sic_code",
    "naics_code",
    "sites",
    "parent_id",
    "parent_external_id",
    "owner_user_id",
    "enriched_at",
)


def survive_account(
    survivor: Mapping[str, Any], merged: Mapping[str, Any], *, now: datetime
) -> tuple[dict[str, Any], dict[str, str]]:
    """The survivor account's new values, and for each field changed, where it came from."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for f in ACCOUNT_FILLED:
        if survivor[f] in (None, "") and merged[f] not in (None, ""):
            if f == "parent_id" and merged[f] == survivor["id"]:
                continue  # never its own parent
            values[f], origin[f] = merged[f], f"account #{merged['id']}"
    attrs = {**merged["attributes"], **survivor["attributes"]}
    if attrs != survivor["attributes"]:
        values["attributes"] = attrs
    if survivor["created_at"] > merged["created_at"]:
        values["created_at"] = merged["created_at"]
    values["updated_at"] = now
    return values, origin
