"""Where a workflow's task runs execute, and small concurrency helpers shared by scatter and choosers.

``make_task_runner("threads")`` (the default) is a bounded :class:`ThreadPoolTaskRunner`;
``make_task_runner("dask")`` starts a Dask ``LocalCluster`` of worker processes, and
``"dask=tcp://host:8786"`` connects to a running scheduler. Dask workers report to the same Prefect
API as the flow: the API URL the flow uses (also the temporary server of ephemeral mode or a test
harness) is put into the local workers' environment when the cluster starts; workers of a remote
scheduler need ``PREFECT_API_URL`` set where they run.

Dask resources: inside :func:`task_resources` (``{"GPU": 1, "CPU": 4, "MEMORY": bytes}``), tasks
submitted to a Dask runner carry those resource restrictions, so Dask runs them only on workers
that declare the resources (``dask worker --resources "GPU=1"``). Only names that some worker of
the cluster declares are passed on (a cluster declaring none runs everything anywhere, as before);
a need that no single worker can meet fails at once instead of waiting forever.

Sizes, from the environment: ``LABFLOWS_THREADS`` (task runs of one flow at once, default 2 per
CPU, 4 to 32), ``LABFLOWS_BATCH_THREADS`` (branches one scatter batch runs at once, default one per
CPU, at least 2; also the threads of each Dask worker), ``LABFLOWS_DASK_WORKERS`` (worker processes
of the local cluster, default one per CPU, at least 2).
"""

from __future__ import annotations

import contextvars
import functools
import os
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Callable, Iterable, Iterator, TypeVar

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

T = TypeVar("T")
R = TypeVar("R")


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ[name]))
    except (KeyError, ValueError):
        return default


def flow_threads() -> int:
    """Task runs of one flow at once (``LABFLOWS_THREADS``, default 2 per CPU, 4 to 32)."""
    return _env_int("LABFLOWS_THREADS", min(32, max(4, 2 * (os.cpu_count() or 1))))


def batch_threads() -> int:
    """Branches one batch task runs at once (``LABFLOWS_BATCH_THREADS``, default one per CPU, at least 2)."""
    return _env_int("LABFLOWS_BATCH_THREADS", max(2, os.cpu_count() or 1))


class TaskRunnerSpecError(ValueError):
    """A ``--task-runner`` value labflows does not know."""


def _current_api_url() -> str | None:
    """The Prefect API this process talks to: the setting, else a running temporary server."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if url:
        return url
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer._instances.get(None)
    if server is not None and getattr(server, "server_process", None) is not None:
        return server.api_url
    return None


@functools.cache
def _dask_runner_class() -> type:
    """``LabflowsDaskTaskRunner``, built on first use so the thread path never imports Dask."""
    from prefect_dask import DaskTaskRunner

    from prefect_dask.task_runners import PrefectDaskFuture

    class LabflowsDaskTaskRunner(DaskTaskRunner):
        """A DaskTaskRunner whose local worker processes use the flow's Prefect API and whose tasks
        carry the resources of :func:`task_resources`."""

        def submit(self, task, parameters, wait_for=None, dependencies=None):
            resources = _resources.get()
            if not resources:
                return super().submit(task, parameters, wait_for, dependencies)
            if not self._started:
                raise RuntimeError("The task runner must be started before submitting work.")
            future = self.client.submit(
                task, parameters=self._optimize_futures(parameters),
                wait_for=self._optimize_futures(wait_for) if wait_for else None,
                dependencies=dependencies, return_type="state", resources=resources, pure=False)
            return PrefectDaskFuture(wrapped_future=future, task_run_id=future.task_run_id)

        def __enter__(self):
            if not self.address and "env" not in self.cluster_kwargs:
                url = _current_api_url()
                if url:
                    self.cluster_kwargs = {**self.cluster_kwargs, "env": {"PREFECT_API_URL": url}}
            return super().__enter__()

    LabflowsDaskTaskRunner.__module__ = __name__
    LabflowsDaskTaskRunner.__qualname__ = "LabflowsDaskTaskRunner"
    return LabflowsDaskTaskRunner


def __getattr__(name: str) -> Any:
    """``tasks.runtime.task_runners.LabflowsDaskTaskRunner`` resolves lazily (also for pickle)."""
    if name == "LabflowsDaskTaskRunner":
        return _dask_runner_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_task_runner(spec: str | None = None) -> TaskRunner:
    """A task runner from ``threads[=N]``, ``dask`` or ``dask=SCHEDULER_ADDRESS`` (None: threads)."""
    kind, _, arg = (spec or "threads").partition("=")
    kind, arg = kind.strip().lower(), arg.strip()
    if kind == "threads":
        try:
            workers = int(arg) if arg else flow_threads()
        except ValueError:
            raise TaskRunnerSpecError(f"threads=N needs a whole number, not {arg!r}") from None
        return ThreadPoolTaskRunner(max_workers=max(1, workers))
    if kind == "dask":
        runner = _dask_runner_class()
        if arg:
            return runner(address=arg)
        workers = _env_int("LABFLOWS_DASK_WORKERS", max(2, os.cpu_count() or 1))
        return runner(cluster_kwargs={"n_workers": workers, "threads_per_worker": batch_threads(),
                                      "processes": True, "dashboard_address": None})
    raise TaskRunnerSpecError(f"unknown task runner {spec!r}: use threads[=N], dask or dask=SCHEDULER_ADDRESS")


def is_dask_runner(runner: Any) -> bool:
    """True for prefect-dask's DaskTaskRunner (and subclasses).

    Never imports Dask: a Dask runner exists only once ``prefect_dask`` is imported, and the
    import costs a thread-runner run a second or more (every scatter step asks).
    """
    module = sys.modules.get("prefect_dask")
    runner_class = getattr(module, "DaskTaskRunner", None)
    return runner_class is not None and isinstance(runner, runner_class)


def current_task_runner() -> TaskRunner | None:
    """The task runner of the flow run this code runs in (None outside a flow)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx.task_runner if ctx else None


