"""Scatter expansion (BayerCLAW behaviours 16, 17, 21): sources, splicing, errors, product order, items.csv."""

import csv
import io

import pytest

from tasks.bclaw.scatter.branches import (
    batch_size,
    branch_label,
    branch_uri,
    plan_batches,
)
from tasks.bclaw.scatter.expand import (
    ScatterError,
    expand_scatter,
    expand_value,
    items_csv,
    scatter_items,
)
from tasks.bclaw.scatter.select import FileSelectError, file_items

REPO = "s3://bucket/repo"
JOB_DATA = {
    "job": {"a_list": [9, 8, 7], "glob_ref": "file[1,3]", "unlist": {"not": "a list"}, "listfile": "names.txt",
            "n": 3},
    "parent": {"things": ["p1", "p2"]},
    "scatter": {},
}


@pytest.fixture
def filled(repo):
    """The repository of behaviour 16: file1-3, other_file, other_file.json, names.txt."""
    for name in ("file1", "file2", "file3", "other_file"):
        repo.write_text(f"{REPO}/{name}", name)
    repo.write_text(f"{REPO}/other_file.json", '[{"a": 1, "b": 2}, {"a": 3, "b": 4}]')
    repo.write_text(f"{REPO}/names.txt", "alpha\nbeta\n\ngamma\n")
    return repo


def expand(repo, value, key="k"):
    return expand_value(key, value, repo, REPO, JOB_DATA)


def test_behaviour_16_every_source(filled):
    assert expand(filled, [1, 2, 3]) == [1, 2, 3]
    assert expand(filled, "${job.a_list}") == [9, 8, 7]
    assert expand(filled, "@other_file.json:$[*].b") == ["2", "4"]
    assert expand(filled, "file*") == [f"{REPO}/file1", f"{REPO}/file2", f"{REPO}/file3"]
    assert expand(filled, "single.txt") == [f"{REPO}/single.txt"]
    assert expand(filled, "${job.glob_ref}") == [f"{REPO}/file1", f"{REPO}/file3"]


def test_behaviour_16_error_text(filled):
    with pytest.raises(ScatterError) as err:
        expand(filled, "${job.unlist}", key="unlist")
    assert str(err.value) == "key='unlist': job.unlist is not a list or string"
    with pytest.raises(ScatterError, match="key='n': job.n is not a list or string"):
        expand(filled, "${job.n}", key="n")
    with pytest.raises(ScatterError, match="key='x': job.nothing not found"):
        expand(filled, "${job.nothing}", key="x")


def test_a_string_is_spliced_in_and_expanded_again(filled):
    assert expand(filled, "@${job.listfile}") == ["alpha", "beta", "gamma"]
    assert expand(filled, "${parent.things}") == ["p1", "p2"]


def test_glob_forms_over_the_repository(filled):
    filled.write_text(f"{REPO}/deep/er/file9", "x")
    assert expand(filled, "file[12]") == [f"{REPO}/file1", f"{REPO}/file2"]
    assert expand(filled, "**/file9") == [f"{REPO}/deep/er/file9"]
    assert expand(filled, "nothing*") == []


def test_a_missing_scatter_file_names_the_key(filled):
    with pytest.raises(ScatterError, match="key='k': no file s3://bucket/repo/absent.txt"):
        expand(filled, "@absent.txt")


def test_behaviour_17_product_order_and_text_values(filled):
    expanded = expand_scatter({"one": ["a", "b"], "two": [1, 2, 3]}, filled, REPO, JOB_DATA)
    items = scatter_items(expanded)
    assert [(i["one"], i["two"]) for i in items] == [
        ("a", "1"), ("a", "2"), ("a", "3"), ("b", "1"), ("b", "2"), ("b", "3")]
    rows = list(csv.DictReader(io.StringIO(items_csv(list(expanded), items))))
    assert rows == items
    assert items_csv(["one"], [{"one": 'say "hi", ok'}]) == '"one"\n"say ""hi"", ok"\n'


def test_behaviour_17_branch_names():
    assert branch_uri("s3://b/repo", "Scatter", 99) == "s3://b/repo/Scatter/00099"
    assert branch_label("align", 42) == "align[00042]"
    assert branch_label("align", 0, 99) == "align[00000-00099]"


def test_default_batching_is_about_sqrt_n_task_runs():
    assert batch_size(32, None, None) == 1
    assert len(plan_batches(1000, batch_size(1000, None, None))) == 32
    assert len(plan_batches(10_000, batch_size(10_000, None, None))) == 100
    assert batch_size(10_000, 7, 50) == 7 and batch_size(10_000, None, 50) == 50
    assert [list(b) for b in plan_batches(5, 2)] == [[0, 1], [2, 3], [4]]


CSV = "one,two,three\n11,12,13\n21,22,23\n31,32,33\n41,42,43\n"


@pytest.mark.parametrize("name, text, selector, expected", [
    ("file.csv", CSV, "$[*].three", ["13", "23", "33", "43"]),                # behaviour 21
    ("file.txt", "row1\nrow2\nrow3\nrow4\nrow5\n", "$[2:4]", ["row3", "row4"]),  # behaviour 21
    ("file.tsv", CSV.replace(",", "\t"), "$[1].two", ["22"]),
    ("file.tab", CSV.replace(",", "\t"), "$[*].one", ["11", "21", "31", "41"]),
    ("f.json", '{"samples": [{"id": "s1"}, {"id": "s2"}]}', "$.samples[*].id", ["s1", "s2"]),
    ("f.json", '{"samples": [{"id": "s1"}]}', "$.samples[*]", ['{"id": "s1"}']),
    ("f.yaml", "samples:\n  - x\n  - y\n", "$.samples[*]", ["x", "y"]),
    ("f.yml", "- {n: 1}\n- {n: 2}\n", "$[*].n", ["1", "2"]),
    ("f.jsonl", '{"n": 1}\n{"n": true}\n', "$[*].n", ["1", "True"]),
    ("f.ndjson", '{"n": "a"}\n\n{"n": "b"}\n', "$[*].n", ["a", "b"]),
])
def test_file_select_by_extension(name, text, selector, expected):
    assert file_items(name, text, selector) == expected


def test_file_select_without_selector_is_lines_and_errors_are_clear():
    assert file_items("x.json", "a\n\nb\n", None) == ["a", "b"]
    with pytest.raises(FileSelectError, match="matched nothing"):
        file_items("f.json", "[]", "$[*].x")
    with pytest.raises(FileSelectError, match="invalid JSONPath"):
        file_items("f.json", "[]", "$[")
    with pytest.raises(FileSelectError, match="cannot parse as json"):
        file_items("f.json", "{not json", "$.x")


def test_a_yaml_scatter_file_is_read_within_the_loader_limits():
    from tasks.bclaw.scatter.select import parse_file

    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    with pytest.raises(FileSelectError, match=r"items.yaml: cannot parse as yaml: line 5 column \d+: "
                                              r"e\[\d\]: more than 50000 items"):
        parse_file("items.yaml", bomb)
    assert parse_file("items.yml", "samples: [a, b]\n") == {"samples": ["a", "b"]}
