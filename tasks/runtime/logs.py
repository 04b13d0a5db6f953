"""The one run logger every task module logs through.

Inside a Prefect flow or task run, records go to that run's log (and so to the Prefect UI);
outside a run (plain function calls, tests, the CLI before a flow starts) they go to the
``labflows`` logger. Blocks log through their own ``logger`` property, the pattern of Prefect's
abstract blocks (see :attr:`blocks.repository.Repository.logger`).
"""

from __future__ import annotations

import logging

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
