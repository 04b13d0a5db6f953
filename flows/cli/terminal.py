"""How much a run command prints: ``-v``/``-vv``.

Default: progress, warnings, errors and the summary. ``-v`` adds the steps' own log lines (their
commands' output); ``-vv`` everything Prefect logs. Only the terminal is filtered
(:class:`tasks.runtime.logs.ConsoleFilter`): the Prefect run log (API and UI) and the per-step log
files keep every line.
"""

from __future__ import annotations

import logging
import os


def add_verbosity(parser) -> None:
    """Add ``-v``/``--verbose`` (repeatable) to a run command's parser."""
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="-v: also the steps' log lines (their commands' output); "
                             "-vv: everything Prefect logs (default: progress, warnings, errors, summary)")


def configure_terminal(verbosity: int) -> None:
    """Filter the Prefect console of this process, and of the worker processes it starts, to
    ``verbosity``; below ``-vv`` Dask logs errors only.

    Call after Prefect is imported (its logging is set up at import), before the flow runs.
    """
    from tasks.runtime.logs import VERBOSITY_ENV, apply_log_settings

    os.environ[VERBOSITY_ENV] = str(verbosity)
    apply_log_settings()
    if verbosity < 2:
        quiet_dask()


def quiet_dask() -> None:
    """Dask's scheduler and workers (also worker processes started later) log errors only."""
    os.environ.setdefault("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", "error")
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
