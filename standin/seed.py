"""Seeding the stand-in from a YAML file ``{endpoint: [{id: .., field: ..}, ...]}``.

Rows with an ``id`` replace the stored row of that id (so seeding twice changes nothing); rows
without one get a fresh id. References may be written ``workunit: 5``, ``workunitid: 5`` or
``workunit: {id: 5}``. ``created``/``createdby`` default to now and the server's login.

Undeclared fields with plain values (text, numbers, lists of them) are declared for their
endpoint from then on, so reads return them (as text) and queries and saves may use them. Seed
before a client first uses that endpoint: suds reads each endpoint's WSDL once per client.

Seeding skips the checks of a save (required fields, existing references, statuses), so a test can
set up data a client could not save.

In a seed *file*, the text ``${seed_dir}`` in any string value stands for the absolute path of the
file's folder.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from standin.entities import normalize
from standin.schema import ENDPOINTS, entity_type, extra_field_kind
from standin.store import Store

# Containers and users first, so references to them resolve to the right class.
_FIRST = ("project", "order", "user", "storage")


def load_seed(source: str | Path | Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The seed data of a YAML file (or an already-loaded mapping), checked for known endpoints."""
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        path = Path(source)
        data = _substitute(yaml.safe_load(path.read_text()) or {}, str(path.parent.resolve()))
    if not isinstance(data, dict):
        raise ValueError("a seed file maps endpoint names to lists of entities")
    unknown = sorted(set(data) - set(ENDPOINTS))
    if unknown:
        raise ValueError(f"unknown endpoint(s) in seed data: {', '.join(unknown)}")
    for endpoint, rows in data.items():
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"seed data for {endpoint!r} must be a list of mappings")
    return data


def _substitute(value: Any, seed_dir: str) -> Any:
    """``value`` with ``${seed_dir}`` replaced in every string."""
    if isinstance(value, str):
        return value.replace("${seed_dir}", seed_dir)
    if isinstance(value, list):
        return [_substitute(v, seed_dir) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, seed_dir) for k, v in value.items()}
    return value


def _declare_extra_fields(store: Store, etype: Any, row: dict[str, Any]) -> None:
    """Declare the undeclared plain fields of a seeded ``row``, so reads send them back."""
    for name, value in row.items():
        if etype.get(name) is None:
            many = extra_field_kind(value)
            if many is not None:
                store.add_extra_field(etype.endpoint, name, many)


def apply_seed(store: Store, source: str | Path | Mapping[str, Any], login: str) -> dict[str, list[int]]:
    """Store the seed rows; returns the ids stored per endpoint."""
    data = load_seed(source)
    order = [e for e in _FIRST if e in data] + [e for e in data if e not in _FIRST]
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    stored: dict[str, list[int]] = {}
    with store.transaction():
        for endpoint in order:
            etype = entity_type(endpoint)
            for raw in data[endpoint]:
                row = normalize(etype, raw, store)
                _declare_extra_fields(store, etype, row)
                row.setdefault("created", now)
                row.setdefault("createdby", login)
                row.setdefault("modified", row["created"])
                row.setdefault("modifiedby", row["createdby"])
                if "id" not in row:
                    row["id"] = store.new_id(endpoint)
                store.put(endpoint, row)
                stored.setdefault(endpoint, []).append(row["id"])
    return stored
