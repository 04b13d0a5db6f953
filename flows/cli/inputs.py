"""``labflows inputs prepare|list|check|clean INPUTS.yml [DIR]``: the input files of a B-Fabric app chunk.

* ``prepare``: fetch/write every input into DIR (default: the folder of INPUTS.yml).
* ``list``: print the input file names (DIR default: the current directory); ``--check`` adds
  each file's status.
* ``check``: print each file's status (Missing, NotChecked, Correct, Incorrect); exit 1 unless
  every file is Correct.
* ``clean``: remove the prepared files (DIR default: the folder of INPUTS.yml).

B-Fabric is contacted only when INPUTS.yml has a ``bfabric_*`` entry, with the credentials block
given by ``--credentials-block`` or else the usual bfabricpy configuration (~/.bfabricpy.yml,
BFABRICPY_CONFIG_ENV, BFABRICPY_CONFIG_OVERRIDE). Exit codes: 0 success, 1 a failed transfer
or check, 2 a bad inputs file or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from specs.bfabric.inputs import InputsSpec, load_inputs

if TYPE_CHECKING:
    from bfabric import Bfabric

_ACTIONS = {
    "prepare": "fetch and write the input files",
    "list": "list the input files (with --check: and their status)",
    "check": "check the input files; exit 1 unless all are Correct",
    "clean": "remove the prepared input files",
}


def register(subparsers: Any) -> None:
    """Add the ``inputs`` command and its sub-commands."""
    p = subparsers.add_parser("inputs", help="prepare, list, check or clean the input files of an app chunk",
                              description="Prepare, list, check or clean the files an inputs.yml describes.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in _ACTIONS.items():
        a = actions.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        a.add_argument("inputs_yaml", type=Path, metavar="INPUTS.yml", help="the inputs file")
        a.add_argument("target_dir", type=Path, nargs="?", metavar="DIR",
                       help="target folder (default: the folder of INPUTS.yml, for every action)")
        a.add_argument("--filter", action="append", metavar="FILENAME",
                       help="only the input with exactly this file name (repeatable; no wildcards)")
        a.add_argument("--credentials-block", metavar="NAME",
                       help="B-Fabric credentials block (default: the bfabricpy configuration)")
        if name == "prepare":
            a.add_argument("--ssh-user", metavar="USER", help="login for rsync/scp from storage hosts")
        if name == "list":
            a.add_argument("--check", action="store_true", help="also show each file's status")
        a.set_defaults(func=run_command)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record arrives."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - a closed stream must not break a transfer
            self.handleError(record)


@contextlib.contextmanager
def _progress_to_stderr() -> Iterator[None]:
    """Progress messages (the ``labflows`` logger) as plain lines on stderr while a command runs.

    The logger does not propagate meanwhile (Prefect's console handler on the root logger would
    print every line a second time); bfabric's own loguru chatter is limited to warnings.
    """
    logger = logging.getLogger("labflows")
    handler = _StderrHandler()
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    from loguru import logger as loguru_logger

    loguru_logger.remove()
    loguru_logger.add(lambda message: sys.stderr.write(str(message)), level="WARNING")
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _client(spec: InputsSpec, block: str | None) -> Bfabric | None:
    """A B-Fabric client when the spec needs one (created only then)."""
    from flows.cli.errors import UsageError
    from tasks.bfabric.inputs.prepare import inputs_need_client

    if not inputs_need_client(spec):
        return None
    from tasks.bfabric.client import bfabric_client

    try:
        return bfabric_client(block)
    except Exception as exc:  # config file missing or invalid, unknown block
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot set up the B-Fabric client: {message}") from None


def _print_status(rows: list[tuple[str, Any]]) -> None:
    width = max((len(name) for name, _ in rows), default=0)
    for name, status in rows:
        print(f"{name:<{width}}  {status}")


def _action(args: argparse.Namespace) -> Callable[[Bfabric | None, InputsSpec, Path], int]:
    from tasks.bfabric.inputs import prepare as api
    from tasks.bfabric.inputs.check import FileStatus
    from tasks.bfabric.inputs.resolved import apply_filter

    flt = args.filter

    def prepare(client: Bfabric | None, spec: InputsSpec, target: Path) -> int:
        for path in api.prepare_inputs(client, spec, target, ssh_user=args.ssh_user, filter=flt):
            print(path)
        return 0

    def list_(client: Bfabric | None, spec: InputsSpec, target: Path) -> int:
        if args.check:
            _print_status(api.check_inputs(client, spec, target, filter=flt))
        else:
            items = api.resolve_inputs(client, spec, target)
            for item in apply_filter(items, flt) if flt else items:
                print(item.filename)
        return 0

    def check(client: Bfabric | None, spec: InputsSpec, target: Path) -> int:
        rows = api.check_inputs(client, spec, target, filter=flt)
        _print_status(rows)
        return 0 if all(status == FileStatus.CORRECT for _, status in rows) else 1

    def clean(client: Bfabric | None, spec: InputsSpec, target: Path) -> int:
        for path in api.clean_inputs(client, spec, target, filter=flt):
            print(f"removed {path}")
        return 0

    return {"prepare": prepare, "list": list_, "check": check, "clean": clean}[args.action]


def run_command(args: argparse.Namespace) -> int:
    """Run one ``inputs`` action; errors become one line on stderr and exit 1 or 2."""
    from flows.cli.errors import UsageError, print_failure
    from tasks.bfabric.inputs.resolved import InputsError, InvalidInputsError

    spec = load_inputs(args.inputs_yaml)  # SpecError: exit 2
    target = args.target_dir if args.target_dir is not None else args.inputs_yaml.parent
    if args.action != "prepare" and not target.is_dir():
        raise UsageError(f"target folder not found: {target}")
    with _progress_to_stderr():
        client = _client(spec, args.credentials_block)
        try:
            return _action(args)(client, spec, target)
        except InvalidInputsError as exc:
            raise UsageError(str(exc)) from None
        except (InputsError, ValueError, OSError) as exc:
            return print_failure(_one_line(exc))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
