"""Conformance with BayerCLAW's ``lambda/tests/chooser/test_multichooser.py`` (chooser conditions).

Upstream has 10 tests; all 10 are ported (0 AWS plumbing skipped). labflows evaluates conditions
with its own safe evaluator, never ``eval`` (docs/compatibility.md): every upstream expression
below is in the subset it accepts. Upstream's ``Box`` types are not part of the contract; the
values are.
"""

import json

import pytest

from tasks.bclaw.chooser import ConditionFailed, condition_names, first_true, holds

from .conftest import REPO

JOB = {"eh": True, "bee": {"sea": ["dee", "ee", "eff"], "gee": {"aytch": "eye"}}, "file_too": "file2"}
DATA = [
    {"input1": 99, "x": "zee", "y": "why", "z": "ecks"},
    {"a": 1, "b": [2, 3, 4], "c": {"d": 5, "e": 6}},
    {"f": 7, "g": [8, 9], "h": {"i": 10, "j": 11}, "k": True, "l": False},
    [12, [13, 14, 15], {"m": {"a": 1, "b": 2}}, "wut"],
    [99, 98, 97],
    "sasquatch",
]


@pytest.fixture
def ctx(make_ctx, put):
    for i, data in enumerate(DATA):
        put(f"file{i}.json", json.dumps(data))
    return make_ctx(JOB, parent={"do not": "use"}, scatter={"do not": "use"})


@pytest.mark.parametrize("input_file", ["file1.json", f"{REPO}/file1.json"])
def test_load_s3_object(ctx, input_file):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_load_s3_object"""
    assert condition_names({"input1": input_file}, ctx)["input1"] == DATA[1]


def test_load_vals(ctx):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_load_vals"""
    names = condition_names({"input1": "file1.json", "input2": "${job.file_too}.json", "input3": "file3.json"}, ctx)
    assert names == {"job": JOB, "input1": DATA[1], "input2": DATA[2], "input3": DATA[3]}


@pytest.mark.parametrize("file, expect", [
    ("file0.json", {"job": JOB, "input1": DATA[0], "x": "zee", "y": "why", "z": "ecks"}),
    ("file1.json", {"job": JOB, "input1": DATA[1], **DATA[1]}),
    ("file4.json", {"job": JOB, "input1": DATA[4]}),
    ("file5.json", {"job": JOB, "input1": DATA[5]}),
])
def test_load_vals_single_input(ctx, file, expect):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_load_vals_single_input (one object
    input's keys are names too, except one shadowing the input's own name)."""
    assert condition_names({"input1": file}, ctx) == expect


@pytest.mark.parametrize("expr, expect", [
    ("input1.a == 1", True),
    ("input2.k", True),
    ("input2.l", False),
    ("not input2.l", True),
    ("input1.b[1] == 3", True),
    ("input1.c.e == 6", True),
    ("input3[2].m.a == input1.a", True),
    ("input2.f + input2.h.j == 1 + input3[1][2] + input3[2].m.b", True),
    ("7 < input2.g[1] < 10", True),
    ("input1.a == 1 and input2.f == 7", True),
    ("input2.g[0] != 8", False),
    ("str(input3[1]) == '[13, 14, 15]'", True),
    ("abs(input1.a - 99) > 10", True),
    ("math.isclose(input2.f/100.0, 0.07)", True),
    ("'u' in input3[3]", True),
    ("input3[3].startswith('w')", True),
    ("re.match(r'wu.', input3[3]) is not None", True),
    ("'d' in input1.c", True),
    ("8 in input2.g", True),
])
def test_eval_this(expr, expect):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_eval_this"""
    assert holds("choose", expr, {"input1": DATA[1], "input2": DATA[2], "input3": DATA[3]}) is expect


