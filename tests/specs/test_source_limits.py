"""The bounded loader of specs/source.py: limits, aliases, duplicate keys, JSON and YAML errors."""

import time

import pytest

from specs.limits import ENV_VARS, Limits, LimitsConfigError
from specs.source import SpecError, load_yaml_file, load_yaml_text


def problems(text: str, file: str = "f.yaml") -> list[str]:
    with pytest.raises(SpecError) as info:
        load_yaml_text(text, file)
    return [str(p) for p in info.value.problems]


def laughs(levels: int, width: int = 10) -> str:
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_where_it_crosses_the_limit():
    start = time.monotonic()
    found = problems(laughs(9))
    assert time.monotonic() - start < 5  # hang guard (the figures are in bench/README.md)
    # l0..l3 expand to 12,344 items; l4's fourth alias of l3 (11,111 items each) crosses 50,000
    assert found == ["f.yaml:5:25: l4[3]: more than 50000 items (counting alias expansions; "
                     "the limit is LABFLOWS_MAX_SPEC_ITEMS)"]


def test_aliases_within_the_limits_still_load_and_merge_keys_keep_positions():
    doc = load_yaml_text(laughs(3) + "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n")
    assert len(doc.data["l2"]) == 10 and doc.data["l2"][9][9] == ["lol"] * 10
    assert doc.data["use"] == {"x": 1, "y": 2}
    assert doc.position(("use", "x")) == (4, 14)  # where base defines it


def test_items_are_counted_without_aliases_too(monkeypatch):
    monkeypatch.setenv("LABFLOWS_MAX_SPEC_ITEMS", "10")
    # the mapping, its key, the list and 7 numbers make 10
    assert problems("a: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n") == [
        "f.yaml:1:26: a[7]: more than 10 items (counting alias expansions; the limit is LABFLOWS_MAX_SPEC_ITEMS)"]
    assert load_yaml_text("a: [1, 2, 3, 4, 5, 6, 7]\n").data == {"a": [1, 2, 3, 4, 5, 6, 7]}


def test_recursive_aliases_are_refused():
    assert problems("a: &x [1, {b: *x}]\n") == [
        "f.yaml:1:15: a[1].b: alias *x refers to a value that contains it (recursive structures are not allowed)"]


@pytest.mark.parametrize("text, where", [
    ("a: " + "[" * 101 + "]" * 101 + "\n", "1:103"),  # the top mapping is level 1
    ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "1:"),  # libyaml's own bound: same message
    ("".join("  " * i + f"k{i}:\n" for i in range(101)) + "  " * 101 + "x: 1\n", "100:"),
])
def test_deep_nesting_is_an_error_not_a_recursion_error(text, where):
    (line,) = problems(text)
    assert line.startswith(f"f.yaml:{where}") and line.endswith(
        "nested deeper than 100 levels (the limit is LABFLOWS_MAX_SPEC_DEPTH)")


def test_aliases_count_towards_depth(monkeypatch):
    monkeypatch.setenv("LABFLOWS_MAX_SPEC_DEPTH", "5")
    assert problems("a: &x [[[1]]]\nb: [*x]\n") == [
        "f.yaml:2:5: b[0]: nested deeper than 5 levels (the limit is LABFLOWS_MAX_SPEC_DEPTH)"]


def test_big_integers_are_refused_anywhere():
    assert problems("n: " + "9" * 5000 + "\n") == [
        "f.yaml:1:4: n: integer with 5000 digits (at most 100; the limit is LABFLOWS_MAX_INT_DIGITS)"]
    assert problems("m:\n  " + "1" * 200 + ": x\n")[0].startswith("f.yaml:2:3: m: integer with 200 digits")
    assert load_yaml_text("n: " + "9" * 100 + "\n").data["n"] == int("9" * 100)


def test_file_size_is_checked_before_reading_it_all(tmp_path, monkeypatch):
    monkeypatch.setenv("LABFLOWS_MAX_SPEC_BYTES", "100")
    path = tmp_path / "big.yaml"
    path.write_text("a: '" + "x" * 200 + "'\n")
    with pytest.raises(SpecError, match=r"big.yaml:1:1: file larger than 100 bytes \(the limit is "
                                        r"LABFLOWS_MAX_SPEC_BYTES\)"):
        load_yaml_file(path)
    path.write_text("a: 1\n")
    assert load_yaml_file(path).data == {"a": 1}


def test_limits_come_from_the_environment():
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({ENV_VARS["max_items"]: "7", ENV_VARS["max_depth"]: " 3 "}) == Limits(max_items=7, max_depth=3)
    for bad in ("0", "-1", "many", "1.5"):
        with pytest.raises(LimitsConfigError, match=f"LABFLOWS_MAX_SPEC_BYTES={bad!r} must be a positive integer"):
            Limits.from_env({"LABFLOWS_MAX_SPEC_BYTES": bad})
    with pytest.raises(LimitsConfigError, match="above Python's limit"):
        Limits.from_env({"LABFLOWS_MAX_INT_DIGITS": "100000"})


def test_a_bad_limit_variable_is_one_located_line(monkeypatch):
    monkeypatch.setenv("LABFLOWS_MAX_SPEC_DEPTH", "deep")
    assert problems("a: 1\n") == ["f.yaml:1:1: cannot read file: LABFLOWS_MAX_SPEC_DEPTH='deep' must be a positive integer"]


def test_duplicate_keys_at_any_depth_once_each_even_through_aliases():
    text = "a: 1\nb: &m {x: 1, x: 2}\nc: *m\nd: [{e: 1, e: 2}]\na: 3\n"
    assert problems(text) == [
        "f.yaml:2:14: b.x: duplicate key 'x' (first at line 2 column 8)",
        "f.yaml:4:12: d[0].e: duplicate key 'e' (first at line 4 column 6)",
        "f.yaml:5:1: a: duplicate key 'a' (first at line 1 column 1)",
    ]


def test_keys_that_differ_in_case_or_type_are_not_duplicates_and_merges_may_override():
    doc = load_yaml_text("a: 1\nA: 2\n1: x\n'1': y\nbase: &b {k: 1}\nm: {<<: *b, k: 2}\n")
    assert doc.data["m"] == {"k": 2}


@pytest.mark.parametrize("file, text, line", [
    ("job.json", '{"a": 1,}', "job.json:1:9: JSON syntax error at line 1 column 9: Expecting property name enclosed in double quotes"),
    ("job.json", '{"a": 1}\n{"b": 2}\n', "job.json:2:1: JSON syntax error at line 2 column 1: Extra data"),
    ("job.json", '{"a": NaN}', "job.json:1:1: JSON syntax error: NaN is not valid JSON"),
    ("job.txt", '{"a": [1,', "job.txt:1:10: JSON syntax error at line 1 column 10: Expecting value"),
    ("w.yaml", "a: [1,\n", "w.yaml:2:1: YAML syntax error: did not find expected node content"),
])
def test_json_errors_are_called_json_errors(file, text, line):
    assert problems(text, file) == [line]


def test_json_values_keep_their_json_meaning_and_yaml_flow_style_still_loads():
    doc = load_yaml_text('{"a": 1e5, "b": [true, null]}', "job.json")
    assert doc.data == {"a": 100000.0, "b": [True, None]}
    assert doc.position(("b", 1)) == (1, 24)
    assert load_yaml_text("{a: 1, b: [x]}", "w.yaml").data == {"a": 1, "b": ["x"]}
