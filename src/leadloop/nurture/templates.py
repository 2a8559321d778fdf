"""E-mail templates: sandboxed Jinja2, checked when a sequence is saved and rendered when a step
sends. Pure: no database.

A template may use the variables in `VARIABLES` and the filters in `FILTERS`, with fallbacks such as
`{{ first_name | default("there") }}`. It may not reach for attributes, items or calls at all
(`{{ first_name.__class__ }}`, `{{ cycler.__init__.__globals__ }}`): a person's name is a string, and
the filters do everything a drip e-mail needs. The check is static, at save time, with the line;
the sandbox stays on when rendering as a second wall.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

# What a template may name. Missing values render as nothing unless a `default` gives a fallback.
VARIABLES: dict[str, str] = {
    "first_name": "the person's first name",
    "last_name": "the person's last name",
    "email": "the person's e-mail address",
    "title": "the person's job title",
    "company": "the company name (the account's, else what the person typed)",
    "city": "the person's city",
    "country": "the person's country (ISO code)",
    "product": "the product of the lead",
    "sender_name": "the name the e-mail is sent in (the owner or the pre-sales contact)",
    "sender_email": "the address the e-mail is sent from and replies go to",
}
FILTERS = (
    "default",
    "d",
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "truncate",
    "replace",
    "escape",
    "e",
    "wordcount",
    "length",
)
Problem = tuple[int, str]  # (line in the template, 1-based; the sentence)


def _environment(*, autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=autoescape, undefined=Undefined, keep_trailing_newline=True)
    env.filters = {name: env.filters[name] for name in FILTERS}
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict
    return env


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)
_FORBIDDEN = (nodes.Getattr, nodes.Getitem, nodes.Call)


# What a drip e-mail never needs and what could make a check or a send run for ever (`9**9**9`,
# nested loops over a long string): refused before the template is even compiled, since Jinja folds
# constants (`2 ** 3000000`) while compiling.
_HEAVY = (
    nodes.Pow,
    nodes.Mul,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.For,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
)


def check(source: str) -> list[Problem]:
    """Every problem of one template, with its line: syntax, an unknown filter, an attribute, item
    or call (a sandbox escape is one of these), arithmetic or a loop, a variable outside `VARIABLES`."""
    try:
        tree = _TEXT.parse(source)
    except TemplateSyntaxError as exc:
        return [(exc.lineno or 1, _syntax(exc))]
    out: list[Problem] = []
    inner: set[int] = set()  # `a.b.c` is one problem, not three
    for node in tree.find_all(_FORBIDDEN):
        if id(node) in inner:
            continue
        inner |= {id(n) for n in node.find_all(_FORBIDDEN)}
        out.append(
            (
                node.lineno,
                "a template may use variables and filters only, like {{ first_name | upper }}; "
                f"`{_shown(node)}` reaches into Python and is refused",
            )
        )
    for heavy in tree.find_all(_HEAVY):
        out.append(
            (
                heavy.lineno,
                f"a template fills in values; {_HEAVY_WORDS.get(type(heavy), 'this')} is refused "
                "(use variables, filters and if/else)",
            )
        )
    if any(True for _ in tree.find_all(_HEAVY)):
        return sorted(set(out))  # nothing below may run on it: compiling folds its constants
    try:
        undeclared = meta.find_undeclared_variables(tree)
        _TEXT.compile(tree)  # unknown filters are found when compiling, not parsing
    except TemplateSyntaxError as exc:
        return [(exc.lineno or 1, _syntax(exc))]
    except Exception as exc:  # anything else compiling raises is a problem of the template, not a 500
        return [(1, f"the template cannot be compiled: {type(exc).__name__}")]
    for name in sorted(undeclared - set(VARIABLES)):
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), 1)
        out.append((line, f"unknown variable {name!r}; a template may use {', '.join(VARIABLES)}"))
    if out:
        return sorted(set(out))
    return _trial(source)


_HEAVY_WORDS: dict[type[nodes.Node], str] = {
    nodes.Pow: "arithmetic (**)",
    nodes.Mul: "arithmetic (*)",
    nodes.FloorDiv: "arithmetic (//)",
    nodes.Mod: "arithmetic (%)",
    nodes.For: "a loop ({% for %})",
    nodes.Macro: "a macro",
    nodes.CallBlock: "a call block",
    nodes.Include: "an include",
    nodes.Import: "an import",
    nodes.FromImport: "an import",
    nodes.Extends: "extends",
}


def _trial(source: str) -> list[Problem]:
    """Render once with every variable and once with none: a filter given arguments it cannot use
    (`truncate("x")`) fails here, at save time, not on a person's step months later."""
    for values in ({name: "Sample" for name in VARIABLES}, {}):
        for mode in (False, True):
            try:
                _compiled(source, mode).render(_context(values))
            except Exception as exc:  # anything a render can raise is a problem of the template
                return [(_line_of(exc), f"the template fails when rendered: {type(exc).__name__}: {exc}")]
    return []