@pytest.mark.parametrize("names, expect", [
    ({"a": 1, "b": 2, "c": 3}, "a == 1"),
    ({"a": 9, "b": 8, "c": 3}, "c == 3"),
    ({"a": 9, "b": 8, "c": 7}, None),
])
def test_run_exprs(names, expect):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_run_exprs"""
    assert first_true("choose", ["a == 1", "b == 2", "c == 3"], names) == expect


THREE = {"input1": "file1.json", "input2": "file2.json", "input3": "file3.json"}


@pytest.mark.parametrize("exprs, expect", [
    (["job.eh", "input1.a == 1", "input2.f == 7", "input3[0] == 12"], "job.eh"),
    (["not job.eh", "input1.a == 1", "input2.f == 7", "input3[0] == 12"], "input1.a == 1"),
    (["not job.eh", "input1.a > 99", "input2.f > 7", "input3[0] == 12"], "input3[0] == 12"),
    (["not job.eh", "input1.a > 99", "input2.f != 7", "input3[0] < 0"], None),
])
def test_lambda_handler_multi_expr(ctx, exprs, expect):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_lambda_handler_multi_expr"""
    assert first_true("choose", exprs, condition_names(THREE, ctx)) == expect


@pytest.mark.parametrize("exprs, expect", [
    (["job.eh", "job.bee.sea[1] == 'ee'"], "job.eh"),
    (["not job.eh", "job.bee.sea[1] == 'ee'"], "job.bee.sea[1] == 'ee'"),
    (["not job.eh", "job.bee.gee.aytch != 'eye'"], None),
])
def test_lambda_handler_multi_expr_job_data_only(ctx, exprs, expect):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_lambda_handler_multi_expr_job_data_only"""
    assert first_true("choose", exprs, condition_names({}, ctx)) == expect


@pytest.mark.parametrize("inputs, exprs, expect", [
    ({"input1": "file1.json"}, ["a == 1", "input1.b[2] == 4"], "a == 1"),
    ({"input1": "file1.json"}, ["a > 1", "input1.b[2] == 4"], "input1.b[2] == 4"),
    ({"input1": "file4.json"}, ["input1[0] > 100", "input1[1] == 100", "input1[2] < 100"], "input1[2] < 100"),
    ({"input1": "file5.json"}, ["input1.startswith('q')", "input1.endswith('h')"], "input1.endswith('h')"),
])
def test_lambda_handler_multi_expr_single_input(ctx, inputs, exprs, expect):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_lambda_handler_multi_expr_single_input"""
    assert first_true("choose", exprs, condition_names(inputs, ctx)) == expect


@pytest.mark.parametrize("inputs, expression", [
    (THREE, "input1.a == 1"), ({}, "job.eh"), ({"input1": "file1.json"}, "c.d == 5"),
])
def test_lambda_handler_single_expr_succeed(ctx, inputs, expression):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_lambda_handler_single_expr_succeed
    (a parallel branch's ``if``)."""
    assert holds("choose", expression, condition_names(inputs, ctx)) is True


@pytest.mark.parametrize("inputs, expression", [
    (THREE, "input1.a != 1"), ({}, "job.bee.gee.aytch != 'eye'"), ({"input1": "file4.json"}, "input1[1] > 100"),
])
def test_lambda_handler_single_expr_fail(ctx, inputs, expression):
    """upstream: lambda/tests/chooser/test_multichooser.py::test_lambda_handler_single_expr_fail
    (upstream raises ConditionFailed to skip the branch; labflows' holds() is False, the branch is skipped)."""
    assert holds("choose", expression, condition_names(inputs, ctx)) is False


def test_an_unknown_name_fails_the_step_naming_it(ctx):
    """upstream: an eval NameError fails the chooser Lambda; labflows names the step and condition."""
    with pytest.raises(ConditionFailed, match="step choose: condition 'nope == 1'"):
        holds("choose", "nope == 1", condition_names({}, ctx))


def test_string_methods_work_on_strings_only():
    """upstream evals ``x.startswith('w')``; labflows allows bounded str methods, on strings only."""
    assert holds("choose", "x.upper().startswith('W')", {"x": "wut"}) is True
    with pytest.raises(ConditionFailed, match="not allowed"):
        holds("choose", "x.startswith(1)", {"x": {"startswith": 1}})
