"""``bfabric_dataset`` outputs: a local CSV/TSV/parquet table saved as a B-Fabric dataset of the workunit.

A workunit has at most one output dataset, so (as in bfabric-app-runner) the existing one is looked
up by ``workunitid`` alone: none -> create; one with the same columns and cells -> nothing is sent;
one that differs -> update (its ``id`` and the new content; its name is kept, as upstream does).
Renaming the output therefore updates the workunit's dataset instead of creating a second one.
CSV cells are sent as text, exactly as written in the file (no number re-formatting: ``007`` stays
``007``); column types are those bfabric-app-runner gives, from polars' type inference over the
whole file (a column of whole numbers is ``Integer``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.bfabric.register.common import (
    RegistrationError,
    check_policy,
    record,
    saved_id,
)
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    import polars as pl  # imported where a table is read: most runs register no dataset
    from bfabric import Bfabric


def dataset_name(spec: Any) -> str:
    """The dataset's name: ``spec.name``, else the file's stem."""
    return str(spec.name) if getattr(spec, "name", None) else Path(spec.local_path).stem


def check_table(spec: Any) -> None:
    """Refuse a dataset output whose file is missing or whose format is unknown (nothing is read)."""
    if not Path(spec.local_path).is_file():
        raise RegistrationError(f"output table {spec.local_path} does not exist")
    fmt = str(getattr(spec, "format", "csv"))
    if fmt not in ("csv", "parquet"):
        raise RegistrationError(f"unsupported dataset format {fmt!r} (csv or parquet)")


def read_table(spec: Any) -> pl.DataFrame:
    """The output table of ``spec`` (``format`` csv or parquet; ``separator`` and ``has_header`` for csv)."""
    import polars as pl

    check_table(spec)
    path = Path(spec.local_path)
    if str(getattr(spec, "format", "csv")) == "parquet":
        return pl.read_parquet(path)
    return pl.read_csv(
        path,
        separator=str(getattr(spec, "separator", ",")),
        has_header=bool(getattr(spec, "has_header", True)),
        infer_schema=False,
    )


def column_types(spec: Any) -> list[str] | None:
    """The B-Fabric type of each column as bfabric-app-runner derives it (CSV read with full type inference).

    None for parquet (its own types already are) or when inference fails (every column is then a String).
    """
    if str(getattr(spec, "format", "csv")) == "parquet":
        return None
    import polars as pl

    try:
        typed = pl.read_csv(Path(spec.local_path), separator=str(getattr(spec, "separator", ",")),
                            has_header=bool(getattr(spec, "has_header", True)), infer_schema_length=None)
    except pl.exceptions.PolarsError:
        return None
    return [a["type"] for a in _bfabric_payload(typed.head(0) if typed.is_empty() else typed)["attribute"]]


def check_invalid_characters(table: pl.DataFrame, invalid_characters: str, what: str) -> None:
    """Raise if any cell contains one of ``invalid_characters`` (each character is forbidden)."""
    if not invalid_characters:
        return
    import polars as pl

    bad = [
        column
        for column in table.columns
        if table[column].cast(pl.Utf8).str.contains_any(list(invalid_characters)).any()
    ]
    if bad:
        raise RegistrationError(f"{what}: invalid characters {invalid_characters!r} in columns {bad}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bfabric_payload(table: pl.DataFrame) -> dict[str, Any]:
    from bfabric.operations.dataset import polars_to_dataset_dict

    with warnings.catch_warnings():
        # bfabric 1.24 reads its column-type list with the deprecated importlib.resources.open_text
        warnings.filterwarnings("ignore", message="open_text is deprecated", category=DeprecationWarning)
        return polars_to_dataset_dict(table)


def dataset_payload(table: pl.DataFrame, types: list[str] | None = None) -> dict[str, Any]:
    """The ``attribute`` and ``item`` lists of a dataset holding ``table`` (every cell as text).

    ``types`` (one per column, see :func:`column_types`) replace the types derived from ``table``.
    """
    payload = _bfabric_payload(table)
    if types is not None and len(types) == len(payload["attribute"]):
        for attribute, type_ in zip(payload["attribute"], types):
            attribute["type"] = type_
    for item in payload["item"]:
        for field in item["field"]:
            field["value"] = _cell(field.get("value"))
    return payload


def _content_key(dataset: dict[str, Any]) -> tuple[Any, ...]:
    """Columns and cells of a dataset (as saved or as read back), comparable for equality."""
    attributes = sorted(
        (int(a["position"]), str(a.get("name", "")), str(a.get("type", ""))) for a in dataset.get("attribute") or []
    )
    items = sorted(
        (
            int(item.get("position", 0)),
            tuple(sorted((int(f["attributeposition"]), _cell(f.get("value"))) for f in item.get("field") or [])),
        )
        for item in dataset.get("item") or []
    )
    return tuple(attributes), tuple(items)


def workunit_dataset(client: Bfabric, workunit_id: int) -> dict[str, Any] | None:
    """The output dataset of workunit ``workunit_id`` (the oldest, should there be several), or None."""
    found = client.read("dataset", {"workunitid": workunit_id}).to_list_dict()
    return min(found, key=lambda d: int(d["id"])) if found else None


def register_dataset(client: Bfabric, spec: Any, registration: Any) -> dict[str, Any]:
    """Create, update or leave the workunit's dataset ``spec`` describes; returns the result record."""
    name = dataset_name(spec)
    workunit_id = int(registration.workunit_id)
    what = f"dataset {name!r} of workunit {workunit_id}"
    table = read_table(spec)
    check_invalid_characters(table, str(getattr(spec, "invalid_characters", "") or ""), what)
    payload = dataset_payload(table, column_types(spec))

    current = workunit_dataset(client, workunit_id)
    check_policy(spec.update_existing, current["id"] if current else None, what)

    if current is None:
        data = {"name": name, "containerid": int(registration.container_id), "workunitid": workunit_id, **payload}
        new_id = saved_id(client.save("dataset", data), what)
        run_logger().info("created dataset %d %r (%d rows)", new_id, name, table.height)
        return record("dataset", new_id, name, "created")
    kept_name = str(current.get("name") or name)
    if _content_key(current) == _content_key(payload):
        run_logger().info("dataset %d %r unchanged", current["id"], kept_name)
        return record("dataset", current["id"], kept_name, "unchanged")
    client.save("dataset", {"id": int(current["id"]), **payload})
    run_logger().info("updated dataset %d %r (%d rows)", current["id"], kept_name, table.height)
    return record("dataset", current["id"], kept_name, "updated")
