"""Turning inputs.yml entries into resolved inputs (:mod:`tasks.bfabric.inputs.resolved`).

:data:`INPUT_HANDLERS` is the one table of input types: each type of
:data:`specs.bfabric.inputs.InputSpec` has a row saying how it resolves and whether it needs a
B-Fabric client (a type without a row fails at import). Static entries (``file``,
``static_file``, ``static_yaml``) need no client; every ``bfabric_*`` entry is looked up through
the real client. Resources named by
``bfabric_resource`` and ``bfabric_resource_archive`` entries are read in one request, and
entities are cached for the duration of one resolution.
"""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence, get_args

import yaml

from specs.bfabric.inputs import (
    BfabricAnnotationSpec,
    BfabricDatasetSpec,
    BfabricOrderFastaSpec,
    BfabricResourceArchiveSpec,
    BfabricResourceDatasetSpec,
    BfabricResourceSpec,
    FileSourceHttp,
    FileSourceLocal,
    FileSourceSsh,
    FileSpec,
    InputSpec,
    StaticFileSpec,
    StaticYamlSpec,
)
from tasks.bfabric.inputs import lookups as bf
from tasks.bfabric.inputs.patterns import filter_items
from tasks.bfabric.inputs.resolved import (
    HttpSource,
    InputsError,
    InvalidInputsError,
    LocalSource,
    ResolvedDirectory,
    ResolvedFile,
    ResolvedInput,
    ResolvedStaticFile,
    Source,
    SshSource,
    validate_resolved,
)

if TYPE_CHECKING:
    import polars as pl  # imported by the dataset inputs that need it: most chunks have none
    from bfabric import Bfabric

__all__ = ["INPUT_HANDLERS", "InputHandler", "needs_client", "resolve_specs"]

_CACHED_ENDPOINTS = ["resource", "storage", "sample", "dataset", "order", "workunit"]


def needs_client(specs: Sequence[InputSpec]) -> bool:
    """Whether any entry is a ``bfabric_*`` input (so a B-Fabric client is needed)."""
    return any(INPUT_HANDLERS[type(s)].needs_client for s in specs)


def resolve_specs(client: Bfabric | None, specs: Sequence[InputSpec]) -> list[ResolvedInput]:
    """Every entry resolved, in order, and checked with :func:`validate_resolved`."""
    if not needs_client(specs):
        return validate_resolved(item for spec in specs for item in INPUT_HANDLERS[type(spec)].resolve(None, spec))
    if client is None:
        raise InputsError("these inputs need B-Fabric, but no B-Fabric client was given")
    from bfabric.entities.cache.context import cache_entities

    with cache_entities(_CACHED_ENDPOINTS):
        resolver = _BfabricResolver(client, specs)
        return validate_resolved(item for spec in specs for item in INPUT_HANDLERS[type(spec)].resolve(resolver, spec))


def _file_source(spec: FileSpec) -> Source:
    source = spec.source
    if isinstance(source, FileSourceLocal):
        return LocalSource(source.local)
    if isinstance(source, FileSourceSsh):
        return SshSource(host=source.ssh.host, path=source.ssh.path)
    assert isinstance(source, FileSourceHttp)
    return HttpSource(url=source.http.url, bfabric_auth=source.http.auth == "bfabric")


def _file(_resolver: None, spec: FileSpec) -> list[ResolvedInput]:
    return [ResolvedFile(filename=spec.resolved_filename, source=_file_source(spec),
                         checksum=spec.checksum, link=spec.link)]


def _static_file(_resolver: None, spec: StaticFileSpec) -> list[ResolvedInput]:
    return [ResolvedStaticFile(filename=spec.filename, content=spec.content)]


def _static_yaml(_resolver: None, spec: StaticYamlSpec) -> list[ResolvedInput]:
    return [ResolvedStaticFile(filename=spec.filename,
                               content=yaml.safe_dump(spec.data, sort_keys=False, allow_unicode=True))]


