"""Codes reach pages as words: every code of the vocabularies the pages show has a label, and no
template spells a code out by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadloop.auth.audit import KINDS as AUDIT_KINDS
from leadloop.auth.model import Role
from leadloop.contract.vocab import ACTIVITY_TYPES
from leadloop.core import labels
from leadloop.core.labels import label
from leadloop.lifecycle.model import Stage, Trigger
from leadloop.routing.document import DEFAULT_REJECT_REASONS

TEMPLATES = Path(labels.__file__).parent / "templates"


@pytest.mark.parametrize(
    ("codes", "vocabulary"),
    [
        ([s.value for s in Stage], labels.STAGES),
        ([t.value for t in Trigger], labels.TRIGGERS),
        (list(DEFAULT_REJECT_REASONS), labels.REJECT_REASONS),
        (list(ACTIVITY_TYPES), labels.ACTIVITY_TYPES),
        ([r.value for r in Role], labels.ROLES),
        (sorted({channel for channel, _ in ACTIVITY_TYPES.values()}), labels.SOURCES),
        (list(AUDIT_KINDS), labels.AUDIT_EVENTS),
    ],
    ids=["stages", "triggers", "reject-reasons", "activity-types", "roles", "channels", "audit-events"],
)
def test_every_code_has_a_label(codes: list[str], vocabulary: dict[str, str]) -> None:
    missing = [c for c in codes if c not in vocabulary]
    assert not missing, f"add a label for {missing} in src/leadloop/core/labels.py"
    for code in codes:
        words = vocabulary[code]
        assert words and words[0].isupper() and "_" not in words, (code, words)
        assert words.count("(") == words.count(")") <= 1, f"{code}: one pair of parentheses at most"


def test_the_words_a_person_reads() -> None:
    assert label("no_budget") == "No budget"
    assert label("sal") == "Sales accepted (SAL)"
    assert label("mql") == "Marketing qualified (MQL)"
    assert label(Stage.SQL) == "Sales qualified (SQL)"
    assert label("demo_request") == "Demo request"
    assert label("manager") == "Sales manager"


def test_a_code_in_two_vocabularies_takes_the_one_named() -> None:
    assert label("mql") == "Marketing qualified (MQL)"  # a stage first
    assert label("mql", "trigger") == "Became an MQL"  # the routing decision's reason
    assert label("rejected", "trigger") == "Rejected by sales"


def test_an_unknown_code_still_reads_as_words() -> None:
    assert label("timing_not_right") == "Timing not right"  # a reason an admin wrote into the rules
    assert label("timing_not_right", "reason") == "Timing not right"
    assert label("") == ""
    assert label(None) == ""


def test_an_unknown_vocabulary_is_a_mistake_in_the_template() -> None:
    with pytest.raises(KeyError):
        label("mql", "stages")


def test_no_template_spells_a_code_out_by_hand() -> None:
    # `.replace('_', ' ')` was the old way: "no budget", lower case, and no word for "sal".
    by_hand = re.compile(r"""replace\(\s*['"]_['"]""")
    offenders = [p.name for p in sorted(TEMPLATES.glob("*.html")) if by_hand.search(p.read_text())]
    assert not offenders, f"use the `label` filter (core/labels.py) in {offenders}"
    raw_stage = re.compile(r"""class="badge \{\{ *(\w+\.)?stage *\}\}">\{\{ *(\w+\.)?stage *\}\}""")
    offenders = [p.name for p in sorted(TEMPLATES.glob("*.html")) if raw_stage.search(p.read_text())]
    assert not offenders, f"a stage badge shows the raw code in {offenders}: use `| label`"


def test_a_small_chance_never_reads_as_none() -> None:
    from leadloop.core.labels import percent

    assert [percent(p) for p in (None, 0.0, 0.0023, 0.0099, 0.01, 0.42, 1.0)] == [
        "—",
        "0%",
        "0.2%",
        "1.0%",
        "1%",
        "42%",
        "100%",
    ]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "—"),
        (4.25, "4.2 min"),
        (35, "35 min"),
        (150, "2.5 h"),
        (3000, "2.1 days"),
        (209_585.1, "146 days"),
    ],
)
def test_minutes_read_as_a_person_says_them(value: float | None, words: str) -> None:
    from leadloop.core.labels import minutes

    assert minutes(value) == words
