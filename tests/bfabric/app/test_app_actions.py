"""app_action: bfabric-app-runner's ``action`` phases one at a time, and their status rules."""

from __future__ import annotations

import asyncio
import shutil
import sys

import pytest
import yaml

from flows.app import app_action
from tests.support.standin import row_counts

pytestmark = pytest.mark.usefixtures("prefect_harness")

SAMPLES = ["sample_1", "sample_2", "sample_3", "sample_4"]


def test_phase_by_phase_dispatch_sets_processing_outputs_sets_available(app_env):
    work = app_env.work_dir

    asyncio.run(app_action(action="dispatch", **app_env.run_params()))
    assert yaml.safe_load((work / "chunks.yml").read_text()) == {"chunks": SAMPLES}
    assert all((work / s / "inputs.yml").is_file() and not (work / s / "input.tsv").exists() for s in SAMPLES)
    assert app_env.statuses() == ["processing"]

    asyncio.run(app_action(action="inputs", filter="chunk.yml", **app_env.run_params()))
    assert (work / "sample_3" / "chunk.yml").is_file() and not (work / "sample_3" / "input.tsv").exists()
    asyncio.run(app_action(action="inputs", **app_env.run_params()))
    assert (work / "sample_3" / "input.tsv").read_text().startswith("gene\tcount\n")
    assert not (work / "sample_3" / "sample_3.counts.txt").exists()

    asyncio.run(app_action(action="process", **app_env.run_params()))
    assert all((work / s / f"{s}.counts.txt").is_file() for s in SAMPLES)
    assert not (work / "sample_1" / "outputs.yml").exists()  # collect belongs to the outputs phase
    assert app_env.statuses() == ["processing"] and app_env.rows_of("resource") == []

    summary = asyncio.run(app_action(action="outputs", **app_env.run_params()))
    assert sorted(r["name"] for r in app_env.rows_of("resource")) == [f"{s}.counts.txt" for s in SAMPLES]
    assert summary["status"] == "available"
    assert app_env.statuses() == ["processing", "available"]


def test_run_all_statuses_chunk_read_only_and_redispatch(app_env):
    work = app_env.work_dir

    # --chunk: only that chunk (dispatch first, the work dir has no chunks yet), no status
    one = asyncio.run(app_action(action="run-all", chunk=str(work / "sample_2"), **app_env.run_params()))
    assert one["chunks"] == ["sample_2"] and one["status"] is None
    assert [r["name"] for r in app_env.rows_of("resource")] == ["sample_2.counts.txt"]
    assert not (work / "sample_1" / "sample_1.counts.txt").exists()
    assert app_env.statuses() == []

    # read-only: every chunk computed, nothing registered, no status
    asyncio.run(app_action(action="run-all", read_only=True, **app_env.run_params()))
    assert all((work / s / f"{s}.counts.txt").is_file() for s in SAMPLES)
    assert len(app_env.rows_of("resource")) == 1 and app_env.statuses() == []

    # run-all: one status save, available (no processing: that is dispatch's)
    asyncio.run(app_action(action="run-all", **app_env.run_params()))
    assert app_env.statuses() == ["available"]
    counts = row_counts(app_env.server, "resource", "dataset", "link")
    assert counts["resource"] == 8  # 4 inputs + 4 outputs

    # a chunk directory removed: run-all dispatches again, then runs every chunk
    shutil.rmtree(work / "sample_3")
    again = asyncio.run(app_action(action="run-all", **app_env.run_params()))
    assert again["chunks"] == SAMPLES
    assert (work / "sample_3" / "sample_3.counts.txt").is_file()
    assert app_env.statuses() == ["available", "available"]
    assert row_counts(app_env.server, "resource", "dataset", "link") == counts


def test_no_action_sets_failed(app_env):
    app_env.set_parameters(fail_sample="sample_1")

    state = asyncio.run(app_action(action="run-all", **app_env.run_params(), return_state=True))

    assert state.is_failed() and "sample_1" in state.message
    assert app_env.statuses() == []  # neither available nor failed
    assert app_env.server.rows("workunit")[0]["status"] == "pending"


def test_dispatch_that_edits_the_definition_is_undone_and_static_inputs_need_no_client(app_env, tmp_path):
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "dispatch.py").write_text(
        "import sys, pathlib, yaml\n"
        "definition, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
        "definition.write_text(definition.read_text() + '# edited by dispatch\\n')\n"
        "(work / 'only').mkdir()\n"
        "(work / 'only' / 'inputs.yml').write_text(yaml.safe_dump({'inputs': [\n"
        "    {'type': 'static_file', 'content': 'a\\nb\\n', 'filename': 'data.txt'}]}))\n")
    (app_dir / "process.py").write_text(
        "import sys, pathlib\n"
        "chunk = pathlib.Path(sys.argv[1])\n"
        "(chunk / 'n.txt').write_text(str(len((chunk / 'data.txt').read_text().splitlines())))\n")
    (app_dir / "app.yml").write_text(
        "bfabric: {app_runner: 0.9.1}\n"
        "versions:\n"
        "  - version: '1.0.0'\n"
        "    commands:\n"
        f"      dispatch: {{type: exec, command: '{sys.executable} ${{app.dir}}/dispatch.py'}}\n"
        f"      process: {{type: exec, command: '{sys.executable} ${{app.dir}}/process.py'}}\n")
    params = app_env.run_params(app_yml=str(app_dir / "app.yml"), read_only=True)

    asyncio.run(app_action(action="run-all", **params))

    definition = app_env.work_dir / "workunit_definition.yml"
    assert "edited by dispatch" not in definition.read_text()
    assert "edited by dispatch" in (app_env.work_dir / "workunit_definition.yml.bak").read_text()
    # chunks.yml was discovered (the dispatch wrote none) and the static input was prepared
    assert yaml.safe_load((app_env.work_dir / "chunks.yml").read_text()) == {"chunks": ["only"]}
    assert (app_env.work_dir / "only" / "n.txt").read_text() == "2"
