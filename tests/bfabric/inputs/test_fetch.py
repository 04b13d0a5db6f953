"""Preparing fetched files: rsync first, scp/copy fallbacks, .part + MD5, skip when present, links, HTTP."""

from __future__ import annotations

import logging
import os
import socket

import pytest

from specs.bfabric.inputs import FileSourceHttp, InputsSpec
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
from tests.support.http_files import FileServer

from .conftest import STORAGE_FILES, md5


def spec(*entries: dict) -> InputsSpec:
    return InputsSpec.model_validate({"inputs": list(entries)})


def resource(id_: int, **extra) -> dict:
    return {"type": "bfabric_resource", "id": id_, **extra}


# --- rsync, .part and MD5 ---------------------------------------------------------------------

def test_resource_is_fetched_with_rsync_into_a_part_file_then_renamed(bfab, tools, tmp_path):
    work = tmp_path / "work"
    paths = prepare_inputs(bfab.client, spec(resource(10, filename="in/ten.txt")), work, ssh_user="alice")
    assert paths == [work / "in/ten.txt"]
    assert (work / "in/ten.txt").read_bytes() == STORAGE_FILES["p1/file_10.txt"]
    assert not (work / "in/ten.txt.part").exists()
    assert tools.calls() == [["rsync", "-rltvP", "--", f"alice@storagehost:{bfab.storage}/p1/file_10.txt",
                              str(work / "in/ten.txt.part")]]


def test_without_ssh_user_the_host_is_used_as_is(bfab, tools, tmp_path):
    prepare_inputs(bfab.client, spec(resource(11)), tmp_path)
    assert tools.calls()[0][3] == f"storagehost:{bfab.storage}/p1/file_11.txt"


def test_checksum_mismatch_deletes_the_part_file_and_raises(bfab, tools, tmp_path):
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch .*expected 0{32}"):
        prepare_inputs(bfab.client, spec(resource(15, filename="bad.txt")), tmp_path)
    assert not (tmp_path / "bad.txt").exists()
    assert not (tmp_path / "bad.txt.part").exists()


def test_a_file_present_with_the_right_checksum_is_not_fetched_again(bfab, tools, tmp_path, caplog):
    prepare_inputs(bfab.client, spec(resource(10)), tmp_path)
    assert tools.names() == ["rsync"]
    with caplog.at_level(logging.INFO, logger="labflows"):
        prepare_inputs(bfab.client, spec(resource(10)), tmp_path)
    assert tools.names() == ["rsync"]  # no second transfer
    assert "file_10.txt: up to date" in caplog.text


def test_a_present_file_with_wrong_content_is_fetched_again(bfab, tools, tmp_path):
    (tmp_path / "file_10.txt").write_text("stale")
    prepare_inputs(bfab.client, spec(resource(10)), tmp_path)
    assert (tmp_path / "file_10.txt").read_bytes() == STORAGE_FILES["p1/file_10.txt"]
    assert tools.names() == ["rsync"]


def test_without_checksum_a_present_file_is_fetched_again(bfab, tools, tmp_path):
    entry = resource(10, check_checksum=False)
    prepare_inputs(bfab.client, spec(entry), tmp_path)
    prepare_inputs(bfab.client, spec(entry), tmp_path)
    assert tools.names() == ["rsync", "rsync"]


# --- fallbacks --------------------------------------------------------------------------------

def test_missing_rsync_falls_back_to_scp(bfab, scp_only, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="labflows"):
        prepare_inputs(bfab.client, spec(resource(10)), tmp_path, ssh_user="bob")
    assert (tmp_path / "file_10.txt").read_bytes() == STORAGE_FILES["p1/file_10.txt"]
    assert scp_only.calls() == [["scp", "-p", "-o", "BatchMode=yes", "--",
                                 f"bob@storagehost:{bfab.storage}/p1/file_10.txt",
                                 str(tmp_path / "file_10.txt.part")]]
    assert "rsync not found on PATH" in caplog.text


