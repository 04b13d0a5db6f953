"""Conformance with BayerCLAW's ``lambda/tests/router/test_router.py`` (the job router: which
workflow a dropped job file names, and the execution name it gets).

Upstream has 11 tests: 9 ported (test_lambda_handler as the execution name it gives); 2 skipped
as AWS plumbing (test_get_state_machine_arn builds a Step Functions ARN; test_main_duplicate_event
checks Step Functions' refusal of a second execution of the same name: labflows' launcher uses an
idempotency key for that, tested in tests/deploy/test_launcher.py).
A key without a qualifier has qualifier None where upstream says "current" (the same meaning).
"""

import re

import pytest

from tasks.launcher.names import JobKey, execution_name, normalize, parse_job_key, strip_extension


@pytest.mark.parametrize("key, expect", [
    ("WF-NAME:99/path/to/file.txt", ("WF-NAME", "99", "path/to/file.txt")),
    ("WF-NAME:ALIAS/path/to/file.txt", ("WF-NAME", "ALIAS", "path/to/file.txt")),
    ("WF-NAME/path/to/file.txt", ("WF-NAME", None, "path/to/file.txt")),  # upstream: "current"
])
def test_get_state_machine_name(key, expect):
    """upstream: lambda/tests/router/test_router.py::test_get_state_machine_name"""
    assert parse_job_key(key) == JobKey(*expect)


@pytest.mark.parametrize("key", ["WF-NAME_ONLY", "WF-NAME/path/ends/in/slash/"])
def test_get_state_machine_name_fail(key):
    """upstream: lambda/tests/router/test_router.py::test_get_state_machine_name_fail"""
    assert parse_job_key(key) is None


def test_get_state_machine_name_silly():
    """upstream: lambda/tests/router/test_router.py::test_get_state_machine_name_silly"""
    key = "WF-NAME///two//three/four99+five____zireau88*six&^%$#.seven.eight"
    assert parse_job_key(key) == JobKey("WF-NAME", None, "two//three/four99+five____zireau88*six&^%$#.seven.eight")


@pytest.mark.parametrize("string, expect", [
    ("one///two//three/four99+five____zireau88*six&^%$#.seven.DISCARD",
     "one///two//three/four99+five____zireau88*six&^%$#.seven"),
    ("antidisestablishmentarianism", "antidisestablishmentarianism"),
])
def test_shorten_filename(string, expect):
    """upstream: lambda/tests/router/test_router.py::test_shorten_filename"""
    assert strip_extension(string) == expect


def test_normalize():
    """upstream: lambda/tests/router/test_router.py::test_normalize"""
    assert normalize("two//three/four99+five____zireau88*six&^%$#.seven") == "two-three-four99-five-zireau88-six-seven"


def test_make_execution_name_normalize():
    """upstream: lambda/tests/router/test_router.py::test_make_execution_name_normalize"""
    result = execution_name("one!@#$%/TWO)(*&tHrEe<>?/456___789/file-name.DISCARD",
                            "12_34.5678_abcdefghijklmnopqrstuvwxyz")
    assert len(result) <= 80 and re.match(r"^[A-Za-z0-9_-]{1,80}$", result)
    assert result.startswith("one-TWO-tHrEe-456-789-file-name") and result.endswith("12-34-56")


def test_make_execution_name_long_key():
    """upstream: lambda/tests/router/test_router.py::test_make_execution_name_long_key"""
    version = "12345678abcdefghijklmnopqrstuvwxyz"
    result = execution_name(f"dirname/{'a' * 90}", version)
    assert len(result) == 80 and re.match(r"^[A-Za-z0-9_-]{1,80}$", result) and result.endswith(version[:8])


@pytest.mark.parametrize("s3_key, version, expect", [
    (".leading_dot", "12345", "leading-dot_12345"),
    (".....dots.ext", "12345", "dots_12345"),
    ("_____.linz", "12345", "_12345"),
    ("unversioned", "", "unversioned_NULL"),
    ("base64.nightmare", "._._._._._", "base64_NULL"),
    ("_____.horrifying", "._._._._._", "_NULL"),
])
def test_make_execution_name_pathological(s3_key, version, expect):
    """upstream: lambda/tests/router/test_router.py::test_make_execution_name_pathological"""
    assert execution_name(s3_key, version) == expect


def test_lambda_handler_execution_name():
    """upstream: lambda/tests/router/test_router.py::test_lambda_handler (the execution's name)."""
    key = parse_job_key("wf-name/one/two/three/file.txt")
    assert key is not None and key.workflow == "wf-name"
    assert execution_name(key.path, "0123456789ABCDEF0123456789abcdef") == "one-two-three-file_01234567"
