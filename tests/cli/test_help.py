"""The command line's help matches what it does: every command described, one naming style,
exit codes and the version at the top."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib.metadata import version

import pytest

from flows.cli.main import COMMANDS, build_parser
from tests.support.paths import REPO_ROOT


def _parsers(parser: argparse.ArgumentParser, path: str = "labflows"):
    """Every (command path, parser), sub-commands included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


ALL = list(_parsers(build_parser()))


def test_every_command_is_listed():
    names = {path.split()[1] for path, _ in ALL if len(path.split()) == 2}
    assert names == set(COMMANDS)


@pytest.mark.parametrize("path,parser", ALL, ids=[p for p, _ in ALL])
def test_every_command_has_a_description(path, parser):
    assert parser.description and len(parser.description) > 20, f"{path} has no description"
    assert "``" not in parser.description  # no raw markup


@pytest.mark.parametrize("path,parser", ALL, ids=[p for p, _ in ALL])
def test_repeatable_key_value_options_say_so(path, parser):
    for action in parser._actions:
        if action.metavar and "=" in str(action.metavar):
            assert re.fullmatch(r"[A-Z]+=[A-Z]+", action.metavar) and action.metavar.startswith("NAME="), \
                f"{path} {action.option_strings}: {action.metavar}"
            assert isinstance(action, argparse._AppendAction) and "repeatable" in (action.help or ""), \
                f"{path} {action.option_strings} repeats but doesn't say so"


def test_top_level_help_lists_exit_codes():
    text = build_parser().format_help()
    for code in ("0", "1", "2", "130"):
        assert re.search(rf"^\s+{code}\s+\w", text, re.M), text


def test_version_prints_the_package_version():
    done = subprocess.run([sys.executable, "-m", "flows.run", "--version"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout.strip() == f"labflows {version('labflows')}"
