"""``bfabric_link`` outputs: a named URL attached to the workunit (or another entity).

The link is looked up by ``{name, parentid, parentclassname}``; an existing one is updated in place
(only when its URL differs), so registering twice keeps a single link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.bfabric.register.common import (
    RegistrationError,
    check_policy,
    record,
    saved_id,
)
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    from bfabric import Bfabric


def link_parent(spec: Any, registration: Any) -> tuple[str, int]:
    """``(parentclassname, parentid)``: the workunit unless ``entity_type``/``entity_id`` say otherwise."""
    entity_type = str(getattr(spec, "entity_type", None) or "Workunit")
    entity_id = getattr(spec, "entity_id", None)
    if entity_id is None:
        if entity_type != "Workunit":
            raise RegistrationError(f"link {spec.name!r}: entity_id is required for entity_type {entity_type!r}")
        entity_id = registration.workunit_id
    return entity_type, int(entity_id)


def register_link(client: Bfabric, spec: Any, registration: Any) -> dict[str, Any]:
    """Create or update the link ``spec`` describes; returns the result record."""
    parent_class, parent_id = link_parent(spec, registration)
    what = f"link {spec.name!r} of {parent_class} {parent_id}"
    wanted = {"name": str(spec.name), "url": str(spec.url), "parentid": parent_id, "parentclassname": parent_class}

    found = client.read(
        "link", {"name": wanted["name"], "parentid": parent_id, "parentclassname": parent_class}
    ).to_list_dict()
    current = found[0] if found else None
    check_policy(spec.update_existing, current["id"] if current else None, what)

    if current is None:
        new_id = saved_id(client.save("link", wanted), what)
        run_logger().info("created %s as link %d", what, new_id)
        return record("link", new_id, wanted["name"], "created")
    if current.get("url") == wanted["url"]:
        return record("link", current["id"], wanted["name"], "unchanged")
    client.save("link", {**wanted, "id": int(current["id"])})
    run_logger().info("updated link %d (%s)", current["id"], what)
    return record("link", current["id"], wanted["name"], "updated")
