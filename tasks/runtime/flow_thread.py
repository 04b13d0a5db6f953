"""The worker thread of an async flow that does its work with plain synchronous tasks.

An async flow ends as soon as its work does (a synchronous one waits for its heartbeat thread),
so the app flows hand their work to ``asyncio.to_thread``. Prefect's async flow engine only keeps
an *async* API client in its context; without :func:`run_in_flow_thread` every synchronous task
run, artifact and tag update in that thread would open (and close) an API client of its own: a new
TLS context and a CSRF token request each, about 0.1 s of CPU on a loaded machine. With it, they all
share one client, as the task runs of a synchronous flow do; tasks mapped over a thread pool
inherit it with the rest of the context.

``drop_tag_prefixes`` keeps tags the caller put around the flow run (the command line's
``workunit:<id>``) away from the work's task runs: the flow run keeps them. Prefect checks the
concurrency limits of every tag of every task run with a request through its event-loop thread,
which costs more than the shortest task runs take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from prefect.context import SyncClientContext, TagsContext

__all__ = ["run_in_flow_thread"]

T = TypeVar("T")


def run_in_flow_thread(work: Callable[..., T], *args: object, drop_tag_prefixes: Iterable[str] = ()) -> T:
    """``work(*args)`` with one shared synchronous API client, its task runs without some tags.

    Args:
        work: the flow's synchronous work (it starts task runs, publishes artifacts).
        args: its arguments.
        drop_tag_prefixes: tags of the surrounding ``prefect.tags`` context that start with one of
            these are not given to the work's task runs.
    """
    prefixes = tuple(drop_tag_prefixes)
    tags = {tag for tag in TagsContext.get().current_tags if not (prefixes and tag.startswith(prefixes))}
    with SyncClientContext.get_or_create(), TagsContext(current_tags=tags):
        return work(*args)
