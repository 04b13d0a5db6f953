"""What runs are called and tagged, so users can find them in the Prefect UI.

Tags have the form ``KIND:VALUE`` (``workflow:qc``, ``step:count``): the UI's tag filter then
finds every run of a workflow or of a step (tags on a started run, and the B-Fabric workunit tag:
:mod:`tasks.runtime.flow_run_tags`).
"""

from __future__ import annotations

import re

_KEY_UNSAFE = re.compile(r"[^a-z0-9]+")


def workflow_tag(name: str) -> str:
    """The tag of every run (flow and task) of a workflow."""
    return f"workflow:{name}"


def step_tag(name: str) -> str:
    """The tag of a step's task runs."""
    return f"step:{name}"


def step_run_name(workflow: str, step: str, first: int | None = None, last: int | None = None) -> str:
    """A ``run-step`` flow run's name: ``<workflow>:<step>``, for a batch of scatter branches
    ``<workflow>:<step>[<first>-<last>]``. The parent names the run so when it creates it, and the
    run's flow computes the same name from its parameters, so the name never changes."""
    name = f"{workflow}:{step}"
    return f"{name}[{first:05d}-{last:05d}]" if first is not None and last is not None else name


def artifact_key(*parts: str) -> str:
    """An artifact key from free text: lowercase letters, digits and single dashes only."""
    return "-".join(p for p in (_KEY_UNSAFE.sub("-", str(part).lower()).strip("-") for part in parts) if p)
