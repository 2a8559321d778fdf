"""Direct mail in sequences, on SQLite and PostgreSQL: a person with a full postal address is put on
the mailing list (or handed to the print service's webhook through the outbox, address included),
one without is skipped with the reason and the sequence goes on; a person who withdrew from
everything or was erased gets no post; the street arrives by import; migration 0026 both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadloop.capture.importer import run_import
from leadloop.consent.handlers import set_preferences, unsubscribe
from leadloop.core.clock import FrozenClock
from leadloop.documents.handlers import preview
from leadloop.nurture import handlers as nurture
from leadloop.nurture import mailing, queries
from leadloop.nurture.checks import parse_sequence
from leadloop.nurture.kind import SEQUENCES
from leadloop.privacy.erase import erase_person
from leadloop.settings import Settings
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import downgrade, upgrade
from leadloop.store.tables import DirectMail, NurtureStep, Outbox, Person
from tests.fixtures.capture import capture_people
from tests.fixtures.consent import link
from tests.fixtures.nurture import (
    Smtp,
    activate_sequence,
    assert_invariant,
    enrolments,
    sequence_text,
    sweeper,
)

POSTCARD_THEN_MAIL = """\
  - id: card
    direct_mail: {piece: Spring postcard}
  - id: hello
    email: {subject: Hello, text: Hi there.}
"""
BOOK = """\
  - id: book
    direct_mail: {piece: Field guide, via: webhook, event: book_requested, data: {sku: FG-1}}
