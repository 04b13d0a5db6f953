"""workunit_definition.yml: what a workunit computes (execution) and where results go (registration).

The same file format as bfabric's ``WorkunitDefinition``::

    execution:
      raw_parameters: {application_version: 1.0.0, threshold: "0.5"}   # strings or null
      dataset: 1234            # dataset-flow apps; or
      resources: [11, 12]      # resource-flow apps
    registration:              # may be null (nothing is registered)
      application_id: 1
      application_name: my_app
      workunit_id: 300
      workunit_name: WU300
      container_id: 3000
      container_type: project  # or order
      storage_id: 2
      storage_output_folder: p3000/bfabric/.../workunit_300
      user_id: 7               # optional
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BeforeValidator, Field

from specs.bfabric.app_template import path_safe_name
from specs.bfabric.common import LenientModel, load_model, model_from_doc
from specs.source import SourceDoc

__all__ = [
    "SCHEMA_MODEL",
    "WorkunitDefinition",
    "WorkunitExecutionDefinition",
    "WorkunitRegistrationDefinition",
    "load_workunit_definition",
    "save_workunit_definition",
    "workunit_from_doc",
]

PathSafeStr = Annotated[str, BeforeValidator(lambda v: path_safe_name(v) if isinstance(v, str) else v)]


class WorkunitExecutionDefinition(LenientModel):
    """The inputs needed to compute the results."""

    raw_parameters: dict[str, str | None] = Field(
        description="Workunit parameters as B-Fabric stores them: strings or null.")
    dataset: int | None = Field(default=None, description="Input dataset (dataset-flow apps).")
    resources: list[int] = Field(default_factory=list, description="Input resources (resource-flow apps).")


class WorkunitRegistrationDefinition(LenientModel):
    """Where and as what the results are registered in B-Fabric."""

    application_id: int
    application_name: PathSafeStr
    workunit_id: int
    workunit_name: PathSafeStr
    container_id: int
    container_type: Literal["project", "order"]
    storage_id: int
    storage_output_folder: Path
    user_id: int | None = None


class WorkunitDefinition(LenientModel):
    """A workunit definition file."""

    execution: WorkunitExecutionDefinition
    registration: WorkunitRegistrationDefinition | None = None


SCHEMA_MODEL = WorkunitDefinition


def workunit_from_doc(doc: SourceDoc) -> WorkunitDefinition:
    """Validate a workunit definition document; raises SpecError."""
    return model_from_doc(doc, WorkunitDefinition)


def load_workunit_definition(path: str | Path) -> WorkunitDefinition:
    """Read and validate a workunit_definition.yml; raises SpecError."""
    return load_model(path, WorkunitDefinition)


def save_workunit_definition(definition: WorkunitDefinition, path: str | Path) -> None:
    """Write ``definition`` as YAML, byte for byte as bfabric's ``WorkunitDefinition.to_yaml`` (keys sorted)."""
    Path(path).write_text(yaml.safe_dump(definition.model_dump(mode="json")), encoding="utf-8")
