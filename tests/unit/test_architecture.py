"""The shape of the code, checked: no import cycles between modules, none between capabilities, no
capability calling another's use cases, and pure rules importing no I/O library. A failure names
the import to remove and says where the dependency should go instead."""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "leadloop"

# Modules that are use cases (they write, or they are an entry point). Another capability may not
# import them: it publishes an event and `leadloop.bootstrap` wires the reaction instead.
USE_CASES = {
    "auth": {"handlers", "web"},
    # "__init__": the package re-exports its use cases (`from leadloop.capture import ingest_people`).
    "capture": {"__init__", "people", "activities", "log", "crm", "intake", "importer", "export", "web"}
    # Import in the app (issue 13): its runs, the carry-over of a peer CRM's state, its pages.
    | {"runs", "carryover", "import_web"}
    # Bounces and complaints (issue 14, item 3): recording delivery reports, and their webhooks.
    | {"delivery", "mailin", "hooks_web"},
    "enrich": {"handlers"},
    "identity": {"merge", "account_merge", "review", "account_review", "warehouse", "web", "account_web"}
    | {"refit"},  # re-fitting and activating the matcher's model (issue 17, item 4)
    "leads": {"web"},
    "routing": {"handlers", "admin", "web", "reassign", "staff"},
    "scoring": {"handlers", "models", "jobs", "rescore", "web"},
    "timeline": {"web"},
    "edits": {"handlers", "web"},
    # The rep's workbench and in-app notifications (issue 13).
    "work": {"handlers", "web"},
    "notifications": {"handlers", "web"},
    "qualification": {"handlers", "web"},  # the qualification desk (issue 13, item 3)
    # Consent and GDPR (issue 14): a sender reads `consent.gate` (a query), never these.
    "consent": {"handlers", "reactions", "mail", "suppression", "web", "public_web"},
    "privacy": {"erase", "web"},
    # Segments (issue 14): membership writes, so only the composition root wires its reactions.
    "segments": {"handlers", "membership", "reactions", "web"},
    "nurture": {"handlers", "reactions", "web"},  # sequences (issue 14, item 2)
    # E-mail tracking (issue 14): a sender reads `mailtrack.instrument` and `mailtrack.policy`.
    "mailtrack": {"handlers", "public_web"},
    # Conversion and outcomes (issue 15): the ledger writes opportunities, their roles and history.
    "opportunities": {"handlers", "ledger", "web"},
}
# The deliberate exceptions, each with its reason.
ALLOWED = {
    # The lifecycle is the one writer of a lead's stage and owner: everyone asks it (ADR 0012).
    ("*", "leadloop.lifecycle.handlers"),
    # Capture asks identity who a new person is, inside its transaction, because the id it returns
    # may be a merge's survivor (ADR 0009): a question with an answer, not a reaction.
    ("capture", "leadloop.identity.resolve"),
    # The ledger is the one writer of opportunities and their history (ADR 0035): an import from
    # another CRM writes through it as a conversion in the app does, so each change is one row.
    ("capture", "leadloop.opportunities.ledger"),
}
# Entry points sit on top: they may import any use case, and nothing imports them but each other.
# The admin pages are an entry point like the CLI: they call auth's and routing's use cases.
ENTRY_PACKAGES = {"cli", "web", "demo", "admin"}
ENTRY_MODULES = {"leadloop.bootstrap", "leadloop.web.app"}
# Pure rules: no database, web or HTTP library (SQLAlchemy under TYPE_CHECKING is a type only).
PURE = {
    "leadloop.scoring.decay",
    "leadloop.scoring.fit",
    "leadloop.scoring.engagement",
    "leadloop.scoring.document",
    "leadloop.routing.rules",
    "leadloop.routing.pools",
    "leadloop.routing.calendar",
    "leadloop.routing.document",
    "leadloop.identity.match",
    "leadloop.identity.normal",
    "leadloop.identity.records",
    # The matcher's stored model read back, and a refit's what-if (issue 17, item 4).
    "leadloop.identity.fitted",
    "leadloop.identity.refit_whatif",
    "leadloop.contract.normalise",
    "leadloop.contract.vocab",
    "leadloop.contract.headers",
    "leadloop.core.events",
    "leadloop.core.errors",
    # Import in the app (issue 13)
    "leadloop.contract.peers",
    "leadloop.capture.run_state",
    # SLA (the sla work): the clock, the escalation digest and the what-if's kinds of change.
    "leadloop.routing.clock",
    "leadloop.routing.digest",
    "leadloop.routing.whatif",
    # Hand-raise fast track (issue 13): its rules, the title reader and fit over columns.
    "leadloop.scoring.hand_raise",
    "leadloop.scoring.fit_columns",
    "leadloop.contract.titles",
    # Consent and GDPR (issue 14): the send gate's decision, the signed links, what an erasure hashes.
    "leadloop.consent.decision",
    "leadloop.consent.tokens",
    "leadloop.privacy.model",
    # Bounces and complaints (issue 14, item 3): delivery reports, their webhook shapes, signatures.
    "leadloop.capture.mail_events",
    "leadloop.capture.hook_formats",
    "leadloop.capture.hook_signatures",
    # Recycling and reactivation (issue 14): the journey in words and the dormant time.
    "leadloop.lifecycle.journey",
    # Segments (issue 14): the definition, its reading, its meaning, and the builder's rows.
    "leadloop.segments.parse",
    "leadloop.segments.evaluate",
    "leadloop.segments.builder",
    "leadloop.segments.document",
    # Sequences (issue 14, item 2): the document, its templates and the recipient's time zone.
    "leadloop.nurture.document",
    "leadloop.nurture.checks",
    "leadloop.nurture.templates",
    "leadloop.nurture.zones",
    "leadloop.nurture.postal",  # direct mail: is the postal address complete
    # E-mail tracking (issue 14): the signed links, rewriting a message, and who hit it.
    "leadloop.mailtrack.tokens",
    "leadloop.mailtrack.instrument",
    "leadloop.mailtrack.classify",
    # Attribution (issue 15, item 3): the models and the Markov chain.
    "leadloop.analytics.attribution",
    "leadloop.analytics.markov",
    "leadloop.opportunities.model",  # conversion: stages, roles, a step back (issue 15, item 1)
}
IO_LIBRARIES = ("sqlalchemy", "fastapi", "starlette", "httpx", "psycopg", "uvicorn")


