"""Lead-to-account matching by company name, for leads without a corporate domain (free mail).

The name is cleaned (legal suffixes stripped by cleanco, case and punctuation folded), then compared
token by token with the accounts that share a token or an acronym with it: word order does not
matter ("Analytics Acme"), an abbreviation finds the long name ("IBM"). When several accounts are
alike, the tiebreakers decide: most contacts, then most open opportunities, then the oldest.
Every match says why it matched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlalchemy.orm import Session

from leadloop.store.bulk import replace_keys, select_in
from leadloop.store.tables import Account, AccountKey, Opportunity, Person, SuspectedAccountDuplicate

STOP = frozenset({"the", "and", "of", "for", "de", "la", "le", "der", "die", "das", "und", "et", "y", "an"})
MAX_HOLDERS = 200  # a token on more accounts than this ("global", "solutions") finds nothing alone
TIE = 2.0  # points of similarity within which accounts count as equally alike


def _words(name_key: str) -> list[str]:
    return [w for w in name_key.split() if w not in STOP]


def acronym(name_key: str) -> str | None:
    words = _words(name_key)
    return "".join(w[0] for w in words) if len(words) >= 2 else None


def account_keys(name_key: str) -> list[str]:
    keys = [f"t:{w}" for w in dict.fromkeys(_words(name_key)) if len(w) >= 2]
    if a := acronym(name_key):
        keys.append(f"a:{a}")
    return keys


def query_keys(name_key: str) -> list[str]:
    keys = account_keys(name_key)
    compact = name_key.replace(" ", "")
    if " " not in name_key and 2 <= len(compact) <= 6:
        keys.append(f"a:{compact}")  # perhaps an abbreviation of a longer name
    return keys


def similarity(query: str, candidate: str) -> float:
    """0-100: token order ignored; an abbreviation of the candidate's name counts as 95."""
    if " " not in query and query == acronym(candidate) and len(query) >= 2:
        return 95.0
    return float(fuzz.token_sort_ratio(query, candidate))


def index_accounts(session: Session, rows: Iterable[tuple[int, str | None]]) -> None:
    """(Re)write the name keys of these accounts: (id, name_key)."""
    keys = {aid: account_keys(key) if key else [] for aid, key in rows}
    replace_keys(session, AccountKey.__table__, "account_id", keys)


@dataclass(frozen=True)
class AccountMatch:
    account_id: int
    score: float
    reason: str


def match_names(session: Session, name_keys: set[str], *, threshold: float) -> dict[str, AccountMatch]:
    """Each cleaned company name -> the account it matches best at `threshold` or above."""
    wanted = {k: query_keys(k) for k in name_keys if k}
    holders: dict[str, list[int]] = defaultdict(list)
    for key, aid in select_in(
        session,
        (AccountKey.key, AccountKey.account_id),
        AccountKey.key,
        {k for ks in wanted.values() for k in ks},
    ):
        holders[key].append(aid)
    candidates = {
        name: {aid for k in keys if len(holders.get(k, ())) <= MAX_HOLDERS for aid in holders.get(k, ())}
        for name, keys in wanted.items()
    }
    ids = {aid for c in candidates.values() for aid in c}
    if not ids:
        return {}
    accounts = {
        a.id: a
        for a in select_in(
            session,
            (Account.id, Account.name, Account.name_key, Account.created_at, Account.parent_id),
            Account.id,
            ids,
        )
    }
    out: dict[str, AccountMatch] = {}
    chosen_of: dict[str, tuple[int, float, str]] = {}
    for name, cands in candidates.items():
        scored = sorted(
            ((similarity(name, accounts[a].name_key), a) for a in cands if a in accounts), reverse=True
        )
        scored = [(s, a) for s, a in scored if s >= threshold]
        if not scored:
            continue
        best = scored[0][0]
        tied = [a for s, a in scored if s >= best - TIE]
        chosen, why = _tiebreak(session, tied, accounts) if len(tied) > 1 else (tied[0], "")
        chosen_of[name] = (chosen, best, why)
    parents = {
        a.id: a.name
        for a in select_in(
            session,
            (Account.id, Account.name),
            Account.id,
            {accounts[c].parent_id for c, _, _ in chosen_of.values()} - {None},
        )
    }
    for name, (chosen, best, why) in chosen_of.items():
        acct = accounts[chosen]
        reason = f"company name {name!r} ≈ account {acct.name!r} ({best:.0f}% alike)" + why
        if acct.parent_id in parents:
            reason += f"; a subsidiary of {parents[acct.parent_id]!r}"
        out[name] = AccountMatch(chosen, best, reason)
    return out