def _line_of(exc: Exception) -> int:
    """The template line a render error came from (Jinja compiles templates to <template> code)."""
    tb = exc.__traceback__
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class RenderFailed(Exception):
    """A template that passed its checks failed for one person's values: the step is not sent."""


def without_fallback(source: str) -> list[str]:
    """Variables used bare (no `default`, not tested by an `if`): people missing them see nothing there."""
    try:
        tree = _TEXT.parse(source)
    except TemplateSyntaxError:
        return []
    guarded = {id(f.node) for f in tree.find_all(nodes.Filter) if f.name in ("default", "d")}
    for test in tree.find_all(nodes.If):
        guarded |= {id(n) for n in test.test.find_all(nodes.Name)} | (
            {id(test.test)} if isinstance(test.test, nodes.Name) else set()
        )
    tested = {n.name for n in tree.find_all(nodes.Name) if id(n) in guarded}
    bare = {n.name for n in tree.find_all(nodes.Name) if id(n) not in guarded and n.ctx == "load"}
    return sorted((bare - tested) & set(VARIABLES) - {"email", "sender_name", "sender_email"})


def _syntax(exc: TemplateSyntaxError) -> str:
    message = str(exc.message or exc).rstrip(".")
    if "No filter named" in message:
        return f"{message}; the filters are {', '.join(f for f in FILTERS if len(f) > 1)}"
    return f"template syntax: {message}"


def _shown(node: nodes.Node) -> str:
    if isinstance(node, nodes.Getattr):
        return f"{_shown(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_shown(node.node)}[...]"
    if isinstance(node, nodes.Call):
        return f"{_shown(node.node)}(...)"
    if isinstance(node, nodes.Name):
        return node.name
    return type(node).__name__.lower()


@functools.lru_cache(maxsize=512)
def _compiled(source: str, html_mode: bool) -> Any:
    return (_HTML if html_mode else _TEXT).from_string(source)


def _context(values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the variables that have a value: a missing one is undefined, so `default` applies."""
    return {k: v for k, v in values.items() if k in VARIABLES and v not in (None, "")}


def render_text(source: str, values: Mapping[str, Any]) -> str:
    return str(_compiled(source, False).render(_context(values)))


def render_html(source: str, values: Mapping[str, Any]) -> str:
    return str(_compiled(source, True).render(_context(values)))


def text_to_html(text: str) -> str:
    """The HTML part of a message written as text only: paragraphs and line breaks, escaped."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return "\n".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_message(
    *, subject: str, text: str, html_source: str | None, values: Mapping[str, Any], footer: Footer
) -> Rendered:
    """Subject (one line), text and HTML parts, each with the footer (who sent it, the physical
    address, how to stop these e-mails)."""
    try:
        line = " ".join(render_text(subject, values).split())
        body = render_text(text, values).rstrip()
        page = render_html(html_source, values) if html_source else text_to_html(body)
    except Exception as exc:  # a value the checks could not foresee; the caller records it
        raise RenderFailed(f"{type(exc).__name__}: {exc}"[:250]) from exc
    return Rendered(line, f"{body}\n\n{footer.text()}\n", f"{page}\n{footer.html()}\n")


@dataclass(frozen=True)
class Footer:
    sender: str  # "Priya Patel, Example Ltd"
    postal_address: str  # the sender's physical address (CAN-SPAM and its kin ask for it)
    unsubscribe_url: str | None

    def text(self) -> str:
        lines = ["--", self.sender]
        if self.postal_address:
            lines.append(self.postal_address)
        if self.unsubscribe_url:
            lines.append(f"No more of these e-mails: {self.unsubscribe_url}")
        return "\n".join(lines)

    def html(self) -> str:
        parts = [html.escape(self.sender)]
        if self.postal_address:
            parts.append(html.escape(self.postal_address))
        if self.unsubscribe_url:
            url = html.escape(self.unsubscribe_url, quote=True)
            parts.append(f'<a href="{url}">No more of these e-mails</a>')
        return '<hr><p style="font-size:small;color:#555">' + "<br>".join(parts) + "</p>"