def _module_of(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _graph() -> dict[str, set[str]]:
    """Module -> the leadloop modules it imports, at the top or inside a function (a lazy import is
    a dependency all the same), but not under TYPE_CHECKING."""
    paths = [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_of(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        skip = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[_module_of(path)] = deps
    return graph


def _leadloop(deps: set[str]) -> set[str]:
    return {d for d in deps if d == "leadloop" or d.startswith("leadloop.")}


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _is_entry(module: str) -> bool:
    return (
        module in ENTRY_MODULES
        or (
            _package(module) in ENTRY_PACKAGES
            and module != "leadloop.web.deps"
            and module != "leadloop.web.context"
        )
        or module.rsplit(".", 1)[-1] in ("web", "account_web", "import_web", "public_web", "cli")
    )


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_itself_round_a_cycle() -> None:
    graph = {m: _leadloop(d) - {"leadloop"} for m, d in _graph().items()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_capabilities_form_layers_without_cycles() -> None:
    """Below the entry points, capability A importing B and B importing A (however indirectly) is
    a cycle between capabilities: one of them should publish an event instead."""
    packages: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], str] = {}
    for module, deps in _graph().items():
        if _is_entry(module) or module == "leadloop":
            continue
        for dep in _leadloop(deps):
            a, b = _package(module), _package(dep)
            if a != b and dep != "leadloop":
                packages[a].add(b)
                why.setdefault((a, b), f"{module} imports {dep}")
    cycle = _cycle(packages)
    assert cycle is None, "capability cycle: " + "; ".join(why[(a, b)] for a, b in pairwise(cycle or []))


def test_no_capability_calls_another_capabilitys_use_cases() -> None:
    wrong = []
    for module, deps in _graph().items():
        own = _package(module)
        if module in ENTRY_MODULES or own in ENTRY_PACKAGES - {"web"}:
            continue
        for dep in _leadloop(deps):
            other = _package(dep)
            name = "__init__" if dep == f"leadloop.{other}" else dep.rsplit(".", 1)[-1]
            if other == own or name not in USE_CASES.get(other, set()):
                continue
            if ("*", dep) in ALLOWED or (own, dep) in ALLOWED:
                continue
            if own == "web" and dep == "leadloop.auth.handlers":
                continue  # the request guard loads the signed-in principal: the web's own plumbing
            wrong.append(f"{module} imports {dep}")
    assert not wrong, "publish an event and wire the reaction in leadloop.bootstrap instead:\n" + "\n".join(
        wrong
    )


def test_capture_never_imports_routing_scoring_handlers_or_nurture() -> None:
    """Capture publishes what arrived; scoring and routing react (the issue's own example)."""
    wrong = [
        f"{m} imports {d}"
        for m, deps in _graph().items()
        if _package(m) == "capture"
        for d in _leadloop(deps)
        if _package(d) == "routing" or d in ("leadloop.scoring.handlers", "leadloop.scoring.models")
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "module",
    sorted({m for m in _graph() if m.endswith(".model")} | PURE),
)
def test_pure_rules_import_no_io_library(module: str) -> None:
    assert module in _graph(), f"{module} is listed as pure but does not exist"
    io = sorted(d for d in _graph()[module] if d.split(".")[0] in IO_LIBRARIES)
    assert not io, f"{module} is a pure rule but imports {', '.join(io)}"


def test_the_checks_would_catch_a_cycle_and_a_cross_call() -> None:
    """The checks themselves can fail: a made-up graph with a cycle is found."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
