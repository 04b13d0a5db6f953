"""Conformance with BayerCLAW's ``lambda/tests/scatter/test_scatter.py`` and
``lambda/tests/scatter_init/test_scatter_init.py`` (expanding ``scatter:``, items, branch job data).

Upstream test_scatter has 9 tests: 8 ported, 1 skipped as AWS plumbing (test_get_job_data reads
``_JOB_DATA_`` through boto3; labflows reads it in :meth:`RunContext.read_job_data`, covered by the
engine tests). test_lambda_handler and test_lambda_handler_scatter_sub are ported as the
``items.csv`` they write. test_scatter_init (1 test) is Step Functions plumbing (it builds the
per-branch state input): skipped.
"""

import csv
import io
import json

import pytest

from tasks.bclaw.context import JOB_REF
from tasks.bclaw.scatter.expand import ScatterError, expand_scatter, items_csv, scatter_items
from tasks.bclaw.scatter.step import branch_template

from .conftest import REPO

OTHER_FILE = {"x": {"a": 1, "b": 2}, "y": {"a": 3, "b": 4}}


@pytest.fixture
def filled(put, repo):
    for name in ("file1", "file2", "file3"):
        put(name, f"file {name[-1]}")
    put("other_file.json", OTHER_FILE)
    put("_control_/test_step.complete", "")
    return repo


@pytest.mark.parametrize("glob, expect", [
    ("file*", ["file1", "file2", "file3"]),
    ("file?", ["file1", "file2", "file3"]),
    ("file[12]", ["file1", "file2"]),
    ("*file*", ["file1", "file2", "file3", "other_file.json"]),
    ("nothing*", []),
])
def test_expand_glob(filled, glob, expect):
    """upstream: lambda/tests/scatter/test_scatter.py::test_expand_glob"""
    expanded = expand_scatter({"k": glob}, filled, REPO, {"job": {}})["k"]
    assert sorted(expanded) == [f"{REPO}/{x}" for x in expect]


def test_expand_scatter_data(filled):
    """upstream: lambda/tests/scatter/test_scatter.py::test_expand_scatter_data"""
    spec = {"static_list": [1, 2, 3], "job_data_list": "${job.a_list}", "file_contents": "@other_file.json:$[*.b]",
            "file_glob": "file*", "single_file": "single.txt", "file_ref": "${job.file_ref}",
            "contents_ref1": "${job.contents_ref1}", "contents_ref2": "@${job.contents_ref2}",
            "glob_ref": "${job.glob_ref}"}
    job_data = {"job": {"a_list": [9, 8, 7], "file_ref": "referenced_file.txt", "glob_ref": "file[1,3]",
                        "contents_ref1": "@other_file.json:$[*.a]", "contents_ref2": "other_file.json:$[*.b]",
                        "err": {"a": 1}, "more": "stuff"}, "parent": {}, "scatter": {}}
    assert expand_scatter(spec, filled, REPO, job_data) == {
        "static_list": [1, 2, 3], "job_data_list": [9, 8, 7], "file_contents": ["2", "4"],
        "file_glob": [f"{REPO}/file1", f"{REPO}/file2", f"{REPO}/file3"],
        "single_file": [f"{REPO}/single.txt"], "file_ref": [f"{REPO}/referenced_file.txt"],
        "contents_ref1": ["1", "3"], "contents_ref2": ["2", "4"],
        "glob_ref": [f"{REPO}/file1", f"{REPO}/file3"],
    }


def test_expand_scatter_data_not_list(repo):
    """upstream: lambda/tests/scatter/test_scatter.py::test_expand_scatter_data_not_list"""
    with pytest.raises(ScatterError, match="key='unlist': job.unlist is not a list or string"):
        expand_scatter({"unlist": "${job.unlist}"}, repo, REPO, {"job": {"unlist": 99}})


def test_expand_scatter_data_not_found(repo):
    """upstream: lambda/tests/scatter/test_scatter.py::test_expand_scatter_data_not_found"""
    with pytest.raises(ScatterError, match="key='not_found': job.not_there not found"):
        expand_scatter({"not_found": "${job.not_there}"}, repo, REPO, {"job": {"some": "stuff"}})


def test_scatterator():
    """upstream: lambda/tests/scatter/test_scatter.py::test_scatterator (first key slowest; values as text)."""
    assert scatter_items({"one": ["a", "b"], "two": [1, 2, 3]}) == [
        {"one": o, "two": str(t)} for o in ("a", "b") for t in (1, 2, 3)]


def test_write_job_data_template(make_ctx):
    """upstream: lambda/tests/scatter/test_scatter.py::test_write_job_data_template (parent = old
    parent + inputs as full URIs + outputs; scatter emptied; labflows refers to the job instead of copying it)."""
    ctx = make_ctx({"job": "data"}, parent={"original": f"{REPO}/file1"}, scatter={"should": "be overwritten"})
    job_data, source = ctx.read_job_data_and_source()

    class Step:
        inputs = {"additional": "file2"}

    template = branch_template(Step, ctx, job_data, source, {}, {"output": "file.out"})
    assert template == {JOB_REF: f"{REPO}/_JOB_DATA_", "scatter": {},
                        "parent": {"original": f"{REPO}/file1", "additional": f"{REPO}/file2", "output": "file.out"}}


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_lambda_handler(filled):
    """upstream: lambda/tests/scatter/test_scatter.py::test_lambda_handler (items.csv: header of keys,
    one row per combination)."""
    expanded = expand_scatter({"scatter_files": "file*", "list": [1, 2]}, filled, REPO, {"job": {}})
    header, *rows = _rows(items_csv(list(expanded), scatter_items(expanded)))
    assert header == ["scatter_files", "list"]
    assert sorted((r[0].rsplit("/", 1)[1], r[1]) for r in rows) == [
        (f, n) for f in ("file1", "file2", "file3") for n in ("1", "2")]


def test_lambda_handler_scatter_sub(filled):
    """upstream: lambda/tests/scatter/test_scatter.py::test_lambda_handler_scatter_sub (a job value
    that is a glob URI)."""
    job = {"job": {"glob": f"{REPO}/file*"}}
    expanded = expand_scatter({"scatter_glob": "${job.glob}"}, filled, REPO, job)
    header, *rows = _rows(items_csv(list(expanded), scatter_items(expanded)))
    assert header == ["scatter_glob"]
    assert [r[0] for r in rows] == [f"{REPO}/file1", f"{REPO}/file2", f"{REPO}/file3"]


def test_items_are_json_text_for_structured_values(filled, put):
    """upstream: file_select.stringify: lists and maps scatter as JSON text."""
    put("nested.json", [{"k": [1, 2]}, {"k": {"z": 1}}])
    assert expand_scatter({"k": "@nested.json:$[*].k"}, filled, REPO, {"job": {}}) == {
        "k": [json.dumps([1, 2]), json.dumps({"z": 1})]}
