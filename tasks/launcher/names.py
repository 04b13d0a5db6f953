"""Names in a launcher folder, as BayerCLAW's job router reads them.

A job file lives at ``<launcher prefix>/<workflow>[:<qualifier>]/<path>``. The workflow name is
letters, digits and dashes (so ``_launcher_/``, where the launcher keeps its own records, is never
taken for one); the qualifier (a version or alias in BayerCLAW) is optional. The run started for
the file is named after ``<path>`` and the file's version (behaviour 20 of the reference).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# workflow, optional ":qualifier", one or more slashes, the rest (never ending in a slash)
_JOB_KEY = re.compile(r"([A-Za-z0-9-]+)(?::([A-Za-z0-9_-]+))?/+(.+)(?<!/)")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")

NAME_STEM_CHARS = 71  # BayerCLAW: Step Functions names are at most 80 characters
NAME_VERSION_CHARS = 8
NO_VERSION = "NULL"


@dataclass(frozen=True)
class JobKey:
    """A job file's place in the launcher folder."""

    workflow: str
    qualifier: str | None
    path: str

    @property
    def workflow_ref(self) -> str:
        """``workflow`` or ``workflow:qualifier``, as written in the key."""
        return f"{self.workflow}:{self.qualifier}" if self.qualifier else self.workflow


def parse_job_key(key: str) -> JobKey | None:
    """Split ``WF[:QUALIFIER]/PATH`` (relative to the launcher prefix); None for anything else.

    ``WF-NAME:99/path/to/file.txt`` is ``JobKey("WF-NAME", "99", "path/to/file.txt")``.
    """
    m = _JOB_KEY.fullmatch(key)
    if not m:
        return None
    workflow, qualifier, path = m.groups()
    return JobKey(workflow, qualifier, path)


def normalize(text: str) -> str:
    """Runs of characters other than letters and digits become one dash; no dash at either end."""
    return _NON_ALNUM.sub("-", text).strip("-")


def strip_extension(path: str) -> str:
    """The path without the last extension of its file name (``a/b.json`` is ``a/b``; a leading
    dot, as in ``.hidden``, is not an extension)."""
    name = PurePosixPath(path).name
    stem, dot, _ = name.rpartition(".")
    if not dot or not stem.strip("."):
        return path
    return path[: len(path) - len(name)] + stem


def execution_name(path: str, version: str | None) -> str:
    """BayerCLAW's execution name for a job file: the path without extension, normalized, at most
    71 characters, then ``_`` and the first 8 characters of the normalized version (``NULL``
    when there is none). ``.leading_dot`` with version ``12345`` is ``leading-dot_12345``."""
    stem = normalize(strip_extension(path))[:NAME_STEM_CHARS]
    suffix = normalize(version or "")[:NAME_VERSION_CHARS] or NO_VERSION
    return f"{stem}_{suffix}"
