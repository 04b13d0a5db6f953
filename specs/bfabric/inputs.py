"""inputs.yml: the files a chunk needs, fetched from B-Fabric, hosts, URLs, or written inline.

The file is ``{inputs: [...]}``; each entry is told apart by its ``type``:

``bfabric_resource``, ``bfabric_dataset``, ``bfabric_resource_archive``,
``bfabric_resource_dataset``, ``bfabric_order_fasta``, ``bfabric_annotation``, ``file``,
``static_file`` and ``static_yaml``. Unknown keys are errors where bfabric-app-runner forbids them
(the ``bfabric_*`` types except ``bfabric_annotation``) and ignored, with a notice, where it
ignores them (``bfabric_annotation``, ``file`` and its sources, ``static_*``); a ``filename`` is always relative
to the chunk directory, and two inputs whose target names are known from the file alone
(a ``filename``, or a ``file`` source's name) may not name the same file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from specs.bfabric.common import (
    AbsoluteFilePath,
    LenientModel,
    RelativeFilePath,
    SpecModel,
    StrictModel,
    model_from_doc,
    warn_ignored_keys,
)
from specs.source import SourceDoc, SpecError, load_yaml_file

__all__ = [
    "BfabricAnnotationSpec",
    "BfabricDatasetSpec",
    "BfabricOrderFastaSpec",
    "BfabricResourceArchiveSpec",
    "BfabricResourceDatasetSpec",
    "BfabricResourceSpec",
    "FileSourceHttp",
    "FileSourceLocal",
    "FileSourceSsh",
    "FileSpec",
    "InputSpec",
    "InputsSpec",
    "SCHEMA_MODEL",
    "StaticFileSpec",
    "StaticYamlSpec",
    "inputs_from_doc",
    "load_inputs",
    "write_inputs",
]

_PATTERNS = "fnmatch patterns (`*.txt` at any depth, `dir/*.txt` in that directory)"


class BfabricResourceSpec(StrictModel):
    """A B-Fabric resource file."""

    type: Literal["bfabric_resource"]
    id: int = Field(description="Resource id.")
    filename: RelativeFilePath | None = Field(default=None, description="Default: the file's name in its storage.")
    check_checksum: bool = True
    access: Literal["ssh", "http"] = Field(default="ssh", description="Fetch over ssh, or over the storage's HTTP access.")


class BfabricDatasetSpec(StrictModel):
    """A B-Fabric dataset written as a table."""

    type: Literal["bfabric_dataset"]
    id: int = Field(description="Dataset id.")
    filename: RelativeFilePath
    separator: Literal[",", "\t"] = Field(default=",", description="CSV separator (ignored for parquet).")
    format: Literal["csv", "parquet"] = "csv"


class BfabricResourceArchiveSpec(StrictModel):
    """A zip resource extracted into a directory."""

    type: Literal["bfabric_resource_archive"]
    id: int = Field(description="Resource id of the archive.")
    filename: RelativeFilePath = Field(description="Directory to extract into.")
    extract: Literal["zip"] = "zip"
    include_patterns: list[str] = Field(default_factory=list, description=f"Files to extract: {_PATTERNS}.")
    exclude_patterns: list[str] = Field(default_factory=list, description=f"Files to skip: {_PATTERNS}.")
    strip_root: bool = Field(default=False, description="Drop the archive's single top-level directory.")
    check_checksum: bool = True


class BfabricResourceDatasetSpec(StrictModel):
    """Every resource listed in a dataset column, fetched into a directory plus a parquet index."""

    type: Literal["bfabric_resource_dataset"]
    id: int = Field(description="Dataset id.")
    column: int | str = Field(default="Resource", description="Resource id column: index, or name (any case).")
    filename: RelativeFilePath = Field(description="Directory to fetch into.")
    include_patterns: list[str] = Field(default_factory=list)
    exclude_patterns: list[str] = Field(default_factory=list)
    check_checksum: bool = True
    output_dataset_filename: RelativeFilePath = "dataset.parquet"
    output_dataset_file_column: str = "File"
    output_dataset_only: bool = Field(default=False, description="Write only the dataset, fetch no files.")


class BfabricOrderFastaSpec(StrictModel):
    """The FASTA sequence of an order (directly, or the order of a workunit's container)."""

    type: Literal["bfabric_order_fasta"]
    id: int
    entity: Literal["workunit", "order"]
    filename: RelativeFilePath
    required: bool = Field(default=False, description="When false, a missing order or FASTA gives an empty file.")


class BfabricAnnotationSpec(LenientModel):
    """A table joining resources with their samples (``resource_*`` and ``sample_*`` columns)."""

    type: Literal["bfabric_annotation"]
    annotation: Literal["resource_sample"] = "resource_sample"
    filename: RelativeFilePath
    separator: str
    resource_ids: list[int]
    format: Literal["csv"] = "csv"


class FileSourceLocal(LenientModel):
    """``{local: /abs/path}``."""

    local: AbsoluteFilePath

    @property
    def basename(self) -> str:
        """The source file's name."""
        return self.local.rstrip("/").split("/")[-1]


class FileSourceSshValue(LenientModel):
    """``host`` and absolute ``path`` of an ssh source."""

    host: str
    path: AbsoluteFilePath


class FileSourceSsh(LenientModel):
    """``{ssh: {host, path}}``."""

    ssh: FileSourceSshValue

    @property
    def basename(self) -> str:
        """The source file's name."""
        return self.ssh.path.rstrip("/").split("/")[-1]


class FileSourceHttpValue(LenientModel):
    """``url`` of an http source.

    ``auth`` is reserved for URLs derived from a B-Fabric storage access record (the bearer token
    is then sent to that URL only). A user-written ``auth`` is rejected; code that resolves
    B-Fabric resources sets it by validating with ``context={"trusted_auth": True}``.
    """

    url: str
    auth: Literal["bfabric"] | None = Field(default=None, exclude=True)

    @field_validator("auth")
    @classmethod
    def _reserved_auth(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not (info.context or {}).get("trusted_auth"):
            raise ValueError("cannot be set in inputs.yml: it is reserved for B-Fabric storage URLs; "
                             "leave it out to download the URL anonymously")
        return value


class FileSourceHttp(LenientModel):
    """``{http: {url}}``."""

    http: FileSourceHttpValue

    @property
    def basename(self) -> str:
        """The last path segment of the URL, without query."""
        return self.http.url.split("?")[0].rstrip("/").split("/")[-1]


def _source_kind(value: Any) -> str | None:
    """Which of ``local``, ``ssh``, ``http`` a file source is (the one key it has)."""
    if isinstance(value, dict):
        keys = [k for k in ("local", "ssh", "http") if k in value]
        return keys[0] if len(keys) == 1 else None
    for kind, model in (("local", FileSourceLocal), ("ssh", FileSourceSsh), ("http", FileSourceHttp)):
        if isinstance(value, model):
            return kind
    return None


FileSource = Annotated[
    Union[Annotated[FileSourceLocal, Tag("local")], Annotated[FileSourceSsh, Tag("ssh")],
          Annotated[FileSourceHttp, Tag("http")]],
    Discriminator(_source_kind, custom_error_type="file_source",
                  custom_error_message="source must have exactly one of the keys local, ssh or http"),
]


class FileSpec(LenientModel):
    """A file from a local path, an ssh host or an http(s) URL."""

    type: Literal["file"]
    source: FileSource
    filename: RelativeFilePath | None = Field(default=None, description="Default: the source's file name.")
    link: bool = Field(default=False, description="Symlink instead of copy (local sources only).")
    checksum: str | None = Field(default=None, description="Expected MD5.")

    @model_validator(mode="after")
    def _link_local_only(self) -> "FileSpec":
        if self.link and not isinstance(self.source, FileSourceLocal):
            raise ValueError("link: true needs a local source (a remote file cannot be linked)")
        return self

    @model_validator(mode="after")
    def _source_name_is_a_file_name(self) -> "FileSpec":
        # without filename, the source's last segment becomes the target: '..' would leave the chunk
        if self.filename is None and self.source.basename in ("", ".", ".."):
            raise ValueError(f"the source's name {self.source.basename!r} cannot be a file name in the chunk: "
                             "give filename")
        return self

    @property
    def resolved_filename(self) -> str:
        """The target name: ``filename``, or the source's basename."""
        return self.filename or self.source.basename


class StaticFileSpec(LenientModel):
    """A file whose text or bytes are written in the spec."""

    type: Literal["static_file"]
    content: str | bytes
    filename: RelativeFilePath


class StaticYamlSpec(LenientModel):
    """A YAML file whose data is written in the spec."""

    type: Literal["static_yaml"]
    data: dict[str, Any] | list[Any]
    filename: RelativeFilePath


InputSpec = Annotated[
    Union[BfabricResourceSpec, BfabricDatasetSpec, BfabricResourceArchiveSpec, BfabricResourceDatasetSpec,
          BfabricOrderFastaSpec, BfabricAnnotationSpec, FileSpec, StaticFileSpec, StaticYamlSpec],
    Field(discriminator="type"),
]


class InputsSpec(StrictModel):
    """An inputs.yml."""

    inputs: list[InputSpec]


SCHEMA_MODEL = InputsSpec


def inputs_from_doc(doc: SourceDoc) -> InputsSpec:
    """Validate an inputs.yml document; raises SpecError (also for repeated target file names)."""
    spec = model_from_doc(doc, InputsSpec)
    problems = []
    first: dict[str, int] = {}
    for i, name in enumerate(_target_names(spec)):
        if name is None:
            continue
        if name in first:
            loc = ("inputs", i, "filename") if getattr(spec.inputs[i], "filename", None) else ("inputs", i)
            problems.append(doc.problem(loc, f"duplicate file name {name!r} (also inputs[{first[name]}])"))
        else:
            first[name] = i
    if problems:
        raise SpecError(problems)
    return spec


def _target_names(spec: InputsSpec) -> list[str | None]:
    """Each input's file name in the chunk directory (normalised), None when only B-Fabric knows it."""
    names: list[str | None] = []
    for item in spec.inputs:
        name = item.resolved_filename if isinstance(item, FileSpec) else getattr(item, "filename", None)
        names.append(os.path.normpath(name) if name else None)
    return names


def load_inputs(path: str | Path) -> InputsSpec:
    """Read and validate an inputs.yml; raises SpecError. Ignored keys are warned about."""
    doc = load_yaml_file(path)
    spec = inputs_from_doc(doc)
    warn_ignored_keys(doc, spec)
    return spec


def write_inputs(path: str | Path, inputs: list[InputSpec | dict[str, Any]]) -> InputsSpec:
    """Validate ``inputs`` (models or plain dicts) and write them as an inputs.yml at ``path``."""
    spec = InputsSpec.model_validate({"inputs": [
        i.model_dump(mode="python", exclude_none=True) if isinstance(i, SpecModel) else i for i in inputs]})
    data = spec.model_dump(mode="python", exclude_none=True)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return spec
