"""A fault-injecting HTTP proxy to put in front of an S3 endpoint (standard library only).

For a chosen share of requests it misbehaves the way S3 and networks do: it resets the
connection after reading the request (``reset``), answers ``503 SlowDown`` or
``503 ServiceUnavailable`` with S3's XML error body (``503``), or sends a GET response's headers
and half its body, then resets (``truncate``). Decisions come from a seeded RNG, so a run injects
the same sequence of faults (which request receives which fault depends on thread timing).
``refuse_all`` resets every connection as soon as it is accepted. ``serialize`` forwards one
request at a time: S3 applies conditional writes atomically, moto checks and writes in two steps,
so a race test needs the upstream to see the racing requests one after the other.

Example::

    proxy = FaultProxy("127.0.0.1", 5000, share=0.2, seed=7).start()
    ...  # point boto3 at proxy.url
    proxy.stop()
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, Mapping

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "expect", "te",
              "upgrade", "proxy-authorization", "content-length"}


def error_xml(code: str, message: str) -> bytes:
    """An S3 error document."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>FAULTPROXY</RequestId></Error>").encode()


SLOWDOWN = (503, "SlowDown", "Please reduce your request rate.")
UNAVAILABLE = (503, "ServiceUnavailable", "Service is unable to handle request.")


def reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST (SO_LINGER 0) instead of a clean FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_ProxyServer"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep test output quiet
        pass

    def handle(self) -> None:
        if self.server.proxy.refuse_all:
            self.server.proxy.count("refused")
            reset(self.connection)
            return
        self.upstream: http.client.HTTPConnection | None = None
        try:
            super().handle()
        finally:
            if self.upstream is not None:
                self.upstream.close()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):  # a stale keep-alive connection to upstream gets one reconnect
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(*self.server.proxy.upstream, timeout=60)
            try:
                self.upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.upstream.putheader(name, value)
                if body or self.command in ("PUT", "POST"):
                    self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body or None)
                resp = self.upstream.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.upstream.close()
                    self.upstream = None
                return resp.status, resp.reason, resp.getheaders(), data
            except (OSError, http.client.HTTPException):
                self.upstream.close()
                self.upstream = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _answer_error(self, status: int, code: str, message: str) -> None:
        xml = error_xml(code, message) if self.command != "HEAD" else b""
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(xml)))
        self.end_headers()
        self.wfile.write(xml)

    def _proxy(self) -> None:
        body = self._read_body()
        self.server.proxy.record(self.command, self.path, self.headers)
        fault = self.server.proxy.decide(self.command, self.path)
        if fault == "reset":
            self.close_connection = True
            reset(self.connection)
            return
        if fault == "503":
            self._answer_error(*(SLOWDOWN if self.server.proxy.coin() else UNAVAILABLE))
            return
        if fault == "answer":
            self._answer_error(*self.server.proxy.answer_all)
            return
        try:
            with self.server.proxy.forwarding(), self.server.proxy.in_flight():
                status, reason, headers, data = self._forward(body)
        except (OSError, http.client.HTTPException):
            self.close_connection = True
            reset(self.connection)
            return
        self.send_response_only(status, reason)
        length = str(len(data))
        replaced = self.server.proxy.response_headers
        headers = [(n, v) for n, v in headers if n.lower() not in replaced] + list(replaced.items())
        for name, value in headers:
            if name.lower() == "content-length" and self.command == "HEAD":
                length = value
            elif name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if status not in (204, 304) and not 100 <= status < 200:
            self.send_header("Content-Length", length)
        self.end_headers()
        if fault == "truncate" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            reset(self.connection)
            return
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: "FaultProxy"


class FaultProxy:
    """Forwards HTTP to ``upstream_host:upstream_port``, injecting faults into ``share`` of requests.

    ``faults`` chooses among ``"reset"``, ``"503"`` and ``"truncate"`` (GET responses only; other
    requests drawn for it pass). ``only(method, path)``, when given, limits faults to matching requests.
    ``answer_all=(status, code, message)`` answers every request with that S3 error instead.
    ``counts`` tells how many requests passed and how many got each fault; ``requests`` lists each
    request as ``(method, path, headers)`` (header names in lower case). ``hold`` seconds are waited
    before each request is forwarded; ``most_in_flight`` is the most requests forwarded at once.
    ``response_headers`` (lower-case names) replace or add headers of every forwarded answer, for
    what real S3 sends and moto does not (``x-amz-version-id: null``).
    """

    def __init__(self, upstream_host: str, upstream_port: int, *, share: float = 0.0, seed: int = 0,
                 faults: tuple[str, ...] = ("reset", "503"), refuse_all: bool = False,
                 only: Callable[[str, str], bool] | None = None,
                 answer_all: tuple[int, str, str] | None = None, serialize: bool = False,
                 response_headers: Mapping[str, str] | None = None) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.response_headers = {k.lower(): v for k, v in (response_headers or {}).items()}
        self.serialize = serialize
        self._one_at_a_time = threading.Lock()
        self.share = share
        self.faults = faults
        self.refuse_all = refuse_all
        self.only = only
        self.answer_all = answer_all
        self.counts: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.hold = 0.0
        self.most_in_flight = 0
        self._in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    def forwarding(self) -> contextlib.AbstractContextManager:
        """Held while a request is forwarded upstream: one at a time with ``serialize``."""
        return self._one_at_a_time if self.serialize else contextlib.nullcontext()

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Held while a request waits ``hold`` seconds and is forwarded: counts the requests in flight."""
        with self._lock:
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
        try:
            time.sleep(self.hold)
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def record(self, method: str, path: str, headers: Mapping[str, str]) -> None:
        """Add a request to ``requests``."""
        with self._lock:
            self.requests.append((method, path, {k.lower(): v for k, v in headers.items()}))

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running proxy."""
        assert self._server is not None, "start() the proxy first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FaultProxy":
        """Listen on a free port of 127.0.0.1 and serve in a daemon thread."""
        self._server = _ProxyServer(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="fault-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def count(self, what: str) -> None:
        """Add one to ``counts[what]``."""
        with self._lock:
            self.counts[what] += 1

    def coin(self) -> bool:
        """A seeded coin flip."""
        with self._lock:
            return self._rng.random() < 0.5

    def decide(self, method: str, path: str) -> str:
        """``"pass"`` or the fault to inject into the next request."""
        with self._lock:
            fault = "pass"
            if self.answer_all is not None:
                fault = "answer"
            elif (self.only is None or self.only(method, path)) and self._rng.random() < self.share:
                fault = self._rng.choice(self.faults)
                if fault == "truncate" and method != "GET":
                    fault = "pass"
            self.counts[fault] += 1
            return fault
