"""`csctl` answers without importing every sub-command, and names every command."""

from __future__ import annotations

from click.testing import CliRunner

from cli import COMMANDS, main


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_unknown_command_is_one_readable_line() -> None:
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output
    assert "Traceback" not in result.output
