"""The `leadloop` command: every group is listed, `python -m leadloop.cli` runs it, and its modules
form no cycle and take only public names from one another."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import leadloop.cli
from leadloop.cli import app

CLI = Path(leadloop.cli.__file__).parent
COMMANDS = ["serve", "worker", "demo", "import", "export", "dedupe", "enrich", "doctor"]
GROUPS = ["users", "apikeys", "db", "scoring", "routing", "sequences", "report", "opportunity", "matcher"]


def test_help_lists_every_command_and_group() -> None:
    out = CliRunner().invoke(app, ["--help"])
    assert out.exit_code == 0
    for name in COMMANDS + GROUPS:
        assert f" {name} " in out.stdout, name
    for kind in ("scoring", "routing", "sequences"):
        sub = CliRunner().invoke(app, [kind, "--help"]).stdout
        assert all(f" {c} " in sub for c in ("export", "import", "whatif", "activate")), sub


@pytest.mark.slow  # seconds: `make test` runs it, `make test-fast` stays fast
def test_python_dash_m_runs_the_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "leadloop.cli", "routing", "whatif", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "--limit" in out.stdout


def test_nothing_outside_the_cli_imports_it() -> None:
    """The package's __init__ imports every command group. A module outside it that imported a cli
    module, and that a group imports in turn, would be half-initialised when imported first."""
    outside = [p for p in CLI.parent.rglob("*.py") if CLI not in p.parents]
    importers = [str(p.relative_to(CLI.parent)) for p in outside if _cli_imports(p)]
    assert importers == []


def _cli_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every `from leadloop.cli… import names` in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("leadloop.cli"):
            found.append((node.module or "", [a.name for a in node.names]))
    return found


def test_cli_modules_form_no_cycle_and_share_only_public_names() -> None:
    graph: dict[str, set[str]] = {}
    for path in CLI.glob("*.py"):
        name = "leadloop.cli" if path.stem == "__init__" else f"leadloop.cli.{path.stem}"
        imports = _cli_imports(path)
        graph[name] = {module for module, _ in imports}
        private = [n for _, names in imports for n in names if n.startswith("_")]
        assert private == [], f"{name} reaches into {private}"
    seen: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " -> ".join((*path, node))
        if node in seen:
            return
        seen.add(node)
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))

    for node in graph:
        visit(node, ())
