"""A local HTTP file server for tests of HTTP inputs: files by path, chosen statuses, a redirect."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    """Serves ``files`` on 127.0.0.1 and records each request (path, Authorization, Accept-Encoding).

    ``/status/N`` answers status N, ``/redirect`` redirects to ``/x.txt`` and ``/unsized.txt`` is
    sent without a Content-Length.

    Example:
        >>> server = FileServer({"/x.txt": b"public"})  # doctest: +SKIP
        >>> fetch(f"{server.url}/x.txt"); server.close()  # doctest: +SKIP
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[dict[str, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                owner.requests.append({"path": path, "auth": self.headers.get("Authorization"),
                                       "encoding": self.headers.get("Accept-Encoding")})
                if path.startswith("/status/"):
                    self._empty(int(path.rsplit("/", 1)[1]))
                elif path.startswith("/redirect"):
                    self._empty(302, Location="/x.txt")
                else:
                    body = owner.files.get(path)
                    self.send_response(200 if body is not None else 404)
                    if path != "/unsized.txt":
                        self.send_header("Content-Length", str(len(body or b"")))
                    self.end_headers()
                    self.wfile.write(body or b"")

            def _empty(self, status: int, **headers: str) -> None:
                self.send_response(status)
                for name, value in {**headers, "Content-Length": "0"}.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def auth(self) -> list[tuple[str, str | None]]:
        """(path, Authorization header) of each request so far."""
        return [(r["path"] or "", r["auth"]) for r in self.requests]

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
