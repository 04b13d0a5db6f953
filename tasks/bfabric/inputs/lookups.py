"""B-Fabric look-ups behind the ``bfabric_*`` inputs, through the real ``bfabric`` client.

Entities are read with ``client.reader.read_ids`` (several ids in one request) and access
records with ``client.read``. Resources are found on their storage as
``storage.host : storage.basepath/relativepath``; over HTTP, under the URL of the storage's
``access`` record of type ``HTTP``.
"""

from __future__ import annotations

import json
import posixpath
from typing import TYPE_CHECKING, Any, Iterable

from tasks.bfabric.inputs.resolved import (
    HttpSource,
    InputNotFoundError,
    InputsError,
    SshSource,
)
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    import polars as pl  # imported where a table is built: most inputs need none
    from bfabric import Bfabric
    from bfabric.entities import Resource

__all__ = [
    "NoHttpAccessError",
    "OrderFastaError",
    "bearer_token",
    "dataset_frame",
    "http_source",
    "order_fasta",
    "read_entities",
    "resource_checksum",
    "resource_filename",
    "resource_relative_path",
    "resource_sample_frame",
    "ssh_source",
]


class NoHttpAccessError(InputsError):
    """A resource was asked for over HTTP but its storage has no HTTP access record."""


class OrderFastaError(InputsError):
    """A required order FASTA is missing (no order, or an order without a sequence)."""


def read_entities(client: Bfabric, endpoint: str, ids: Iterable[int]) -> dict[int, Any]:
    """The entities ``ids`` of ``endpoint`` by id; :class:`InputNotFoundError` if any is missing."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        return {}
    found = client.reader.read_ids(endpoint, wanted).by_id
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InputNotFoundError(f"B-Fabric has no {endpoint} with id {', '.join(map(str, missing))}")
    return found


def resource_relative_path(resource: Resource) -> str:
    """The resource's path inside its storage, without a leading slash."""
    value = resource["relativepath"]
    if not isinstance(value, str) or not value.strip("/"):
        raise InputsError(f"resource {resource.id} has no relativepath")
    return value.lstrip("/")


def resource_filename(resource: Resource) -> str:
    """The file's name in its storage (the last part of ``relativepath``)."""
    return posixpath.basename(resource_relative_path(resource))


def resource_checksum(resource: Resource) -> str | None:
    """The resource's ``filechecksum`` (an MD5), or None when it has none."""
    value = resource.data_dict.get("filechecksum")
    return str(value) if value else None


def _storage(resource: Resource) -> Any:
    if not resource.data_dict.get("storage"):
        raise InputsError(f"resource {resource.id} has no storage")
    return resource.storage


def ssh_source(resource: Resource) -> SshSource:
    """``storage.host : storage.basepath/relativepath`` of a resource."""
    storage = _storage(resource)
    host, base = storage.data_dict.get("host"), storage.data_dict.get("basepath")
    if not isinstance(host, str) or not host or not isinstance(base, str):
        raise InputsError(f"storage {storage.id} of resource {resource.id} has no host or basepath")
    return SshSource(host=host, path=posixpath.join(base, resource_relative_path(resource)))


def http_source(client: Bfabric, resource: Resource) -> HttpSource:
    """The download URL of a resource from its storage's ``access`` record of type HTTP.

    The record gives either a ``url`` (the storage's root URL) or ``protocol``, ``host`` and
    ``basepath``; the resource's relative path is appended with exactly one slash.
    """
    storage = _storage(resource)
    records = client.read("access", {"storageid": storage.id, "type": "HTTP"}).to_list_dict()
    if not records:
        raise NoHttpAccessError(f"storage {storage.id} has no HTTP access record; "
                                f"cannot fetch resource {resource.id} over http (use access: ssh)")
    access = records[0]
    if access.get("url"):
        root = str(access["url"]).rstrip("/")
    elif access.get("host"):
        root = f"{access.get('protocol') or 'https'}://{access['host']}{str(access.get('basepath') or '').rstrip('/')}"
    else:
        raise NoHttpAccessError(f"HTTP access record {access.get('id')} of storage {storage.id} has no url or host")
    return HttpSource(url=f"{root}/{resource_relative_path(resource)}", bfabric_auth=True)


def bearer_token(client: Bfabric | None) -> str | None:
    """The OAuth/PAT token of a client that authenticates with one (never logged), else None."""
    if client is None:
        return None
    try:
        from bfabric.config.bfabric_auth import OAUTH_LOGIN

        auth = client.auth
    except Exception:  # a client without credentials has no token
        return None
    if auth.login != OAUTH_LOGIN:
        return None
    password = auth.password
    return password.get_secret_value() if hasattr(password, "get_secret_value") else str(password)


def dataset_frame(client: Bfabric, dataset_id: int) -> pl.DataFrame:
    """A dataset's table (every column as text, in the dataset's column order)."""
    import polars as pl

    dataset = read_entities(client, "dataset", [dataset_id])[dataset_id]
    if not dataset.data_dict.get("attribute"):
        return pl.DataFrame()
    return dataset.to_polars()


def order_fasta(client: Bfabric, entity: str, entity_id: int, *, required: bool) -> str:
    """The ``fastasequence`` of an order, or of the order a workunit belongs to.

    When not ``required``, a missing workunit, order or sequence gives ``""`` (with a warning);
    otherwise it raises :class:`OrderFastaError` (or :class:`InputNotFoundError`).
    """
    try:
        order_id = entity_id
        if entity == "workunit":
            workunit = read_entities(client, "workunit", [entity_id])[entity_id]
            container = workunit.data_dict.get("container") or {}
            if container.get("classname") != "order":
                raise OrderFastaError(f"workunit {entity_id} does not belong to an order")
            order_id = int(container["id"])
        order = read_entities(client, "order", [order_id])[order_id]
        fasta = order.data_dict.get("fastasequence")
        if not fasta:
            raise OrderFastaError(f"order {order_id} has no FASTA sequence")
        return str(fasta)
    except (OrderFastaError, InputNotFoundError) as exc:
        if required:
            raise
        run_logger().warning("%s; writing an empty FASTA file", exc)
        return ""


def _flat(entity: Any, prefix: str) -> dict[str, Any]:
    """One table row from an entity: references as ``<field>_id``/``<field>_classname``, lists as JSON."""
    row: dict[str, Any] = {}
    for key, value in entity.data_dict.items():
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                row[f"{prefix}{key}_{sub}"] = sub_value if not isinstance(sub_value, (dict, list)) else json.dumps(sub_value)
        elif isinstance(value, list):
            row[f"{prefix}{key}"] = json.dumps(value, default=str)
        else:
            row[f"{prefix}{key}"] = value
    return row


def resource_sample_frame(client: Bfabric, resource_ids: list[int]) -> pl.DataFrame:
    """``resource_*`` columns of each resource, left-joined with ``sample_*`` columns of its sample."""
    import polars as pl

    resources = read_entities(client, "resource", resource_ids)
    rows = [_flat(resources[int(i)], "resource_") for i in resource_ids]
    table = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    sample_ids = [r["resource_sample_id"] for r in rows if r.get("resource_sample_id") is not None]
    if not sample_ids:
        return table
    samples = client.reader.read_ids("sample", list(dict.fromkeys(sample_ids))).present
    if not samples:
        return table
    sample_table = pl.DataFrame([_flat(s, "sample_") for s in samples], infer_schema_length=None, strict=False)
    return table.join(sample_table, left_on="resource_sample_id", right_on="sample_id", how="left")
