"""Command steps and scatter batches on Prefect work pools: BayerCLAW's Batch job queues, on Prefect.

With the work-pool step runner (``Options: step_runner: work-pool``, ``--step-runner work-pool``),
a command step whose ``compute.queue_name`` is set (or every command step, when a default pool is
configured) runs as a flow run of the ``run-step`` deployment on a work pool, and the parent waits
for it. The pool is the step's ``queue_name`` unless ``step_pools`` maps that queue elsewhere; a
queue mapped to several pools (``align=pool-a,pool-b``) spreads its runs over them in turn, as a
Batch queue spreads jobs over its compute environments. A scatter step sends each batch of
branches the same way, to the pools of the first command step inside it that names a queue.

The child (``flows/step.py``) loads the same workflow file, runs the step (or the batch) in the
same repository with the same job data, writes markers and outputs as an in-process step does, and
leaves what the parent needs next in ``_control_/<step>.run-step.json`` (a batch:
``<Step>/_control_/batch-<first>-<last>.json``), so workers need to share only the repository.

For each pool ``P`` the parent uses the deployment ``run-step/P``, created on first use as a copy
of ``run-step/run-step`` (entrypoint, pull steps, parameters) placed on pool ``P``. ``compute``
becomes job variables where the pool's job template declares them (ECS ``cpu``/``memory``/``gpu``,
Docker ``mem_limit`` and ``container_create_kwargs.device_requests``, Kubernetes
``cpu_request``/``memory_request``/``gpu_limit``); process pools take none. A scatter's batches get
the ``compute`` of the command step whose queue picked their pools.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from blocks.repository import join_uri
from tasks.bclaw.artifacts import step_reports_off
from tasks.bclaw.context import CONTROL_DIR, RunContext, StepRecord
from tasks.bclaw.labels import step_run_name, step_tag
from tasks.bclaw.scatter.branches import (
    BatchFailed,
    BranchResult,
    ScatterPlan,
    run_branch,
    run_command_with_retries,
)
from tasks.bclaw.walk import Handlers, StepOutcome
from tasks.runtime.child_runs import (
    ChildNotStarted,
    ChildSpec,
    current_flow_run_id,
    start_child,
    wait_for_children,
)
from tasks.runtime.logs import run_logger
from tasks.runtime.task_runners import batch_threads, map_in_threads

BASE_DEPLOYMENT = "run-step/run-step"
DEFAULT_START_TIMEOUT_S = 300.0
STEP_RUNNERS = ("in-process", "work-pool")



def gpu_count(gpu: int | str) -> int:
    """A step's ``compute.gpu`` as a number of GPUs: ``all`` asks for one where a count is needed."""
    return 1 if gpu == "all" else int(gpu or 0)


def _docker_gpus(compute: Any, base: dict[str, Any]) -> dict[str, Any] | None:
    """prefect-docker's ``container_create_kwargs`` with a docker-py GPU device request (``--gpus``),
    over what the deployment already passes there."""
    if not compute.gpu:
        return None
    count = -1 if compute.gpu == "all" else int(compute.gpu)  # docker-py: -1 is every GPU
    kwargs = dict(base.get("container_create_kwargs") or {})
    return {**kwargs, "device_requests": [{"count": count, "capabilities": [["gpu"]]}]}


# compute -> job variables, offered to a pool only when its job template declares the variable;
# a maker gets (compute, the deployment's job variables) and returns None for "leave unset"
_JOB_VARIABLES: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "cpu": lambda c, _: c.cpus * 1024,  # ECS CPU units
    "memory": lambda c, _: c.memory,  # ECS MiB
    "gpu": lambda c, _: str(gpu_count(c.gpu)) if c.gpu else None,  # ECS GPU resourceRequirements (a string)
    "mem_limit": lambda c, _: f"{c.memory}m",  # Docker
    "container_create_kwargs": _docker_gpus,  # Docker: device_requests
    "cpu_request": lambda c, _: str(c.cpus),  # Kubernetes, with these variables in the job template
    "memory_request": lambda c, _: f"{c.memory}Mi",
    "gpu_limit": lambda c, _: str(gpu_count(c.gpu)) if c.gpu else None,  # Kubernetes nvidia.com/gpu limit
}


class StepRunFailed(RuntimeError):
    """A step (or batch) on a work pool failed, never started, or its pool or deployment is missing."""


class StepPoolSpecError(ValueError):
    """A ``--step-pool`` value that is not ``[QUEUE=]POOL[,POOL…]``."""


