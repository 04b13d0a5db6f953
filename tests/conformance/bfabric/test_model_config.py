"""Unknown keys, model by model, as bfabric-app-runner's pydantic models configure them.

upstream: bfabric_app_runner/src/bfabric_app_runner/specs/** and bfabric/experimental/workunit_definition.py
(fgcz/bfabricPy): a model with ``extra="forbid"`` refuses an unknown key; one with pydantic's default
ignores it. labflows does the same (and names the ignored keys in one notice, logged once per file).
Not an upstream test file: the table below is read off upstream's model classes.
"""

from __future__ import annotations

import logging

import pytest

from specs.bfabric import app, app_commands, chunks, inputs, outputs, workunit
from specs.bfabric.app import load_app

# labflows model -> upstream's setting for its counterpart
UPSTREAM_EXTRA = {
    app.BfabricAppSpec: "ignore", app.AppSpecTemplate: "ignore", app.AppVersionMultiTemplate: "ignore",
    app.AppVersion: "ignore", app.AppSpec: "ignore",
    app_commands.CommandShell: "forbid", app_commands.CommandExec: "forbid", app_commands.MountOptions: "forbid",
    app_commands.CommandDocker: "forbid", app_commands.CommandPythonEnv: "forbid",
    app_commands.CommandsSpec: "forbid",
    inputs.BfabricResourceSpec: "forbid", inputs.BfabricDatasetSpec: "forbid",
    inputs.BfabricResourceArchiveSpec: "forbid", inputs.BfabricResourceDatasetSpec: "forbid",
    inputs.BfabricOrderFastaSpec: "forbid", inputs.BfabricAnnotationSpec: "ignore",
    inputs.FileSourceLocal: "ignore", inputs.FileSourceSshValue: "ignore", inputs.FileSourceSsh: "ignore",
    inputs.FileSourceHttpValue: "ignore", inputs.FileSourceHttp: "ignore", inputs.FileSpec: "ignore",
    inputs.StaticFileSpec: "ignore", inputs.StaticYamlSpec: "ignore", inputs.InputsSpec: "forbid",
    outputs.CopyResourceSpec: "forbid", outputs.SaveDatasetSpec: "forbid", outputs.SaveLinkSpec: "forbid",
    outputs.OutputsSpec: "forbid",
    chunks.ChunksSpec: "ignore",  # upstream: app_runner/runner.py ChunksFile
    workunit.WorkunitDefinition: "ignore", workunit.WorkunitExecutionDefinition: "ignore",
    workunit.WorkunitRegistrationDefinition: "ignore",
}


@pytest.mark.parametrize("model", list(UPSTREAM_EXTRA), ids=lambda m: m.__name__)
def test_unknown_keys_follow_upstream_model_by_model(model):
    """upstream: the ``model_config`` of each counterpart model (see the module docstring)."""
    assert model.model_config.get("extra", "ignore") == UPSTREAM_EXTRA[model]


def test_ignored_keys_are_warned_about_once_per_file(tmp_path, caplog):
    """upstream: tests/bfabric_app_runner/specs/app/test_versions.yml (``submitter:``); labflows warns in one line."""
    (tmp_path / "app.yml").write_text(
        "bfabric: {app_runner: 0.9.1, reuse_default_resource: true}\n"
        "versions:\n"
        "  - version: '1.0'\n"
        "    submitter: {name: slurm}\n"
        "    commands: {dispatch: {type: exec, command: d}, process: {type: exec, command: p}}\n")
    with caplog.at_level(logging.WARNING, logger="labflows"):
        load_app(tmp_path / "app.yml", 1, "a")
        load_app(tmp_path / "app.yml", 1, "a")
    lines = [r.getMessage() for r in caplog.records if "labflows ignores" in r.getMessage()]
    assert lines == [f"{tmp_path}/app.yml:1:30: bfabric.reuse_default_resource: notice: accepted as "
                     "bfabric-app-runner does, but labflows ignores: bfabric.reuse_default_resource, "
                     "versions[0].submitter"]


def test_a_misspelt_key_in_an_ignoring_model_gets_a_suggestion(tmp_path):
    """upstream: specs/inputs/static_file_spec.py (StaticFileSpec ignores unknown keys): a typo is accepted
    there; labflows' notice suggests the key that was probably meant."""
    from flows.cli.specs import check_one

    (tmp_path / "inputs.yml").write_text("inputs:\n  - {type: static_file, filename: a.txt, content: x, contnet: y}\n")
    problems, notices = check_one(tmp_path / "inputs.yml")
    assert problems == [] and notices == [
        f"{tmp_path}/inputs.yml:2:54: inputs[0].contnet: notice: accepted as bfabric-app-runner does, "
        "but labflows ignores: inputs[0].contnet (did you mean 'content'?)"]


def test_validate_accepts_upstreams_test_data_with_one_notice_line():
    """upstream: tests/bfabric_app_runner/specs/app/test_versions.yml, through ``labflows validate`` as users run it:
    exit 0, ``ok``, and one notice line on stderr."""
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).parent / "data" / "test_versions.yml"
    done = subprocess.run([sys.executable, "-m", "flows.run", "validate", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
    assert done.stderr.splitlines() == [
        f"{path}:16:5: versions[0].submitter: notice: accepted as bfabric-app-runner does, but labflows ignores: "
        "versions[0].submitter, versions[1].submitter, versions[2].submitter"]


@pytest.mark.parametrize("kind, text", [("chunks", "chunks: []\n"), ("outputs", "outputs: []\n")])
def test_a_hostile_key_is_named_on_one_harmless_line(tmp_path, kind, text):
    """A key with a newline and a terminal escape, ignored (chunks.yml) or refused (outputs.yml): the notice or
    error stays one line, the key shown escaped."""
    from flows.cli.specs import check_one

    path = tmp_path / f"{kind}.yml"
    path.write_text(text + '"bad\\nkey\\u001b[31m": 1\n')
    problems, notices = check_one(path)
    [line] = problems + notices
    assert "\n" not in line and "\x1b" not in line
    assert line.startswith(f"{path}:2:1: ['bad\\nkey\\x1b[31m']: ")
