"""Tags on a flow run that has already started, and the B-Fabric workunit tag (shared by both wings).

Tags have the form ``KIND:VALUE`` (``workflow:qc``, ``workunit:321``): the UI's tag filter then
finds every run of a workflow or everything done for a workunit. Tags given when a run is created
(by a deployment or the launcher) cover most cases; :func:`add_flow_run_tags` is for what is only
known once the run has started, such as the workflow a path names or the workunit a definition holds.
"""

from __future__ import annotations

import logging
from uuid import UUID

from prefect.client.orchestration import get_client


#: What every workunit tag starts with.
WORKUNIT_TAG_PREFIX = "workunit:"


def workunit_tag(workunit_id: int | str) -> str:
    """The tag of every run working on one B-Fabric workunit."""
    return f"{WORKUNIT_TAG_PREFIX}{workunit_id}"


def _tags_in_context(flow_run_id: UUID | str) -> list[str] | None:
    """The tags of ``flow_run_id`` when it is the flow run this code runs in (no request), else None."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None or str(ctx.flow_run.id) != str(flow_run_id):
        return None
    return list(ctx.flow_run.tags or [])


def add_flow_run_tags(flow_run_id: UUID | str | None, *tags: str) -> list[str]:
    """Add tags to an existing flow run (its own tags are kept); returns the new tag list."""
    if not flow_run_id or not tags:
        return []
    known = _tags_in_context(flow_run_id)
    if known is not None and set(tags) <= set(known):  # given when the run was created (the command line does)
        return known
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
