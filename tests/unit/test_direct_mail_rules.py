"""Direct mail, pure: the postal address rule, the step in a sequence document (refused at save
time with the line when it cannot run), the engine's decision at the step, and consent's answer
for post (only an erasure or a withdrawal from everything refuses it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadloop.consent import model as c
from leadloop.consent.decision import Reason, Recipient, decide_post
from leadloop.consent.model import ALL, Basis, Change, Plan, Status
from leadloop.core.yamldoc import DocumentError
from leadloop.nurture.checks import parse_sequence
from leadloop.nurture.model import Allowed, Facts, MailPiece, SendEmail, SkipPiece, Throttle, WaitFor, run
from leadloop.nurture.postal import BAD_POSTCODE, COMPLETE, NO_ADDRESS, check_address, postcode_fits

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday
FULL = {
    "first_name": "Ana",
    "last_name": "Silva",
    "company": "Acme GmbH",
    "street": "  Hauptstraße   12 ",
    "postcode": "10115",
    "city": "Berlin",
    "state": None,
    "country": "DE",
}


def test_a_complete_address_passes_and_comes_back_cleaned_for_the_label() -> None:
    found = check_address(FULL)
    assert (found.allowed, found.reason) == (True, COMPLETE)
    assert found.address is not None
    assert (found.address.name, found.address.company, found.address.street) == (
        "Ana Silva",
        "Acme GmbH",
        "Hauptstraße 12",
    )
    assert (found.address.postcode, found.address.city, found.address.country) == ("10115", "Berlin", "DE")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"street": None}, "no street"),
        ({"street": "   "}, "no street"),
        ({"street": "-"}, "no street"),
        ({"street": "n/a"}, "no street"),
        ({"street": "Unknown"}, "no street"),
        ({"street": "12"}, "no street"),
        ({"postcode": ""}, "no postcode"),
        ({"city": None}, "no city"),
        ({"city": "123"}, "no city"),
        ({"country": None}, "no country"),
        (
            {"street": None, "postcode": None, "city": None, "country": None},
            "no street, no postcode, no city, no country",
        ),
    ],
)
def test_a_missing_part_is_no_address_and_says_which(change: dict[str, Any], words: str) -> None:
    found = check_address({**FULL, **change})
    assert (found.allowed, found.reason, found.words, found.address) == (False, NO_ADDRESS, words, None)


@pytest.mark.parametrize(
    ("country", "postcode", "fits"),
    [
        ("DE", "10115", True),
        ("DE", "1011", False),
        ("DE", "ABCDE", False),
        ("GB", "SW1A 1AA", True),
        ("GB", "sw1a1aa", True),  # case and spaces do not matter
        ("GB", "12345", False),
        ("US", "94105", True),
        ("US", "94105-1234", True),
        ("US", "9410", False),
        ("NL", "1012 ab", True),
        ("NL", "1012", False),
        ("CA", "K1A 0B1", True),
        ("FR", "75008", True),
        ("CH", "8001", True),
        ("PL", "00-950", True),
        ("PL", "00950", False),
        ("XX", "Any 123", True),  # a country not in the table: any postcode-like text
        ("XX", "#!?", False),
    ],
)
def test_postcodes_of_the_common_countries_have_their_shape(country: str, postcode: str, fits: bool) -> None:
    assert postcode_fits(country, postcode) is fits


def test_a_postcode_of_the_wrong_shape_is_refused_and_a_country_without_postcodes_needs_none() -> None:
    bad = check_address({**FULL, "postcode": "1011"})
    assert (bad.allowed, bad.reason, bad.words) == (False, BAD_POSTCODE, "'1011' is not a postcode of DE")
    dublin = {**FULL, "postcode": None, "city": "Dublin", "country": "IE"}
    assert check_address(dublin).allowed
    assert check_address({**dublin, "country": "de"}).reason == NO_ADDRESS  # Germany has postcodes


# The step in a document.
HEAD = "name: t\nsteps:\n"


def _problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(DocumentError) as exc:
        parse_sequence(text)
    return exc.value.problems


def test_a_direct_mail_step_round_trips_and_lists_by_default() -> None:
    doc = parse_sequence(
        HEAD
        + "  - direct_mail: {piece: Spring postcard}\n"
        + "  - id: book\n    direct_mail: {piece: Book, via: webhook, event: book_sent, data: {sku: B1}}\n"
    )
    assert doc.steps[0].direct_mail is not None and doc.steps[0].direct_mail.via == "list"
    assert doc.pieces() == ["1", "book"]
    assert parse_sequence(doc.to_yaml()) == doc


@pytest.mark.parametrize(
    ("step", "line", "words"),
    [
        ("  - direct_mail: {via: list}\n", 4, "direct mail needs a `piece`"),
        ("  - direct_mail: {piece: '  '}\n", 4, "direct mail needs a `piece`"),
        ("  - direct_mail: {piece: Card, via: fax}\n", 4, "via 'fax' is not a way to send direct mail"),
        ("  - direct_mail: {piece: Card, via: webhook}\n", 4, "via webhook needs an `event`"),
        (
            "  - direct_mail: {piece: Card, event: sent}\n",
            4,
            "event and data are for direct mail via webhook",
        ),
        (
            "  - direct_mail:\n      piece: Card\n      via: webhook\n      event: Sent-Now\n",
            7,
            "event 'Sent-Now' is not a name",
        ),
        ("  - direct_mail: {piece: Card, copies: 2}\n", 4, "direct_mail.copies: unknown field"),
    ],
)
def test_a_bad_direct_mail_step_is_refused_with_its_line(step: str, line: int, words: str) -> None:
    found = _problems(HEAD + "  - email: {subject: Hi, text: Hello}\n" + step)
    assert len(found) == 1 and found[0][0] == line and words in found[0][1], found


# The engine at the step.
MAILER = parse_sequence(
    """\
