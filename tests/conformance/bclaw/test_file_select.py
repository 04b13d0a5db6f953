"""Conformance with BayerCLAW's ``lambda/tests/common/test_file_select.py`` (``@file:SELECTOR``).

Upstream has 3 tests (8 selector cases); all are ported (0 AWS plumbing skipped), plus cases of
upstream's JSONPath dialect (its ``jsonpath`` library: dots and brackets both separate steps).
"""

import json

import pytest

from tasks.bclaw.scatter.select import FileSelectError, file_items, parse_file, select, selector_steps

CSV = "id,one,two,three,four\na,11,12,13,14\nb,21,22,23,24\nc,31,32,33,34\nd,41,42,43,44\n"
ROWS = [{"a": 11, "b": 12, "c": 13, "d": 14}, {"a": 21, "b": 22, "c": 23, "d": 24},
        {"a": 31, "b": 32, "c": 33, "d": 34}, {"a": 41, "b": 42, "c": 43, "d": 44}]
FILES = {
    "file.csv": CSV,
    "file.json": json.dumps(ROWS, indent=4),
    "file.jsonl": "".join(json.dumps(r) + "\n" for r in ROWS),
    "file.tsv": CSV.replace(",", "\t"),
    "file.txt": "row1\nrow2\nrow3\nrow4\nrow5\n",
    "file.yaml": "data:\n" + "".join(f"  - {{a: {r['a']}, b: {r['b']}, c: {r['c']}, d: {r['d']}}}\n" for r in ROWS),
}


@pytest.mark.parametrize("name, selector, expect", [
    ("file.json", "$[*].d", ["14", "24", "34", "44"]),
    ("file.jsonl", "$[*].c", ["13", "23", "33", "43"]),
    ("file.yaml", "$.data[*].a", ["11", "21", "31", "41"]),
    ("file.csv", "$[*].three", ["13", "23", "33", "43"]),
    ("file.csv", "$[*].two", ["12", "22", "32", "42"]),
    ("file.tsv", "$[*].four", ["14", "24", "34", "44"]),
    ("file.txt", "$[2:4]", ["row3", "row4"]),
    ("file.txt", None, ["row1", "row2", "row3", "row4", "row5"]),
])
def test_select_file_contents(name, selector, expect):
    """upstream: lambda/tests/common/test_file_select.py::test_select_file_contents"""
    assert file_items(name, FILES[name], selector) == expect


def test_read_json0():
    """upstream: lambda/tests/common/test_file_select.py::test_read_json0"""
    assert parse_file("test.json", json.dumps({"key": "value"})) == {"key": "value"}


def test_read_yaml0():
    """upstream: lambda/tests/common/test_file_select.py::test_read_yaml0"""
    text = "\na: 1\nb:\n    c: 3\n    d: 4\n"
    assert parse_file("x.yaml", text) == {"a": 1, "b": {"c": 3, "d": 4}}


# upstream's dialect: the jsonpath library the scatter Lambda calls (lambda/src/common/python/file_select.py)
@pytest.mark.parametrize("selector, expect", [
    ("$[*.b]", ["12", "22", "32", "42"]),
    ("$.*.b", ["12", "22", "32", "42"]),
    ("$..b", ["12", "22", "32", "42"]),
    ("$[0,2].a", ["11", "31"]),
    ("$[1:3].a", ["21", "31"]),
    ("$[-2:].a", ["31", "41"]),
    ("$[::2].a", ["11", "31"]),
    ("$[0]", [json.dumps(ROWS[0])]),
    ("$[?(@.a > 25)].d", ["34", "44"]),
    ("$['0'].a", ["11"]),
])
def test_upstream_selector_dialect(selector, expect):
    """upstream: lambda/tests/scatter/test_scatter.py::test_expand_scatter_data (``$[*.b]``) and the
    forms of the jsonpath library it uses."""
    assert select(ROWS, selector) == expect


def test_star_over_a_mapping_takes_its_values():
    """upstream: lambda/tests/scatter/test_scatter.py::test_expand_scatter_data (other_file.json is a map)."""
    data = {"x": {"a": 1, "b": 2}, "y": {"a": 3, "b": 4}}
    assert select(data, "$[*.b]") == ["2", "4"]
    assert select(data, "$[*.a]") == ["1", "3"]
    assert select(data, "$.!") == ["x", "y"]


def test_steps_of_a_selector():
    assert selector_steps("$[*.b]") == selector_steps("$[*].b") == selector_steps("$.*.b") == ["*", "b"]
    assert selector_steps("$..x[0]") == ["..", "x", "0"]
    assert selector_steps("$['a.b']") == ["a", "b"]  # as upstream: quotes do not protect dots


@pytest.mark.parametrize("selector, message", [
    ("$[*].nope", "matched nothing"),  # upstream: "selector did not create a list"
    ("$[", "invalid JSONPath"),
    ("x.y", "invalid JSONPath"),
    ("$[(@.length-1)]", "not supported"),  # upstream evals Python here
    ("$[5:1]", "matched nothing"),
    ("$[::-1]", "matched nothing"),  # upstream's range(start, end, -1) selects nothing
])
def test_selector_errors(selector, message):
    with pytest.raises(FileSelectError, match=message):
        select(ROWS, selector)


def test_a_deep_document_is_an_error_not_a_crash():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(FileSelectError, match="nested too deeply"):
        select(deep, "$..x")
