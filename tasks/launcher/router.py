"""The launcher: BayerCLAW's job router on Prefect.

Users drop job files at ``<prefix>/<workflow>[:<qualifier>]/<path>``; each launcher run lists them
and starts one ``run-workflow`` flow run per new file version. Exactly one run per file version,
also with two launchers at once or after a crash half-way, comes from two things:

1. the flow run is created with an idempotency key made of the file's URI and version; the
   Prefect server returns the existing run for a key it has seen (one database constraint);
2. a record ``<prefix>/_launcher_/launched/<workflow>/<path>/<version>.json`` is then created
   atomically (see :mod:`tasks.runtime.repo_ops`); later launcher runs skip recorded versions
   without asking the server, and the record survives a reset of the Prefect database.

A launcher that crashes between 1 and 2 leaves no record; the next run asks again with the same
key, gets the same flow run back and writes the record. A job file that cannot start a run (not
JSON/YAML, not a mapping, an unknown workflow, data the workflow's repository cannot be rendered
from) is moved to ``<prefix>/_launcher_/rejected/`` with ``<name>.error.txt`` next to it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from blocks.repository import Repository, basename, join_uri
from specs.source import SpecError, load_yaml_text
from specs.workflow.model import Workflow, load_workflow
from tasks.bclaw.initialize import JobDataError, render_repository
from tasks.bclaw.labels import workflow_tag
from tasks.launcher.names import JobKey, execution_name, parse_job_key
from tasks.runtime.api_retries import quick_retry_client
from tasks.runtime.logs import run_logger
from tasks.runtime.repo_ops import FileVersion, create_exclusive, file_version

RECORDS_DIR = "_launcher_"
LAUNCHER_TAG = "launcher"


class JobRejected(Exception):
    """The job file itself is unusable: it is moved aside, never retried."""


class WorkflowProblem(Exception):
    """The workflow the job names cannot be loaded: the job file stays for a later run."""


@dataclass(frozen=True)
class JobFile:
    """A job file found in the launcher folder, at one version."""

    uri: str
    rel: str  # relative to the launcher prefix: "<workflow>[:<qualifier>]/<path>"
    key: JobKey
    version: FileVersion

    @property
    def run_name(self) -> str:
        """The BayerCLAW execution name of this file version."""
        return execution_name(self.key.path, self.version.name_part)

    @property
    def idempotency_key(self) -> str:
        """The Prefect idempotency key of the run this file version starts."""
        digest = hashlib.sha256(f"{self.uri}\n{self.version.token}".encode()).hexdigest()
        return f"labflows-launcher-{digest}"


@dataclass
class LaunchOutcome:
    """What the launcher did with one job file."""

    job_file: str
    status: str  # launched | recorded-by-another | rejected | error
    run_name: str = ""
    flow_run_id: str = ""
    message: str = ""
    moved_to: str = ""  # where a rejected file went (its note is this plus ".error.txt")


@dataclass
class LauncherSetup:
    """Everything a launcher run needs; built once per run by the flow."""

    launcher_repo: Repository
    prefix: str  # normalized: ends with "/"
    run_repo: Repository
    deployment: str = "run-workflow/run-workflow"
    workflows: dict[str, str] = field(default_factory=dict)
    workflows_dir: str = "workflows"
    params: dict[str, str] | None = None
    run_parameters: dict[str, Any] = field(default_factory=dict)  # passed to every run as they are
    limit: int = 100
    launcher_run_id: str = ""
    _workflow_cache: dict[str, Workflow] = field(default_factory=dict, repr=False)
    _deployment: Any = field(default=None, repr=False)


# ---- locations ----------------------------------------------------------------------------------
def normalize_prefix(prefix: str) -> str:
    """``s3://bucket/launch/`` as it is (one trailing slash); a local folder as an absolute path."""
    if prefix.startswith("s3://"):
        return prefix.rstrip("/") + "/"
    if prefix.startswith("file://"):
        prefix = prefix[len("file://"):]
    return Path(prefix).absolute().as_posix().rstrip("/") + "/"


def record_uri(prefix: str, job: JobFile) -> str:
    """Where the record of a launched file version lives."""
    safe_version = "".join(c if c.isalnum() or c in "-_." else "-" for c in job.version.token)
    return join_uri(prefix, RECORDS_DIR, "launched", job.rel, f"{safe_version}.json")