def parse_step_pools(entries: Iterable[str]) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """``QUEUE=POOL[,POOL…]`` entries (a queue's pools) and ``POOL[,POOL…]`` (the default pools).

    Returns ``(pools by queue, default pools)``; raises :class:`StepPoolSpecError` on an empty name.
    """
    mapping: dict[str, tuple[str, ...]] = {}
    default: tuple[str, ...] = ()
    for entry in entries:
        queue, sep, value = entry.partition("=") if "=" in entry else ("", "", entry)
        pools = tuple(p.strip() for p in value.split(","))
        if (sep and not queue.strip()) or not all(pools):
            raise StepPoolSpecError(f"step pool {entry!r}: use POOL[,POOL...] or QUEUE=POOL[,POOL...]")
        if sep:
            mapping[queue.strip()] = pools
        else:
            default = pools
    return mapping, default


def _as_pools(value: str | list[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(p.strip() for p in items if p.strip())


@dataclass
class WorkPoolRunner:
    """How one workflow run sends steps to work pools, and what each child run needs to find them."""

    workflow_file: str  # absolute path; workers must see the workflow at the same path
    params: dict[str, str]  # the workflow's Parameters values
    repository_params: dict[str, str]  # repository_block or storage, as the flows take them
    pools: dict[str, tuple[str, ...]] = field(default_factory=dict)  # queue_name -> pools
    default: tuple[str, ...] = ()  # pools for steps without a queue_name (none: in-process)
    start_timeout: float = DEFAULT_START_TIMEOUT_S
    base_deployment: str = BASE_DEPLOYMENT
    _turns: dict = field(default_factory=dict, repr=False)  # pools -> itertools.count
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_options(cls, options: Any, *, workflow_file: str, params: dict[str, str],
                     repository_params: dict[str, str], step_pools: list[str] | None = None,
                     start_timeout: float | None = None) -> "WorkPoolRunner":
        """The runner for ``Options`` (``step_pools``, ``default_step_pool``, ``step_start_timeout``)
        with ``step_pools`` entries (``[QUEUE=]POOL[,POOL…]``, the command line's) on top."""
        pools = {q: _as_pools(v) for q, v in (options.step_pools or {}).items()}
        default = _as_pools(options.default_step_pool or "")
        extra, extra_default = parse_step_pools(step_pools or [])
        return cls(str(Path(workflow_file).absolute()), dict(params), dict(repository_params),
                   {**pools, **extra}, extra_default or default,
                   start_timeout if start_timeout is not None else options.step_start_timeout)

    def pools_for(self, step: Any) -> tuple[str, ...]:
        """The pools a command step goes to (empty: it runs in the flow's process)."""
        queue = getattr(step.compute, "queue_name", None)
        if queue:
            return self.pools.get(queue, (queue,))
        return self.default

    @staticmethod
    def queue_step(step: Any) -> Any | None:
        """The first command step inside a scatter that names a queue (its pools and ``compute``
        are the batches')."""
        return next((s for s in step.steps if s.kind == "command" and s.compute.queue_name), None)

    def pools_for_scatter(self, step: Any) -> tuple[str, ...]:
        """A scatter's batch pools: those of the first command step inside that names a queue."""
        inner = self.queue_step(step)
        return self.pools_for(inner) if inner is not None else self.default

    def next_pool(self, pools: tuple[str, ...]) -> str:
        """One of ``pools``, each in turn (thread-safe)."""
        with self._lock:
            turn = self._turns.setdefault(pools, itertools.count())
            return pools[next(turn) % len(pools)]

    def __getstate__(self) -> dict:  # a RunContext field: travels to Dask workers without its lock
        return {k: v for k, v in self.__dict__.items() if k not in ("_turns", "_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _turns={}, _lock=threading.Lock())


# ---- deployments and pools -----------------------------------------------------------------------
@dataclass(frozen=True)
class PoolDeployment:
    """The ``run-step`` deployment of one pool: its name, the job variables the pool's base job
    template declares, and the deployment's own job variables."""

    name: str
    declared: dict[str, Any]
    job_variables: dict[str, Any]

    def variables_for(self, compute: Any) -> dict[str, Any]:
        """A step's ``compute`` as this pool's job variables (see :func:`job_variables`)."""
        return job_variables(compute, self.declared, self.job_variables)


def step_deployment(pool: str, base: str = BASE_DEPLOYMENT) -> PoolDeployment:
    """The deployment for runs on ``pool`` and what its pool declares.

    ``run-step/<pool>`` is created from ``base`` when missing. Raises :class:`StepRunFailed` (one
    line) when the pool or the base deployment does not exist.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    flow_name = base.split("/", 1)[0]
    with get_client(sync_client=True) as client:
        try:
            work_pool = client.read_work_pool(pool)
        except ObjectNotFound:
            raise StepRunFailed(f"work pool {pool!r} does not exist (create it: prefect work-pool create "
                                f"{pool} --type process, and start a worker for it)") from None
        declared = (work_pool.base_job_template or {}).get("variables", {}).get("properties", {})
        try:
            template = client.read_deployment_by_name(base)
        except ObjectNotFound:
            raise StepRunFailed(f"deployment {base} does not exist: deploy it first "
                                "(prefect deploy -n run-step, see docs/scale.md)") from None
        own = dict(template.job_variables or {})
        if template.work_pool_name == pool:
            return PoolDeployment(base, declared, own)
        name = f"{flow_name}/{pool}"
        try:
            own = dict(client.read_deployment_by_name(name).job_variables or {})
        except ObjectNotFound:
            client.create_deployment(
                flow_id=template.flow_id, name=pool, entrypoint=template.entrypoint, path=template.path,
                work_pool_name=pool, pull_steps=template.pull_steps, tags=list(template.tags or []),
                parameter_openapi_schema=template.parameter_openapi_schema,
                job_variables=own, description=template.description)
        return PoolDeployment(name, declared, own)


def job_variables(compute: Any, declared: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``compute`` as the job variables the pool's template declares (cpu, memory, gpu, …).

    ``base`` is the deployment's own job variables: a variable that a GPU request extends (Docker's
    ``container_create_kwargs``) keeps what the deployment put there.
    """
    if compute is None:
        return {}
    made = {name: make(compute, base or {}) for name, make in _JOB_VARIABLES.items() if name in declared}
    return {name: value for name, value in made.items() if value is not None}


def _no_worker_message(what: str, pool: str, exc: ChildNotStarted) -> str:
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            online = [w for w in client.read_workers_for_work_pool(pool)
                      if getattr(w.status, "value", w.status) == "ONLINE"]
        workers = f"{len(online)} online worker(s)"
    except Exception:  # noqa: BLE001 - the message stays useful without the count
        workers = "workers unknown"
    return (f"{what}: no worker of work pool {pool!r} started flow run {exc.run.name} within "
            f"{exc.waited_s:.0f} s ({workers}; start one: prefect worker start --pool {pool}, or its "
            "slots are held by waiting parents: give children their own pool, see docs/scale.md)")


# ---- the parent's side ---------------------------------------------------------------------------
def result_uri(ctx: RunContext, step_name: str) -> str:
    """Where a child leaves a command step's record and auto-inputs."""
    return ctx.uri(CONTROL_DIR, f"{step_name}.run-step.json")


def batch_result_uri(ctx: RunContext, step_name: str, first: int, last: int) -> str:
    """Where a child leaves the branch results of one batch."""
    return join_uri(ctx.repo_uri, step_name, CONTROL_DIR, f"batch-{first:05d}-{last:05d}.json")


def _parameters(runner: WorkPoolRunner, ctx: RunContext, step_name: str, **more: Any) -> dict[str, Any]:
    return {"workflow": runner.workflow_file, "step": step_name, "repository_uri": ctx.repo_uri,
            "params": runner.params, **runner.repository_params, "executor": ctx.executor,
            "execution_id": ctx.execution_id, **more,
            # only when set: a run-step deployed before the parameter existed still takes the rest
            **({"image_registry": ctx.options.ecr_registry} if ctx.options.ecr_registry else {})}


def _failure(run: Any) -> str:
    state = run.state
    return f"{state.name if state else 'no state'}: {(state.message or '').strip() if state else ''}"


def run_step_on_pool(step: Any, ctx: RunContext, prev: dict) -> StepOutcome:
    """Run a command step as a ``run-step`` flow run on its pool and wait; the child's outcome."""
    runner: WorkPoolRunner = ctx.step_runner
    pool = runner.next_pool(runner.pools_for(step))
    deployment = step_deployment(pool, runner.base_deployment)
    run_logger().info("%s: running on work pool %s (%s)", step.name, pool, deployment.name)
    started = time.monotonic()
    child = start_child(ChildSpec(deployment.name, _parameters(runner, ctx, step.name, prev_outputs=dict(prev)),
                                  flow_run_name=step_run_name(ctx.workflow_name, step.name),
                                  job_variables=deployment.variables_for(step.compute),
                                  tags=(step_tag(step.name), f"pool:{pool}"), key=step.name))
    try:
        final = wait_for_children([child], start_timeout=runner.start_timeout)[child.id]
    except ChildNotStarted as exc:
        raise StepRunFailed(_no_worker_message(f"step {step.name}", pool, exc)) from None
    if not final.state.is_completed():
        raise StepRunFailed(f"step {step.name}: flow run {final.name} on work pool {pool} ended {_failure(final)}")
    result = _result_of(ctx, result_uri(ctx, step.name), final)
    if result is None:
        raise StepRunFailed(f"step {step.name}: flow run {final.name} completed without leaving its result")
    record = StepRecord(**{**result["record"], "duration_s": time.monotonic() - started})
    return StepOutcome([record], result["prev_outputs"])


def _result_of(ctx: RunContext, uri: str, run: Any) -> Any | None:
    """What flow run ``run`` left at ``uri``; None when nothing, or another run's (an earlier one)."""
    if not ctx.repo.exists(uri):
        return None
    kept = json.loads(ctx.repo.read_text(uri))
    return kept["result"] if kept.get("flow_run_id") == str(run.id) else None


def _leave_result(ctx: RunContext, uri: str, result: Any) -> None:
    """Leave ``result`` at ``uri`` for the parent, with this flow run's id (see :func:`_result_of`)."""
    ctx.repo.write_text(uri, json.dumps({"flow_run_id": str(current_flow_run_id() or ""), "result": result}))


def run_batches_on_pools(step: Any, ctx: RunContext, batches: list[range], payloads: list[list],
                         on_batch: Callable[[list[BranchResult]], None]) -> None:
    """Run each batch of a scatter as a ``run-step`` flow run, spread over the scatter's pools.

    ``on_batch(results)`` gets every branch result of a finished batch (a batch whose child ended
    without results counts all its branches failed). At most ``max_concurrency`` branches run at
    once: batches are started in groups that fit.
    """
    runner: WorkPoolRunner = ctx.step_runner
    pools = runner.pools_for_scatter(step)
    size = max(len(b) for b in batches)
    group = max(1, step.max_concurrency // size) if step.max_concurrency else len(batches)
    deployments = {p: step_deployment(p, runner.base_deployment) for p in pools}
    queue_step = runner.queue_step(step)
    compute = queue_step.compute if queue_step is not None else None
    for start in range(0, len(batches), group):
        started: dict[Any, tuple[Any, range, str]] = {}  # run id -> (run, batch, pool)
        for batch, payload in zip(batches[start:start + group], payloads[start:start + group]):
            pool = runner.next_pool(pools)
            child = start_child(ChildSpec(
                deployments[pool].name, _parameters(runner, ctx, step.name, branches=[list(p) for p in payload]),
                flow_run_name=step_run_name(ctx.workflow_name, step.name, batch[0], batch[-1]),
                job_variables=deployments[pool].variables_for(compute),
                tags=(step_tag(step.name), f"pool:{pool}"), key=f"{step.name}[{batch[0]}-{batch[-1]}]"))
            started[child.id] = (child, batch, pool)

        def collect(run: Any) -> None:
            batch = started[run.id][1]
            rows = _result_of(ctx, batch_result_uri(ctx, step.name, batch[0], batch[-1]), run)
            if rows is not None:
                on_batch([BranchResult(**r) for r in rows])
            else:
                on_batch([BranchResult(i, "failed", 0.0, f"flow run {run.name} ended {_failure(run)}")
                          for i in batch])

        try:
            wait_for_children([run for run, _, _ in started.values()], start_timeout=runner.start_timeout,
                              on_final=collect)
        except ChildNotStarted as exc:
            raise StepRunFailed(_no_worker_message(f"step {step.name}", started[exc.run.id][2], exc)) from None


# ---- the child's side (flows/step.py) ------------------------------------------------------------
def run_step_here(step: Any, ctx: RunContext, prev: dict) -> dict:
    """Run a command step in this process (retried as its ``retry`` says) and leave the outcome
    for the parent; returns it."""
    outcome = run_command_with_retries(step, ctx, prev)
    result = {"record": asdict(outcome.records[0]), "prev_outputs": outcome.prev_outputs}
    _leave_result(ctx, result_uri(ctx, step.name), result)
    return result


def run_batch_here(step: Any, ctx: RunContext, branches: list[list], handlers: Handlers) -> list[dict]:
    """Run a batch of scatter branches (``[index, row]`` pairs) here; leaves every branch's result
    for the parent and raises :class:`BatchFailed` when any failed."""
    template = json.loads(ctx.repo.read_text(ctx.uri(step.name, "_JOB_DATA_")))
    plan = ScatterPlan(step, ctx, template, handlers, None, threads=min(len(branches), batch_threads()))
    with step_reports_off():
        results = map_in_threads(lambda b: run_branch(plan, int(b[0]), dict(b[1])), branches, plan.threads)
    first, last = int(branches[0][0]), int(branches[-1][0])
    rows = [asdict(r) for r in results]
    _leave_result(ctx, batch_result_uri(ctx, step.name, first, last), rows)
    if any(r.status == "failed" for r in results):
        raise BatchFailed(f"{step.name}[{first:05d}-{last:05d}]", results)
    return rows
