"""The workunit an app run works on: its reference, and its definition (``workunit_definition.yml``).

A workunit reference is either a B-Fabric workunit id or the path of a workunit definition YAML.
:func:`obtain_workunit_definition` turns it into a :class:`~specs.bfabric.workunit.WorkunitDefinition` the
way bfabric-app-runner does, with ``work_dir/workunit_definition.yml`` as a cache:

* the cache file exists: it is used as it is (so every phase of a run sees the same definition);
  with an id reference it must belong to that workunit;
* a YAML reference: the file is read (no B-Fabric access);
* an id: the workunit is read from B-Fabric (application, container, APPLICATION parameters
  including ``application_version``, input resources or dataset, output storage and folder).

The definition is then written to the cache file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from specs.bfabric.workunit import (
    WorkunitDefinition,
    load_workunit_definition,
    save_workunit_definition,
)
from tasks.bfabric.chunks import WORKUNIT_DEFINITION_FILE

if TYPE_CHECKING:
    from bfabric import Bfabric

__all__ = [
    "WorkunitRef",
    "WorkunitRefError",
    "definition_from_bfabric",
    "definition_path",
    "obtain_workunit_definition",
    "parse_workunit_ref",
    "workunit_id_of",
]

WorkunitRef = int | Path
"""A workunit id, or the path of a workunit definition YAML."""


class WorkunitRefError(ValueError):
    """A workunit reference that cannot be used (unknown workunit, a work dir of another workunit)."""


def parse_workunit_ref(ref: int | str | Path) -> WorkunitRef:
    """An int for ``12`` or ``"12"``, else the path (``"wu.yml"``, ``Path("wu.yml")``)."""
    if isinstance(ref, bool):
        raise WorkunitRefError(f"not a workunit reference: {ref!r}")
    if isinstance(ref, int):
        return ref
    text = str(ref).strip()
    if text.isdigit():
        return int(text)
    if not text:
        raise WorkunitRefError("the workunit reference is empty")
    return Path(text)


def definition_path(work_dir: str | Path) -> Path:
    """Where a work directory keeps its workunit definition."""
    return Path(work_dir).absolute() / WORKUNIT_DEFINITION_FILE


def workunit_id_of(definition: WorkunitDefinition) -> int | None:
    """The workunit id of a definition (None when it has no registration section)."""
    return definition.registration.workunit_id if definition.registration is not None else None


def definition_from_bfabric(client: Bfabric, workunit_id: int) -> WorkunitDefinition:
    """Read workunit ``workunit_id`` (and what it refers to) from B-Fabric into a definition."""
    from bfabric.experimental.workunit_definition import (
        WorkunitDefinition as BfabricWorkunitDefinition,
    )

    workunit = client.reader.read_id("workunit", workunit_id)
    if workunit is None:
        raise WorkunitRefError(f"workunit {workunit_id} does not exist in B-Fabric")
    found = BfabricWorkunitDefinition.from_workunit(workunit)
    return WorkunitDefinition.model_validate(found.model_dump(mode="json"))


def obtain_workunit_definition(ref: int | str | Path, work_dir: str | Path,
                               client: Callable[[], Bfabric]) -> WorkunitDefinition:
    """The definition of workunit ``ref`` for ``work_dir``, cached as ``work_dir/workunit_definition.yml``.

    Args:
        ref: workunit id or definition YAML path.
        work_dir: the app's work directory (created if missing).
        client: called for a B-Fabric client, only when the workunit has to be read from B-Fabric.

    Raises:
        WorkunitRefError: unknown workunit, or a cached definition of another workunit.
        specs.source.SpecError: an invalid definition file.
    """
    parsed = parse_workunit_ref(ref)
    cache = definition_path(work_dir)
    if cache.is_file():
        definition = load_workunit_definition(cache)
        cached_id = workunit_id_of(definition)
        if isinstance(parsed, int) and cached_id != parsed:
            raise WorkunitRefError(
                f"{cache} is the definition of workunit {cached_id}, not {parsed}: use another work dir")
        return definition
    if isinstance(parsed, Path):
        definition = load_workunit_definition(parsed)
    else:
        definition = definition_from_bfabric(client(), parsed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_workunit_definition(definition, cache)
    return definition
