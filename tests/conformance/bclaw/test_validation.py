"""Conformance with BayerCLAW's ``lambda/tests/compiler/test_validation.py`` (what the compiler
accepts and refuses: shared symbols, image specs, output shorthand, input lists).

Upstream has 12 tests; all 12 are ported (0 AWS plumbing skipped), through labflows' loader
(``specs.workflow``): upstream's ``Invalid`` is a ``SpecError`` (``FILE:LINE:COL: path: problem``).
Deliberate differences (docs/compatibility.md): an image without ``+auth`` has ``auth`` None, not "".
"""

import textwrap

import pytest

from specs.source import SpecError, load_yaml_text
from specs.workflow.model import Image, OutputSpec, workflow_from_doc


def load(text: str):
    return workflow_from_doc(load_yaml_text(textwrap.dedent(text), "wf.yaml"))


def one_step(spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec), " " * 6)
    return f"Repository: s3://b/r\nSteps:\n  - s:\n{body}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load(text)
    return [str(p) for p in exc.value.problems]


def test_no_shared_keys_pass():
    """upstream: lambda/tests/compiler/test_validation.py::test_no_shared_keys_pass"""
    step = load(one_step("inputs: {a: x, b: y}\noutputs: {c: z, d: w}\nreferences: {e: s3://b/e}\n"
                         "commands: [x]")).steps[0]
    assert (set(step.inputs), set(step.outputs), set(step.references)) == ({"a", "b"}, {"c", "d"}, {"e"})


def test_no_shared_keys_fail():
    """upstream: lambda/tests/compiler/test_validation.py::test_no_shared_keys_fail"""
    found = problems(one_step("inputs: {a: f1, b: f2, x: f9, y: f12}\noutputs: {a: f1, d: f2, x: f10, z: f12}\n"
                              "references: {b: s3://b/3, d: s3://b/4, x: s3://b/11, t: s3://b/12}\ncommands: [x]"))
    assert any("duplicated keys: a, b, d, x" in p for p in found), found


IMGSPEC3 = "test_image\n  +auth: test_auth\n"


@pytest.mark.parametrize("spec, expect", [
    ("test_image", {"name": "test_image", "auth": None}),  # upstream auth "" (deliberate: None)
    ("test_image +auth: test_auth   ", {"name": "test_image", "auth": "test_auth"}),
    (IMGSPEC3, {"name": "test_image", "auth": "test_auth"}),
    ({"name": "test_image", "auth": "test_auth"}, {"name": "test_image", "auth": "test_auth"}),
])
def test_image_spec(spec, expect):
    """upstream: lambda/tests/compiler/test_validation.py::test_image_spec"""
    assert Image.model_validate(Image.coerce(spec)).model_dump() == expect


@pytest.mark.parametrize("badspec", [
    "",
    "test_image +auth:",
    "+auth: test_auth",
    "test_image +auth test_auth",
    "test_image auth: test_auth",
    "test_image another_image +auth: test_auth",
    "test_image +auth: test_auth another auth",
    "name with spaces +auth: test_auth",
    "test_image +auth: invalid_auth!!!",
    "test_image +auth:test_auth",  # upstream's rule: a space after the colon
    {"auth": "test_auth"},  # upstream: "image name not found"
])
def test_image_spec_fail(badspec):
    """upstream: lambda/tests/compiler/test_validation.py::test_image_spec_fail"""
    with pytest.raises(ValueError, match="image"):
        Image.coerce(badspec)


def test_image_spec_fail_names_file_line_and_field():
    found = problems(one_step("image: 'test_image +auth: bad!!'\ncommands: [x]"))
    assert found and found[0].startswith("wf.yaml:4:") and "Steps[0].s.image" in found[0]


OSPEC1 = "file1 -> s3://bucket/yada/yada/\n    +tag1: value1\n    +tag2:  value2    \n"
OSPEC2 = "${job.file2}  ->   s3://bucket/${job.yadayada}/\n"
OSPEC3 = "dirname/file3\n    +tag3: colon:and+plus\n    +tag4:  value4 with spaces\n"
OSPEC4 = "file4*\n"
OUTPUTS = [
    (OSPEC1, {"name": "file1", "dest": "s3://bucket/yada/yada/", "s3_tags": {"tag1": "value1", "tag2": "value2"}}),
    (OSPEC2, {"name": "${job.file2}", "dest": "s3://bucket/${job.yadayada}/", "s3_tags": {}}),
    (OSPEC3, {"name": "dirname/file3", "dest": None, "s3_tags": {"tag3": "colon:and+plus",
                                                                 "tag4": "value4 with spaces"}}),
]


