"""bfabric-app-runner's prepare-folder tests, ported through ``labflows inputs prepare|clean`` (in process).

upstream file: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py (14 cases): 7 ported; 7
skipped as plumbing (test_prepare_input_files: a mock of the per-type dispatch; the bearer-token
helpers test_needs_bearer_token_* (2), test_prepare_folder_skips_token_when_no_http and
test_resolve_token_provider_* (3): how upstream obtains its OAuth token; labflows' token handling is in
tests/bfabric/inputs/test_fetch.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.cli.main import main

INPUTS = {"inputs": [{"type": "static_file", "content": "one", "filename": "file1.txt"},
                     {"type": "static_yaml", "data": {"k": "v"}, "filename": "file2.yml"}]}


@pytest.fixture()
def inputs_yml(tmp_path) -> Path:
    path = tmp_path / "chunk" / "inputs.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(INPUTS))
    return path


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_prepare_folder_prepare_action(inputs_yml, tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py::test_prepare_folder_prepare_action"""
    assert main(["inputs", "prepare", str(inputs_yml), str(tmp_path / "target")]) == 0
    assert (tmp_path / "target" / "file1.txt").read_text() == "one"
    assert yaml.safe_load((tmp_path / "target" / "file2.yml").read_text()) == {"k": "v"}


def test_prepare_folder_clean_action(inputs_yml, tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py::test_prepare_folder_clean_action"""
    target = tmp_path / "target"
    main(["inputs", "prepare", str(inputs_yml), str(target)])
    (target / "keep.txt").write_text("not an input")
    assert main(["inputs", "clean", str(inputs_yml), str(target)]) == 0
    assert _names(target) == {"keep.txt"}


def test_prepare_folder_with_filter(inputs_yml, tmp_path):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py::test_prepare_folder_with_filter"""
    assert main(["inputs", "prepare", str(inputs_yml), str(tmp_path / "target"), "--filter", "file2.yml"]) == 0
    assert _names(tmp_path / "target") == {"file2.yml"}


def test_prepare_folder_filter_no_match(inputs_yml, tmp_path, capsys):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py::test_prepare_folder_filter_no_match"""
    assert main(["inputs", "prepare", str(inputs_yml), str(tmp_path / "target"), "--filter", "nonexistent.txt"]) != 0
    err = capsys.readouterr().err
    assert "nonexistent.txt" in err and "Traceback" not in err
    assert _names(tmp_path / "target") == set()


def test_prepare_folder_unknown_action(inputs_yml, capsys):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py::test_prepare_folder_unknown_action"""
    with pytest.raises(SystemExit) as info:
        main(["inputs", "unknown", str(inputs_yml)])
    assert info.value.code == 2 and "unknown" in capsys.readouterr().err


def test_prepare_folder_default_target_folder(inputs_yml):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py::test_prepare_folder_default_target_folder"""
    assert main(["inputs", "prepare", str(inputs_yml)]) == 0
    assert _names(inputs_yml.parent) == {"inputs.yml", "file1.txt", "file2.yml"}


def test_clean_input_files(inputs_yml):
    """upstream: tests/bfabric_app_runner/inputs/prepare/test_prepare_folder.py::test_clean_input_files
    (one input present, one never prepared: the present one is removed, the missing one is no error)"""
    (inputs_yml.parent / "file1.txt").write_text("one")
    assert main(["inputs", "clean", str(inputs_yml)]) == 0
    assert _names(inputs_yml.parent) == {"inputs.yml"}