def rejected_uri(prefix: str, rel: str) -> str:
    """Where a rejected job file is moved (its note is this plus ``.error.txt``)."""
    return join_uri(prefix, RECORDS_DIR, "rejected", rel)


def resolve_workflow(key: JobKey, workflows: dict[str, str], workflows_dir: str) -> str | None:
    """The workflow file a job key names: ``workflows["name"]`` (``"name:qualifier"`` with a
    qualifier), else the first existing file of ``<dir>/<name>.yaml``, ``<dir>/<name>.yml``,
    ``<dir>/<name>/workflow.yaml`` (with a qualifier: ``<dir>/<name>/<qualifier>.yaml``).
    The qualifier ``current`` means none, as in BayerCLAW."""
    qualifier = None if key.qualifier in (None, "current") else key.qualifier
    ref = f"{key.workflow}:{qualifier}" if qualifier else key.workflow
    if ref in workflows:
        return workflows[ref]
    base = Path(workflows_dir)
    if qualifier:
        candidates = [base / key.workflow / f"{qualifier}.yaml", base / key.workflow / f"{qualifier}.yml"]
    else:
        candidates = [base / f"{key.workflow}.yaml", base / f"{key.workflow}.yml",
                      base / key.workflow / "workflow.yaml", base / key.workflow / "workflow.yml"]
    return next((str(c) for c in candidates if c.is_file()), None)


# ---- listing ------------------------------------------------------------------------------------
def find_new_job_files(repo: Repository, prefix: str, limit: int | None = None) -> list[JobFile]:
    """Job file versions under ``prefix`` that have no launch record yet (at most ``limit``)."""
    logger = run_logger()
    records = set(repo.list_uris(join_uri(prefix, RECORDS_DIR) + "/"))
    found: list[JobFile] = []
    for uri in repo.list_uris(prefix):
        rel = uri[len(prefix):]
        key = parse_job_key(rel)
        if key is None or "__tmp__" in rel.split("/"):
            if not rel.startswith(RECORDS_DIR + "/"):
                logger.debug("not a job file (no <workflow>/ folder): %s", uri)
            continue
        try:
            job = JobFile(uri, rel, key, file_version(repo, uri))
        except FileNotFoundError:
            continue  # moved or deleted since the listing
        if record_uri(prefix, job) in records:
            continue
        found.append(job)
        if limit and len(found) >= limit:
            break
    return found


# ---- checking a job -----------------------------------------------------------------------------
def parse_job_data(text: str, uri: str) -> dict:
    """The job file's data, which must be a JSON/YAML mapping; :class:`JobRejected` otherwise."""
    try:
        data = load_yaml_text(text, uri).data
    except SpecError as exc:
        raise JobRejected(str(exc)) from None
    if not isinstance(data, dict):
        raise JobRejected(f"{uri}: job data must be a mapping (a JSON object), not {type(data).__name__}")
    return data


def _workflow(setup: LauncherSetup, path: str) -> Workflow:
    if path not in setup._workflow_cache:
        try:
            setup._workflow_cache[path] = load_workflow(path, setup.params)
        except SpecError as exc:
            raise WorkflowProblem(str(exc)) from None
    return setup._workflow_cache[path]


