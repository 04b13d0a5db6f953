"""The plain helpers behind the app flows: workunit references, the definition cache, outputs paths,
credentials for app commands, the failure report."""

from __future__ import annotations

from pathlib import Path

import pytest

from specs.bfabric.app_commands import CommandDocker, CommandExec, CommandShell
from specs.bfabric.outputs import OutputsSpec
from specs.bfabric.workunit import (
    WorkunitDefinition,
    load_workunit_definition,
    save_workunit_definition,
)
from tasks.bfabric.app.artifacts import failure_markdown
from tasks.bfabric.app.run import ChunksFailedError
from tasks.bfabric.app.steps import anchor_local_paths, command_with_env
from tasks.bfabric.app.workunit import (
    WorkunitRefError,
    obtain_workunit_definition,
    parse_workunit_ref,
)


def _definition(workunit_id: int) -> WorkunitDefinition:
    return WorkunitDefinition.model_validate({
        "execution": {"raw_parameters": {"application_version": "1.0.0"}, "resources": [1]},
        "registration": {"application_id": 1, "application_name": "demo app", "workunit_id": workunit_id,
                         "workunit_name": "WU", "container_id": 1, "container_type": "project",
                         "storage_id": 3, "storage_output_folder": "p1/out"}})


def _no_client():
    raise AssertionError("B-Fabric must not be asked")


def test_workunit_references():
    assert parse_workunit_ref(12) == 12 and parse_workunit_ref(" 12 ") == 12
    assert parse_workunit_ref("wu.yml") == Path("wu.yml")
    with pytest.raises(WorkunitRefError):
        parse_workunit_ref("")
    with pytest.raises(WorkunitRefError):
        parse_workunit_ref(True)


def test_definition_from_yaml_is_cached_and_guards_against_another_workunit(tmp_path):
    source = tmp_path / "wu.yml"
    save_workunit_definition(_definition(7), source)
    work = tmp_path / "work"

    first = obtain_workunit_definition(str(source), work, _no_client)

    assert first.registration.workunit_id == 7 and first.registration.application_name == "demo_app"
    assert load_workunit_definition(work / "workunit_definition.yml") == first
    source.unlink()  # from now on the cache is the definition, for either kind of reference
    assert obtain_workunit_definition(str(source), work, _no_client) == first
    assert obtain_workunit_definition(7, work, _no_client) == first
    with pytest.raises(WorkunitRefError, match="workunit 7, not 8"):
        obtain_workunit_definition(8, work, _no_client)


def test_relative_output_paths_are_anchored_at_the_work_dir(tmp_path):
    spec = OutputsSpec.model_validate({"outputs": [
        {"type": "bfabric_copy_resource", "local_path": "a/r.txt", "store_entry_path": "r.txt"},
        {"type": "bfabric_dataset", "local_path": "/abs/t.csv"},
        {"type": "bfabric_link", "name": "n", "url": "https://example.org"}]})

    anchored = anchor_local_paths(spec, tmp_path)

    assert anchored.outputs[0].local_path == tmp_path / "a" / "r.txt"
    assert anchored.outputs[1].local_path == Path("/abs/t.csv")
    assert anchored.outputs[2] == spec.outputs[2]
    assert spec.outputs[0].local_path == Path("a/r.txt")  # the original is untouched


def test_credentials_reach_exec_commands_only_through_their_environment():
    extra = {"BFABRICPY_CONFIG_OVERRIDE": "{...}"}
    exec_cmd = CommandExec(type="exec", command="python x.py", env={"A": "1"})
    with_env = command_with_env(exec_cmd, extra)
    assert with_env.env == {"A": "1", **extra} and exec_cmd.env == {"A": "1"}
    shell = command_with_env(CommandShell(type="shell", command="python y.py"), extra)
    assert isinstance(shell, CommandExec) and shell.command == "python y.py" and shell.env == extra
    docker = CommandDocker(type="docker", image="img", command="run")
    assert command_with_env(docker, extra) is docker  # never on a docker command line
    assert command_with_env(exec_cmd, {}) is exec_cmd


def test_failure_report_lists_failed_chunks():
    error = ChunksFailedError([("s1", "chunk s1, process: exit 2"), ("s|2", "chunk s|2, inputs: gone")], total=4)

    text = failure_markdown(5, error)

    assert str(error) == "2 of 4 chunks failed: chunk s1, process: exit 2; chunk s|2, inputs: gone"
    assert text.startswith("# Workunit 5 failed")
    assert "| s1 | chunk s1, process: exit 2 |" in text and "| s\\|2 |" in text
