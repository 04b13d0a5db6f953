"""Fast direct tests of ``fetch_file`` (for mutation testing): no stand-in, the recording
``rsync``/``scp`` of the conftest, one local HTTP server for the module."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.bfabric.inputs.fetch import fetch_file, is_this_machine, link_file, part_path
from tasks.bfabric.inputs.resolved import (
    ChecksumMismatchError,
    HttpSource,
    LocalSource,
    ResolvedFile,
    SshSource,
    TransferError,
)
from tasks.runtime.progress import listening
from tasks.runtime.transfers import THRESHOLD_ENV
from tests.support.http_files import FileServer

BIG = bytes(range(256)) * 4500  # 1.1 MiB: more than one read block


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture(scope="module")
def server() -> Iterator[FileServer]:
    http = FileServer({"/x.txt": b"public", "/big.bin": BIG})
    yield http
    http.close()
    http.httpd.server_close()


@pytest.fixture
def http(server: FileServer) -> FileServer:
    server.requests.clear()
    return server


def _source_file(tmp_path: Path, data: bytes = b"data\n", name: str = "src.txt") -> Path:
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- names ------------------------------------------------------------------------------------------

def test_the_part_file_is_next_to_the_destination(tmp_path: Path) -> None:
    assert part_path(tmp_path / "in" / "a.b.txt") == tmp_path / "in" / "a.b.txt.part"


def test_this_machine_by_any_of_its_names() -> None:
    hostname = socket.gethostname()
    for name in ("localhost", "LocalHost", "127.0.0.1", "::1", hostname, hostname.upper(),
                 hostname.split(".")[0], socket.getfqdn()):
        assert is_this_machine(name), name
    assert not is_this_machine("storagehost")
    assert not is_this_machine("")


def test_the_short_name_of_a_dotted_host_name_is_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cluster node named ``node7.lab.example.org`` a storage host ``node7`` is this machine."""
    from tasks.bfabric.inputs import fetch

    monkeypatch.setattr(socket, "gethostname", lambda: "node7.lab.example.org")
    fetch._own_names.cache_clear()  # the names are looked up once per process
    try:
        assert is_this_machine("node7") and is_this_machine("Node7.Lab.Example.org")
        assert not is_this_machine("org") and not is_this_machine("lab")
    finally:
        monkeypatch.undo()
        fetch._own_names.cache_clear()


# --- copies: rsync, then scp or a local copy --------------------------------------------------------

def test_a_local_source_goes_through_rsync_into_the_part_file(tmp_path: Path, tools) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "work" / "deep" / "in.txt"
    upper = md5(b"data\n").upper()  # as B-Fabric may store it
    assert fetch_file(ResolvedFile("in.txt", LocalSource(str(source)), checksum=upper), dest) is True
    assert dest.read_bytes() == b"data\n" and not part_path(dest).exists()
    assert tools.calls() == [["rsync", "-rltvP", "--", str(source), str(part_path(dest))]]


def test_a_local_source_is_copied_in_process_without_rsync(tmp_path: Path, scp_only) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "work" / "in.txt"
    assert fetch_file(ResolvedFile("in.txt", LocalSource(str(source))), dest) is True
    assert dest.read_bytes() == b"data\n" and scp_only.calls() == []


def test_a_failing_rsync_falls_back_to_the_local_copy(tmp_path: Path, tools, monkeypatch, caplog) -> None:
    monkeypatch.setenv("FAKE_RSYNC_EXIT", "23")
    source = _source_file(tmp_path)
    with caplog.at_level(logging.WARNING, logger="labflows"):
        assert fetch_file(ResolvedFile("in.txt", LocalSource(str(source))), tmp_path / "in.txt") is True
    assert (tmp_path / "in.txt").read_bytes() == b"data\n"
    assert tools.names() == ["rsync"]
    assert "rsync exited with code 23" in caplog.text


def test_a_missing_local_source_fails_and_leaves_nothing(tmp_path: Path, scp_only, caplog) -> None:
    dest = tmp_path / "work" / "in.txt"
    with caplog.at_level(logging.WARNING, logger="labflows"), pytest.raises(TransferError) as failed:
        fetch_file(ResolvedFile("in.txt", LocalSource(str(tmp_path / "gone.txt"))), dest)
    assert str(failed.value) == f"in.txt: could not fetch {tmp_path / 'gone.txt'} (rsync and copy failed)"
    assert list(dest.parent.iterdir()) == []
    assert "rsync not found on PATH" in caplog.text and f"copy {tmp_path / 'gone.txt'} failed: No such file or directory" in caplog.text


