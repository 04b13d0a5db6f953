"""The labflows command line: ``python -m flows.run COMMAND …`` (also installed as ``labflows``).

Each command lives in a small ``flows.cli.*`` module that adds its sub-parser; this module only
wires them together and turns the project's error types into exit codes:
0 success, 1 a failed run, 2 bad input (one line per problem, no traceback).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from flows.cli import warm_client
from flows.cli.errors import UsageError

if TYPE_CHECKING:
    import argparse

# Command -> the module that registers it; each module exposes ``register(subparsers)``.
# Only the module of the command being run is imported, so ``workflow`` never pays for
# importing the B-Fabric code (and the other way round).
COMMANDS: dict[str, str] = {
    "workflow": "flows.cli.workflow",
    "validate": "flows.cli.specs",
    "schema": "flows.cli.specs",
    "server": "flows.cli.server",
    "launch": "flows.cli.launcher",
    "bfabric-standin": "flows.cli.standin",
    "inputs": "flows.cli.inputs",
    "app": "flows.cli.app",
    "app-action": "flows.cli.app",
    "outputs": "flows.cli.app",
}
# Commands that run flows: they get the local Prefect server (flows.cli.api_choice) and ``--no-server``.
NEEDS_API = {"workflow", "launch", "app", "app-action"}


DESCRIPTION = "Run BayerCLAW workflows and B-Fabric apps as Prefect flows."
EXIT_CODES = """exit codes:
  0  success
  1  a run failed (a step, a chunk, a check)
  2  bad input: one FILE:LINE:COL line per problem, or one 'error:' line
  130  interrupted"""


def package_version() -> str:
    """The installed labflows version (``unknown`` when run from a checkout that isn't installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("labflows")
    except PackageNotFoundError:
        return "unknown"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: with only ``command``'s module, or every module when None."""
    import argparse  # here, not at the top: a run handed to the warm runner never needs it
    import importlib

    parser = argparse.ArgumentParser(
        prog="labflows", description=DESCRIPTION, epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"labflows {package_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).register(subparsers)
    for command_name, sub in subparsers.choices.items():
        if command_name in NEEDS_API:
            sub.add_argument("--no-server", action="store_true",
                             help="use a temporary Prefect server in this process instead of the shared local "
                                  "one (also: LABFLOWS_EPHEMERAL=1)")
    return parser


def _command_of(argv: list[str]) -> str | None:
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code: in the warm runner when one serves, else here."""
    argv = sys.argv[1:] if argv is None else argv
    warm = warm_client.wanted(argv, NEEDS_API)
    if warm:
        code = warm_client.run_warm(argv)
        if code is not None:
            return code
        if not {"-n", "--dry-run", "-h", "--help"} & set(argv):  # these start no flow
            from flows.cli.local_server import start_server_early, starting_early

            start_server_early()  # the server starts while this process imports Prefect
            if starting_early():  # and the warm runner for the next run, while this one waits for it
                warm_client.spawn_runner()
    return run_here(argv, start_warm_runner=warm)


def run_here(argv: list[str], start_warm_runner: bool = False) -> int:
    """Run one command in this process and return its exit code (also what a warm runner's child runs).

    Args:
        argv: the command line without the program name.
        start_warm_runner: start a warm runner in the background once the local server is chosen.
    """
    from specs.source import SpecError

    # Before Prefect is imported: its settings are read once, at import.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # a temporary server (--no-server) on a busy machine can take longer than Prefect's default wait
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    args = build_parser(_command_of(argv)).parse_args(argv)
    try:
        needs_api = args.command in NEEDS_API or getattr(args, "credentials_block", None)  # a saved block too
        if needs_api and not getattr(args, "dry_run", False):  # a dry run starts no flow
            from flows.cli.api_choice import choose_api

            choose_api(no_server=getattr(args, "no_server", False), start_warm_runner=start_warm_runner)
        return int(args.func(args) or 0)
    except SpecError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `labflows … | head`: the reader has gone, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141

