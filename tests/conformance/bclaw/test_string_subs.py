"""Conformance with BayerCLAW's ``bclaw_runner/tests/test_string_subs.py`` (runner-side ``${…}``).

Upstream has 7 tests; all 7 are ported here (0 AWS plumbing skipped). labflows' runner-side
substitution is :mod:`tasks.bclaw.substitution` (``substitute``, ``substitute_all``,
``substitute_image_tag`` over a JMESPath resolver).
"""

import pytest

from tasks.bclaw.substitution import job_data_resolver, substitute, substitute_all, substitute_image_tag

SPEC = {"one": "wun", "two": 2, "three": "", "four": False}


@pytest.mark.parametrize("name, expect", [
    ("one", "wun"), ("two", "2"), ("three", ""), ("four", "False"), ("not_found", "${not_found}"),
])
def test_lookup(name, expect):
    """upstream: bclaw_runner/tests/test_string_subs.py::test_lookup (a missing name stays as written)."""
    assert substitute("${" + name + "}", job_data_resolver(SPEC)) == expect


def test_substitute_string():
    """upstream: bclaw_runner/tests/test_string_subs.py::test_substitute_string"""
    subs = {"w": "was", "x": "am", "y": {"z": "very", "t": "singular"},
            "p": ["exemplar", {"what": "model"}, "blueprint"], "q": ["modern", "major"]}
    text = "I ${x} the ${y.z} ${p[1].what} of a ${q} ${general}"
    assert substitute(text, job_data_resolver(subs)) == "I am the very model of a ['modern', 'major'] ${general}"


def test_substitute_nested():
    """upstream: bclaw_runner/tests/test_string_subs.py::test_substitute_nested"""
    subs = {"metadata": {"received": "2022-06-01"}}
    assert substitute("received on ${metadata.received}", job_data_resolver(subs)) == "received on 2022-06-01"


def test_substitute_falsy_values():
    """upstream: bclaw_runner/tests/test_string_subs.py::test_substitute_falsy_values"""
    subs = {"job": {"boolean_T": True, "boolean_F": False, "null": None, "zero": 0, "empty_string": ""}}
    text = "command ${job.boolean_T} ${job.boolean_F} ${job.null} ${job.zero} <${job.empty_string}> ${job.not_found}"
    assert substitute(text, job_data_resolver(subs)) == "command True False ${job.null} 0 <> ${job.not_found}"


def test_substitute_recursion():
    """upstream: bclaw_runner/tests/test_string_subs.py::test_substitute_recursion"""
    target = {"one": [{"three": "${a}", "four": "${b}"}, ["${a}", "${b}"], "${a} ${b}"],
              "two": {"seven": {"five": "${a}", "six": "${b}"}, "eight": ["${a}", "${b}"], "nine": "${a} ${b}"}}
    expect = {"one": [{"three": "99", "four": "two"}, ["99", "two"], "99 two"],
              "two": {"seven": {"five": "99", "six": "two"}, "eight": ["99", "two"], "nine": "99 two"}}
    assert substitute_all(target, job_data_resolver({"a": 99, "b": "two"})) == expect


@pytest.mark.parametrize("original, expect", [
    ("docker.io/library/single:${sub}", "docker.io/library/single:tag"),
    ("no_${a}_registry:${sub}", "no_eh_registry:tag"),
    ("no_registry:no_subs", "no_registry:no_subs"),
    ("public.ecr.aws/docker/library/multi:${a}_${b}_${c}", "public.ecr.aws/docker/library/multi:eh_bee_sea"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/no:subs", "123456789012.dkr.ecr.us-east-1.amazonaws.com/no:subs"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/no_tags", "123456789012.dkr.ecr.us-east-1.amazonaws.com/no_tags"),
    ("myregistryhost:5000/fedora/httpd:${sub}", "myregistryhost:5000/fedora/httpd:tag"),
    ("probably:${a}/highly/${b}/illegal/${c}:${sub}", "probably:${a}/highly/${b}/illegal/sea:tag"),
])
def test_substitute_image_tag(original, expect):
    """upstream: bclaw_runner/tests/test_string_subs.py::test_substitute_image_tag (only the last
    path component is substituted; the auth part is not touched: labflows keeps it in its own field)."""
    resolve = job_data_resolver({"sub": "tag", "a": "eh", "b": "bee", "c": "sea"})
    assert substitute_image_tag(original, resolve) == expect


def test_substitute_tagged_output():
    """upstream: bclaw_runner/tests/test_string_subs.py::test_substitute_tagged_output"""
    spec = {"name": "fake_${a}_filename", "s3_tags": {"tag1": "value_${a}", "tag2": "value_${b}"}}
    expect = {"name": "fake_99_filename", "s3_tags": {"tag1": "value_99", "tag2": "value_two"}}
    assert substitute_all(spec, job_data_resolver({"a": 99, "b": "two"})) == expect
