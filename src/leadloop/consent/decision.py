"""The gate every marketing message passes: may this person be sent this type of message now, and if
not, why (the reason a sequence records on the enrolment). Pure: the caller loads, this decides."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from leadloop.consent.model import Basis, States, Status, effective, everything_withdrawn
from leadloop.contract.normalise import normalise_email
from leadloop.core.errors import InvalidInput


class Reason(StrEnum):
    # Allowed, on this basis:
    CONSENT = "consent"
    IMPLIED_CONSENT = "implied_consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    NO_OBJECTION = "no_objection"  # post (direct mail): nothing on record refuses it
    # Refused, because:
    UNKNOWN_PERSON = "unknown_person"
    ERASED = "erased"
    NO_ADDRESS = "no_address"
    INVALID_ADDRESS = "invalid_address"
    SUPPRESSED_ADDRESS = "suppressed_address"
    SUPPRESSED_DOMAIN = "suppressed_domain"
    UNKNOWN_TYPE = "unknown_type"
    UNSUBSCRIBED = "unsubscribed"
    NO_CONSENT = "no_consent"
    IMPLIED_CONSENT_EXPIRED = "implied_consent_expired"
    AWAITING_CONFIRMATION = "awaiting_confirmation"


WORDS = {
    Reason.CONSENT: "the person consented",
    Reason.IMPLIED_CONSENT: "implied consent after an inquiry, not yet expired",
    Reason.LEGITIMATE_INTEREST: "legitimate interest, recorded by an admin",
    Reason.NO_OBJECTION: "nothing on record refuses post",
    Reason.UNKNOWN_PERSON: "there is no such person",
    Reason.ERASED: "the person was erased at their request",
    Reason.NO_ADDRESS: "the person has no e-mail address",
    Reason.INVALID_ADDRESS: "the e-mail address is not valid",
    Reason.SUPPRESSED_ADDRESS: "the address is on the suppression list",
    Reason.SUPPRESSED_DOMAIN: "the address's domain is on the suppression list",
    Reason.UNKNOWN_TYPE: "there is no such subscription type",
    Reason.UNSUBSCRIBED: "the person unsubscribed",
    Reason.NO_CONSENT: "the person never consented",
    Reason.IMPLIED_CONSENT_EXPIRED: "the implied consent expired",
    Reason.AWAITING_CONFIRMATION: "the person has not confirmed (double opt-in) yet",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason

    @property
    def words(self) -> str:
        return WORDS[self.reason]


@dataclass(frozen=True)
class Recipient:
    """What the gate needs to know about a person besides their consent."""

    person_id: int
    email: str | None
    erased: bool = False
    suppressed: Reason | None = None  # SUPPRESSED_ADDRESS or SUPPRESSED_DOMAIN when a suppression matches


def domains_of(address: str) -> list[str]:
    """The domain of an address and every parent with a dot in it: a suppressed example.com also
    covers mail.example.com; the top-level domain alone never matches."""
    labels = address.rpartition("@")[2].lower().split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def suppressed_by(address: str, addresses: Collection[str], domains: Collection[str]) -> Reason | None:
    if address.lower() in addresses:
        return Reason.SUPPRESSED_ADDRESS
    if any(d in domains for d in domains_of(address)):
        return Reason.SUPPRESSED_DOMAIN
    return None


def valid_address(address: str) -> bool:
    try:
        return normalise_email(address) is not None
    except InvalidInput:
        return False


def decide(
    recipient: Recipient | None, states: States, code: str, known: Collection[str], now: datetime
) -> Decision:
    """The person, then the address, then the list, then their consent to this type: the first
    thing that refuses is the reason."""
    if recipient is None:
        return Decision(False, Reason.UNKNOWN_PERSON)
    if recipient.erased:
        return Decision(False, Reason.ERASED)
    if not recipient.email:
        return Decision(False, Reason.NO_ADDRESS)
    if not valid_address(recipient.email):
        return Decision(False, Reason.INVALID_ADDRESS)
    if recipient.suppressed is not None:
        return Decision(False, recipient.suppressed)
    if code not in known:
        return Decision(False, Reason.UNKNOWN_TYPE)
    state = effective(states, code, now)
    if state is None:
        return Decision(False, Reason.NO_CONSENT)
    if state.status == Status.WITHDRAWN:
        return Decision(False, Reason.UNSUBSCRIBED)
    if state.status == Status.PENDING:
        return Decision(False, Reason.AWAITING_CONFIRMATION)
    if state.status == Status.EXPIRED:
        return Decision(False, Reason.IMPLIED_CONSENT_EXPIRED)
    if state.basis == Basis.IMPLIED:
        return Decision(True, Reason.IMPLIED_CONSENT)
    if state.basis == Basis.LEGITIMATE_INTEREST:
        return Decision(True, Reason.LEGITIMATE_INTEREST)
    return Decision(True, Reason.CONSENT)


def decide_post(recipient: Recipient | None, states: States) -> Decision:
    """May this person be sent direct mail (post)? Post is not e-mail: no subscription type, e-mail
    address or suppression list governs it, so a person who left the newsletter may still get a
    postcard. Two things refuse it: an erasure, and a withdrawal from everything (the person said
    "nothing more from you": an unsubscribe from all, a complaint, `email_opt_in` false on import)
    with nothing granted since."""
    if recipient is None:
        return Decision(False, Reason.UNKNOWN_PERSON)
    if recipient.erased:
        return Decision(False, Reason.ERASED)
    if everything_withdrawn(states):
        return Decision(False, Reason.UNSUBSCRIBED)
    return Decision(True, Reason.NO_OBJECTION)