"""
BERLIN = {"street": "Hauptstraße 12", "postcode": "10115", "city": "Berlin", "country": "DE"}


def _person(db: Database, clock: FrozenClock, email: str, *, opt_in: str = "true", **fields: str) -> int:
    found = capture_people(db, clock, {"email_opt_in": opt_in, "email": email, **fields}, kind=None)[0]
    assert found.id is not None
    return int(found.id)


def _enrol(db: Database, clock: FrozenClock, sequence: str, *people: int) -> None:
    with db.write() as s:
        done = nurture.enrol(s, sequence, [(p, None) for p in people], trigger="manual", now=clock())
    assert len(done.enrolled) == len(people), done.refused


def _postal_log(db: Database) -> list[tuple[str, str, str | None]]:
    with db.read() as s:
        return [
            (r.step, r.outcome, r.detail)
            for r in s.scalars(
                sa.select(NurtureStep).where(NurtureStep.kind == "postal").order_by(NurtureStep.id)
            )
        ]


def _listed(db: Database, sequence: str, **kw: object) -> list[tuple[object, ...]]:
    with db.read() as s:
        return list(mailing.rows(s, sequence, **kw))  # type: ignore[arg-type]


def test_a_full_address_is_listed_and_one_without_is_skipped_with_the_reason_and_both_go_on(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("postcards", POSTCARD_THEN_MAIL), clock=clock)
    ana = _person(
        db, clock, "ana@acme.example", first_name="Ana", last_name="Silva", company="Acme", **BERLIN
    )
    bo = _person(db, clock, "bo@beta.example", first_name="Bo", postcode="10115", city="Berlin", country="DE")
    cy = _person(db, clock, "cy@gamma.example", **{**BERLIN, "postcode": "1011"})  # not a German postcode
    _enrol(db, clock, "postcards", ana, bo, cy)
    sweeper(db, clock, Settings(smtp_port=smtp_server.port)).run_once()
    assert sorted(_postal_log(db)) == [
        ("card", "bad_postcode", "'1011' is not a postcode of DE"),
        ("card", "listed", "Spring postcard"),
        ("card", "no_address", "no street"),
    ]
    # Skipped or not, everyone went on to the e-mail and finished.
    assert {str(m["To"]) for m in smtp_server.inbox.messages} == {
        "ana@acme.example",
        "bo@beta.example",
        "cy@gamma.example",
    }
    assert {e.state for e in enrolments(db)} == {"completed"}
    assert_invariant(db)
    with db.read() as s:
        (row,) = s.scalars(sa.select(DirectMail))
        assert (row.person_id, row.sequence_name, row.step, row.piece) == (
            ana,
            "postcards",
            "card",
            "Spring postcard",
        )
        (report,) = queries.report(s)
        assert (report.pieces, report.pieces_skipped) == (1, {"no_address": 1, "bad_postcode": 1})
        assert mailing.pieces(s) == {"postcards": [("Spring postcard", 1)]}
    enrolment = next(e.id for e in enrolments(db) if e.person_id == ana)
    assert _listed(db, "postcards") == [
        (
            "Ana Silva",
            "Acme",
            "Hauptstraße 12",
            "10115",
            "Berlin",
            None,
            "DE",
            "Spring postcard",
            enrolment,
            clock(),
        )
    ]
    assert _listed(db, "postcards", piece="Other") == []
    clock.advance(hours=1)
    assert _listed(db, "postcards", since=clock()) == []  # listed before then
    # The export reads the address as it is now: a correction counts, a removal leaves them out.
    with db.write() as s:
        s.execute(sa.update(Person).where(Person.id == ana).values(street="Unter den Linden 1"))
    assert _listed(db, "postcards")[0][2] == "Unter den Linden 1"
    with db.write() as s:
        s.execute(sa.update(Person).where(Person.id == ana).values(city=None))
    assert _listed(db, "postcards") == []


def test_via_webhook_the_piece_reaches_the_outbox_with_the_address(db: Database, clock: FrozenClock) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("books", BOOK), clock=clock)
    ana = _person(
        db, clock, "ana@acme.example", first_name="Ana", last_name="Silva", company="Acme", **BERLIN
    )
    bo = _person(db, clock, "bo@beta.example")
    _enrol(db, clock, "books", ana, bo)
    sweeper(db, clock, Settings(webhook_url=None)).run_once()
    with db.read() as s:
        (hook,) = s.scalars(sa.select(Outbox).where(Outbox.channel == "webhook"))
        data = hook.payload["data"]
        assert hook.payload["event"] == "sequence.book_requested" and data["piece"] == "Field guide"
        assert data["sku"] == "FG-1" and data["person_id"] == ana and data["sequence"] == "books"
        assert data["address"] == {
            "name": "Ana Silva",
            "company": "Acme",  # the account's name
            "street": "Hauptstraße 12",
            "postcode": "10115",
            "city": "Berlin",
            "state": None,
            "country": "DE",
        }
        assert s.scalar(sa.select(sa.func.count()).select_from(DirectMail)) == 0  # not a list
        (report,) = queries.report(s)
        assert (report.pieces, report.pieces_skipped) == (1, {"no_address": 1})
    assert sorted(_postal_log(db)) == [
        ("book", "no_address", "no street, no postcode, no city, no country"),
        ("book", "queued", "Field guide"),
    ]
    assert_invariant(db)


@pytest.mark.parametrize("via", ["list", "webhook"])
def test_who_withdrew_from_everything_gets_no_post_but_leaving_one_e_mail_type_does_not_stop_it(
    db: Database, clock: FrozenClock, via: str
) -> None:
    step = (
        "direct_mail: {piece: Card, via: webhook, event: card}"
        if via == "webhook"
        else "direct_mail: {piece: Card}"
    )
    with db.write() as s:
        activate_sequence(s, sequence_text("cards", f"  - id: card\n    {step}\n"), clock=clock)
    # `email_opt_in` false on capture withdraws everything (consent); enrolled by hand all the same.
    out = _person(db, clock, "out@acme.example", opt_in="false", **BERLIN)
    fine = _person(db, clock, "fine@acme.example", **BERLIN)
    with db.write() as s:  # leaves the newsletter in the preference centre: post is not e-mail
        set_preferences(s, link(db, clock, fine, "fine@acme.example"), {"product_updates"}, now=clock())
    _enrol(db, clock, "cards", out, fine)
    sweeper(db, clock, Settings(webhook_url=None)).run_once()
    done = "listed" if via == "list" else "queued"
    assert sorted(_postal_log(db)) == [
        ("card", done, "Card"),
        ("card", "unsubscribed", "may not be sent post: unsubscribed"),
    ]
    with db.read() as s:
        people = {r.person_id for r in s.scalars(sa.select(DirectMail))}
        hooks = [
            o.payload["data"]["person_id"]
            for o in s.scalars(sa.select(Outbox).where(Outbox.channel == "webhook"))
        ]
    assert (people, hooks) == (({fine}, []) if via == "list" else (set(), [fine]))
    assert {e.state for e in enrolments(db)} == {"completed"}
    assert_invariant(db)


@pytest.mark.parametrize("how", ["unsubscribe", "erasure"])
def test_a_listed_person_who_then_withdraws_from_everything_or_is_erased_leaves_the_list(
    db: Database, clock: FrozenClock, how: str
) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("cards", "  - direct_mail: {piece: Card}\n"), clock=clock)
    ana = _person(db, clock, "ana@acme.example", **BERLIN)
    bo = _person(db, clock, "bo@beta.example", **{**BERLIN, "street": "Hauptstraße 14"})
    _enrol(db, clock, "cards", ana, bo)
    sweeper(db, clock, Settings()).run_once()
    assert [r[2] for r in _listed(db, "cards")] == ["Hauptstraße 12", "Hauptstraße 14"]
    with db.write() as s:
        if how == "unsubscribe":
            unsubscribe(s, link(db, clock, ana, "ana@acme.example"), now=clock())
        else:
            erase_person(s, ana, now=clock(), by_user_id=None)
    assert [r[2] for r in _listed(db, "cards")] == ["Hauptstraße 14"]
    with db.read() as s:
        assert list(s.scalars(sa.select(DirectMail.person_id))) == [bo]


def test_the_what_if_counts_the_pieces_and_who_would_be_skipped(db: Database, clock: FrozenClock) -> None:
    text = sequence_text("cards", POSTCARD_THEN_MAIL, triggers="{activities: [form_submit]}")
    capture_people(db, clock, {"email_opt_in": "true", "email": "ana@acme.example", **BERLIN})
    capture_people(db, clock, {"email_opt_in": "true", "email": "bo@beta.example"})
    with db.read() as s:
        summary = preview(s, SEQUENCES, parse_sequence(text), now=clock())
    assert summary["entering"] == 2
    assert (summary["direct_mail"], summary["direct_mail_skipped"]) == (1, {"no_address": 1})


def test_an_imported_street_lands_under_any_of_its_usual_headers(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    path = make_csv(
        ["E-Mail", "Straße", "PLZ", "Ort", "Land"],
        [["ana@acme.example", "Hauptstraße 12", "10115", "Berlin", "DE"]],
    )
    other = make_csv(
        ["Email", "Address Line 1", "Zip", "City", "Country"],
        [["bo@beta.example", "1 Main St", "94105", "SF", "US"]],
    )
    for p in (path, other):
        run_import(db, "people", p, now=clock)
    with db.read() as s:
        got = {e: st for e, st in s.execute(sa.select(Person.email, Person.street))}
    assert got == {"ana@acme.example": "Hauptstraße 12", "bo@beta.example": "1 Main St"}


def test_migration_0026_adds_the_street_and_the_lists_and_takes_them_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        downgrade(engine, "0025")
        names = sa.inspect(engine)
        assert "street" not in {c["name"] for c in names.get_columns("people")}
        assert not names.has_table("direct_mail")
        upgrade(engine)
        names = sa.inspect(engine)
        assert "street" in {c["name"] for c in names.get_columns("people")} and names.has_table("direct_mail")
    finally:
        upgrade(engine)
        engine.dispose()
