"""Finding and creating the reference rows a capture needs: accounts, campaigns, people by key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.contract.normalise import company_key
from leadloop.identity.accounts import index_accounts, match_names
from leadloop.identity.policy import policy_of
from leadloop.store.bulk import insert_ignore, select_in
from leadloop.store.tables import Account, Campaign, Person

AccountHint = tuple[str, str]  # ("external_id" | "domain" | "name_key", value)


def find_accounts(session: Session, hints: set[AccountHint]) -> dict[AccountHint, int]:
    found: dict[AccountHint, int] = {}
    by_kind: dict[str, set[str]] = {"external_id": set(), "domain": set(), "name_key": set()}
    for kind, value in hints:
        by_kind[kind].add(value)
    cols = {"external_id": Account.external_id, "domain": Account.domain, "name_key": Account.name_key}
    for kind, values in by_kind.items():
        if not values:
            continue
        col = cols[kind]
        # Several accounts may share a name key; the oldest wins until identity resolution decides.
        # A merged-away account's domain, id and name find its survivor.
        for row in sorted(
            select_in(session, (col, Account.id, Account.merged_into_id), col, values),
            key=lambda r: (r.merged_into_id is None, r[1]),
            reverse=True,
        ):
            found[(kind, row[0])] = row.merged_into_id or row[1]
    return found


def ensure_accounts(
    session: Session,
    hints: Mapping[AccountHint, str | None],
    *,
    now: datetime,
    fuzzy: dict[str, str] | None = None,
) -> dict[AccountHint, int]:
    """Account id for each hint, creating missing accounts. `hints` maps hint -> display name.

    With `fuzzy` (a dict to fill), a company name no account has exactly is matched by similarity
    (identity/accounts.py) before a new account is made; `fuzzy` gets each such name's reason."""
    found = find_accounts(session, set(hints))
    names = {v for k, v in hints if k == "name_key"}
    if names and fuzzy is not None:
        # Even an exact name may belong to several accounts: the tiebreakers choose among them.
        threshold = policy_of(session).account_name_match
        for name, match in match_names(session, names, threshold=threshold).items():
            found[("name_key", name)] = match.account_id
            fuzzy[name] = match.reason
    missing = [h for h in hints if h not in found]
    if missing:
        rows: list[dict[str, Any]] = []
        for kind, value in missing:
            name = hints[(kind, value)] or value
            rows.append(
                {
                    "external_id": value if kind == "external_id" else None,
                    "domain": value if kind == "domain" else None,
                    "name": name[:300],
                    "name_key": (company_key(name) or value.casefold())[:300],
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for (kind, _), row in zip(missing, rows, strict=True):
            by_kind.setdefault(kind, []).append(row)
        for kind, part in by_kind.items():
            if kind == "name_key":
                session.execute(sa.insert(Account), _unique_by(part, "name_key"))
            else:
                insert_ignore(session, Account.__table__, part, [kind])
        found.update(find_accounts(session, set(missing)))
        index_accounts(
            session, {(found[h], row["name_key"]) for h, row in zip(missing, rows, strict=True) if h in found}
        )
    return found


def _unique_by(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    seen: dict[Any, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row[key], row)
    return list(seen.values())


def ensure_campaigns(session: Session, names: set[str], *, now: datetime) -> dict[str, int]:
    """Campaign id by name, matching a campaign's name, external_id or utm_campaign."""
    if not names:
        return {}
    found: dict[str, int] = {}
    for col in (Campaign.utm_campaign, Campaign.external_id, Campaign.name):
        for value, cid in select_in(session, (col, Campaign.id), col, names):
            found[value] = cid
    missing = [n for n in names if n not in found]
    if missing:
        insert_ignore(
            session,
            Campaign.__table__,
            [{"name": n, "utm_campaign": n, "created_at": now} for n in missing],
            ["name"],
        )
        for value, cid in select_in(session, (Campaign.name, Campaign.id), Campaign.name, missing):
            found[value] = cid
    return found


def people_by_keys(
    session: Session, external_ids: set[str], emails: set[str], phones: set[str]
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Each key -> the live person it names (a merged-away person's keys name their survivor)."""
    out: list[dict[str, int]] = []
    for col, values in ((Person.external_id, external_ids), (Person.email, emails), (Person.phone, phones)):
        rows = select_in(session, (col, Person.id, Person.merged_into_id), col, values) if values else []
        out.append({r[0]: r.merged_into_id or r.id for r in rows})
    return out[0], out[1], out[2]


def people_by_external_id(session: Session, external_ids: set[str]) -> dict[str, tuple[int, int | None]]:
    """external_id -> (person id, account id) of the live person (following a merge)."""
    rows = select_in(
        session,
        (Person.external_id, Person.id, Person.account_id, Person.merged_into_id),
        Person.external_id,
        external_ids,
    )
    return _follow(session, {r.external_id: (r.id, r.account_id, r.merged_into_id) for r in rows})


def people_by_email(session: Session, emails: set[str]) -> dict[str, tuple[int, int | None]]:
    """e-mail -> (person id, account id) of the live person (following a merge)."""
    rows = select_in(
        session, (Person.email, Person.id, Person.account_id, Person.merged_into_id), Person.email, emails
    )
    return _follow(session, {r.email: (r.id, r.account_id, r.merged_into_id) for r in rows})


def _follow(
    session: Session, found: dict[str, tuple[int, int | None, int | None]]
) -> dict[str, tuple[int, int | None]]:
    survivors = {m for _, _, m in found.values() if m is not None}
    accounts = (
        dict(select_in(session, (Person.id, Person.account_id), Person.id, survivors)) if survivors else {}
    )
    return {k: (m, accounts.get(m)) if m is not None else (pid, acct) for k, (pid, acct, m) in found.items()}
