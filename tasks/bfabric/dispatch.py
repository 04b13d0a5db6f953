"""Reusable dispatch steps for B-Fabric apps: split a workunit into chunk directories.

An app's dispatch command reads the workunit definition and writes one directory per chunk, each
with an ``inputs.yml``, plus ``chunks.yml`` listing them. These base classes do the B-Fabric side;
an app subclasses one and implements ``dispatch_job``:

* :class:`DispatchIndividualResources`: one job per input resource (resource flow, filtered by
  ``filter_suffix``) or per dataset row (dataset flow: the resource id comes from
  ``resource_column``, and each ``(column, param)`` of ``param_columns`` adds the row's value to
  the job's params). ``dispatch_job(resource, params)`` returns the chunk directory.
* :class:`DispatchSingleResourceFlow`: one ``dispatch_job(resources, workunit)`` call with all
  input resources (none: an error is logged and nothing is dispatched).
* :class:`DispatchSingleDatasetFlow`: one ``dispatch_job(dataset, workunit)`` call.

Each is constructed with ``(client, config, out_dir)`` and run with ``dispatch_workunit(definition)``.
Entities are read with the real bfabric client (``client.reader.read_ids``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, TypeVar

from pydantic import BaseModel, Field

from specs.bfabric.inputs import InputSpec, write_inputs
from specs.bfabric.workunit import WorkunitDefinition
from specs.paths import folder_name_problem
from tasks.bfabric.chunks import ChunksFile
from tasks.runtime.logs import run_logger

__all__ = [
    "DispatchError",
    "DispatchIndividualResources",
    "DispatchIndividualResourcesConfig",
    "DispatchSingleDatasetFlow",
    "DispatchSingleResourceFlow",
    "config_msi_imzml",
    "dataset_jobs",
    "filter_resources",
    "write_chunk_inputs",
    "write_chunks_file",
]

R = TypeVar("R")


class DispatchError(RuntimeError):
    """The workunit cannot be dispatched (missing entities, bad dataset columns)."""


class DispatchIndividualResourcesConfig(BaseModel):
    """How :class:`DispatchIndividualResources` picks its jobs."""

    filter_suffix: str | None = Field(default=None, description="Only resources whose name ends with this.")
    resource_column: str = Field(default="Imzml", description="Dataset column holding the resource id.")
    param_columns: list[tuple[str, str]] = Field(
        default_factory=lambda: [("PanelDataset", "mass_list_id")],
        description="(dataset column, param name) pairs merged into each job's params.")


def config_msi_imzml() -> DispatchIndividualResourcesConfig:
    """The MSI preset: imzML resources, mass list from the PanelDataset column."""
    return DispatchIndividualResourcesConfig(filter_suffix=".imzML")


def filter_resources(resources: Iterable[R], suffix: str | None) -> list[R]:
    """The resources whose ``name`` ends with ``suffix`` (all of them when ``suffix`` is None)."""
    if suffix is None:
        return list(resources)
    return [r for r in resources if str(r["name"]).endswith(suffix)]


def dataset_jobs(rows: Iterable[Mapping[str, Any]], resource_column: str,
                 param_columns: Sequence[tuple[str, str]],
                 base_params: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``(resource id, params)`` per dataset row: ``base_params`` plus the row's param columns."""
    jobs = []
    for index, row in enumerate(rows):
        missing = [c for c in [resource_column, *(col for col, _ in param_columns)] if c not in row]
        if missing:
            raise DispatchError(f"dataset row {index + 1} has no column {', '.join(map(repr, missing))} "
                                f"(columns: {', '.join(map(str, row))})")
        try:
            resource_id = int(row[resource_column])
        except (TypeError, ValueError):
            raise DispatchError(f"dataset row {index + 1}: {resource_column}={row[resource_column]!r} "
                                "is not a resource id") from None
        params = dict(base_params)
        params.update({param: row[column] for column, param in param_columns})
        jobs.append((resource_id, params))
    return jobs


def write_chunk_inputs(chunk_dir: Path, inputs: Sequence[InputSpec | Mapping[str, Any]]) -> Path:
    """Create ``chunk_dir`` and write its (validated) ``inputs.yml``; returns ``chunk_dir``."""
    chunk_dir = Path(chunk_dir)
    chunk_dir.mkdir(parents=True, exist_ok=True)
    write_inputs(chunk_dir / "inputs.yml", [i if isinstance(i, BaseModel) else dict(i) for i in inputs])
    return chunk_dir


def write_chunks_file(out_dir: Path, chunk_dirs: Sequence[Path]) -> None:
    """Write ``out_dir/chunks.yml`` listing ``chunk_dirs`` (relative to ``out_dir`` when inside it)."""
    ChunksFile.write(Path(out_dir), [Path(c) for c in chunk_dirs])


