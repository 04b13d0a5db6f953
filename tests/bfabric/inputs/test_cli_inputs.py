"""``labflows inputs prepare|list|check|clean``: outputs and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.run import main
from tests.support.paths import REPO_ROOT as ROOT

from .conftest import STORAGE_FILES


def write_inputs(path: Path, *entries: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"inputs": list(entries)}))
    return path


STATIC = ({"type": "static_file", "filename": "a.txt", "content": "A"},
          {"type": "static_yaml", "filename": "p.yml", "data": {"k": 1}})


@pytest.fixture
def bfabric_config(bfab, monkeypatch):
    """The bfabricpy configuration pointing at the stand-in (no config file involved)."""
    monkeypatch.setenv("BFABRICPY_CONFIG_OVERRIDE", json.dumps(bfab.server.config_override()))
    return bfab


def test_every_action_defaults_to_the_folder_of_the_inputs_file(tmp_path, capsys, monkeypatch):
    inputs = write_inputs(tmp_path / "chunk" / "inputs.yml", *STATIC)
    assert main(["inputs", "prepare", str(inputs)]) == 0
    out, err = capsys.readouterr()
    assert out.split() == [str(tmp_path / "chunk/a.txt"), str(tmp_path / "chunk/p.yml")]
    assert err.count("a.txt: written") == 1  # progress shown once, not again through Prefect's handler
    assert (tmp_path / "chunk/a.txt").read_text() == "A"
    assert yaml.safe_load((tmp_path / "chunk/p.yml").read_text()) == {"k": 1}
    monkeypatch.chdir(tmp_path)  # not the chunk folder: the default is the inputs file's folder
    capsys.readouterr()
    assert main(["inputs", "check", str(inputs)]) == 0
    assert capsys.readouterr().out.split() == ["a.txt", "Correct", "p.yml", "Correct"]
    assert main(["inputs", "list", "--check", str(inputs)]) == 0
    assert capsys.readouterr().out.split() == ["a.txt", "Correct", "p.yml", "Correct"]
    assert main(["inputs", "clean", str(inputs)]) == 0
    assert not (tmp_path / "chunk/a.txt").exists()


def test_check_exits_1_unless_every_file_is_correct(tmp_path, capsys):
    inputs = write_inputs(tmp_path / "inputs.yml", *STATIC)
    assert main(["inputs", "check", str(inputs), str(tmp_path)]) == 1
    assert "Missing" in capsys.readouterr().out
    main(["inputs", "prepare", str(inputs)])
    (tmp_path / "a.txt").write_text("changed")
    capsys.readouterr()
    assert main(["inputs", "check", str(inputs), str(tmp_path)]) == 1
    assert capsys.readouterr().out.split() == ["a.txt", "Incorrect", "p.yml", "Correct"]


def test_list_names_and_list_check(tmp_path, capsys):
    inputs = write_inputs(tmp_path / "inputs.yml", *STATIC)
    assert main(["inputs", "list", str(inputs), str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == ["a.txt", "p.yml"]
    assert main(["inputs", "list", "--check", "--filter", "p.yml", str(inputs), str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == ["p.yml", "Missing"]  # list --check never fails


def test_clean_removes_prepared_files(tmp_path, capsys):
    inputs = write_inputs(tmp_path / "inputs.yml", *STATIC)
    main(["inputs", "prepare", str(inputs)])
    assert main(["inputs", "clean", str(inputs)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs.yml"]


def test_bad_spec_file_exits_2_with_a_located_line(tmp_path, capsys):
    inputs = tmp_path / "inputs.yml"
    inputs.write_text("inputs:\n  - type: static_file\n    filename: /abs.txt\n    content: x\n")
    assert main(["inputs", "prepare", str(inputs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{inputs}:3:") and "must be a relative path" in err[0]


def test_missing_inputs_file_and_duplicate_names_and_unknown_filter_exit_2(tmp_path, capsys):
    assert main(["inputs", "prepare", str(tmp_path / "nope.yml")]) == 2
    dup = write_inputs(tmp_path / "dup.yml", STATIC[0], STATIC[0])
    capsys.readouterr()
    assert main(["inputs", "prepare", str(dup)]) == 2
    # known from the file alone: refused while loading, located
    assert capsys.readouterr().err.strip() == f"{dup}:4:13: inputs[1].filename: duplicate file name 'a.txt' (also inputs[0])"
    ok = write_inputs(tmp_path / "ok.yml", *STATIC)
    assert main(["inputs", "prepare", "--filter", "*.txt", str(ok)]) == 2
    assert "no input has that file name" in capsys.readouterr().err
    assert not (tmp_path / "a.txt").exists()


def test_directory_in_the_way_exits_1_with_one_line(tmp_path, capsys):
    inputs = write_inputs(tmp_path / "inputs.yml", *STATIC)
    (tmp_path / "a.txt").mkdir()
    assert main(["inputs", "prepare", str(inputs)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("error:", "ERROR"))]
    assert err == ["ERROR a.txt: a directory is in the way of this static file"]


def test_bfabric_inputs_use_the_bfabricpy_configuration(bfabric_config, tools, tmp_path, capsys):
    inputs = write_inputs(tmp_path / "chunk/inputs.yml", {"type": "bfabric_resource", "id": 10},
                          {"type": "bfabric_order_fasta", "id": 7, "entity": "workunit", "filename": "o.fasta"})
    assert main(["inputs", "prepare", "--ssh-user", "carol", str(inputs)]) == 0
    assert (tmp_path / "chunk/file_10.txt").read_bytes() == STORAGE_FILES["p1/file_10.txt"]
    assert (tmp_path / "chunk/o.fasta").read_text() == ">prot\nMKV\n"
    assert tools.calls()[0][3].startswith("carol@storagehost:")
    assert main(["inputs", "check", str(inputs), str(tmp_path / "chunk")]) == 0


def test_failed_transfer_exits_1_with_one_line(bfabric_config, tools, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_RSYNC_EXIT", "23")
    monkeypatch.setenv("FAKE_SCP_EXIT", "1")
    inputs = write_inputs(tmp_path / "inputs.yml", {"type": "bfabric_resource", "id": 10})
    assert main(["inputs", "prepare", str(inputs)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("error:", "ERROR"))]
    assert len(errors) == 1 and errors[0].startswith("ERROR file_10.txt: could not fetch storagehost:"), errors


def test_checksum_mismatch_exits_1(bfabric_config, tools, tmp_path, capsys):
    inputs = write_inputs(tmp_path / "inputs.yml", {"type": "bfabric_resource", "id": 15})
    assert main(["inputs", "prepare", str(inputs)]) == 1
    assert "checksum mismatch" in capsys.readouterr().err


def test_unknown_resource_exits_1(bfabric_config, tmp_path, capsys):
    inputs = write_inputs(tmp_path / "inputs.yml", {"type": "bfabric_resource", "id": 999})
    assert main(["inputs", "list", str(inputs), str(tmp_path)]) == 1
    assert "ERROR B-Fabric has no resource with id 999" in capsys.readouterr().err


def test_no_client_is_created_for_static_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("BFABRICPY_CONFIG_OVERRIDE", "not json")  # would break any client construction
    inputs = write_inputs(tmp_path / "inputs.yml", *STATIC)
    assert main(["inputs", "prepare", str(inputs)]) == 0


def test_unusable_bfabric_configuration_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BFABRICPY_CONFIG_OVERRIDE", "not json")
    inputs = write_inputs(tmp_path / "inputs.yml", {"type": "bfabric_resource", "id": 1})
    assert main(["inputs", "prepare", str(inputs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot set up the B-Fabric client:")


def test_python_m_flows_run_inputs(tmp_path):
    inputs = write_inputs(tmp_path / "inputs.yml", *STATIC)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "flows.run", "inputs", "check", str(inputs), str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stdout.split() == ["a.txt", "Missing", "p.yml", "Missing"]


def test_python_m_flows_run_inputs_prepare_failure_is_one_error_line(tmp_path):
    """As a user runs it: a failed prepare ends with the ``ERROR …`` line of ``workflow`` and ``app``."""
    inputs = write_inputs(tmp_path / "inputs.yml", *STATIC)
    (tmp_path / "a.txt").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "flows.run", "inputs", "prepare", str(inputs)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == "ERROR a.txt: a directory is in the way of this static file"
    assert "Traceback" not in done.stderr and "error:" not in done.stderr
