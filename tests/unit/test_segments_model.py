"""A segment definition's rules, pure: what is refused (and where it is said to be), what reads time,
what the builder's rows become and back."""

from __future__ import annotations

import pytest

from leadloop.core.yamldoc import DocumentError
from leadloop.segments.builder import Builder, Row, draft_of, from_definition
from leadloop.segments.document import parse_text, to_text
from leadloop.segments.model import describe
from leadloop.segments.parse import DefinitionError, parse_definition, where


@pytest.mark.parametrize(
    ("doc", "at", "words"),
    [
        (
            {"match": {"field": "person.colour", "op": "=", "value": "x"}},
            "match.field",
            "did you mean person.country",
        ),
        ({"match": {"field": "fit", "op": "contains", "value": 1}}, "match.op", "does not apply to fit"),
        (
            {"match": {"did": "pricing_page_view", "within_days": -3}},
            "match.within_days",
            "-3 days is not possible",
        ),
        ({"match": {"did": "pricing_page_view", "at_least": 3, "at_most": 1}}, "match", "no one could match"),
        ({"match": {"field": "fit", "op": "between", "value": [50, 10]}}, "match.value", "swap them"),
        ({"match": {"field": "engagement", "op": ">=", "value": 0}}, "match.value", "above 0"),
        ({"match": {"lead": {"stage": ["recyled"]}}}, "match.lead.stage", "did you mean recycled"),
        ({"match": {"lead": {"owner": "bob"}}}, "match.lead.owner", "user:ID"),
        ({"match": {"all": []}}, "match.all", "at least one condition"),
        (
            {"match": {"any": [{"field": "fit", "op": ">=", "value": 1}], "all": []}},
            "match",
            "nothing beside it",
        ),
        ({"match": {"field": "consent.email", "op": "is", "value": "yes"}}, "match.value", "opted_in"),
        ({"conditions": []}, "", "match"),
        ({"schema": 2, "match": {"field": "fit", "op": "is_set"}}, "schema", "schema 2 is not known"),
    ],
)
def test_a_definition_that_cannot_work_is_refused_saying_where(
    doc: dict[str, object], at: str, words: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(doc)
    found = [(where(path), message) for path, message in caught.value.problems]
    assert any(place == at and words in message for place, message in found), found


def test_every_problem_is_reported_at_once_and_a_document_says_its_line() -> None:
    text = "match:\n  all:\n    - field: fit\n      op: '>='\n      value: lots\n    - did: webinar\n"
    with pytest.raises(DocumentError) as caught:
        parse_text(text)
    assert [line for line, _ in caught.value.problems] == [5, 6]


def test_deep_nesting_and_too_many_conditions_are_bounded() -> None:
    deep: dict[str, object] = {"field": "fit", "op": "is_set"}
    for _ in range(10):
        deep = {"not": deep}
    with pytest.raises(DefinitionError, match="nest more than"):
        parse_definition({"match": deep})
    many = {"match": {"any": [{"field": "fit", "op": ">=", "value": i} for i in range(60)]}}
    with pytest.raises(DefinitionError, match="at most 50 conditions"):
        parse_definition(many)


def test_what_reads_time_is_rebuilt_on_the_clock() -> None:
    def ticking(doc: dict[str, object]) -> bool:
        return parse_definition({"match": doc}).time_dependent

    assert ticking({"did": "pricing_page_view", "within_days": 14})
    assert ticking({"field": "engagement", "op": ">=", "value": 20})
    assert ticking({"field": "person.created_at", "op": "in_last_days", "value": 30})
    assert not ticking({"did": "pricing_page_view", "at_least": 2})
    assert not ticking({"field": "person.created_at", "op": "before", "value": "2026-01-01"})
    assert not ticking({"field": "fit", "op": ">=", "value": 50})


def test_the_stored_document_reads_back_the_same_and_says_itself_in_words() -> None:
    d = parse_definition(
        {
            "match": {
                "all": [
                    {"field": "account.country", "op": "in", "value": ["DE", "AT"]},
                    {"did": "pricing_page_view", "at_least": 2, "within_days": 14},
                    {"not": {"did": "webinar_attended"}},
                ]
            }
        }
    )
    assert parse_definition(d.document()) == d
    assert parse_text(to_text(d)) == d
    assert describe(d.match) == (
        "Account country is one of DE, AT and did pricing page view at least 2 times in the last 14 days"
        " and never did webinar attended"
    )
    assert d.kinds == frozenset({"firmographics", "behaviour"})


def test_the_builders_rows_become_the_definition_and_back() -> None:
    form = {
        "mode": "builder",
        "combine": "any",
        "field-0": "grade",
        "op-0": "in",
        "value-0": "A, B",
        "field-1": "did",
        "op-1": "never",
        "value-1": "webinar_attended",
        "days-1": "90",
        "field-2": "lead.stage",
        "op-2": "not_in",
        "value-2": "won, lost",
        "not-0": "on",
    }
    draft = draft_of(form)
    assert draft.definition is not None and not draft.problems
    back = from_definition(draft.definition)
    assert back is not None and back.combine == "any"
    assert [(r.field, r.op, r.value, r.negate) for r in back.rows] == [
        ("grade", "in", "A, B", True),
        ("did", "never", "webinar_attended", False),
        ("lead.stage", "not_in", "won, lost", False),
    ]
    assert back.rows[1].days == "90"
    # Groups within groups are edited as the document, not as rows.
    nested = parse_definition({"match": {"all": [{"any": [{"field": "fit", "op": "is_set"}]}]}})
    assert from_definition(nested) is None


def test_a_wrong_row_is_named_by_its_number_and_a_switch_keeps_the_conditions() -> None:
    form = {"mode": "builder", "combine": "all", "field-0": "fit", "op-0": ">=", "value-0": "50"}
    form |= {"field-1": "fit", "op-1": ">=", "value-1": "many"}
    draft = draft_of(form)
    assert [(p.row, str(p)) for p in draft.problems] == [(1, "condition 2: expected a number, not 'many'")]
    as_text = draft_of(form, to="document")
    assert as_text.mode == "document" and "many" in as_text.text
    back = draft_of(
        {
            "mode": "document",
            "document": to_text(parse_definition({"match": {"field": "fit", "op": "is_set"}})),
        },
        to="builder",
    )
    assert back.mode == "builder" and back.builder == Builder("all", (Row("fit", "is_set", ""),))
