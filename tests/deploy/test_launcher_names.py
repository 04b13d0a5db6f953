"""Launcher folder keys and run names: BayerCLAW's job router behaviour 20."""

import re

import pytest

from tasks.launcher.names import JobKey, execution_name, normalize, parse_job_key, strip_extension


@pytest.mark.parametrize("key, expected", [
    ("WF-NAME:99/path/to/file.txt", JobKey("WF-NAME", "99", "path/to/file.txt")),
    ("WF-NAME:ALIAS/path/to/file.txt", JobKey("WF-NAME", "ALIAS", "path/to/file.txt")),
    ("WF-NAME/path/to/file.txt", JobKey("WF-NAME", None, "path/to/file.txt")),
    ("qc///two//three.json", JobKey("qc", None, "two//three.json")),
])
def test_job_keys_split_into_workflow_qualifier_and_path(key, expected):
    assert parse_job_key(key) == expected


@pytest.mark.parametrize("key", ["WF-NAME_ONLY", "WF-NAME/path/ends/in/slash/", "_launcher_/launched/x.json",
                                 "wf_underscore/x.json", "no-folder.json"])
def test_keys_without_a_workflow_folder_are_not_job_files(key):
    assert parse_job_key(key) is None


@pytest.mark.parametrize("path, version, expected", [
    (".leading_dot", "12345", "leading-dot_12345"),
    (".....dots.ext", "12345", "dots_12345"),
    ("_____.linz", "12345", "_12345"),
    ("unversioned", "", "unversioned_NULL"),
    ("unversioned", None, "unversioned_NULL"),
    ("base64.nightmare", "._._._._._", "base64_NULL"),
    ("_____.horrifying", "._._._._._", "_NULL"),
    ("one/two/three/file.txt", "0123456789ABCDEF0123456789abcdef", "one-two-three-file_01234567"),
])
def test_execution_names_as_bayerclaw(path, version, expected):
    assert execution_name(path, version) == expected


def test_execution_name_normalizes_path_and_version():
    name = execution_name("one!@#$%/TWO)(*&tHrEe<>?/456___789/file-name.DISCARD", "12_34.5678_abcdefgh")
    assert name == "one-TWO-tHrEe-456-789-file-name_12-34-56"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)


def test_long_paths_are_cut_to_71_characters_plus_version():
    name = execution_name(f"dirname/{'a' * 90}", "12345678abcdefghijklmnopqrstuvwxyz")
    assert len(name) == 80
    assert name == f"dirname-{'a' * 63}_12345678"


def test_only_the_last_extension_of_the_file_name_goes():
    assert strip_extension("two//three/four99+five.seven.DISCARD") == "two//three/four99+five.seven"
    assert strip_extension("dir.d/file") == "dir.d/file"
    assert normalize("two//three/four99+five____zireau88*six&^%$#.seven") == "two-three-four99-five-zireau88-six-seven"
