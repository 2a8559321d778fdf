"""A sequence is refused at save time, with the line, for what would go wrong while it runs: a wait
of zero or less, a branch on an unknown field or step, a loop with no wait, a template with an
unknown variable or one reaching into Python. The shipped example is valid and round-trips."""

from __future__ import annotations

import pytest

from leadloop.core.yamldoc import DocumentError
from leadloop.nurture.checks import parse_sequence, sequence_warnings
from leadloop.nurture.document import SequenceDocumentError
from leadloop.nurture.repository import default_sequence
from leadloop.nurture.templates import Footer, check, render_html, render_message, render_text

HEAD = "name: t\nsteps:\n"


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(DocumentError) as exc:
        parse_sequence(text)
    return exc.value.problems


def test_the_shipped_sequence_is_valid_and_round_trips_through_yaml() -> None:
    doc = default_sequence()
    assert parse_sequence(doc.to_yaml()) == doc
    assert sequence_warnings(doc) == []
    assert "|" in doc.to_yaml()  # templates come back as blocks, the way people write them


@pytest.mark.parametrize(
    ("wait", "words"),
    [
        ("{days: -1}", "a wait of -1 days is not a wait"),
        ("{hours: 0}", "a wait of 0 hours"),
        ("{}", "exactly one"),
    ],
)
def test_a_wait_of_nothing_or_less_is_refused_with_its_line(wait: str, words: str) -> None:
    text = HEAD + "  - email: {subject: Hi, text: Hello}\n" + f"  - wait: {wait}\n"
    ((line, message),) = problems(text)
    assert line == 4 and words in message


def test_a_branch_on_an_unknown_field_or_step_is_refused() -> None:
    text = (
        HEAD
        + "  - id: hello\n    email: {subject: Hi, text: Hello}\n"
        + "  - branch: {if: {field: {name: shoe_size, equals: '42'}}}\n"
        + "  - branch: {if: {opened: goodbye}, then: nowhere}\n"
        + "  - branch: {if: {field: {name: account.industry, in: [Software]}}}\n"
        + "  - branch: {if: {field: {name: attributes.plan, present: true}}}\n"
    )
    found = problems(text)
    assert [line for line, _ in found] == [5, 6, 6]
    assert "no field 'shoe_size'" in found[0][1]
    assert "'goodbye' is not an e-mail step; e-mail steps: hello" in found[1][1]
    assert "then 'nowhere' is not a step" in found[2][1]


def test_a_loop_without_a_wait_is_refused_and_one_with_a_wait_is_not() -> None:
    loop = (
        HEAD
        + "  - id: a\n    email: {subject: Hi, text: Hello}\n"
        + "  - id: b\n    branch: {if: {clicked: a}, then: end}\n"
        + "  - goto: a\n"
    )
    ((line, message),) = problems(loop)
    assert line == 3 and "a → b → 3 → a loop without a wait" in message
    waits = loop.replace("  - goto: a\n", "  - wait: {days: 30}\n  - goto: a\n")
    assert parse_sequence(waits).ids() == ["a", "b", "3", "4"]
    # A wait until a date takes time only once: it does not break a loop.
    dated = loop.replace("  - goto: a\n", "  - wait: {until: 2027-01-01}\n  - goto: a\n")
    assert "loop without a wait" in problems(dated)[0][1]


def test_templates_with_an_unknown_variable_or_a_sandbox_escape_are_refused_with_the_line() -> None:
    text = (
        HEAD
        + "  - email:\n"
        + "      subject: Hi {{ first_name | default('there') }}\n"
        + "      text: |\n"
        + '        Hello {{ first_name | default("there") }},\n'
        + "        your {{ shoe_size }} shoes.\n"
        + "        {{ ''.__class__.__mro__[1].__subclasses__() }}\n"
        + "        {{ cycler.__init__.__globals__.os }}\n"
    )
    found = problems(text)
    assert [line for line, _ in found] == [7, 8, 9, 9]
    assert "line 2 of the template: unknown variable 'shoe_size'" in found[0][1]
    assert "reaches into Python and is refused" in found[1][1] and "reaches into Python" in found[2][1]
    assert "unknown variable 'cycler'" in found[3][1]


