"""What identifies an erased person, as hashes. Pure.

Only SHA-256 digests of what identified them are kept after an erasure: the address as given, the
address as identity matches it (Gmail dots and plus tags off, so a.b+x@gmail.com is ab@gmail.com),
and the external id of the customer's own system. A record that arrives with any of them is the
erased person coming back through a door (a re-import, a form, a sync) and is turned away. The
digests are not keyed with the secret: a changed LEADLOOP_SECRET_KEY must not let data back in.
"""

from __future__ import annotations

import hashlib

from leadloop.identity.normal import email_key

WHY = (
    "this person asked to be erased (GDPR Art. 17); what identified them is not stored again. "
    "Remove the row from the source"
)
# What an erasure empties on the person's row: everything that names or reaches them. Kept, so the
# reports still add up: the account, the campaign and source, dates, scores and grade, the country,
# and the coarse seniority and department (no one is found by those).
ERASED_COLUMNS = (
    "external_id",
    "email",
    "first_name",
    "last_name",
    "title",
    "phone",
    "company",
    "website",
    "street",
    "state",
    "city",
    "postcode",
    "account_match",
)


def digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def keys_of(email: str | None, external_id: str | None) -> set[str]:
    """The digests a record with this address and external id is known by."""
    out: set[str] = set()
    if email:
        out.add(digest("e", email.strip().lower()))
        if (key := email_key(email)) is not None:
            out.add(digest("k", key))
    if external_id:
        out.add(digest("x", external_id.strip()))
    return out
