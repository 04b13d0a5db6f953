"""Prefect's client, given :func:`quick_retry_client`'s hook, tries a 503 again within a second first: a
real ``SyncPrefectClient`` against a small HTTP server that is busy (503) for the first requests;
the hook's ``Retry-After`` values on real ``httpx`` responses."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_CLIENT_CSRF_SUPPORT_ENABLED,
    PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED,
    temporary_settings,
)

from tasks.runtime.api_retries import RETRY_AFTER_S, quick_retry_after, quick_retry_client

QUICK_TRIES = 2  # the retries within a second: 0.1 + 0.9 s (Prefect's own back-off: 2 + 4 s)


class _BusyServer(ThreadingHTTPServer):
    """Answers the first ``busy`` POSTs with 503 (as a server on a locked SQLite does), then 201."""

    def __init__(self, busy: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.busy, self.bodies = busy, []


class _Handler(BaseHTTPRequestHandler):
    server: _BusyServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        busy = len(self.server.bodies) <= self.server.busy
        body = json.dumps({"exception_message": "Service Unavailable"} if busy else {"ok": True}).encode()
        self.send_response(503 if busy else 201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def busy_server() -> Iterator[_BusyServer]:
    server = _BusyServer(busy=QUICK_TRIES)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_busy_server_is_asked_again_at_once_with_the_same_request(busy_server):
    url = f"http://127.0.0.1:{busy_server.server_address[1]}/api"
    seen: list[tuple[int, str | None]] = []

    def record(response: httpx.Response) -> None:
        seen.append((response.status_code, response.headers.get("Retry-After")))

    started = time.monotonic()
    # the small server speaks only the POST, not a Prefect server's CSRF and version end points
    settings = {PREFECT_API_URL: url, PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: False,
                PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED: False}
    with temporary_settings(updates=settings), quick_retry_client() as client:
        client._client.event_hooks["response"].append(record)  # after the hook: what Prefect's retry reads
        response = client._client.post("/flow_runs/", json={"name": "one"})
    assert response.status_code == 201
    assert busy_server.bodies == [b'{"name":"one"}'] * (QUICK_TRIES + 1)  # the same request again
    assert seen == [(503, "0.1"), (503, "0.9"), (201, None)]
    # Prefect honoured them: its own back-off would sleep 2 + 4 s for these two 503s (1 s here)
    assert time.monotonic() - started < 5


def _response(status: int, request: httpx.Request, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=request)


def test_a_server_that_stays_busy_is_waited_for_a_minute_as_before_and_other_answers_are_left_alone():
    request = httpx.Request("POST", "http://127.0.0.1/api/flow_runs/")
    given = []
    for _ in range(len(RETRY_AFTER_S) + 2):
        response = _response(503, request)
        quick_retry_after(response)
        given.append(response.headers.get("Retry-After"))
    assert given == ["0.1", "0.9", "4", "16", "40", None, None]  # beyond those: Prefect's own back-off
    assert sum(RETRY_AFTER_S) >= 2 + 4 + 8 + 16 + 32 - 1  # as patient as Prefect's five retries

    fresh = httpx.Request("POST", "http://127.0.0.1/api/flow_runs/")  # counted per request
    for status, headers, expected in ((201, {}, None), (429, {}, None), (503, {"Retry-After": "30"}, "30"),
                                      (503, {}, "0.1")):
        response = _response(status, fresh, **headers)
        quick_retry_after(response)
        assert response.headers.get("Retry-After") == expected, status

