"""The HTTP side of the stand-in: WSDL on ``GET /bfabric/<endpoint>?wsdl``, SOAP on ``POST /bfabric/<endpoint>``.

Example:
    ```python
    from standin.server import StandinServer

    with StandinServer(seed="examples/bfabric/seed.yaml") as server:
        client = server.client()          # a real bfabric.Bfabric talking to it
        print(client.read("workunit", {"id": 1}))
    ```
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from standin.schema import entity_type
from standin.seed import apply_seed
from standin.service import Service, is_endpoint
from standin.soap import SoapFault, parse_request, render_fault
from standin.store import Store
from standin.wsdl import render_wsdl

if TYPE_CHECKING:
    from bfabric import Bfabric

log = logging.getLogger(__name__)

DEFAULT_LOGIN = "standin"
#: The real client insists on a 32-character web-service password.
DEFAULT_PASSWORD = "standin-webservice-password-0032"


class _Handler(BaseHTTPRequestHandler):
    """One request; the owning :class:`_Server` carries the service and the public base URL."""

    server: _Server
    protocol_version = "HTTP/1.0"

    def _endpoint(self) -> str | None:
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) == 2 and parts[0] == "bfabric" and is_endpoint(parts[1]):
            return parts[1]
        return None

    def _reply(self, status: int, body: bytes, content_type: str = "text/xml; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        endpoint = self._endpoint()
        if endpoint is None or "wsdl" not in urlsplit(self.path).query.lower():
            self._reply(404, b"not found", "text/plain")
            return
        address = f"{self.server.base_url}/{endpoint}"
        self._reply(200, render_wsdl(self.server.service.entity_type(endpoint), address).encode())

    def do_POST(self) -> None:  # noqa: N802
        endpoint = self._endpoint()
        if endpoint is None:
            self._reply(404, b"not found", "text/plain")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            operation, params = parse_request(body)
            answer = self.server.service.handle(endpoint, operation, params)
        except (SoapFault, ValueError, KeyError, TypeError) as exc:
            # the message never echoes the request, which carries the password
            self._reply(500, render_fault(f"{type(exc).__name__}: {exc}"))
            return
        except Exception:  # a stand-in bug must still answer, not drop the connection
            log.exception("the stand-in failed on a %s request", endpoint)
            self._reply(500, render_fault("internal error of the stand-in (see its log)"))
            return
        self._reply(200, answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Request lines go to the debug log (they hold no credentials: those travel in the body)."""
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.base_url = f"http://localhost:{self.server_address[1]}/bfabric"


class StandinServer:
    """A local B-Fabric stand-in answering the real ``bfabric`` client.

    Args:
        port: TCP port on 127.0.0.1 (0 picks a free one).
        db_path: SQLite file (kept across restarts); None keeps everything in memory.
        login: the web-service login the server accepts.
        password: the web-service password it accepts (the real client wants 32 characters).
        seed: optional seed data (YAML path or mapping) loaded at construction.
    """

    def __init__(
        self,
        port: int = 0,
        db_path: str | Path | None = None,
        login: str = DEFAULT_LOGIN,
        password: str = DEFAULT_PASSWORD,
        seed: str | Path | Mapping[str, Any] | None = None,
    ) -> None:
        self.login = login
        self._password = password
        self._store = Store(db_path)
        self._service = Service(self._store, login=login, password=password)
        self._httpd = _Server(("127.0.0.1", port), self._service)
        self._thread: threading.Thread | None = None
        if seed is not None:
            self.seed(seed)

    def __repr__(self) -> str:
        return f"StandinServer(base_url={self.base_url!r}, login={self.login!r})"

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://localhost:PORT/bfabric``, the client's ``base_url``."""
        return self._httpd.base_url

    def start(self) -> StandinServer:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="bfabric-standin", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the database."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()
        self._store.close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def seed(self, source: str | Path | Mapping[str, Any]) -> dict[str, list[int]]:
        """Load seed data (see :mod:`standin.seed`); returns the stored ids per endpoint."""
        return apply_seed(self._store, source, login=self.login)

    def rows(self, endpoint: str) -> list[dict[str, Any]]:
        """The stored rows of ``endpoint``, for direct inspection in tests (references as dicts)."""
        entity_type(endpoint)  # rejects unknown endpoints
        return self._store.rows(endpoint)

    def config_override(self) -> dict[str, Any]:
        """The ``BFABRICPY_CONFIG_OVERRIDE`` structure pointing a client at this server."""
        return {"client": {"base_url": self.base_url}, "auth": {"login": self.login, "password": self._password}}

    def config_snippet(self, env_name: str = "STANDIN") -> str:
        """A ``~/.bfabricpy.yml`` snippet for this server (it contains the stand-in's password)."""
        return (
            "GENERAL:\n"
            f"  default_config: {env_name}\n"
            f"{env_name}:\n"
            f"  login: {self.login}\n"
            f"  password: {self._password}\n"
            f"  base_url: {self.base_url}\n"
        )

    def client(self) -> Bfabric:
        """A real ``bfabric.Bfabric`` client for this server (no config file involved)."""
        from bfabric import Bfabric
        from bfabric.config import BfabricAuth, BfabricClientConfig
        from bfabric.config.config_data import ConfigData

        config = ConfigData(
            client=BfabricClientConfig(base_url=self.base_url),
            auth=BfabricAuth(login=self.login, password=self._password),
        )
        return Bfabric(config_data=config)
