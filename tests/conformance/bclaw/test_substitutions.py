"""Conformance with BayerCLAW's ``lambda/tests/common/test_substitutions.py`` (``${job.x}`` in the
specs of scatter, gather, chooser and subpipe steps; ``${name}`` in file names).

Upstream has 4 tests; all 4 are ported (0 AWS plumbing skipped). One deliberate difference
(docs/compatibility.md, "lists and maps in step specs"): upstream's Lambdas render a list or map as
doubly JSON-encoded text (``"[\\"three\\"]"``), the runner and labflows as Python's ``str()``.
A missing key fails before any step runs (:func:`check_job_references`), not when the Lambda runs.
"""

import pytest

from specs.workflow.model import load_workflow
from tasks.bclaw.initialize import JobDataError, check_job_references
from tasks.bclaw.substitution import job_data_resolver, substitute, substitute_all, symbol_resolver

DATA = {"string": "string_value", "number": 99, "list": [1, 2, 3], "dict": {"a": 1, "b": 2},
        "boolean_T": True, "boolean_F": False, "empty_string": "", "zero": 0}


@pytest.mark.parametrize("name, expect", [
    ("string", "string_value"), ("number", "99"), ("boolean_T", "True"), ("boolean_F", "False"),
    ("empty_string", ""), ("zero", "0"),
    ("list", "[1, 2, 3]"),  # deliberate: upstream '"[1, 2, 3]"' (JSON inside a JSON string)
    ("dict", "{'a': 1, 'b': 2}"),  # deliberate: upstream '"{\"a\": 1, \"b\": 2}"'
])
def test_lookup(name, expect):
    """upstream: lambda/tests/common/test_substitutions.py::test_lookup"""
    assert substitute("${job." + name + "}", job_data_resolver({"job": DATA})) == expect


def test_lookup_fail(tmp_path):
    """upstream: lambda/tests/common/test_substitutions.py::test_lookup_fail ("z not found in job
    data"): a gather/chooser/subpipe spec naming a missing key stops the run before any step."""
    wf = tmp_path / "wf.yaml"
    wf.write_text("Repository: s3://b/r\nSteps:\n  - sub:\n      subpipe: child.yaml\n"
                  "      job_data: ${job.z}.json\n")
    with pytest.raises(JobDataError, match=r"job data has no 'z'"):
        check_job_references(load_workflow(wf).steps, {"a": 1, "b": 2})


def test_substitute_job_data():
    """upstream: lambda/tests/common/test_substitutions.py::test_substitute_job_data (the list value
    is rendered with str(), deliberately; see the module docstring)."""
    subject = {"a_string": "a ${job.value} b ${scatter.value} c ${parent.value}",
               "a_list": ["e ${job.value}", "f ${scatter.value}", "g ${parent.value}"],
               "a_dict": {"eh": "h ${job.value}", "bee": "i ${scatter.value}", "sea": "j ${parent.value}"}}
    job_data = {"job": {"value": "one"}, "scatter": {"value": 2}, "parent": {"value": ["three"]}}
    expect = {"a_string": "a one b 2 c ['three']",
              "a_list": ["e one", "f 2", "g ['three']"],
              "a_dict": {"eh": "h one", "bee": "i 2", "sea": "j ['three']"}}
    assert substitute_all(subject, job_data_resolver(job_data)) == expect


def test_substitute_into_filenames():
    """upstream: lambda/tests/common/test_substitutions.py::test_substitute_into_filenames"""
    subject = {"file": "s3:/${bucket}/${path}/${name}.${ext}",
               "files": [f"s3:/${{bucket}}/${{path}}/${{name}}{i}.${{ext}}" for i in (1, 2, 3)],
               "fileses": {f"file_{c}": f"s3:/${{bucket}}/${{path}}/${{name}}_{c}.${{ext}}" for c in "abc"}}
    subs = {"bucket": "bucket_name", "path": "path/to/whatever", "name": "file_name"}
    base = "s3:/bucket_name/path/to/whatever/file_name"
    expect = {"file": f"{base}.${{ext}}",
              "files": [f"{base}{i}.${{ext}}" for i in (1, 2, 3)],
              "fileses": {f"file_{c}": f"{base}_{c}.${{ext}}" for c in "abc"}}
    assert substitute_all(subject, symbol_resolver(subs)) == expect