def test_failing_rsync_falls_back_to_scp(bfab, tools, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RSYNC_EXIT", "12")
    prepare_inputs(bfab.client, spec(resource(11)), tmp_path)
    assert tools.names() == ["rsync", "scp"]
    assert (tmp_path / "file_11.txt").read_bytes() == STORAGE_FILES["p1/file_11.txt"]


def test_when_every_transfer_fails_nothing_is_left_behind(bfab, tools, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_RSYNC_EXIT", "12")
    monkeypatch.setenv("FAKE_SCP_EXIT", "1")
    with pytest.raises(TransferError, match="file_11.txt: could not fetch storagehost:.*rsync and scp failed"):
        prepare_inputs(bfab.client, spec(resource(11)), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("file_")) == []


def test_local_source_is_copied_in_process_when_rsync_is_missing(tmp_path, scp_only):
    source = tmp_path / "src.txt"
    source.write_text("local data")
    entry = {"type": "file", "source": {"local": str(source)}, "filename": "copy.txt",
             "checksum": md5(b"local data")}
    prepare_inputs(None, spec(entry), tmp_path / "a")  # scp_only: no rsync on PATH
    assert (tmp_path / "a/copy.txt").read_text() == "local data"
    assert scp_only.calls() == []  # copied in-process, scp is for ssh sources only


def test_local_source_is_copied_with_rsync_when_available(tmp_path, tools):
    source = tmp_path / "src.txt"
    source.write_text("local data")
    prepare_inputs(None, spec({"type": "file", "source": {"local": str(source)}}), tmp_path / "a")
    assert tools.calls() == [["rsync", "-rltvP", "--", str(source), str(tmp_path / "a/src.txt.part")]]
    assert (tmp_path / "a/src.txt").read_text() == "local data"


@pytest.mark.parametrize("host", ["localhost", socket.gethostname()])
def test_ssh_source_on_this_machine_is_copied_locally(tmp_path, tools, host):
    source = tmp_path / "here.txt"
    source.write_text("on this host")
    file = ResolvedFile("here.txt", SshSource(host, str(source)), checksum=md5(b"on this host"))
    assert fetch_file(file, tmp_path / "out" / "here.txt") is True
    assert (tmp_path / "out/here.txt").read_text() == "on this host"
    assert tools.calls() == []


# --- links ------------------------------------------------------------------------------------

def test_link_creates_a_relative_symlink_and_is_idempotent(tmp_path, tools):
    source = tmp_path / "data" / "big.bin"
    source.parent.mkdir()
    source.write_bytes(b"big")
    entry = {"type": "file", "source": {"local": str(source)}, "filename": "sub/big.bin", "link": True}
    work = tmp_path / "work"
    prepare_inputs(None, spec(entry), work)
    link = work / "sub" / "big.bin"
    assert link.is_symlink()
    assert os.readlink(link) == "../../data/big.bin"
    assert link.read_bytes() == b"big"
    assert fetch_file(ResolvedFile("sub/big.bin", LocalSource(str(source)), link=True), link) is False
    assert tools.calls() == []


def test_link_refuses_to_replace_a_regular_file(tmp_path):
    source = tmp_path / "s.txt"
    source.write_text("s")
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "s.txt").write_text("mine")
    with pytest.raises(TransferError, match="not a symlink"):
        prepare_inputs(None, spec({"type": "file", "source": {"local": str(source)}, "link": True}), tmp_path / "w")
    assert (tmp_path / "w" / "s.txt").read_text() == "mine"


# --- HTTP -------------------------------------------------------------------------------------

@pytest.fixture
def http_files():
    server = FileServer({"/store/p1/file_11.txt": STORAGE_FILES["p1/file_11.txt"], "/public/x.txt": b"public"})
    yield server
    server.close()


def test_http_resource_sends_the_bearer_token_to_the_access_url_only(bfab, http_files, tmp_path, caplog):
    bfab.server.seed({"access": [{"id": 1, "storage": 1, "type": "HTTP", "url": f"{http_files.url}/store"}]})
    public = {"type": "file", "source": {"http": {"url": f"{http_files.url}/public/x.txt"}}}
    with caplog.at_level(logging.DEBUG):
        prepare_inputs(bfab.client, spec(resource(11, access="http"), public), tmp_path, bearer_token="s3cr3t-token")
    assert (tmp_path / "file_11.txt").read_bytes() == STORAGE_FILES["p1/file_11.txt"]
    assert (tmp_path / "x.txt").read_bytes() == b"public"
    assert http_files.auth == [("/store/p1/file_11.txt", "Bearer s3cr3t-token"), ("/public/x.txt", None)]
    assert "s3cr3t-token" not in caplog.text


def test_http_resource_without_a_token_fails_before_any_request(bfab, http_files, tmp_path):
    bfab.server.seed({"access": [{"id": 1, "storage": 1, "type": "HTTP", "url": f"{http_files.url}/store"}]})
    with pytest.raises(TransferError, match="needs a bearer token"):
        prepare_inputs(bfab.client, spec(resource(11, access="http")), tmp_path)
    assert http_files.auth == []


def test_http_error_and_checksum_mismatch(http_files, tmp_path):
    missing = ResolvedFile("m.txt", HttpSource(f"{http_files.url}/nothing?sig=abc"))
    with pytest.raises(TransferError, match=r"/nothing: HTTP 404$"):
        fetch_file(missing, tmp_path / "m.txt")
    assert not (tmp_path / "m.txt.part").exists()
    wrong = ResolvedFile("x.txt", HttpSource(f"{http_files.url}/public/x.txt"), checksum="f" * 32)
    with pytest.raises(ChecksumMismatchError):
        fetch_file(wrong, tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_trusted_http_file_source_gets_the_token_and_a_plain_one_does_not(http_files, tmp_path):
    trusted = FileSourceHttp.model_validate({"http": {"url": f"{http_files.url}/public/x.txt", "auth": "bfabric"}},
                                            context={"trusted_auth": True})
    entry = {"type": "file", "source": trusted, "filename": "trusted.txt"}
    plain = {"type": "file", "source": {"http": {"url": f"{http_files.url}/public/x.txt"}}, "filename": "plain.txt"}
    prepare_inputs(None, spec(entry, plain), tmp_path, bearer_token="tok")
    assert http_files.auth == [("/public/x.txt", "Bearer tok"), ("/public/x.txt", None)]
