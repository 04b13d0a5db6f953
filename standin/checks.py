"""What B-Fabric checks before it saves an entity: known fields, required fields, existing references, statuses.

:func:`check_fields` looks at the item as sent (before :func:`standin.entities.normalize` drops
nothing and converts references); :func:`check_row` at the stored form of a new or updated row.
"""

from __future__ import annotations

from typing import Any

from standin.errors import ServiceError
from standin.schema import ENDPOINTS, REQUIRED, STATUSES, VIEWS, EntityType, Field
from standin.store import Store


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _unknown_keys(fields: tuple[Field, ...], item: dict[str, Any], where: str) -> list[str]:
    """The keys of ``item`` (and of its nested structures) that ``fields`` do not declare.

    Raises:
        ServiceError: a structure where a value belongs, or a value where a structure belongs.
    """
    by_name = {f.name: f for f in fields}
    unknown: list[str] = []
    for key, value in item.items():
        f = by_name.get(key)
        if f is None and key.endswith("id") and getattr(by_name.get(key[:-2]), "kind", None) == "ref":
            continue
        if f is None:
            unknown.append(f"{where}{key}")
            continue
        values = _as_list(value)
        if f.kind == "nested":
            if not all(isinstance(child, dict) for child in values):
                raise ServiceError(f"{where}{key}: expected a structure with fields.")
            for child in values:
                unknown += _unknown_keys(f.children, child, f"{where}{key}.")
        elif f.kind != "ref" and any(isinstance(v, (dict, list)) for v in values):
            raise ServiceError(f"{where}{key}: expected a value, got a structure.")
    return unknown


def check_fields(etype: EntityType, item: dict[str, Any]) -> None:
    """Refuse fields ``etype`` does not have (B-Fabric does not drop them silently), and misshapen values."""
    try:
        unknown = sorted(_unknown_keys(etype.fields, item, ""))
    except ServiceError as exc:
        raise ServiceError(f"Malformed {etype.endpoint}: {exc}") from None
    if unknown:
        raise ServiceError(f"Unknown field(s) for {etype.endpoint}: {', '.join(unknown)}.")


def _missing(row: dict[str, Any], name: str) -> bool:
    value = row.get(name)
    return value is None or value == "" or value == []


def canonical_status(endpoint: str, status: Any) -> Any:
    """``status`` as stored (the allowed spelling, whatever case was sent).

    Raises:
        ServiceError: the endpoint has a fixed set of statuses and ``status`` is not one of them.
    """
    allowed = STATUSES.get(endpoint)
    if allowed is None or status is None:
        return status
    for candidate in allowed:
        if str(status).casefold() == candidate:
            return candidate
    raise ServiceError(f"Invalid status {status!r} for {endpoint}; allowed: {', '.join(allowed)}.")


def _exists(store: Store, endpoint: str, id_: int) -> bool:
    return any(store.get(e, id_) is not None for e in VIEWS.get(endpoint, (endpoint,)))


def _check_references(etype: EntityType, row: dict[str, Any], store: Store) -> None:
    for f in etype.fields:
        if f.kind != "ref":
            continue
        for ref in _as_list(row.get(f.name)):
            if not isinstance(ref, dict):
                continue
            # a class outside the field's targets was named explicitly; else any target may hold the id
            named = ref.get("classname")
            targets = [t for t in (f.targets if named in f.targets or not named else (named,)) if t in ENDPOINTS]
            # classes the stand-in does not serve (workflowtemplate, ...) cannot be checked
            if targets and not any(_exists(store, t, int(ref["id"])) for t in targets):
                raise ServiceError(f"{etype.endpoint}.{f.name}: {'/'.join(targets)} {ref['id']} does not exist.")


def _check_parent(etype: EntityType, row: dict[str, Any], store: Store) -> None:
    """A link's ``parentclassname``/``parentid`` must name an existing entity (any case of the class)."""
    classname, parent_id = row.get("parentclassname"), row.get("parentid")
    if classname is None or parent_id is None:
        return
    endpoint = str(classname).casefold()
    if endpoint not in ENDPOINTS:
        raise ServiceError(f"{etype.endpoint}.parentclassname: unknown class {classname!r}.")
    if not _exists(store, endpoint, int(parent_id)):
        raise ServiceError(f"{etype.endpoint}.parentid: {classname} {parent_id} does not exist.")


def check_row(etype: EntityType, row: dict[str, Any], store: Store, *, new: bool) -> None:
    """Refuse ``row`` (the saved fields, in stored form) if B-Fabric would: a required field missing from a
    new entity, a reference to an entity that does not exist.

    Raises:
        ServiceError: naming the endpoint and the field.
    """
    if new:
        missing = [name for name in REQUIRED.get(etype.endpoint, ()) if _missing(row, name)]
        if missing:
            raise ServiceError(f"Missing required field(s) for {etype.endpoint}: {', '.join(missing)}.")
    _check_references(etype, row, store)
    _check_parent(etype, row, store)
