"""Tell which spec format a YAML file is from its content, and validate it with the right model."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from specs.source import SourceDoc, load_yaml_file

# kind -> "module:function"; the function takes a SourceDoc and returns the validated model
# (raising SpecError). Imported lazily so that validating a workflow never imports B-Fabric code.
VALIDATORS: dict[str, str] = {
    "workflow": "specs.workflow.model:workflow_from_doc",
    "app": "specs.bfabric.app:app_from_doc",
    "inputs": "specs.bfabric.inputs:inputs_from_doc",
    "outputs": "specs.bfabric.outputs:outputs_from_doc",
    "chunks": "specs.bfabric.chunks:chunks_from_doc",
    "workunit": "specs.bfabric.workunit:workunit_from_doc",
    "job": "specs.jobs:job_from_doc",  # never told from content: ``validate --kind job``
}


def detect_kind(data: Any) -> str | None:
    """The spec kind of parsed YAML, or None when it is none of ours."""
    if not isinstance(data, dict):
        return None
    keys = {str(k).lower() for k in data}
    if "steps" in keys:
        return "workflow"
    if "bfabric" in keys or "versions" in keys:
        return "app"
    if "execution" in keys or "registration" in keys:
        return "workunit"
    for kind in ("inputs", "outputs", "chunks"):
        if kind in keys:
            return kind
    return None


def validator_for(kind: str) -> Callable[[SourceDoc], Any]:
    """The validating function of a kind."""
    module, func = VALIDATORS[kind].split(":")
    return getattr(importlib.import_module(module), func)


def validate_file(path: str | Path, kind: str | None = None) -> tuple[str, Any]:
    """Load and validate a spec file of any kind; returns ``(kind, model)`` or raises SpecError."""
    doc = load_yaml_file(path)
    kind = kind or detect_kind(doc.data)
    if kind is None:
        raise doc.error((), "not a labflows spec: expected a workflow (Steps), an app (bfabric, versions), "
                            "inputs, outputs, chunks or a workunit definition (execution, registration)")
    return kind, validator_for(kind)(doc)