def _counts(session: Session, ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Live contacts and open opportunities per account."""
    contacts: dict[int, int] = dict(
        session.execute(
            sa.select(Person.account_id, sa.func.count())
            .where(Person.account_id.in_(ids), Person.merged_into_id.is_(None))
            .group_by(Person.account_id)
        ).all()  # type: ignore[arg-type]
    )
    opps: dict[int, int] = dict(
        session.execute(
            sa.select(Opportunity.account_id, sa.func.count())
            .where(Opportunity.account_id.in_(ids), Opportunity.outcome == "open")
            .group_by(Opportunity.account_id)
        ).all()  # type: ignore[arg-type]
    )
    return contacts, opps


def _ranker(
    accounts: dict[int, Any], contacts: dict[int, int], opps: dict[int, int], *, prefer_domain: bool = False
) -> Callable[[int], tuple[Any, ...]]:
    """A sort key for accounts, best first: (with a domain,) most contacts, most open
    opportunities, the oldest."""

    def rank(a: int) -> tuple[Any, ...]:
        head = (accounts[a].domain is None,) if prefer_domain else ()
        return (*head, -contacts.get(a, 0), -opps.get(a, 0), accounts[a].created_at, a)

    return rank


def _tiebreak(session: Session, tied: list[int], accounts: dict[int, Any]) -> tuple[int, str]:
    """Most contacts, then most open opportunities, then the oldest account."""
    contacts, opps = _counts(session, tied)
    order = sorted(tied, key=_ranker(accounts, contacts, opps))
    first, second = order[0], order[1]
    if contacts.get(first, 0) != contacts.get(second, 0):
        decided = f"most contacts ({contacts.get(first, 0)})"
    elif opps.get(first, 0) != opps.get(second, 0):
        decided = f"most open opportunities ({opps.get(first, 0)})"
    else:
        decided = "the oldest account"
    return first, f"; {len(tied)} accounts alike, chosen by {decided}"


@dataclass(frozen=True)
class AccountPair:
    survivor_id: int
    merged_id: int
    similarity: float
    reasons: tuple[str, ...]


def alike_accounts(
    rows: dict[int, Any], judged: set[tuple[int, int]], *, threshold: float
) -> dict[tuple[int, int], float]:
    """(lower id, higher id) -> similarity, for accounts (rows with name_key, domain, parent_id)
    sharing a name token or acronym and alike at `threshold` or above. Pure. Two accounts with
    different domains are different companies (or a subsidiary, linked rather than merged), as are
    a parent and its subsidiary; `judged` pairs are left out."""
    holders: dict[str, list[int]] = defaultdict(list)
    for aid, r in rows.items():
        for k in query_keys(r.name_key) if r.name_key else []:
            holders[k].append(aid)
    found: dict[tuple[int, int], float] = {}
    for ids in holders.values():
        if len(ids) > MAX_HOLDERS:
            continue
        for x, y in combinations(sorted(ids), 2):
            if (x, y) in found or (x, y) in judged:
                continue
            a, b = rows[x], rows[y]
            if (a.domain and b.domain and a.domain != b.domain) or x == b.parent_id or y == a.parent_id:
                continue
            score = max(similarity(a.name_key, b.name_key), similarity(b.name_key, a.name_key))
            if score >= threshold:
                found[(x, y)] = score
    return found


def duplicate_accounts(
    session: Session, *, threshold: float, exact: float = 99.5
) -> list[tuple[AccountPair, bool]]:
    """Pairs of live accounts alike by name (`alike_accounts`), most alike first, each with whether
    it is alike enough to merge by itself (the same name, reordered at most). Pairs judged "not the
    same", or waiting for review already, are not offered again. The survivor is the one with a
    domain, then the tiebreakers."""
    rows = {
        r.id: r
        for r in session.execute(
            sa.select(
                Account.id,
                Account.name,
                Account.name_key,
                Account.domain,
                Account.parent_id,
                Account.created_at,
            ).where(Account.merged_into_id.is_(None))
        )
    }
    judged = {
        (a, b)
        for a, b in session.execute(
            sa.select(SuspectedAccountDuplicate.account_id, SuspectedAccountDuplicate.other_id).where(
                SuspectedAccountDuplicate.status.in_(("distinct", "open"))
            )
        )
    }
    found = alike_accounts(rows, judged, threshold=threshold)
    if not found:
        return []
    contacts, opps = _counts(session, sorted({a for p in found for a in p}))
    rank = _ranker(rows, contacts, opps, prefer_domain=True)
    out = []
    for (x, y), score in sorted(found.items(), key=lambda kv: -kv[1]):
        keep, gone = sorted((x, y), key=rank)
        a, b = rows[keep], rows[gone]
        why = [
            f"company names {b.name!r} and {a.name!r} are {score:.0f}% alike (legal suffixes and word order aside)"
        ]
        if b.name_key == a.name_key:
            why = [f"the same company name once legal suffixes are stripped: {a.name_key!r}"]
        elif score == 95.0 and " " not in min(a.name_key, b.name_key, key=len):
            why = [f"{min(a.name_key, b.name_key, key=len)!r} is the acronym of the other name"]
        why.append(f"only #{keep} has a domain ({a.domain})" if a.domain else "neither has a domain")
        out.append((AccountPair(keep, gone, score, tuple(why)), score >= exact))
    return out
