"""What every step of one workflow run needs to know: repository, options, executor, scratch space."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from blocks.repository import Repository, join_uri

JOB_DATA = "_JOB_DATA_"
JOB_REF = "job_ref"  # in a branch's _JOB_DATA_: where the job is, instead of a copy
CONTROL_DIR = "_control_"


def default_scratch() -> Path:
    """Where workspaces and the reference cache live (``LABFLOWS_SCRATCH`` or ``./.labflows/scratch``)."""
    return Path(os.environ.get("LABFLOWS_SCRATCH", "./.labflows/scratch")).absolute()


@dataclass
class StepRecord:
    """One line of the run summary: a step (or branch) and how it ended."""

    name: str
    status: str  # done | skipped | failed
    duration_s: float = 0.0
    outputs: list[str] = field(default_factory=list)
    message: str = ""
    outputs_note: str = ""  # a failed step: a few words on what it uploaded (a scatter's branches)


@dataclass
class RunContext:
    """The state a step runs in; scatter branches and subpipes get derived copies."""

    repo: Repository
    repo_uri: str
    workflow_name: str
    options: Any  # specs.workflow.model.Options
    executor: str = "local"
    scratch: Path = field(default_factory=default_scratch)
    branch_idx: str = "main"
    execution_id: str = ""
    workflow_dir: Path = field(default_factory=Path.cwd)
    step_runner: Any = None  # tasks.bclaw.step_runner.WorkPoolRunner: steps go to work pools
    #: ``(job data, URI of the _JOB_DATA_ holding the job)`` of this repository, when the process
    #: already knows them (a scatter branch it just wrote): read without touching the repository
    known_job_data: tuple[dict, str] | None = field(default=None, repr=False, compare=False)

    def uri(self, *parts: str) -> str:
        """A URI inside this run's repository."""
        return join_uri(self.repo_uri, *parts)

    def marker_uri(self, step_name: str) -> str:
        """The completion marker of a step: ``<repo>/_control_/<step>.complete``."""
        return self.uri(CONTROL_DIR, f"{step_name}.complete")

    def read_job_data(self) -> dict:
        """The extended job data ``{job, parent, scatter}`` of this repository.

        A branch's ``_JOB_DATA_`` names the ``_JOB_DATA_`` that holds the job (``job_ref``)
        instead of a copy of it, so a run stores its job data once however many branches it has.
        """
        return self.read_job_data_and_source()[0]

    def read_job_data_and_source(self) -> tuple[dict, str]:
        """:meth:`read_job_data`, and the URI of the ``_JOB_DATA_`` that holds the job (this
        repository's own, or the one it refers to), from one read; none when
        :attr:`known_job_data` holds them."""
        if self.known_job_data is not None:
            data, source = self.known_job_data
            return dict(data), source  # a copy of the top level: callers may add keys
        source = self.uri(JOB_DATA)
        data = json.loads(self.repo.read_text(source))
        ref = data.pop(JOB_REF, None)
        if "job" not in data and isinstance(ref, str):
            source = ref
            data["job"] = json.loads(self.repo.read_text(ref)).get("job")
        return data, source

    def write_job_data(self, job: Any, parent: dict | None = None, scatter: dict | None = None, *,
                       job_ref: str | None = None) -> None:
        """Write ``<repo>/_JOB_DATA_``; with ``job_ref`` (the URI of a ``_JOB_DATA_`` holding the
        job) the job itself is not copied."""
        data = {JOB_REF: job_ref} if job_ref else {"job": job}
        data.update({"parent": parent or {}, "scatter": scatter or {}})
        # one line: json's C encoder (indent=2 takes its Python one: a scatter writes one per branch)
        self.repo.write_text(self.uri(JOB_DATA), json.dumps(data))

    def derive(self, **changes) -> "RunContext":
        """A copy with some fields changed (a branch's repository, a subpipe's); another
        repository forgets :attr:`known_job_data` (it has a ``_JOB_DATA_`` of its own)."""
        if "repo_uri" in changes and "known_job_data" not in changes:
            changes["known_job_data"] = None
        return replace(self, **changes)