def output(spec: str) -> dict:
    return OutputSpec.model_validate(OutputSpec.coerce(spec)).model_dump()


@pytest.mark.parametrize("spec, expect", [*OUTPUTS, (OSPEC4, {"name": "file4*", "dest": None, "s3_tags": {}})])
def test_shorthand_output_spec(spec, expect):
    """upstream: lambda/tests/compiler/test_validation.py::test_shorthand_output_spec"""
    assert output(spec) == expect


@pytest.mark.parametrize("spec, expect", OUTPUTS)
def test_shorthand_output_spec_one_line(spec, expect):
    """upstream: lambda/tests/compiler/test_validation.py::test_shorthand_output_spec_one_line"""
    assert output(spec.replace("\n", " ")) == expect


@pytest.mark.parametrize("badspec", [
    "file1 => s3://bucket/yada/yada/",
    "file2 -> /bucket/yada/yada/",
    "file3-> s3:/bucket/yada/yada/",
    "file4 ->s3://bucket/yada/yada/",
    "file5 -> ",
    "-> s3://bucket/yada/yada/",
    "filename with spaces",
    "file6 -> s3://bucket/yada/yada.txt",
])
def test_shorthand_output_spec_bad_filename(badspec):
    """upstream: lambda/tests/compiler/test_validation.py::test_shorthand_output_spec_bad_filename"""
    found = problems(one_step(f"commands: [x]\noutputs: {{o: '{badspec}'}}"))
    assert any("Steps[0].s.outputs.o" in p for p in found), found


@pytest.mark.parametrize("badspec", ["file1:\n-tag1: value1", "file2:\n+tag2:value2"])
def test_shorthand_output_spec_bad_tag(badspec):
    """upstream: lambda/tests/compiler/test_validation.py::test_shorthand_output_spec_bad_tag"""
    with pytest.raises(ValueError, match="output must look like"):
        OutputSpec.coerce(badspec)


def test_dict_outputs_need_an_s3_folder_destination():
    """upstream: s3_path ("must be an S3 path starting with 's3://'"); labflows also wants the
    trailing '/' (deliberate: upstream would glue the file name onto the last key part)."""
    assert any("s3://" in p for p in problems(one_step("commands: [x]\noutputs: {o: {name: f, dest: /tmp/x/}}")))
    found = problems(one_step("commands: [x]\noutputs: {o: {name: f, dest: s3://b/x}}"))
    assert any("ending in '/'" in p for p in found)


def test_file_list_dict():
    """upstream: lambda/tests/compiler/test_validation.py::test_file_list_dict"""
    spec = {"input1": "s3://bucket/path/to/input1.txt", "input2": "s3://bucket/path/to/input2.txt"}
    step = load(one_step("commands: [x]\ninputs:\n  input1: s3://bucket/path/to/input1.txt\n"
                         "  input2: s3://bucket/path/to/input2.txt")).steps[0]
    assert step.inputs == spec


def test_file_list_list():
    """upstream: lambda/tests/compiler/test_validation.py::test_file_list_list"""
    step = load(one_step("commands: [x]\ninputs:\n  - input1: s3://bucket/path/to/input1.txt\n"
                         "  - input2: s3://bucket/path/to/input2.txt")).steps[0]
    assert step.inputs == {"input1": "s3://bucket/path/to/input1.txt", "input2": "s3://bucket/path/to/input2.txt"}


def test_file_list_invalid():
    """upstream: lambda/tests/compiler/test_validation.py::test_file_list_invalid"""
    assert problems(one_step("commands: [x]\ninputs:\n  - input1: s3://bucket/path/to/input1.txt\n  - not-a-dict"))


def test_file_list_empty():
    """upstream: lambda/tests/compiler/test_validation.py::test_file_list_empty"""
    assert load(one_step("commands: [x]\ninputs: []")).steps[0].inputs == {}
