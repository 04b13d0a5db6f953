"""BfabricCredentials block and bfabric_client(): real clients, and the password never shown."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from loguru import logger as loguru_logger
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError

from blocks import BfabricCredentials
from blocks.bfabric import quiet_suds_logging
from standin.server import DEFAULT_PASSWORD, StandinServer
from tasks.bfabric.client import bfabric_client


def _block(server: StandinServer) -> BfabricCredentials:
    return BfabricCredentials(base_url=server.base_url, login=server.login, password=DEFAULT_PASSWORD)


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's block conventions (description, field descriptions, code example)."""

    @pytest.fixture
    def block(self) -> type[BfabricCredentials]:
        return BfabricCredentials

    def test_has_a_valid_image(self, block: type[BfabricCredentials]) -> None:
        # the standard test downloads the logo; there is no network here
        assert str(block._logo_url).startswith("https://")


def test_block_builds_a_working_client(standin_server: StandinServer) -> None:
    client = _block(standin_server).get_client()
    assert client.read("workunit", {"id": 1})[0]["name"] == "Demo workunit (resources)"
    assert client.auth.login == "standin"


def test_block_repr_and_dump_hide_the_password(standin_server: StandinServer) -> None:
    block = _block(standin_server)
    client = block.get_client()
    shown = [repr(block), str(block), repr(client), str(client), str(block.model_dump()), block.model_dump_json()]
    for text in shown:
        assert DEFAULT_PASSWORD not in text
    assert block.password.get_secret_value() == DEFAULT_PASSWORD


def test_block_validates_url_and_password_length(standin_server: StandinServer) -> None:
    with pytest.raises(ValidationError, match="32 characters"):
        BfabricCredentials(base_url=standin_server.base_url, login="x", password="short")
    with pytest.raises(ValidationError, match="/bfabric"):
        BfabricCredentials(base_url="https://example.org/other", login="x", password=DEFAULT_PASSWORD)


@pytest.mark.parametrize("password", ["abcdefghijklmnopqrstuvwxyz01234",  # 31 characters
                                      "abcdefghijklmnopqrstuvwxyz0123456", ["abcdefghijklmnopqrstuvwxyz012345"]])
def test_no_part_of_a_bad_password_is_in_the_error(password) -> None:
    with pytest.raises(ValidationError) as err:
        BfabricCredentials(base_url="https://example.org/bfabric", login="x", password=password)
    text = str(err.value) + repr(err.value)  # what reaches a log or a terminal
    for i in range(0, 25):  # no 8-character piece of it
        assert "abcdefghijklmnopqrstuvwxyz0123456"[i:i + 8] not in text


def test_client_logs_never_contain_the_password(
    standin_server: StandinServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    loguru_out = io.StringIO()
    sink = loguru_logger.add(loguru_out, level="DEBUG")
    try:
        client = _block(standin_server).get_client()
        client.read("workunit", {"id": 1})
        client.save("project", {"name": "logged"})
    finally:
        loguru_logger.remove(sink)
    assert "Reading from endpoint 'workunit'" in loguru_out.getvalue()  # the capture works
    assert DEFAULT_PASSWORD not in loguru_out.getvalue()
    assert DEFAULT_PASSWORD not in caplog.text


def test_suds_debug_logging_would_leak_without_the_guard(
    standin_server: StandinServer, caplog: pytest.LogCaptureFixture
) -> None:
    suds_logger = logging.getLogger("suds")
    previous = suds_logger.level
    caplog.set_level(logging.DEBUG)
    try:
        suds_logger.setLevel(logging.NOTSET)
        standin_server.client().read("project", {"id": 1})
        assert DEFAULT_PASSWORD in caplog.text  # suds prints whole envelopes at DEBUG
        caplog.clear()
        quiet_suds_logging()
        standin_server.client().read("project", {"id": 1})
        assert DEFAULT_PASSWORD not in caplog.text
        assert logging.getLogger("suds.client").getEffectiveLevel() >= logging.INFO
    finally:
        suds_logger.setLevel(previous)


def test_bfabric_client_from_saved_block(standin_server: StandinServer, prefect_harness: None) -> None:
    _block(standin_server).save("standin-test", overwrite=True)
    client = bfabric_client("standin-test")
    assert client.read("project", {"id": 1})[0]["name"] == "Labflows demo project"
    loaded = BfabricCredentials.load("standin-test")
    assert loaded.base_url == standin_server.base_url and DEFAULT_PASSWORD not in repr(loaded)


def test_bfabric_client_without_block_uses_the_config_file(
    standin_server: StandinServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = standin_server.config_snippet("STANDIN") + (
        "OTHER:\n  login: nobody\n  password: " + "y" * 32 + "\n  base_url: https://example.org/bfabric\n"
    )
    (tmp_path / ".bfabricpy.yml").write_text(config)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("BFABRICPY_CONFIG_OVERRIDE", raising=False)
    monkeypatch.delenv("BFABRICPY_CONFIG_ENV", raising=False)
    assert bfabric_client().read("project", {"id": 1})[0]["id"] == 1

    monkeypatch.setenv("BFABRICPY_CONFIG_ENV", "OTHER")
    assert bfabric_client().config.base_url == "https://example.org/bfabric"