def _parquet(table: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.write_parquet(buffer)
    return buffer.getvalue()


def _unique_column(table: pl.DataFrame, name: str) -> str:
    """``name``, or ``name.1``, ``name.2``, … if the table already has such a column."""
    candidate, n = name, 0
    while candidate in table.columns:
        n += 1
        candidate = f"{name}.{n}"
    return candidate


def _select_column(table: pl.DataFrame, column: int | str, dataset_id: int) -> str:
    """The dataset column named (any case) or indexed by ``column``."""
    if isinstance(column, int):
        if 0 <= column < len(table.columns):
            return table.columns[column]
    else:
        for name in table.columns:
            if name.lower() == column.lower():
                return name
    raise InvalidInputsError(f"dataset {dataset_id} has no column {column!r} (columns: {', '.join(table.columns)})")


class _BfabricResolver:
    """Resolves entries of one inputs.yml with one client (resources pre-read in one request)."""

    def __init__(self, client: Bfabric, specs: Sequence[InputSpec]) -> None:
        self.client = client
        ids = [s.id for s in specs if isinstance(s, (BfabricResourceSpec, BfabricResourceArchiveSpec))]
        self.resources: dict[int, Any] = bf.read_entities(client, "resource", ids)

    def resource(self, spec: BfabricResourceSpec) -> list[ResolvedInput]:
        resource = self.resources[spec.id]
        source = bf.http_source(self.client, resource) if spec.access == "http" else bf.ssh_source(resource)
        checksum = bf.resource_checksum(resource) if spec.check_checksum else None
        return [ResolvedFile(filename=spec.filename or bf.resource_filename(resource), source=source,
                             checksum=checksum)]

    def archive(self, spec: BfabricResourceArchiveSpec) -> list[ResolvedInput]:
        resource = self.resources[spec.id]
        return [ResolvedDirectory(
            filename=spec.filename, source=bf.ssh_source(resource),
            checksum=bf.resource_checksum(resource) if spec.check_checksum else None,
            include_patterns=tuple(spec.include_patterns), exclude_patterns=tuple(spec.exclude_patterns),
            strip_root=spec.strip_root, extract=spec.extract)]

    def dataset(self, spec: BfabricDatasetSpec) -> list[ResolvedInput]:
        table = bf.dataset_frame(self.client, spec.id)
        content: str | bytes = (_parquet(table) if spec.format == "parquet"
                                else table.write_csv(separator=spec.separator))
        return [ResolvedStaticFile(filename=spec.filename, content=content)]

    def resource_dataset(self, spec: BfabricResourceDatasetSpec) -> list[ResolvedInput]:
        import polars as pl

        table = bf.dataset_frame(self.client, spec.id)
        column = _select_column(table, spec.column, spec.id)
        try:
            table = table.with_columns(pl.col(column).cast(pl.Int64))
        except pl.exceptions.PolarsError:
            raise InvalidInputsError(f"dataset {spec.id} column {column!r} does not hold resource ids") from None
        resources = bf.read_entities(self.client, "resource", table[column].drop_nulls().to_list())
        relpaths = {rid: bf.resource_relative_path(r) for rid, r in resources.items()}
        table = table.filter(pl.col(column).is_in(
            filter_items(list(relpaths), spec.include_patterns, spec.exclude_patterns, key=relpaths.__getitem__)))
        file_column = _unique_column(table, spec.output_dataset_file_column)
        names = {rid: bf.resource_filename(r) for rid, r in resources.items()}
        table = table.with_columns(pl.col(column).replace_strict(names, default=None, return_dtype=pl.String)
                                   .alias(file_column))
        out: list[ResolvedInput] = [ResolvedStaticFile(
            filename=posixpath.join(spec.filename, spec.output_dataset_filename), content=_parquet(table))]
        if not spec.output_dataset_only:
            for rid in dict.fromkeys(table[column].drop_nulls().to_list()):
                resource = resources[rid]
                out.append(ResolvedFile(filename=posixpath.join(spec.filename, names[rid]),
                                        source=bf.ssh_source(resource),
                                        checksum=bf.resource_checksum(resource) if spec.check_checksum else None))
        return out

    def order_fasta(self, spec: BfabricOrderFastaSpec) -> list[ResolvedInput]:
        fasta = bf.order_fasta(self.client, spec.entity, spec.id, required=spec.required)
        return [ResolvedStaticFile(filename=spec.filename, content=fasta)]

    def annotation(self, spec: BfabricAnnotationSpec) -> list[ResolvedInput]:
        table = bf.resource_sample_frame(self.client, spec.resource_ids)
        return [ResolvedStaticFile(filename=spec.filename, content=table.write_csv(separator=spec.separator))]


@dataclass(frozen=True)
class InputHandler:
    """How one input type resolves.

    Attributes:
        resolve: ``(resolver, entry) -> resolved inputs``; ``resolver`` is the run's B-Fabric
            resolver when ``needs_client``, else None.
        needs_client: Whether entries of this type are looked up in B-Fabric.
    """

    resolve: Callable[[Any, Any], list[ResolvedInput]]
    needs_client: bool


#: Every input type of inputs.yml, and how it resolves.
INPUT_HANDLERS: dict[type, InputHandler] = {
    FileSpec: InputHandler(_file, needs_client=False),
    StaticFileSpec: InputHandler(_static_file, needs_client=False),
    StaticYamlSpec: InputHandler(_static_yaml, needs_client=False),
    BfabricResourceSpec: InputHandler(_BfabricResolver.resource, needs_client=True),
    BfabricResourceArchiveSpec: InputHandler(_BfabricResolver.archive, needs_client=True),
    BfabricDatasetSpec: InputHandler(_BfabricResolver.dataset, needs_client=True),
    BfabricResourceDatasetSpec: InputHandler(_BfabricResolver.resource_dataset, needs_client=True),
    BfabricOrderFastaSpec: InputHandler(_BfabricResolver.order_fasta, needs_client=True),
    BfabricAnnotationSpec: InputHandler(_BfabricResolver.annotation, needs_client=True),
}

_spec_types = set(get_args(get_args(InputSpec)[0]))
if _spec_types != set(INPUT_HANDLERS):
    raise ImportError("inputs.yml types without a handler: "
                      f"{sorted(t.__name__ for t in _spec_types - set(INPUT_HANDLERS))}")