class _Dispatcher(ABC):
    """Shared construction and B-Fabric reads of the dispatch strategies."""

    def __init__(self, client: Any, config: Any, out_dir: Path) -> None:
        self._client = client
        self._config = config
        self._out_dir = Path(out_dir)

    @property
    def out_dir(self) -> Path:
        """The work directory chunks are written to."""
        return self._out_dir

    def chunk_dir(self, name: Any) -> Path:
        """``out_dir/<name>`` for a chunk named after B-Fabric data (a resource name, a dataset value).

        Such names come from the LIMS, not from the app: one that is not a single folder name
        (``..``, ``a/b``, ``/abs``) is a :class:`DispatchError`, so no chunk lands outside ``out_dir``.
        """
        problem = folder_name_problem(str(name))
        if problem:
            raise DispatchError(f"chunk name {str(name)!r}: {problem}")
        return self._out_dir / str(name)

    def _read_resources(self, ids: Sequence[int]) -> list[Any]:
        found = self._client.reader.read_ids("resource", list(ids)).by_id if ids else {}
        missing = [i for i in ids if i not in found]
        if missing:
            raise DispatchError(f"resource(s) not found in B-Fabric: {', '.join(map(str, missing))}")
        return [found[i] for i in ids]

    def _read_dataset(self, dataset_id: int) -> Any:
        dataset = self._client.reader.read_id("dataset", dataset_id)
        if dataset is None:
            raise DispatchError(f"dataset {dataset_id} not found in B-Fabric")
        return dataset


def _chunk_list(result: Path | str | Sequence[Path | str] | None) -> list[Path]:
    if result is None:
        return []
    if isinstance(result, (str, Path)):
        return [Path(result)]
    return [Path(r) for r in result]


class DispatchIndividualResources(_Dispatcher):
    """One chunk per input resource (resource flow) or per dataset row (dataset flow)."""

    def __init__(self, client: Any, config: DispatchIndividualResourcesConfig | None, out_dir: Path) -> None:
        super().__init__(client, config or DispatchIndividualResourcesConfig(), out_dir)

    @property
    def config(self) -> DispatchIndividualResourcesConfig:
        """The strategy's configuration."""
        return self._config

    @abstractmethod
    def dispatch_job(self, resource: Any, params: dict[str, Any]) -> Path:
        """Prepare the chunk of one resource (write its inputs.yml); return the chunk directory."""

    def dispatch_workunit(self, definition: WorkunitDefinition) -> list[Path]:
        """Dispatch every job of the workunit, then write chunks.yml; returns the chunk directories."""
        execution = definition.execution
        params: dict[str, Any] = dict(execution.raw_parameters)
        if execution.dataset is not None:
            jobs = self._dataset_flow_jobs(execution.dataset, params)
            if not jobs:
                raise DispatchError(f"dataset {execution.dataset} has no rows: nothing to dispatch")
        elif execution.resources:
            resources = filter_resources(self._read_resources(execution.resources), self.config.filter_suffix)
            jobs = [(resource, params) for resource in resources]
            if not jobs:
                raise DispatchError(f"no input resource name ends with {self.config.filter_suffix!r}")
        else:
            raise DispatchError("the workunit has neither an input dataset nor input resources")
        chunks = [Path(self.dispatch_job(resource, dict(job_params))) for resource, job_params in jobs]
        write_chunks_file(self.out_dir, chunks)
        return chunks

    def _dataset_flow_jobs(self, dataset_id: int, params: Mapping[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
        rows = self._read_dataset(dataset_id).to_polars().to_dicts()
        jobs = dataset_jobs(rows, self.config.resource_column, self.config.param_columns, params)
        resources = self._read_resources(sorted({rid for rid, _ in jobs}))
        by_id = {r.id: r for r in resources}
        return [(by_id[rid], job_params) for rid, job_params in jobs]


class DispatchSingleResourceFlow(_Dispatcher):
    """One job with all the workunit's input resources."""

    @abstractmethod
    def dispatch_job(self, resources: list[Any], workunit: WorkunitDefinition
                     ) -> Path | Sequence[Path] | None:
        """Prepare the chunk(s); return their directories (or None to let chunks be discovered)."""

    def dispatch_workunit(self, definition: WorkunitDefinition) -> list[Path]:
        """Read the input resources and dispatch them; writes chunks.yml when chunks are returned."""
        resources = self._read_resources(definition.execution.resources)
        if not resources:
            run_logger().error("The workunit has no input resources: nothing to dispatch")
            return []
        chunks = _chunk_list(self.dispatch_job(resources, definition))
        if chunks:
            write_chunks_file(self.out_dir, chunks)
        return chunks


class DispatchSingleDatasetFlow(_Dispatcher):
    """One job with the workunit's input dataset."""

    @abstractmethod
    def dispatch_job(self, dataset: Any, workunit: WorkunitDefinition) -> Path | Sequence[Path] | None:
        """Prepare the chunk(s); return their directories (or None to let chunks be discovered)."""

    def dispatch_workunit(self, definition: WorkunitDefinition) -> list[Path]:
        """Read the input dataset and dispatch it; writes chunks.yml when chunks are returned."""
        if definition.execution.dataset is None:
            raise DispatchError("the workunit has no input dataset")
        chunks = _chunk_list(self.dispatch_job(self._read_dataset(definition.execution.dataset), definition))
        if chunks:
            write_chunks_file(self.out_dir, chunks)
        return chunks
