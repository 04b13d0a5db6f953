"""Job files: the JSON or YAML data a workflow runs on (``workflow WF --job JOB``, the launcher).

A job file is untrusted input like a spec file: it is read by the same bounded loader (size,
items, depth, integer digits, duplicate keys; JSON files get JSON syntax errors) and must hold a
mapping. ``validate --kind job FILE…`` checks job files without running anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specs.source import SourceDoc, load_yaml_file


def job_from_doc(doc: SourceDoc) -> dict[str, Any]:
    """The job data of a parsed job file; raises SpecError unless it is a mapping."""
    if not isinstance(doc.data, dict):
        found = "nothing" if doc.data is None else f"a {type(doc.data).__name__}"
        raise doc.error((), f"job data must be a mapping (a JSON object), not {found}")
    return doc.data


def load_job(path: str | Path) -> dict[str, Any]:
    """Read and check a job file; raises SpecError."""
    return job_from_doc(load_yaml_file(path))