# ---- Dask resources -------------------------------------------------------------------------------
class ResourcesUnavailable(RuntimeError):
    """No worker of the Dask cluster declares enough of the resources a task needs."""


_resources: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar("labflows_resources",
                                                                                     default=None)


def declared_resources(runner: Any) -> list[dict[str, float]]:
    """The resources each worker of a started Dask runner's cluster declares."""
    workers = runner.client.scheduler_info(n_workers=-1)["workers"].values()
    return [dict(w.get("resources") or {}) for w in workers]


def fit_resources(what: str, wanted: dict[str, float], declared: list[dict[str, float]]) -> dict[str, float]:
    """The part of ``wanted`` the cluster knows (names some worker declares, amounts above 0).

    Raises :class:`ResourcesUnavailable` when no single worker declares all of it (Dask would
    wait for such a worker forever).
    """
    names = {name for worker in declared for name in worker}
    needed = {k: v for k, v in wanted.items() if v and k in names}
    if needed and not any(all(w.get(k, 0) >= v for k, v in needed.items()) for w in declared):
        have = "; ".join(sorted(", ".join(f"{k}={v:g}" for k, v in sorted(w.items())) or "none" for w in declared))
        raise ResourcesUnavailable(f"{what} needs {', '.join(f'{k}={v:g}' for k, v in sorted(needed.items()))} "
                                   f"and no Dask worker has that much (workers declare: {have})")
    return needed


@contextmanager
def task_resources(what: str, wanted: dict[str, float]) -> Iterator[dict[str, float]]:
    """Tasks submitted inside need ``wanted`` (as far as the flow's Dask cluster declares them);
    nothing changes on other task runners. Yields the resources passed on."""
    runner = current_task_runner()
    if not wanted or not is_dask_runner(runner):
        yield {}
        return
    needed = fit_resources(what, wanted, declared_resources(runner))
    token = _resources.set(needed or None)
    try:
        yield needed
    finally:
        _resources.reset(token)


# ---- limiting branches -------------------------------------------------------------------------
class Limiter:
    """At most ``slots`` holders at once, across every task run that holds this object.

    In-process (thread pools) a semaphore is shared by reference; on a Dask cluster a
    ``distributed.Semaphore`` (held by the scheduler) is used, so the limit spans worker processes.
    """

    def __init__(self, slots: int, distributed_name: str | None = None):
        self.slots = slots
        self.distributed_name = distributed_name
        self._local = None if distributed_name else threading.BoundedSemaphore(slots)

    def __getstate__(self) -> dict:
        if self._local is not None:
            raise TypeError("an in-process Limiter cannot leave its process; use a Dask limiter")
        return {"slots": self.slots, "distributed_name": self.distributed_name}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["slots"], state["distributed_name"])

    def slot(self) -> AbstractContextManager:
        """A context manager holding one slot while inside."""
        if self._local is not None:
            return self._local
        from distributed import Semaphore

        return Semaphore(max_leases=self.slots, name=self.distributed_name)


def make_limiter(max_concurrency: int) -> Limiter | None:
    """A limiter for ``max_concurrency`` branches (None for 0, unlimited), fit for the flow's runner."""
    if max_concurrency <= 0:
        return None
    if is_dask_runner(current_task_runner()):
        return Limiter(max_concurrency, distributed_name=f"labflows-{uuid.uuid4().hex}")
    return Limiter(max_concurrency)


def hold(limiter: Limiter | None) -> AbstractContextManager:
    """One slot of ``limiter``, or nothing to hold when unlimited."""
    return limiter.slot() if limiter is not None else nullcontext()


# ---- threads that keep the Prefect run context ---------------------------------------------------
def map_in_threads(fn: Callable[[T], R], items: Iterable[T], max_workers: int) -> list[R]:
    """``[fn(item) …]`` in up to ``max_workers`` threads, in order; each thread sees the caller's
    context (Prefect run context, logger), so tasks, subflows and run logs work inside ``fn``.
    The first exception is raised after every call has finished."""
    items = list(items)
    if len(items) <= 1 or max_workers <= 1:
        return [fn(item) for item in items]
    parent = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        futures = [pool.submit(parent.copy().run, fn, item) for item in items]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]
    return [f.result() for f in futures]
