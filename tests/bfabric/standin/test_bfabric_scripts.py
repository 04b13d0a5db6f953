"""bfabric-scripts (``bfabric-cli`` and the ``bfabric_*.py`` commands) run against the stand-in, in a subprocess.

The commands find the stand-in through ``BFABRICPY_CONFIG_OVERRIDE``, as a user's shell would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from standin.server import StandinServer

BIN = Path(sys.executable).parent


def _run(server: StandinServer, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BFABRICPY_CONFIG_OVERRIDE": json.dumps(server.config_override()), "COLUMNS": "250"}
    env.pop("BFABRICPY_CONFIG_ENV", None)
    return subprocess.run([str(BIN / command), *args], env=env, capture_output=True, text=True, timeout=120)


def _json_out(done: subprocess.CompletedProcess[str]) -> list[dict]:
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_cli_read_with_a_wildcard(standin_server: StandinServer) -> None:
    done = _run(standin_server, "bfabric-cli", "api", "read", "sample", "name", "sample_%", "--format", "json")
    found = _json_out(done)
    assert sorted(s["name"] for s in found) == ["sample_1", "sample_2", "sample_3", "sample_4"]


def test_cli_read_with_an_unknown_field_fails(standin_server: StandinServer) -> None:
    done = _run(standin_server, "bfabric-cli", "api", "read", "sample", "colour", "red", "--format", "json")
    assert done.returncode != 0
    assert "Type not found: 'colour'" in done.stdout + done.stderr


def test_cli_inspect_lists_the_query_fields(standin_server: StandinServer) -> None:
    done = _run(standin_server, "bfabric-cli", "api", "inspect", "resource")
    assert done.returncode == 0, done.stderr[-2000:]
    for line in ("- query: bf:resourceQuery", "- workunitid: xs:long[]", "- createdafter: xs:string[]",
                 "- name: xs:string[]"):
        assert line in done.stdout


def test_workunit_not_available_lists_recent_unfinished_workunits(standin_server: StandinServer) -> None:
    done = _run(standin_server, "bfabric-cli", "workunit", "not-available")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "WU1" in done.stdout and "WU2" in done.stdout and "PENDING" in done.stdout
    assert "WU3" not in done.stdout  # available
    assert "labflows_demo" in done.stdout


def test_save_link_to_workunit_in_lower_case_is_found_by_class_name(standin_server: StandinServer) -> None:
    done = _run(standin_server, "bfabric_save_link_to_workunit.py", "1", "https://example.org/report", "report")
    assert done.returncode == 0, done.stderr[-2000:]
    found = standin_server.client().read("link", {"parentclassname": "Workunit", "parentid": 1, "name": "report"})
    assert [link["url"] for link in found] == ["https://example.org/report"]


def test_list_workunit_parameters(standin_server: StandinServer) -> None:
    """The script needs a workunit of the application with output resources and parameters (on B-Fabric too):
    before anything is registered, the seed's pending workunits have none, and it stops with ``unable to find
    column "resource"``."""
    done = _run(standin_server, "bfabric_list_workunit_parameters.py", "1", "--format", "json")
    assert done.returncode != 0 and 'unable to find column "resource"' in done.stderr

    standin_server.client().save("resource", {"name": "out.txt", "workunitid": 1})
    done = _run(standin_server, "bfabric_list_workunit_parameters.py", "1", "--format", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {r["workunit_id"]: r for r in json.loads(done.stdout)}
    assert sorted(rows) == [1, 2]
    assert (rows[1]["greeting"], rows[1]["partition"], rows[2]["inputdataset_id"]) == ("hello", "standard", 1)


def test_dataset_show(standin_server: StandinServer) -> None:
    done = _run(standin_server, "bfabric-cli", "dataset", "show", "1", "--format", "YAML")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Name: sample_4" in done.stdout and "Condition: condition_2" in done.stdout


def test_dataset_show_as_table_fails_in_the_client_without_any_server() -> None:
    """``dataset show`` (table) builds ``Resource({"id": ...})`` without a classname: bfabric-scripts' bug."""
    from bfabric.entities import Resource

    with pytest.raises(KeyError, match="classname"):
        _ = Resource({"id": 1}, bfabric_instance="https://example.org/bfabric/").web_url
