"""bfabric-app-runner's include/exclude filter and update_existing policy tests, ported.

upstream files (tests/bfabric_app_runner/): inputs/test_filter_files.py (10 cases, 10 ported),
output_registration/test_update_existing_policy.py (3 cases, one with 4 parameter sets; 3 ported).
Filters are those of ``include_patterns``/``exclude_patterns`` (archive and resource-dataset inputs).
"""

from __future__ import annotations

import pytest

from tasks.bfabric.inputs.patterns import filter_items
from tasks.bfabric.register.common import RegistrationError, check_policy


def test_filter_files_no_patterns():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_no_patterns"""
    files = ["file1.txt", "file2.py", "file3.log"]
    assert filter_items(files, [], []) == files


def test_filter_files_include_patterns():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_include_patterns"""
    files = ["file1.txt", "file2.py", "file3.log", "file4.txt"]
    assert filter_items(files, ["*.txt"], []) == ["file1.txt", "file4.txt"]


def test_filter_files_exclude_patterns():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_exclude_patterns"""
    assert filter_items(["file1.txt", "file2.py", "file3.log", "file4.txt"], [], ["*.log"]) == [
        "file1.txt", "file2.py", "file4.txt"]


def test_filter_files_include_and_exclude():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_include_and_exclude"""
    assert filter_items(["file1.txt", "file2.py", "file3.log", "test.txt"], ["*.txt"], ["test*"]) == ["file1.txt"]


def test_filter_files_multiple_patterns():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_multiple_patterns"""
    files = ["file1.txt", "file2.py", "file3.log", "test.txt", "debug.log"]
    assert filter_items(files, ["*.txt", "*.py"], ["*.log", "test*"]) == ["file1.txt", "file2.py"]


def test_filter_files_with_key():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_with_key"""
    files = [{"name": "file1.txt"}, {"name": "file2.py"}, {"name": "file3.log"}]
    assert filter_items(files, ["*.txt"], [], key=lambda f: f["name"]) == [{"name": "file1.txt"}]


def test_filter_files_with_key_complex():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_with_key_complex"""
    files = [{"path": "src/main.py", "size": 1024}, {"path": "tests/test_main.py", "size": 512},
             {"path": "docs/readme.txt", "size": 256}, {"path": "src/utils.py", "size": 2048}]
    assert filter_items(files, ["src/*.py"], ["*main*"], key=lambda f: f["path"]) == [
        {"path": "src/utils.py", "size": 2048}]


def test_filter_files_no_matches():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_no_matches"""
    assert filter_items(["file1.txt", "file2.py", "file3.log"], ["*.csv"], []) == []


def test_filter_files_empty_lists():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_empty_lists"""
    assert filter_items([], ["*.txt"], ["*.log"]) == []


def test_filter_files_filename_vs_path_patterns():
    """upstream: tests/bfabric_app_runner/inputs/test_filter_files.py::test_filter_files_filename_vs_path_patterns"""
    files = ["dir1/test.txt", "dir2/test.txt", "test.txt", "dir1/other.txt"]
    assert filter_items(files, ["*.txt"], []) == files
    assert filter_items(files, ["test.txt"], []) == ["test.txt"]
    assert filter_items(files, ["dir1/*.txt"], []) == ["dir1/test.txt", "dir1/other.txt"]


@pytest.mark.parametrize(("existing_id", "policy"), [(7, "if_exists"), (7, "required"), (None, "if_exists"),
                                                     (None, "no")])
def test_check_update_existing_policy_allows(existing_id, policy):
    """upstream: tests/bfabric_app_runner/output_registration/test_update_existing_policy.py::test_check_update_existing_policy_allows"""
    check_policy(policy, existing_id, "Entity X")


def test_check_update_existing_policy_no_with_existing_raises():
    """upstream: tests/bfabric_app_runner/output_registration/test_update_existing_policy.py::test_check_update_existing_policy_no_with_existing_raises"""
    with pytest.raises(RegistrationError, match="already exists"):
        check_policy("no", 7, "Entity X")
    with pytest.raises(RegistrationError, match="already exists"):
        check_policy(False, 7, "Entity X")  # update_existing: no, read by YAML 1.1 as false


def test_check_update_existing_policy_required_with_missing_raises():
    """upstream: tests/bfabric_app_runner/output_registration/test_update_existing_policy.py::test_check_update_existing_policy_required_with_missing_raises"""
    with pytest.raises(RegistrationError, match="does not exist"):
        check_policy("required", None, "Entity X")