def check_job(setup: LauncherSetup, job: JobFile, data: bytes) -> tuple[str, dict, str]:
    """``(workflow path, job data, repository URI)`` for a job file, or why it cannot run."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JobRejected(f"{job.uri}: not UTF-8 text") from None
    job_data = parse_job_data(text, job.uri)
    path = resolve_workflow(job.key, setup.workflows, setup.workflows_dir)
    if path is None:
        raise JobRejected(f"{job.uri}: no workflow named {job.key.workflow_ref!r} "
                          f"(looked in the workflows mapping and in {setup.workflows_dir}/)")
    wf = _workflow(setup, path)
    try:
        repo_uri = render_repository(wf.repository, job_data)
    except JobDataError as exc:
        raise JobRejected(f"{job.uri}: {exc}") from None
    if (repo_uri + "/").startswith(setup.prefix):
        raise JobRejected(f"{job.uri}: the repository {repo_uri} is inside the launcher folder")
    return path, job_data, repo_uri


# ---- acting -------------------------------------------------------------------------------------
def reject_job_file(setup: LauncherSetup, job: JobFile, reason: str) -> None:
    """Move a job file aside, with a note saying why; idempotent, so racing launchers agree."""
    target = rejected_uri(setup.prefix, job.rel)
    note = (f"{job.uri} (version {job.version.token}) was not launched:\n{reason}\n"
            f"moved here by launcher flow run {setup.launcher_run_id or '-'} at {_now()}\n")
    setup.launcher_repo.copy(job.uri, target)
    setup.launcher_repo.write_text(target + ".error.txt", note)
    setup.launcher_repo.delete(job.uri)


def start_run(setup: LauncherSetup, job: JobFile, workflow: str, job_data: dict) -> Any:
    """Create (or, for a key the server has seen, get back) the flow run of a job file version.

    Racing launchers collide on the server's database: a create refused with 503 is tried again
    within a second (:mod:`tasks.runtime.api_retries`), the same key gets the same run."""
    parameters = {"workflow": workflow, "job": job_data, "run_name": job.run_name,
                  **{k: v for k, v in setup.run_parameters.items() if v is not None}}
    if setup.params:
        parameters["params"] = setup.params
    with quick_retry_client() as client:
        if setup._deployment is None:
            setup._deployment = client.read_deployment_by_name(setup.deployment)
        deployment = setup._deployment
        tags = list(dict.fromkeys([*(deployment.tags or []), LAUNCHER_TAG, workflow_tag(job.key.workflow)]))
        return client.create_flow_run_from_deployment(
            deployment.id, parameters=parameters, name=job.run_name, tags=tags,
            idempotency_key=job.idempotency_key)


def launch_job_file(setup: LauncherSetup, job: JobFile) -> LaunchOutcome:
    """Start the run of one job file version (or reject the file); never raises for one file."""
    logger = run_logger()
    try:
        data = setup.launcher_repo.read_bytes(job.uri)
        workflow, job_data, repo_uri = check_job(setup, job, data)
    except JobRejected as exc:
        logger.error("rejected job file %s: %s", job.uri, exc)
        try:
            reject_job_file(setup, job, str(exc))
        except Exception as move_exc:  # noqa: BLE001 - report, try again next run
            return LaunchOutcome(job.uri, "error", message=f"{exc}; could not move it aside: {move_exc}")
        return LaunchOutcome(job.uri, "rejected", message=str(exc), moved_to=rejected_uri(setup.prefix, job.rel))
    except Exception as exc:  # noqa: BLE001 - a workflow problem or a storage error: next run retries
        logger.error("could not launch %s: %s", job.uri, exc)
        return LaunchOutcome(job.uri, "error", message=str(exc))
    try:
        # BayerCLAW's initializer copies the job file into the run's repository
        setup.run_repo.write_bytes(join_uri(repo_uri, basename(job.key.path)), data)
        run = start_run(setup, job, workflow, job_data)
        record = {"job_file": job.uri, "version": job.version.token, "workflow": workflow,
                  "flow_run_id": str(run.id), "flow_run_name": run.name,
                  "launcher_run_id": setup.launcher_run_id, "recorded_at": _now()}
        mine = create_exclusive(setup.launcher_repo, record_uri(setup.prefix, job),
                                json.dumps(record, indent=2).encode())
    except Exception as exc:  # noqa: BLE001 - nothing recorded: the next run retries (same key)
        logger.error("could not launch %s: %s", job.uri, exc)
        return LaunchOutcome(job.uri, "error", job.run_name, message=str(exc))
    status = "launched" if mine else "recorded-by-another"
    logger.info("%s %s: flow run %s (%s)", status, job.uri, run.name, run.id)
    return LaunchOutcome(job.uri, status, run.name, str(run.id))


def run_launcher(setup: LauncherSetup,
                 launch: Callable[[LauncherSetup, JobFile], LaunchOutcome] = launch_job_file) -> list[LaunchOutcome]:
    """One pass over the launcher folder: every new job file version launched or rejected."""
    return [launch(setup, job) for job in find_new_job_files(setup.launcher_repo, setup.prefix, setup.limit)]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
