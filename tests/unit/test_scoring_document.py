"""Scoring model documents: every mistake named with its line; a bad model never parses."""

from __future__ import annotations

from importlib import resources

import pytest

from leadloop.scoring.document import ModelDocumentError, parse_model

GOOD = """\
name: test
fit:
  rules:
    - id: senior
      when: {field: person.seniority, in: [VP, Director]}
      points: 40
engagement:
  half_life_days: 14
  weights: {demo_request: 40}
"""


def _problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ModelDocumentError) as info:
        parse_model(text)
    return info.value.problems


def test_the_shipped_default_model_is_valid_and_round_trips() -> None:
    text = resources.files("leadloop.scoring").joinpath("default_model.yaml").read_text()
    model = parse_model(text)
    assert model.engagement.mql_threshold == 60
    assert parse_model(model.to_yaml()) == model


def test_unknown_field_names_its_line() -> None:
    problems = _problems(GOOD.replace("  half_life_days: 14", "  half_life_days: 14\n  halflife: 3"))
    assert problems == [(9, "engagement.halflife: unknown field")]


def test_unknown_activity_type_names_its_line_and_the_known_types() -> None:
    ((line, msg),) = _problems(GOOD.replace("{demo_request: 40}", "\n    demo_request: 40\n    telepathy: 5"))
    assert line == 11 and "unknown activity type 'telepathy'" in msg and "pricing_page_view" in msg


def test_negative_half_life_is_refused_with_its_line() -> None:
    assert _problems(GOOD.replace("half_life_days: 14", "half_life_days: -3")) == [
        (8, "half_life_days must be positive, not -3.0")
    ]


def test_cyclic_rules_are_named() -> None:
    text = """\
name: cyclic
fit:
  rules:
    - id: a
      when: {rule: b}
      points: 1
    - id: b
      when: {all: [{rule: a}, {field: account.employees, gte: 10}]}
      points: 1
"""
    ((line, msg),) = _problems(text)
    assert line == 4 and "cycle: a -> b -> a" in msg


def test_unknown_person_field_and_missing_test() -> None:
    problems = _problems(GOOD.replace("person.seniority, in: [VP, Director]", "person.shoe_size"))
    assert any("unknown field 'person.shoe_size'" in m for _, m in problems)
    assert any("needs one of equals, in, contains" in m for _, m in problems)
    assert all(line == 5 for line, _ in problems)


def test_not_yaml_at_all() -> None:
    ((line, msg),) = _problems("name: [unclosed")
    assert line == 1 and msg.startswith("not valid YAML")


def test_thresholds_must_make_sense() -> None:
    problems = _problems(GOOD + "  lead_open_threshold: 50\n  mql_threshold: 10\n")
    assert problems == [(11, "need 0 < lead_open_threshold <= mql_threshold")]
