"""What runs are called and tagged, so users can find them in the Prefect UI.

Tags have the form ``KIND:VALUE`` (``workflow:qc``, ``step:count``, ``workunit:321``): the UI's
tag filter then finds every run of a workflow, of a step or of a B-Fabric workunit.
"""

from __future__ import annotations

import logging
import re
from uuid import UUID

from prefect.client.orchestration import get_client

_KEY_UNSAFE = re.compile(r"[^a-z0-9]+")


def workflow_tag(name: str) -> str:
    """The tag of every run (flow and task) of a workflow."""
    return f"workflow:{name}"


def step_tag(name: str) -> str:
    """The tag of a step's task runs."""
    return f"step:{name}"


def workunit_tag(workunit_id: int | str) -> str:
    """The tag of every run working on one B-Fabric workunit."""
    return f"workunit:{workunit_id}"


def artifact_key(*parts: str) -> str:
    """An artifact key from free text: lowercase letters, digits and single dashes only."""
    return "-".join(p for p in (_KEY_UNSAFE.sub("-", str(part).lower()).strip("-") for part in parts) if p)


def add_flow_run_tags(flow_run_id: UUID | str | None, *tags: str) -> list[str]:
    """Add tags to an existing flow run (its own tags are kept); returns the new tag list.

    Tags given when a run is created (by a deployment or the launcher) cover most cases; this is
    for what is only known once the run has started, such as the workflow a path names.
    """
    if not flow_run_id or not tags:
        return []
    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(str(flow_run_id)))
            merged = list(dict.fromkeys([*(run.tags or []), *tags]))
            if merged != list(run.tags or []):
                client.update_flow_run(run.id, tags=merged)
    except Exception as exc:  # noqa: BLE001 - tags help users find runs; never fail a run for them
        logging.getLogger("labflows").warning("could not tag flow run %s: %s", flow_run_id, exc)
        return []
    return merged
