"""The docs keep up with the code: every setting, drop reason and CLI command is documented,
and every test the security page names exists."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from pathlib import Path

from typer.main import get_command

from footfall.cli.main import app
from footfall.config import Settings
from footfall.ingestion.drops import DropReason

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    for name in Settings.model_fields:
        assert f"`FOOTFALL_{name.upper()}`" in text, name
    documented = text.count("| `FOOTFALL_")
    assert documented == len(Settings.model_fields)


def test_every_setting_has_help_text() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_every_drop_reason_is_documented() -> None:
    text = (DOCS / "api" / "ingestion.md").read_text()
    for reason in DropReason:
        assert f"| `{reason.value}` |" in text


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    root = get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for sub in subcommands:
                assert f"`footfall {name} {sub}" in text, f"{name} {sub}"
        else:
            assert f"`footfall {name}" in text, name


# -- docs/security.md names real tests ---------------------------------------------------------

TESTS = Path(__file__).resolve().parent
_TEST_FILE = re.compile(r"^tests/[\w/]+\.py$")
_TEST_NAME = re.compile(r"^…?\w*…?$")
_FILE_WITH_NAMES = re.compile(r"`(tests/[\w/]+\.py)`\s*\(([^)]*)\)")


@functools.cache
def _functions_in(path: Path) -> frozenset[str]:
    """Names of the functions (and methods) defined in a Python file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, kinds))


def _matches(pattern: str, names: Iterable[str]) -> bool:
    """Whether a documented test name (`…` standing for any text) names one of `names`."""
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("…")) + r"\Z")
    return any(regex.match(name) for name in names)


def _security_test_references() -> list[tuple[str, str | None, str | None]]:
    """(row, file, function) for every test the security page names in its tables' test
    column: a file (`tests/…py`), a file and function (`tests/…py::name`, or `tests/…py`
    (`name`, …)), or a bare function name (found in any test file)."""
    references: list[tuple[str, str | None, str | None]] = []
    for line in (DOCS / "security.md").read_text().splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cell = line.rstrip().rstrip("|").rsplit("|", 1)[-1]
        scoped = set()
        for file, names in _FILE_WITH_NAMES.findall(cell):
            for name in re.findall(r"`([^`]+)`", names):
                if name.startswith(("test_", "…")):  # else prose, e.g. (`Last-Event-ID`)
                    references.append((line, file, name))
                    scoped.add(name)
        for token in re.findall(r"`([^`]+)`", cell):
            file, _, function = token.partition("::")
            if _TEST_FILE.match(file):
                references.append((line, file, function.split("[")[0] or None))
            elif token not in scoped and token.startswith(("test_", "…")):
                assert _TEST_NAME.match(token), (token, line)
                references.append((line, None, token))
    return references


def test_every_test_the_security_page_names_exists() -> None:
    references = _security_test_references()
    assert len(references) >= 40, "the security page's test column was not parsed"
    every_test_file = sorted(TESTS.rglob("test_*.py"))
    for row, file, function in references:
        if file is not None:
            path = TESTS.parent / file
            assert path.is_file(), f"{file} does not exist (row: {row[:80]})"
            if function is not None:
                assert _matches(function, _functions_in(path)), f"{file}::{function} not found"
        else:
            assert function is not None
            found = any(_matches(function, _functions_in(path)) for path in every_test_file)
            assert found, f"no test named {function} (row: {row[:80]})"


def test_the_security_page_check_catches_a_wrong_name() -> None:
    """The matcher itself: a wildcard matches, a misspelling does not."""
    names = {"test_unknown_ids_are_refused_without_queries", "test_host_allowed"}
    assert _matches("…_without_queries", names)
    assert _matches("test_host_allowed", names)
    assert not _matches("test_host_allow", names)
    assert not _matches("test_hosts_allowed", names)
