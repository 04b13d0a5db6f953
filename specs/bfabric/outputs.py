"""outputs.yml: what a chunk registers in B-Fabric (resource copies, datasets, links).

The file is ``{outputs: [...]}``; each entry is told apart by its ``type``:
``bfabric_copy_resource``, ``bfabric_dataset`` and ``bfabric_link``. Every output has
``update_existing``: ``no`` (fail if it exists), ``if_exists`` (the default: update it if it
exists, else create) or ``required`` (fail if it does not exist). A relative ``local_path`` is
relative to the process working directory, not to the chunk.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from specs.bfabric.common import SpecModel, StrictModel, load_model, model_from_doc
from specs.paths import relative_problem
from specs.source import SourceDoc

__all__ = [
    "CopyResourceSpec",
    "OutputSpec",
    "OutputsSpec",
    "SCHEMA_MODEL",
    "SaveDatasetSpec",
    "SaveLinkSpec",
    "UpdateExisting",
    "load_outputs",
    "outputs_from_doc",
    "write_outputs",
]


class UpdateExisting(str, Enum):
    """What to do when the output already exists in B-Fabric (compares equal to its string)."""

    NO = "no"
    IF_EXISTS = "if_exists"
    REQUIRED = "required"


def _yaml_no(value: Any) -> Any:
    # YAML 1.1 reads a bare `no` as false: accept it as the policy it was meant to be.
    return "no" if value is False else value


UpdateExistingField = Annotated[UpdateExisting, BeforeValidator(_yaml_no)]


def _inside_storage(value: Path) -> Path:
    problem = relative_problem(value.as_posix())
    if problem:
        raise ValueError(f"{problem} (the storage's basepath is its root): {str(value)!r}")
    return value


StoragePath = Annotated[Path, AfterValidator(_inside_storage)]
"""A path below a storage's basepath: relative, without ``..``."""


class CopyResourceSpec(StrictModel):
    """Copy a local file to the workunit's storage and register it as a resource."""

    type: Literal["bfabric_copy_resource"]
    local_path: Path
    store_entry_path: StoragePath = Field(description="Path of the file inside the storage folder.")
    store_folder_path: StoragePath | None = Field(
        default=None, description="Default: the workunit's storage_output_folder.")
    update_existing: UpdateExistingField = UpdateExisting.IF_EXISTS
    protocol: Literal["scp", "tus"] = Field(default="scp", description="`tus` is not implemented.")


class SaveDatasetSpec(StrictModel):
    """Register a local table (CSV or parquet) as the workunit's output dataset."""

    type: Literal["bfabric_dataset"]
    local_path: Path
    format: Literal["csv", "parquet"] = "csv"
    separator: str = ","
    name: str | None = Field(default=None, description="Default: the file's stem.")
    has_header: bool = True
    invalid_characters: str = Field(default="", description="Characters no cell may contain (each one).")
    update_existing: UpdateExistingField = UpdateExisting.IF_EXISTS

    @model_validator(mode="after")
    def _default_name(self) -> "SaveDatasetSpec":
        if self.name is None:
            self.name = self.local_path.stem
        return self


class SaveLinkSpec(StrictModel):
    """Attach a link to the workunit, or to another entity."""

    type: Literal["bfabric_link"]
    name: str
    url: str
    entity_type: str = "Workunit"
    entity_id: int | None = Field(default=None, description="Required unless entity_type is Workunit.")
    update_existing: UpdateExistingField = UpdateExisting.IF_EXISTS

    @model_validator(mode="after")
    def _entity_id_needed(self) -> "SaveLinkSpec":
        if self.entity_type != "Workunit" and self.entity_id is None:
            raise ValueError(f"entity_id is required when entity_type is {self.entity_type!r} (not 'Workunit')")
        return self


OutputSpec = Annotated[Union[CopyResourceSpec, SaveDatasetSpec, SaveLinkSpec], Field(discriminator="type")]


class OutputsSpec(StrictModel):
    """An outputs.yml."""

    outputs: list[OutputSpec]

    @model_validator(mode="after")
    def _unique_store_entries(self) -> "OutputsSpec":
        entries = [o.store_entry_path for o in self.outputs if isinstance(o, CopyResourceSpec)]
        dups = sorted(str(p) for p, n in Counter(entries).items() if n > 1)
        if dups:
            raise ValueError(f"Duplicate store entry paths: {', '.join(dups)}")
        return self


SCHEMA_MODEL = OutputsSpec


def outputs_from_doc(doc: SourceDoc) -> OutputsSpec:
    """Validate an outputs.yml document; raises SpecError."""
    return model_from_doc(doc, OutputsSpec)


def load_outputs(path: str | Path) -> OutputsSpec:
    """Read and validate an outputs.yml; raises SpecError."""
    return load_model(path, OutputsSpec)


def write_outputs(path: str | Path, outputs: list[OutputSpec | dict[str, Any]]) -> OutputsSpec:
    """Validate ``outputs`` (models or plain dicts) and write them as an outputs.yml at ``path``."""
    spec = OutputsSpec.model_validate({"outputs": [
        o.model_dump(mode="python") if isinstance(o, SpecModel) else o for o in outputs]})
    data = spec.model_dump(mode="json", exclude_none=True)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return spec
