"""``bfabric_copy_resource`` outputs: copy the file to the storage, then register it as a resource.

The resource is looked up by ``{name, workunitid}`` first, so registering again (or retrying after
a failure) updates the same resource instead of creating another one. The file is copied before
the resource is saved, so a resource is never ``available`` without its file.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Mapping

from specs.paths import relative_problem
from tasks.bfabric.checksums import md5_file
from tasks.bfabric.register.common import (
    RegistrationError,
    check_policy,
    record,
    saved_id,
)
from tasks.bfabric.register.storage import copy_to_storage
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    from bfabric import Bfabric

#: Placeholder resources the app runner never recycles.
_LOG_RESOURCES = ("slurm_stdout", "slurm_stderr")


def resource_location(spec: Any, registration: Any) -> tuple[str, str]:
    """The resource ``name`` and storage ``relativepath`` of a copy-resource output.

    The relative path stays below the storage's basepath: the workunit's ``storage_output_folder``
    comes from B-Fabric, so it is checked here too (a :class:`RegistrationError` before any copy).
    """
    folder = spec.store_folder_path if spec.store_folder_path is not None else registration.storage_output_folder
    entry = PurePosixPath(str(spec.store_entry_path))
    relative = PurePosixPath(str(folder)) / entry
    problem = relative_problem(relative.as_posix())
    if problem:
        raise RegistrationError(f"output {entry}: storage path {str(relative)!r}: {problem}")
    return entry.name, str(relative)


def check_copy_resource(spec: Any) -> None:
    """Refuse an output that cannot be copied, before anything is written."""
    if str(getattr(spec, "protocol", "scp")) == "tus":
        raise NotImplementedError("the tus protocol is not supported for output resources")
    if not Path(spec.local_path).is_file():
        raise RegistrationError(f"output file {spec.local_path} does not exist")


def _pending_placeholder(client: Bfabric, workunit_id: int) -> int | None:
    """The workunit's single ``pending`` resource, which app runners before 0.8 filled in (legacy)."""
    found = client.read("resource", {"workunitid": workunit_id}, max_results=None).to_list_dict()
    candidates = [r for r in found if r.get("name") not in _LOG_RESOURCES]
    if len(candidates) == 1 and candidates[0].get("status") == "pending":
        return int(candidates[0]["id"])
    return None


def register_resource(
    client: Bfabric,
    spec: Any,
    registration: Any,
    storage: Mapping[str, Any],
    *,
    ssh_user: str | None = None,
    reuse_placeholder: bool = False,
) -> dict[str, Any]:
    """Copy ``spec.local_path`` to ``storage`` and create or update its resource; returns the result record."""
    check_copy_resource(spec)
    local_path = Path(spec.local_path)
    name, relative_path = resource_location(spec, registration)
    workunit_id = int(registration.workunit_id)
    what = f"resource {name!r} of workunit {workunit_id}"

    existing = client.read("resource", {"name": name, "workunitid": workunit_id}).to_list_dict()
    current = existing[0] if existing else None
    check_policy(spec.update_existing, current["id"] if current else None, what)
    if current is None and reuse_placeholder:
        placeholder = _pending_placeholder(client, workunit_id)
        if placeholder is not None:
            current = client.read("resource", {"id": placeholder}).to_list_dict()[0]

    where = copy_to_storage(local_path, storage, relative_path, ssh_user=ssh_user)
    wanted: dict[str, Any] = {
        "name": name,
        "workunitid": workunit_id,
        "storageid": int(registration.storage_id),
        "relativepath": relative_path,
        "filechecksum": md5_file(local_path),
        "status": "available",
        "size": local_path.stat().st_size,
    }
    if current is None:
        new_id = saved_id(client.save("resource", wanted), what)
        run_logger().info("registered %s as resource %d (%s)", local_path, new_id, where)
        return record("resource", new_id, name, "created")
    if _same_resource(current, wanted):
        run_logger().info("resource %d already up to date (%s)", current["id"], where)
        return record("resource", current["id"], name, "unchanged")
    client.save("resource", {**wanted, "id": int(current["id"])})
    run_logger().info("updated resource %d (%s)", current["id"], where)
    return record("resource", current["id"], name, "updated")


def _ref_id(value: Any) -> int | None:
    return int(value["id"]) if isinstance(value, dict) and "id" in value else None


def _same_resource(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether the stored resource already says what ``wanted`` would save."""
    return (
        current.get("name") == wanted["name"]
        and _ref_id(current.get("workunit")) == wanted["workunitid"]
        and _ref_id(current.get("storage")) == wanted["storageid"]
        and current.get("relativepath") == wanted["relativepath"]
        # B-Fabric may hold the MD5 in upper case; ours is lower-case hex
        and str(current.get("filechecksum") or "").lower() == wanted["filechecksum"]
        and current.get("status") == wanted["status"]
        and str(current.get("size")) == str(wanted["size"])
    )
