"""A Prefect API client whose requests that meet a locked SQLite database are tried again within a
second first, not after Prefect's 2, 4, 8 ... s back-off.

A Prefect server on SQLite (the local server, a small lab server) answers a flow run create that
collides with another writer's commit with ``503`` at once: the create's transaction has read
already, so SQLite's busy wait cannot help it, while the lock is usually free again within
milliseconds. Prefect's client sleeps ``2**n`` seconds before each new attempt (2, 4, 8, 16, 32), so
two launchers racing, or a parent starting children while the workers report, lose seconds to
minutes to back-off per run started. :func:`quick_retry_client` gives every 503 of a request a
``Retry-After`` from :data:`RETRY_AFTER_S`, which Prefect's client honours instead of its own
back-off: the first two retries come within a second, and the five together wait about as long as
Prefect's five (a minute), so a server that stays busy is waited for as long as before. (Handing
over to Prefect's back-off after a few quick tries would not do: Prefect counts those tries, and
its next wait would be 32 s.) The requests retried are those Prefect's client retries anyway (a
503 means the server did not do it).
"""

from __future__ import annotations

from typing import Any

import httpx

#: seconds before retry 1, 2, ... (Prefect retries 5 times by default: 0.1, 1, 5, 21, 61 s after the first
#: try, where its own back-off gives 2, 6, 14, 30, 62 s)
RETRY_AFTER_S = (0.1, 0.9, 4.0, 16.0, 40.0)
_COUNT_KEY = "labflows_quick_retries"  # in the request's extensions: the same request is sent again


def quick_retry_after(response: httpx.Response) -> None:
    """httpx response hook: a ``503`` without ``Retry-After`` gets the next of :data:`RETRY_AFTER_S`
    (counted per request); other responses, and 503s after those, are left as they are."""
    if response.status_code != 503 or "Retry-After" in response.headers:
        return
    done = response.request.extensions.get(_COUNT_KEY, 0)
    if done >= len(RETRY_AFTER_S):
        return
    response.request.extensions[_COUNT_KEY] = done + 1
    response.headers["Retry-After"] = f"{RETRY_AFTER_S[done]:g}"


def quick_retry_client() -> Any:
    """A synchronous Prefect client (use it as a context manager) that retries 503s quickly."""
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True, httpx_settings={"event_hooks": {"response": [quick_retry_after]}})
