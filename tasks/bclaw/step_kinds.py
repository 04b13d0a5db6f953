"""The step-kind table: which handler runs each kind of BayerCLAW step.

Every kind the workflow spec knows (:data:`specs.workflow.parse.KIND_KEYS`) has one row here;
a kind without a row fails at import. A row builds the kind's handler for one level of a run:
the flow level (command steps become Prefect tasks, scatter branches run as mapped tasks,
subpipes as subflows or deployments) or the inside of a scatter branch (plain functions,
no nested scatter).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from specs.workflow.parse import KIND_KEYS
from tasks.bclaw.chooser import run_chooser_step, run_parallel_step
from tasks.bclaw.native import run_native_step
from tasks.bclaw.scatter.branches import run_command_with_retries
from tasks.bclaw.scatter.step import run_scatter_step
from tasks.bclaw.subpipe import ChildRunner, subpipe_handler
from tasks.bclaw.walk import Handler, Handlers


@dataclass
class Level:
    """What the handlers of one level share.

    Attributes:
        run_command: How this level runs a command step.
        run_child: How a subpipe's child workflow runs; None: subpipes are not supported here.
        handlers: The finished table of this level (parallel branches walk with it).
        branch_handlers: The table scatter branches use; None inside a branch (no nested scatter).
    """

    run_command: Handler
    run_child: ChildRunner | None
    handlers: Handlers
    branch_handlers: Handlers | None = None


STEP_KINDS: dict[str, Callable[[Level], Handler | None]] = {
    "command": lambda level: level.run_command,
    "native": lambda level: run_native_step,
    "chooser": lambda level: run_chooser_step,
    "parallel": lambda level: functools.partial(run_parallel_step, handlers=level.handlers),
    "subpipe": lambda level: subpipe_handler(level.run_child) if level.run_child is not None else None,
    "scatter": lambda level: (functools.partial(run_scatter_step, handlers=level.branch_handlers)
                              if level.branch_handlers is not None else None),
}

_spec_kinds = {kind for _key, kind, _model in KIND_KEYS}
if set(STEP_KINDS) != _spec_kinds:
    raise ImportError(f"step kinds without a handler: {sorted(_spec_kinds - set(STEP_KINDS))}; "
                      f"handlers without a spec kind: {sorted(set(STEP_KINDS) - _spec_kinds)}")


def _build(level: Level) -> Handlers:
    for kind, make in STEP_KINDS.items():
        handler = make(level)
        if handler is not None:
            level.handlers[kind] = handler
    return level.handlers


def branch_handlers(run_child: ChildRunner | None = None) -> Handlers:
    """Handlers for steps inside a scatter branch: plain functions, retries in place, no scatter."""
    return _build(Level(run_command_with_retries, run_child, {}))


def flow_handlers(run_command: Handler, run_child: ChildRunner | None = None) -> Handlers:
    """Handlers for the steps of a flow: ``run_command`` for command steps, every other kind
    from the table; scatter branches get :func:`branch_handlers` with the same ``run_child``."""
    return _build(Level(run_command, run_child, {}, branch_handlers(run_child)))
