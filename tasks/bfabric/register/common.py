"""Shared pieces of output registration: the error type, the update_existing policy, result records."""

from __future__ import annotations

from typing import Any, Literal

Action = Literal["created", "updated", "unchanged"]

POLICIES = ("no", "if_exists", "required")


class RegistrationError(RuntimeError):
    """An output cannot be registered (a policy violation, a missing file or entity, a failed copy)."""


def policy_name(policy: Any) -> str:
    """The ``update_existing`` policy as a plain string (accepts enums and YAML's ``no`` read as False)."""
    if policy is None:
        return "if_exists"
    if policy is False:
        return "no"
    name = str(getattr(policy, "value", policy))
    if name not in POLICIES:
        raise RegistrationError(f"unknown update_existing policy {name!r} (expected one of {', '.join(POLICIES)})")
    return name


def check_policy(policy: Any, existing_id: int | None, what: str) -> None:
    """Raise when ``existing_id`` (None: nothing found) contradicts the ``update_existing`` policy."""
    name = policy_name(policy)
    if name == "no" and existing_id is not None:
        raise RegistrationError(f"{what} already exists (id {existing_id}) and update_existing is 'no'")
    if name == "required" and existing_id is None:
        raise RegistrationError(f"{what} does not exist and update_existing is 'required'")


def record(entity_type: str, id_: int, name: str, action: Action) -> dict[str, Any]:
    """One entry of :func:`tasks.bfabric.register.outputs.register_outputs`'s result."""
    return {"entity_type": entity_type, "id": int(id_), "name": name, "action": action}


def saved_id(result: Any, what: str) -> int:
    """The id of the single entity a ``client.save`` answered with."""
    rows = list(result)
    if len(rows) != 1 or "id" not in rows[0]:
        raise RegistrationError(f"B-Fabric did not answer the save of {what} with one entity id")
    return int(rows[0]["id"])
