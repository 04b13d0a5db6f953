"""The one run logger every task module logs through.

Inside a Prefect flow or task run, records go to that run's log (and so to the Prefect UI);
outside a run (plain function calls, tests, the CLI before a flow starts) they go to the
``labflows`` logger. Blocks log through their own ``logger`` property, the pattern of Prefect's
abstract blocks (see :attr:`blocks.repository.Repository.logger`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_fallback = logging.getLogger("labflows")


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The current Prefect run's logger, or the ``labflows`` logger outside a run.

    Example:
        >>> run_logger().info("staged %d inputs", 3)  # doctest: +SKIP
    """
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return _fallback


def in_a_run() -> bool:
    """Whether the caller runs inside a Prefect flow or task run."""
    from prefect.context import get_run_context
    from prefect.exceptions import MissingContextError

    try:
        get_run_context()
    except MissingContextError:
        return False
    return True


class _ExpectedFailureFilter(logging.Filter):
    """Drop the traceback from a record about an expected failure (its message says it all)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from tasks.runtime.failures import is_expected

        if record.exc_info and is_expected(record.exc_info[1]):
            record.exc_info, record.exc_text = None, None
        return True


_EXPECTED_FILTER = _ExpectedFailureFilter()
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")  # where Prefect's engines log run states
VERBOSITY_ENV = "LABFLOWS_VERBOSITY"  # set by the command line; worker processes inherit it
# Records logged from these packages are labflows' own (the steps' logs and warnings).
_ROOT = Path(__file__).resolve().parents[2]
OWN_DIRS = tuple(str(_ROOT / name) + os.sep for name in ("flows", "tasks", "blocks", "specs", "standin"))


def quiet_expected_failures() -> None:
    """Make Prefect's flow and task run logs show an expected failure as its one line.

    Prefect logs a failed run with ``exc_info``: a traceback through its engine for a non-zero
    exit or a QC condition. With this filter on the run loggers (so on the run log in the API and
    on the terminal alike) such a record keeps its message and loses the traceback; unexpected
    errors keep theirs. Calling it again changes nothing.
    """
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        if _EXPECTED_FILTER not in logger.filters:
            logger.addFilter(_EXPECTED_FILTER)


def is_own_record(record: logging.LogRecord) -> bool:
    """Whether the record was logged by labflows' code (not by Prefect, Dask or a library)."""
    return os.path.realpath(record.pathname).startswith(OWN_DIRS) or record.name.startswith("labflows")


class ConsoleFilter(logging.Filter):
    """Which log records reach the terminal at a verbosity: 0 warnings and errors of labflows
    (and of libraries), 1 also labflows' INFO lines (the commands' output) and unexpected
    tracebacks, 2 everything. Prefect's run-state lines are left to the command line's progress,
    error line and summary below 2."""

    def __init__(self, verbosity: int):
        super().__init__()
        self.verbosity = verbosity

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbosity >= 2:
            return True
        if is_own_record(record):
            return record.levelno >= (logging.INFO if self.verbosity else logging.WARNING)
        if record.name.startswith(RUN_LOGGERS):
            # expected failures have lost their traceback (quiet_expected_failures): with -v an
            # unexpected error still shows one
            return self.verbosity >= 1 and record.exc_info is not None
        return record.levelno >= logging.WARNING


def console_verbosity() -> int:
    """The command line's verbosity (``-v`` count, :data:`VERBOSITY_ENV`); 0 when not set."""
    try:
        return max(0, int(os.environ.get(VERBOSITY_ENV, "0")))
    except ValueError:
        return 0


def apply_log_settings() -> None:
    """Quiet expected failures and, when the command line set :data:`VERBOSITY_ENV`, filter this
    process's Prefect console to it (the flow's process and Dask's worker processes alike).

    Only the console is filtered: the Prefect API (the UI's run logs) and the per-step log files
    keep every line. Cheap and idempotent: tasks call it when they start.
    """
    quiet_expected_failures()
    try:
        verbosity = int(os.environ[VERBOSITY_ENV])
    except (KeyError, ValueError):
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            current = [f for f in handler.filters if isinstance(f, ConsoleFilter)]
            if current and current[0].verbosity == verbosity:
                continue
            for f in current:
                handler.removeFilter(f)
            handler.addFilter(ConsoleFilter(verbosity))


TAIL_READ_BYTES = 4096  # how much of a log file's end is read for a failure's last lines


def log_size(path: Path) -> int:
    """The size of a log file now (0 when it doesn't exist yet), for :func:`tail_lines`' ``since``."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tail_lines(path: Path, lines: int = 3, width: int = 160, since: int = 0) -> str:
    """The last non-empty ``lines`` of a log file written after byte ``since``, each cut to
    ``width`` characters, joined by `` | `` for a one-line error message; empty when there are none.

    Only the file's last few KiB are read, however large the log is.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(since, fh.tell() - TAIL_READ_BYTES))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(line if len(line) <= width else line[: width - 1] + "…" for line in kept)