def test_a_remote_source_goes_through_rsync_with_the_user(tmp_path: Path, tools, caplog) -> None:
    source = _source_file(tmp_path)  # readable here, but on another host: never copied locally
    dest = tmp_path / "in.txt"
    with caplog.at_level(logging.INFO, logger="labflows"):
        assert fetch_file(ResolvedFile("in.txt", SshSource("storagehost", str(source))), dest, ssh_user="alice")
    assert f"[rsync] rsync: copying {source}" in caplog.text  # rsync's output, named by the tool
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []  # success: no warning
    assert tools.calls() == [["rsync", "-rltvP", "--", f"alice@storagehost:{source}", str(part_path(dest))]]
    assert dest.read_bytes() == b"data\n"


def test_a_failing_rsync_falls_back_to_scp_in_batch_mode(tmp_path: Path, tools, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_RSYNC_EXIT", "12")
    source = _source_file(tmp_path)
    dest = tmp_path / "in.txt"
    assert fetch_file(ResolvedFile("in.txt", SshSource("storagehost", str(source))), dest) is True
    assert tools.calls()[1] == ["scp", "-p", "-o", "BatchMode=yes", "--", f"storagehost:{source}",
                                str(part_path(dest))]
    assert dest.read_bytes() == b"data\n"


def test_when_rsync_and_scp_fail_the_error_names_the_source(tmp_path: Path, tools, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_RSYNC_EXIT", "12")
    monkeypatch.setenv("FAKE_SCP_EXIT", "1")
    dest = tmp_path / "work" / "in.txt"
    with pytest.raises(TransferError) as failed:
        fetch_file(ResolvedFile("in.txt", SshSource("storagehost", "/p/f.txt")), dest)
    assert str(failed.value) == "in.txt: could not fetch storagehost:/p/f.txt (rsync and scp failed)"
    assert list(dest.parent.iterdir()) == []


def test_an_rsync_that_cannot_start_is_a_failed_attempt(tmp_path: Path, tools, monkeypatch, caplog) -> None:
    broken = tools.bin_dir / "rsync"
    broken.write_text("#!/nonexistent/interpreter\n")  # on PATH and executable, but exec fails
    monkeypatch.setenv("PATH", str(tools.bin_dir))  # (else exec goes on to a real rsync further on PATH)
    source = _source_file(tmp_path)
    with caplog.at_level(logging.WARNING, logger="labflows"):
        assert fetch_file(ResolvedFile("in.txt", SshSource("storagehost", str(source))), tmp_path / "in.txt")
    assert tools.names() == ["scp"] and "cannot run rsync: No such file or directory" in caplog.text


def test_an_rsync_killed_by_a_signal_is_a_failed_attempt(tmp_path: Path, tools, caplog) -> None:
    killed = tools.bin_dir / "rsync"  # writes half the file, then dies (exit status -9)
    killed.write_text(f"#!{sys.executable}\nimport os, signal, sys\n"
                      "open(sys.argv[-1], 'w').write('da')\nos.kill(os.getpid(), signal.SIGKILL)\n")
    source = _source_file(tmp_path)
    with caplog.at_level(logging.WARNING, logger="labflows"):
        assert fetch_file(ResolvedFile("in.txt", SshSource("storagehost", str(source))), tmp_path / "in.txt")
    assert tools.names() == ["scp"] and (tmp_path / "in.txt").read_bytes() == b"data\n"
    assert "rsync exited with code -9" in caplog.text


def test_this_machine_copies_locally_without_ssh(tmp_path: Path, tools) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "in.txt"
    assert fetch_file(ResolvedFile("in.txt", SshSource("LOCALHOST", str(source))), dest, ssh_user="alice") is True
    assert dest.read_bytes() == b"data\n" and tools.calls() == []


def test_this_machine_without_the_file_here_still_uses_rsync_and_scp(tmp_path: Path, tools) -> None:
    missing = tmp_path / "not-here.txt"  # (as on a storage mounted elsewhere)
    with pytest.raises(TransferError):
        fetch_file(ResolvedFile("in.txt", SshSource("localhost", str(missing))), tmp_path / "in.txt")
    assert tools.names() == ["rsync", "scp"]


# --- checksums --------------------------------------------------------------------------------------

def test_a_present_file_with_the_checksum_is_kept(tmp_path: Path, tools, caplog) -> None:
    dest = tmp_path / "in.txt"
    dest.write_bytes(b"data\n")
    file = ResolvedFile("in.txt", SshSource("storagehost", "/p/in.txt"), checksum=md5(b"data\n").upper())
    with caplog.at_level(logging.INFO, logger="labflows"):
        assert fetch_file(file, dest) is False
    assert tools.calls() == [] and "in.txt: up to date" in caplog.text


@pytest.mark.parametrize("present", ["other\n", None])
def test_a_present_file_is_fetched_again_unless_it_matches(tmp_path: Path, tools, present: str | None) -> None:
    """Wrong content, or no checksum to compare with: fetched again."""
    source = _source_file(tmp_path)
    dest = tmp_path / "in.txt"
    dest.write_text(present or "data\n")
    checksum = md5(b"data\n") if present else None
    assert fetch_file(ResolvedFile("in.txt", LocalSource(str(source)), checksum=checksum), dest) is True
    assert tools.names() == ["rsync"] and dest.read_bytes() == b"data\n"


def test_a_symlink_with_the_right_content_is_replaced_by_the_file(tmp_path: Path, tools) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "in.txt"
    dest.symlink_to(source)
    assert fetch_file(ResolvedFile("in.txt", LocalSource(str(source)), checksum=md5(b"data\n")), dest) is True
    assert not dest.is_symlink() and dest.read_bytes() == b"data\n"


def test_a_wrong_checksum_deletes_the_download_and_keeps_the_old_file(tmp_path: Path, tools) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "in.txt"
    dest.write_text("old\n")
    with pytest.raises(ChecksumMismatchError) as failed:
        fetch_file(ResolvedFile("in.txt", LocalSource(str(source)), checksum="F" * 32), dest)
    assert str(failed.value) == (f"in.txt: checksum mismatch (expected {'F' * 32}, got {md5(b'data' + bytes([10]))}); "
                                 "the download was deleted")
    assert dest.read_text() == "old\n" and not part_path(dest).exists()


def test_without_a_checksum_the_file_is_not_verified(tmp_path: Path, tools, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="labflows"):
        fetch_file(ResolvedFile("in.txt", LocalSource(str(_source_file(tmp_path)))), tmp_path / "in.txt")
    assert "in.txt: no checksum known, not verified" in caplog.text
    assert f"in.txt: fetched from {tmp_path / 'src' / 'src.txt'}" in caplog.text


# --- HTTP -------------------------------------------------------------------------------------------

def test_http_streams_the_stored_bytes_in_blocks_with_progress(tmp_path: Path, http: FileServer, monkeypatch) -> None:
    monkeypatch.setenv(THRESHOLD_ENV, "1000")
    events = []
    dest = tmp_path / "big.bin"
    with listening(events.append):
        assert fetch_file(ResolvedFile("big.bin", HttpSource(f"{http.url}/big.bin"), checksum=md5(BIG)), dest)
    assert dest.read_bytes() == BIG and not part_path(dest).exists()
    assert http.requests == [{"path": "/big.bin", "auth": None, "encoding": "identity"}]
    assert {e.name for e in events} == {"download big.bin"}
    assert events[-1].state == "done" and (events[-1].done, events[-1].total) == (len(BIG), len(BIG))
    assert [e.done for e in events] == sorted(e.done for e in events) and events[0].done < len(BIG)


def test_http_without_a_length_shows_no_progress(tmp_path: Path, http: FileServer, monkeypatch) -> None:
    monkeypatch.setenv(THRESHOLD_ENV, "0")
    http.files["/unsized.txt"] = b"no length"
    events = []
    with listening(events.append):
        fetch_file(ResolvedFile("u.txt", HttpSource(f"{http.url}/unsized.txt")), tmp_path / "u.txt")
    assert (tmp_path / "u.txt").read_bytes() == b"no length" and events == []


def test_http_follows_redirects(tmp_path: Path, http: FileServer) -> None:
    fetch_file(ResolvedFile("r.txt", HttpSource(f"{http.url}/redirect")), tmp_path / "r.txt")
    assert (tmp_path / "r.txt").read_bytes() == b"public"


def test_the_bearer_token_goes_to_bfabric_urls_only(tmp_path: Path, http: FileServer) -> None:
    fetch_file(ResolvedFile("a.txt", HttpSource(f"{http.url}/x.txt", bfabric_auth=True)), tmp_path / "a.txt",
               bearer_token="tok")
    fetch_file(ResolvedFile("b.txt", HttpSource(f"{http.url}/x.txt")), tmp_path / "b.txt", bearer_token="tok")
    assert [r["auth"] for r in http.requests] == ["Bearer tok", None]


@pytest.mark.parametrize("token", [None, ""])
def test_a_bfabric_url_without_a_token_is_refused_before_any_request(tmp_path: Path, http: FileServer,
                                                                     token: str | None) -> None:
    with pytest.raises(TransferError, match="needs a bearer token"):
        fetch_file(ResolvedFile("a.txt", HttpSource(f"{http.url}/x.txt", bfabric_auth=True)), tmp_path / "a.txt",
                   bearer_token=token)
    assert http.requests == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("status", "hint"), [
    (401, "; the bearer token may be missing or lack access"),
    (403, "; the bearer token may be missing or lack access"),
    (404, ""), (500, ""),
])
def test_an_http_error_names_the_status_and_leaves_nothing(tmp_path: Path, http: FileServer, status: int,
                                                           hint: str) -> None:
    with pytest.raises(TransferError) as failed:
        fetch_file(ResolvedFile("a.txt", HttpSource(f"{http.url}/status/{status}?sig=secret")), tmp_path / "a.txt")
    assert str(failed.value) == f"{http.url}/status/{status}: HTTP {status}{hint}"
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_server_is_a_transfer_error(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(TransferError, match=r"download failed: ConnectError$"):
        fetch_file(ResolvedFile("a.txt", HttpSource(f"http://127.0.0.1:{port}/x")), tmp_path / "a.txt")
    assert list(tmp_path.iterdir()) == []


def test_an_http_file_with_a_wrong_checksum_is_deleted(tmp_path: Path, http: FileServer) -> None:
    with pytest.raises(ChecksumMismatchError):
        fetch_file(ResolvedFile("x.txt", HttpSource(f"{http.url}/x.txt"), checksum="0" * 32), tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []


# --- links ------------------------------------------------------------------------------------------

def test_a_link_is_relative_and_made_once(tmp_path: Path, tools, caplog) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "work" / "sub" / "in.txt"
    file = ResolvedFile("sub/in.txt", LocalSource(str(source)), link=True)
    assert fetch_file(file, dest) is True
    assert os.readlink(dest) == "../../src/src.txt" and dest.read_bytes() == b"data\n"
    with caplog.at_level(logging.INFO, logger="labflows"):
        assert fetch_file(file, dest) is False
    assert "sub/in.txt: up to date (link)" in caplog.text and tools.calls() == []


@pytest.mark.parametrize("elsewhere", ["/elsewhere", "zz/elsewhere"])  # sorting before and after the target
def test_a_link_to_something_else_is_replaced(tmp_path: Path, elsewhere: str) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "in.txt"
    dest.symlink_to(elsewhere)
    assert link_file(ResolvedFile("in.txt", LocalSource(str(source)), link=True), dest) is True
    assert os.readlink(dest) == "src/src.txt"


def test_a_link_never_replaces_a_file_nor_links_a_remote_source(tmp_path: Path) -> None:
    source = _source_file(tmp_path)
    dest = tmp_path / "in.txt"
    dest.write_text("mine")
    with pytest.raises(TransferError, match="in.txt: exists and is not a symlink"):
        link_file(ResolvedFile("in.txt", LocalSource(str(source)), link=True), dest)
    assert dest.read_text() == "mine"
    with pytest.raises(TransferError, match="cannot link a non-local file"):
        fetch_file(ResolvedFile("r.txt", SshSource("h", "/p"), link=True), tmp_path / "r.txt")
    assert not (tmp_path / "r.txt").exists()


def test_the_ssh_user_and_the_token_are_keyword_only(tmp_path: Path, tools) -> None:
    """A token passed where the ssh user goes would end up in an rsync command line: they must be named."""
    with pytest.raises(TypeError):
        fetch_file(ResolvedFile("in.txt", SshSource("storagehost", "/p")), tmp_path / "in.txt", "alice", "tok")
    assert tools.calls() == []
