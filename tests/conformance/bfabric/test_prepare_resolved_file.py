"""bfabric-app-runner's resolved-file preparation tests, ported: where the bytes come from and go.

upstream file: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py (10 tests, 11
cases with the parametrised http test; all 11 ported, all pass). Upstream mocks ``fetch_to_path`` and checks
the arguments it gets; here each case moves a real file (local copy, ssh to this machine through
the local fast path, http from a local server) and checks what lands in the working directory.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from bfabric.config.bfabric_auth import OAUTH_LOGIN, BfabricAuth

from specs.bfabric.inputs import FileSpec
from tasks.bfabric.inputs.fetch import fetch_file
from tasks.bfabric.inputs.prepare import prepare_inputs
from tasks.bfabric.inputs.resolved import (
    ChecksumMismatchError,
    HttpSource,
    LocalSource,
    ResolvedFile,
    SshSource,
    TransferError,
)

CONTENT = b"hello from the source\n"


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "src" / "source.txt"
    path.parent.mkdir()
    path.write_bytes(CONTENT)
    return path


@pytest.fixture
def work(tmp_path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def http_server():
    """A local http server serving CONTENT at any path, recording each request's Authorization header."""
    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(CONTENT)))
            self.end_headers()
            self.wfile.write(CONTENT)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_to_transfer_source_local(source, work):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_to_transfer_source_local"""
    assert fetch_file(ResolvedFile("destination.txt", LocalSource(str(source))), work / "destination.txt") is True
    assert (work / "destination.txt").read_bytes() == CONTENT
    assert not (work / "destination.txt").is_symlink()


def test_to_transfer_source_ssh(source, work):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_to_transfer_source_ssh"""
    file = ResolvedFile("destination.txt", SshSource("localhost", str(source)))
    assert fetch_file(file, work / "destination.txt") is True
    assert (work / "destination.txt").read_bytes() == CONTENT


@pytest.mark.parametrize("auth", [None, "bfabric"])
def test_to_transfer_source_http(auth, work, http_server):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_to_transfer_source_http"""
    base, seen = http_server
    seen.clear()
    file = ResolvedFile("destination.txt", HttpSource(f"{base}/f.txt", bfabric_auth=auth == "bfabric"))
    assert fetch_file(file, work / "destination.txt", bearer_token="tok") is True
    assert (work / "destination.txt").read_bytes() == CONTENT
    # the token goes only to URLs built from B-Fabric's storage access (auth: bfabric)
    assert seen == (["Bearer tok"] if auth else [None])


def test_to_credentials_without_token():
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_to_credentials_without_token"""
    source = SshSource("host", "/source.txt")
    assert source.remote("user") == "user@host:/source.txt"  # what rsync and scp are given
    assert source.remote(None) == "host:/source.txt"


class RefreshingClient:
    """What prepare_inputs reads of an OAuth ``Bfabric`` client: ``auth``, a fresh token on each read
    (the real client's credential provider refreshes it)."""

    def __init__(self) -> None:
        self.reads = 0

    @property
    def auth(self) -> BfabricAuth:
        self.reads += 1
        return BfabricAuth(login=OAUTH_LOGIN, password=f"tok{self.reads}")


def test_to_credentials_with_token(work, http_server):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_to_credentials_with_token

    Upstream hands the live token provider through, so a long batch survives a token refresh:
    labflows reads the client's token again for each file.
    """
    base, seen = http_server
    seen.clear()
    # as the B-Fabric resolver builds it (inputs.yml may not set auth, as upstream)
    inputs = [FileSpec.model_validate({"type": "file", "filename": f"{n}.txt",
                                       "source": {"http": {"url": f"{base}/{n}.txt", "auth": "bfabric"}}},
                                      context={"trusted_auth": True}) for n in ("a", "b")]
    prepare_inputs(RefreshingClient(), inputs, work)
    assert seen == ["Bearer tok1", "Bearer tok2"]
    assert (work / "b.txt").read_bytes() == CONTENT


def test_prepare_resolved_file_routes_http(work, http_server):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_prepare_resolved_file_routes_http"""
    base, seen = http_server
    seen.clear()
    file = ResolvedFile("destination.txt", HttpSource(f"{base}/data/f.txt", bfabric_auth=True))
    fetch_file(file, work / "destination.txt", bearer_token="tok")
    assert seen == ["Bearer tok"]
    assert (work / "destination.txt").read_bytes() == CONTENT
    assert not (work / "destination.txt").is_symlink()  # link_ok False: a copy
    assert not list(work.glob("*.part"))  # no checksum: kept unverified, no part file left


def test_prepare_resolved_file_local(source, work):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_prepare_resolved_file_local"""
    good = hashlib.md5(CONTENT).hexdigest()
    assert fetch_file(ResolvedFile("destination.txt", LocalSource(str(source)), checksum=good),
                      work / "destination.txt", ssh_user="user") is True
    assert (work / "destination.txt").read_bytes() == CONTENT
    # the checksum is passed on and checked: a wrong one fails and leaves nothing behind
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch"):
        fetch_file(ResolvedFile("other.txt", LocalSource(str(source)), checksum="abc"), work / "other.txt")
    assert not (work / "other.txt").exists() and not list(work.glob("*.part"))


def test_prepare_resolved_file_ssh(source, work):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_prepare_resolved_file_ssh"""
    file = ResolvedFile("destination.txt", SshSource(os.uname().nodename, str(source)))
    assert fetch_file(file, work / "destination.txt", ssh_user="user") is True
    assert (work / "destination.txt").read_bytes() == CONTENT


def test_prepare_resolved_file_link(source, work):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_prepare_resolved_file_link"""
    dest = work / "destination.txt"
    assert fetch_file(ResolvedFile("destination.txt", LocalSource(str(source)), link=True), dest) is True
    assert dest.is_symlink() and dest.resolve() == source.resolve()
    assert not os.path.isabs(os.readlink(dest))  # relative: the folder can move with its sources
    assert dest.read_bytes() == CONTENT


def test_prepare_link_raises_for_non_local_source(work):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_resolved_file.py::test_prepare_link_raises_for_non_local_source"""
    file = ResolvedFile("destination.txt", SshSource("host", "/source.txt"), link=True)
    with pytest.raises(TransferError, match="cannot link a non-local file"):
        fetch_file(file, work / "destination.txt")
    assert not (work / "destination.txt").exists()
