"""The README documents every command, every rule code and the exit codes the CLI really uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dxsheets.checks import RULES
from dxsheets.cli import cli
from dxsheets.errors import AlreadyRunning
from dxsheets.intake import _CANNOT_TAKE, _READ_MESSAGES

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_documented(command: str) -> None:
    assert f"`dxsheets {command}" in README
    assert cli.commands[command].help, "its --help has a description"


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_code_is_documented(code: str) -> None:
    assert f"| `{code}` |" in README


def test_every_problem_code_the_code_can_produce_is_a_listed_rule() -> None:
    """`status --json` is a public contract: a code written anywhere in dxsheets is one the README lists."""
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "dxsheets").glob("*.py")
    )
    produced = set(re.findall(r'\b_?[Pp]roblem\(\s*"([a-z0-9-]+)"', source))
    produced |= {code for code, _message in _READ_MESSAGES.values()}  # the reader's refusals, by table
    produced |= {code for code, _message in _CANNOT_TAKE.values()}  # mail attachments, by table
    assert len(produced) > 40, "the pattern still finds how problems are made"
    assert produced - set(RULES) == set()


def test_exit_codes_are_documented() -> None:
    for code in (0, 1, 2, AlreadyRunning.exit_code):
        assert f"| {code} |" in README


def test_the_two_commands_are_there() -> None:
    assert 'pip install -e ".[test]" && dxsheets demo' in README
    assert "\npytest" in README


def test_the_scheduling_example_in_help_is_the_readmes() -> None:
    """A staffer copies the line from `dxsheets run --help`: it must be the README's, time zone and all."""
    result = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200)
    crontab = [line.strip() for line in result.output.splitlines() if line.strip().startswith("0 2 * * *")]
    assert crontab and all(f"\n{line}\n" in README for line in crontab)