name: mailer
window: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
steps:
  - id: card
    direct_mail: {piece: Spring postcard}
  - id: hello
    email: {subject: Hi, text: Hello}
  - wait: {days: 2}
"""
)
WEEK = Throttle(3, timedelta(days=7))


def test_a_complete_address_gets_the_piece_and_the_sequence_goes_on() -> None:
    plan = run(MAILER, "card", Facts(zone="UTC", fields=FULL), WEEK, NOW)
    assert plan.actions == (MailPiece("card"), SendEmail("hello"))
    assert isinstance(plan.next, WaitFor) and plan.next.why == "wait"


def test_without_an_address_the_piece_is_skipped_with_the_reason_and_the_sequence_goes_on() -> None:
    plan = run(MAILER, "card", Facts(zone="UTC", fields={**FULL, "street": None}), WEEK, NOW)
    assert plan.actions == (SkipPiece("card", NO_ADDRESS, "no street"), SendEmail("hello"))


def test_consent_refusing_post_skips_the_piece_before_the_address_is_read() -> None:
    facts = Facts(zone="UTC", fields=FULL, may_post=Allowed(False, "unsubscribed"))
    (skipped, _) = run(MAILER, "card", facts, WEEK, NOW).actions
    assert skipped == SkipPiece("card", "unsubscribed", "may not be sent post: unsubscribed")


def test_direct_mail_ignores_the_send_window_and_the_e_mail_throttle() -> None:
    night = datetime(2026, 11, 7, 3, 0, tzinfo=UTC)  # a Saturday, 3 a.m.
    full = Facts(zone="UTC", fields=FULL, sends=(night,) * 3)
    plan = run(MAILER, "card", full, WEEK, night)
    assert plan.actions == (MailPiece("card"),)  # the e-mail after it waits for the window
    assert isinstance(plan.next, WaitFor) and plan.next.step == "hello"


# Consent's answer for post.
def _states(*steps: Change | None) -> dict[str, c.State]:
    plan = Plan({1: {}}, NOW)
    for step in steps:
        plan.add(1, step)
    return plan.states(1)


def _grant(states: c.States, code: str) -> Change | None:
    return c.grant(states, code, basis=Basis.CONSENT, explicit=True, source="form", now=NOW)


def test_post_is_refused_only_to_the_erased_and_to_who_withdrew_from_everything() -> None:
    person = Recipient(1, None)  # no e-mail address: post does not need one
    everything = Change(ALL, Status.WITHDRAWN, None, "unsubscribe")
    newsletter_only = Change("newsletter", Status.WITHDRAWN, None, "preferences")
    assert decide_post(person, {}).reason == Reason.NO_OBJECTION
    assert decide_post(person, _states(newsletter_only)).allowed  # one e-mail type says nothing of post
    assert decide_post(Recipient(1, "a@b.example", suppressed=Reason.SUPPRESSED_ADDRESS), {}).allowed
    withdrawn = _states(everything)
    assert (decide_post(person, withdrawn).allowed, decide_post(person, withdrawn).reason) == (
        False,
        Reason.UNSUBSCRIBED,
    )
    again = _states(everything, _grant(withdrawn, "newsletter"))  # their own consent since
    assert decide_post(person, again).allowed
    assert decide_post(Recipient(1, None, erased=True), {}).reason == Reason.ERASED
    assert decide_post(None, {}).reason == Reason.UNKNOWN_PERSON
