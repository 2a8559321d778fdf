"""Who may be sent a marketing e-mail, asked before every send inside the step's transaction.

`SendPolicy` is the seam: the composition root wires one in (`leadloop.bootstrap`). The default
here honours what Leadloop knows without a consent log: an address, and `people.email_opt_in` not
false (ADR 0004: an opt-out only ever tightens). Consent's gate (`may_send`, with its List-Unsubscribe
headers, and `may_post` for direct mail) replaces it as is: its `Decision` has the `allowed` and
`reason` a `Verdict` needs.

Both take the person's row lock on PostgreSQL, as an unsubscribe does: a step due at the very moment
of an opt-out either commits first (and the opt-out then ends the enrolment) or asks after the
opt-out committed and is refused. SQLite writers are serialised anyway (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.nurture.model import Allowed, Verdict
from leadloop.store.tables import Person


class SendPolicy(Protocol):
    def may_send(self, session: Session, person_id: int, subscription_type: str, now: datetime) -> Verdict:
        """May this person be sent a message of this subscription type now? Never raises."""
        ...

    def may_post(self, session: Session, person_id: int, now: datetime) -> Verdict:
        """May this person be sent direct mail (post, not e-mail) now? Never raises."""
        ...

    def headers(self, session: Session, person_id: int, now: datetime) -> dict[str, str]:
        """Headers every marketing message to this person carries (List-Unsubscribe and its kin)."""
        ...


def lock_person(session: Session, person_id: int) -> None:
    """The person's row lock (PostgreSQL); a no-op on SQLite, whose writer holds the database."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(Person.id).where(Person.id == person_id).with_for_update())


@dataclass(frozen=True)
class OptInPolicy:
    """The default: an address, and no opt-out on record. No headers (no unsubscribe links without
    the consent capability; the footer still says who sent it and from where)."""

    def may_send(self, session: Session, person_id: int, subscription_type: str, now: datetime) -> Verdict:
        lock_person(session, person_id)
        row = session.execute(
            sa.select(Person.email, Person.email_opt_in, Person.merged_into_id).where(Person.id == person_id)
        ).first()
        if row is None:
            return Allowed(False, "unknown_person")
        if row.merged_into_id is not None:
            return Allowed(False, "merged")
        if not row.email:
            return Allowed(False, "no_address")
        if row.email_opt_in is False:
            return Allowed(False, "unsubscribed")
        return Allowed(True, "no_objection")

    def may_post(self, session: Session, person_id: int, now: datetime) -> Verdict:
        """Without the consent log nothing says the person refused post (`email_opt_in` is about
        e-mail); only a merged-away or missing person is refused."""
        lock_person(session, person_id)
        merged = session.execute(sa.select(Person.merged_into_id).where(Person.id == person_id)).first()
        if merged is None:
            return Allowed(False, "unknown_person")
        if merged.merged_into_id is not None:
            return Allowed(False, "merged")
        return Allowed(True, "no_objection")

    def headers(self, session: Session, person_id: int, now: datetime) -> dict[str, str]:
        return {}
