"""The docs keep up with the code: every setting, drop reason and CLI command is documented."""

from __future__ import annotations

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
