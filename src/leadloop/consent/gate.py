"""The API a sender calls (sequences, campaigns, any marketing e-mail), inside its own transaction:

    decision = may_send(session, person_id, "newsletter", now)   # Decision(allowed, reason)
    if decision.allowed:
        outbox.email(..., headers=unsubscribe_headers(session, person_id, now=now))
    else:
        enrolment.reason = decision.reason                          # e.g. "unsubscribed"

`may_send` reads the state an unsubscribe commits in its own transaction; with `lock` (the default)
it also takes the person's row lock on PostgreSQL, which the unsubscribe takes too, so a send and an
unsubscribe of one person never interleave: the send transaction that asked first commits first, or
it asks after the unsubscribe committed and is refused. Read-only otherwise: it writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.consent import tokens
from leadloop.consent.decision import (
    Decision,
    Reason,
    Recipient,
    decide,
    decide_post,
    domains_of,
    suppressed_by,
)
from leadloop.consent.policy import ConsentPolicy, policy_of
from leadloop.consent.repository import lock_person, states_of
from leadloop.core.errors import NotFound
from leadloop.store.tables import Erasure, Person, Suppression

MAX_HOPS = 20  # a merge chain is never this long; a cycle would be a bug, and this ends it


def survivor_of(session: Session, person_id: int) -> tuple[int, list[str | None]] | None:
    """The person a (possibly merged-away) id stands for now, and the addresses along the way."""
    pid: int | None = person_id
    addresses: list[str | None] = []
    for _ in range(MAX_HOPS):
        row = session.execute(sa.select(Person.email, Person.merged_into_id).where(Person.id == pid)).first()
        if row is None:
            return None
        addresses.append(row.email)
        if row.merged_into_id is None:
            return int(pid or 0), addresses
        pid = row.merged_into_id
    return None


def recipient(session: Session, person_id: int) -> Recipient | None:
    found = survivor_of(session, person_id)
    if found is None:
        return None
    pid, addresses = found
    email = addresses[-1]
    erased = session.scalar(sa.select(Erasure.id).where(Erasure.person_id == pid)) is not None
    return Recipient(pid, email, erased, suppression(session, email) if email else None)


def suppression(session: Session, address: str) -> Reason | None:
    rows = session.execute(
        sa.select(Suppression.kind, Suppression.value).where(
            sa.or_(
                sa.and_(Suppression.kind == "address", Suppression.value == address.lower()),
                sa.and_(Suppression.kind == "domain", Suppression.value.in_(domains_of(address))),
            )
        )
    ).all()
    return suppressed_by(
        address,
        {v for k, v in rows if k == "address"},
        {v for k, v in rows if k == "domain"},
    )


def may_send(
    session: Session, person_id: int, subscription_type: str, now: datetime, *, lock: bool = True
) -> Decision:
    """May this person be sent a message of this subscription type now? Never raises for a person
    or type that does not exist: the decision says so (`unknown_person`, `unknown_type`)."""
    found = recipient(session, person_id)
    if found is None:
        return decide(None, {}, subscription_type, (), now)
    if lock:
        lock_person(session, found.person_id)
    states = states_of(session, [found.person_id])[found.person_id]
    return decide(found, states, subscription_type, policy_of(session).codes, now)


def may_post(session: Session, person_id: int, now: datetime, *, lock: bool = True) -> Decision:
    """May this person be sent direct mail (post) now? Refused only for an erased person or one who
    withdrew from everything (`decision.decide_post`); with `lock`, under the person's row lock, as
    `may_send`. `now` is for the seam's shape: nothing about post expires."""
    found = recipient(session, person_id)
    if found is None:
        return decide_post(None, {})
    if lock:
        lock_person(session, found.person_id)
    return decide_post(found, states_of(session, [found.person_id])[found.person_id])


def links(policy: ConsentPolicy, person_id: int, address: str, now: datetime) -> tuple[str, str | None]:
    """The one-click URL (also the page a person opens) and the mailto URI, if one is set."""
    token = tokens.make(policy.key, tokens.UNSUBSCRIBE, person_id, address, now)
    url = f"{policy.public_url}/u/{token}"
    mailto = f"mailto:{policy.mailto}?subject={quote('unsubscribe ' + token)}" if policy.mailto else None
    return url, mailto


def header_values(url: str, mailto: str | None) -> dict[str, str]:
    """RFC 2369 and RFC 8058: the HTTPS URL first, then the mailto; one-click by POST. Values are
    unfolded: the e-mail library folds them at the commas when it writes the message."""
    value = f"<{url}>" + (f", <{mailto}>" if mailto else "")
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def unsubscribe_headers(session: Session, person_id: int, *, now: datetime) -> dict[str, str]:
    """The headers every marketing message to this person carries, with a token bound to them and
    their current address (valid LEADLOOP_UNSUBSCRIBE_LINK_DAYS days). NotFound without an address."""
    found = recipient(session, person_id)
    if found is None or not found.email:
        raise NotFound(f"person #{person_id} has no e-mail address to unsubscribe")
    url, mailto = links(policy_of(session), found.person_id, found.email, now)
    return header_values(url, mailto)


def preferences_url(session: Session, person_id: int, *, now: datetime) -> str:
    """The preference centre of this person, for the footer of a message."""
    found = recipient(session, person_id)
    if found is None or not found.email:
        raise NotFound(f"person #{person_id} has no e-mail address")
    url, _ = links(policy_of(session), found.person_id, found.email, now)
    return url + "/preferences"


class Gate:
    """The consent log as a sender's policy (the sequences' `SendPolicy`, by its shape): asked in the
    step's transaction, with the person's row lock, and the RFC 8058 headers for each message; and
    whether a piece of direct mail may go."""

    def may_send(self, session: Session, person_id: int, subscription_type: str, now: datetime) -> Decision:
        return may_send(session, person_id, subscription_type, now)

    def may_post(self, session: Session, person_id: int, now: datetime) -> Decision:
        return may_post(session, person_id, now)

    def headers(self, session: Session, person_id: int, now: datetime) -> dict[str, str]:
        try:
            return unsubscribe_headers(session, person_id, now=now)
        except NotFound:  # no address: may_send has refused already
            return {}
