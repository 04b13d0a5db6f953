"""Turning saved fields into stored rows, and rendering rows for an answer (queries: :mod:`standin.query`).

Stored rows keep references as ``{"classname": ..., "id": ...}`` whatever form the save used
(``workunitid: 5``, ``workunit: 5``, ``workunit: {id: 5}``); declared ``long`` fields are ints,
nested fields lists of dicts; undeclared fields are kept as sent.
"""

from __future__ import annotations

from typing import Any

from standin.schema import UPPER_CASE_STATUS, EntityType, Field
from standin.store import Store


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _ref_id(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("id")
    if value in (None, ""):
        return None
    return int(value)


def resolve_classname(f: Field, id_: int, store: Store) -> str:
    """The class of the entity ``id_`` a reference field points at (the first target holding that id)."""
    if len(f.targets) > 1:
        for target in f.targets:
            if store.get(target, id_) is not None:
                return target
    return f.targets[0]


def _make_ref(f: Field, value: Any, store: Store) -> dict[str, Any] | None:
    id_ = _ref_id(value)
    if id_ is None:
        return None
    classname = value.get("classname") if isinstance(value, dict) else None
    return {"classname": classname or resolve_classname(f, id_, store), "id": id_}


def _convert(f: Field | None, value: Any, store: Store) -> Any:
    """``value`` as sent (strings) converted to what ``f`` declares."""
    if f is None or value is None:
        return value
    if f.kind == "ref":
        made = [r for r in (_make_ref(f, v, store) for v in _as_list(value)) if r is not None]
        return made if f.many else (made[0] if made else None)
    if f.kind == "nested":
        items = [{k: _convert(_child(f, k), v, store) for k, v in item.items()} for item in _as_list(value)]
        return items if f.many else (items[0] if items else None)
    if f.kind == "strings":
        return [str(v) for v in _as_list(value)]
    if f.kind == "long":
        return None if value == "" else int(value)
    return value if isinstance(value, str) else str(value)


def _child(f: Field, name: str) -> Field | None:
    return next((c for c in f.children if c.name == name), None)


def normalize(etype: EntityType, data: dict[str, Any], store: Store) -> dict[str, Any]:
    """The stored form of a saved (or seeded) entity ``data``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "classname":
            continue
        ref_field = etype.ref_field_for(key)
        if ref_field is not None:
            out[ref_field.name] = _convert(ref_field, value, store)
        else:
            out[key] = _convert(etype.get(key), value, store)
    if "id" in out and out["id"] is None:
        del out["id"]
    return out


class Renderer:
    """Renders stored rows for an answer, adding back-references (rows of other endpoints are read once)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._rows: dict[str, list[dict[str, Any]]] = {}

    def _target_rows(self, endpoint: str) -> list[dict[str, Any]]:
        if endpoint not in self._rows:
            self._rows[endpoint] = self._store.rows(endpoint)
        return self._rows[endpoint]

    def render(self, etype: EntityType, row: dict[str, Any], id_only: bool = False) -> dict[str, Any]:
        """``row`` as the answer shows it: ``classname`` set, references completed."""
        classname = row.get("classname") or etype.endpoint  # a view's rows keep their own class
        if id_only:
            return {"id": row["id"], "classname": classname}
        out = {**row, "classname": classname}
        if etype.endpoint in UPPER_CASE_STATUS and isinstance(out.get("status"), str):
            out["status"] = out["status"].upper()
        for f in etype.fields:
            if f.kind != "ref":
                continue
            if f.backref is not None:
                out[f.name] = self._with_backrefs(f, row)
            for ref in _as_list(out.get(f.name)):
                if isinstance(ref, dict) and not ref.get("classname"):
                    ref["classname"] = resolve_classname(f, ref["id"], self._store)
        return out

    def _with_backrefs(self, f: Field, row: dict[str, Any]) -> list[dict[str, Any]]:
        target = f.targets[0]
        found = [dict(r) for r in _as_list(row.get(f.name)) if isinstance(r, dict)]
        known = {r["id"] for r in found}
        for other in self._target_rows(target):
            pointer = other.get(f.backref or "")
            if isinstance(pointer, dict) and pointer.get("id") == row["id"] and other["id"] not in known:
                found.append({"classname": target, "id": other["id"]})
                known.add(other["id"])
        return found