def test_filters_beyond_the_safe_list_and_syntax_errors_are_refused() -> None:
    assert "No filter named 'attr'" in check("{{ first_name | attr('x') }}")[0][1]
    assert check("{% for x in %}")[0][1].startswith("template syntax:")
    assert check("{{ first_name | default('there') | title }}") == []
    # Arguments a filter cannot use fail in a trial render at save time, with their line.
    ((line, message),) = check("Hi\n{{ first_name | truncate('x') }}")
    assert line == 2 and message.startswith("the template fails when rendered: TypeError")


def test_a_fallback_renders_for_a_missing_value_and_html_is_escaped() -> None:
    assert render_text("Hi {{ first_name | default('there') }}!", {"first_name": None}) == "Hi there!"
    assert render_text("Hi {{ first_name | default('there') }}!", {"first_name": "Ana"}) == "Hi Ana!"
    assert render_html("<b>{{ first_name }}</b>", {"first_name": "<script>"}) == "<b>&lt;script&gt;</b>"
    out = render_message(
        subject="Hello\n{{ first_name }}",
        text="Hi {{ first_name }},\n\nsecond <para>.",
        html_source=None,
        values={"first_name": "Ana"},
        footer=Footer("Priya Patel", "1 Main St", "https://x.example/u/t"),
    )
    assert out.subject == "Hello Ana"
    assert out.text.endswith("--\nPriya Patel\n1 Main St\nNo more of these e-mails: https://x.example/u/t\n")
    assert "<p>second &lt;para&gt;.</p>" in out.html and 'href="https://x.example/u/t"' in out.html


def test_settings_are_checked_and_warnings_are_given() -> None:
    found = problems(
        "name: t\nwindow: {start: '18:00', end: '09:00', zone: Mars/Olympus}\nfrom: sender\n"
        "triggers: {stages: [mql], activities: [telepathy]}\nsteps:\n  - email: {subject: a, text: b}\n"
    )
    words = " | ".join(m for _, m in found)
    assert "ends before it starts" in words and "unknown time zone 'Mars/Olympus'" in words
    assert "from: sender needs a `sender`" in words and "not 'mql'" in words and "'telepathy'" in words
    doc = parse_sequence(
        "name: t\nwindow: {start: 9:00, end: 17:00}\nsteps:\n  - email: {subject: a, text: '{{ title }}'}\n"
    )
    assert (doc.window.start, doc.window.end) == ("09:00", "17:00")  # YAML's 17:00 is 1020 in base 60
    warnings = " | ".join(sequence_warnings(doc))
    assert (
        "no trigger" in warnings
        and "without a sender" in warnings
        and "{{ title }} without a default" in warnings
    )


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("Hi\n{{ (2 ** 3000000) | length }}", "arithmetic (**)"),
        ("{{ 9**9**9 }}", "arithmetic (**)"),
        ("{{ 'a' * 100000000 }}", "arithmetic (*)"),
        ("x\ny\n{% for a in 'xxxxxxxxxx' %}{% for b in 'xxxxxxxxxx' %}.{% endfor %}{% endfor %}", "a loop"),
        ("{% macro m() %}x{% endmacro %}", "a macro"),
        ("{% include 'other.html' %}", "an include"),
    ],
)
def test_a_template_that_computes_or_loops_is_refused_before_it_is_compiled(source: str, words: str) -> None:
    """Jinja folds constants while compiling: `2 ** 3000000` would run (and `9**9**9` never end) in
    the save request itself, then again in the worker at every send."""
    problems = check(source)
    assert problems and all(words in p[1] or "refused" in p[1] for p in problems), problems
    assert any(words in p[1] for p in problems)
    assert problems[0][0] == source[: source.index("{")].count("\n") + 1


def test_a_sender_name_with_a_line_break_is_refused_at_save_time() -> None:
    text = (
        'name: t\nsender: {name: "Priya\\r\\nBcc: all@example.com", email: priya@ourco.io}\n'
        "steps:\n  - email: {subject: Hi, text: Hello.}\n"
    )
    with pytest.raises(SequenceDocumentError) as caught:
        parse_sequence(text)
    assert "sender" in str(caught.value) and "line 2" in str(caught.value)
