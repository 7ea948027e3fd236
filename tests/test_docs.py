"""Docs that a test can check: every command and every setting is in the README."""

from __future__ import annotations

from pathlib import Path

from api.cli import cli
from api.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    block = README.split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]


def test_every_cli_command_is_in_the_readme() -> None:
    missing = [name for name in cli.commands if f"`vidya {name}" not in README]
    assert missing == []


def test_every_setting_is_in_the_readme() -> None:
    missing = [f"VIDYA_{name.upper()}" for name in Settings.model_fields if f"`VIDYA_{name.upper()}`" not in README]
    assert missing == []


def test_every_command_has_a_docstring_with_an_example() -> None:
    lacking = [name for name, command in cli.commands.items() if "Example" not in (command.help or "")]
    assert lacking == []
