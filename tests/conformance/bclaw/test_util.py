"""Conformance with BayerCLAW's ``lambda/tests/compiler/test_util.py`` (step order, auto-inputs,
``Parameters``, time strings).

Upstream has 8 tests: 5 ported; 3 skipped as CloudFormation/Step Functions plumbing
(test_step_next_or_end renders ASL Next/End, test_make_logical_name builds CloudFormation logical
ids, test_merge_params_and_options merges the ECS task role).
"""

import textwrap

import pytest

from specs.source import load_yaml_text
from specs.workflow.model import step_order, workflow_from_doc
from specs.workflow.units import parse_duration_s
from tasks.bclaw.substitution import job_data_resolver, substitute


def load(text: str, params=None):
    return workflow_from_doc(load_yaml_text(textwrap.dedent(text), "wf.yaml"), params)


def test_step_is_terminal():
    """upstream: lambda/tests/compiler/test_util.py::test_step_is_terminal (the last step ends the
    workflow; ``end: true`` ends it early)."""
    wf = load("""
        Repository: s3://b/r
        Steps:
          - a: {commands: [x]}
          - b: {commands: [x], end: true}
          - c: {commands: [x]}
        """)
    assert step_order(wf.steps) == {"a": "b", "b": None, "c": None}


def test_step_input_field():
    """upstream: lambda/tests/compiler/test_util.py::test_step_input_field (inputs given, ``{}`` =
    none, absent = the previous step's outputs)."""
    wf = load("""
        Repository: s3://b/r
        Steps:
          - given: {commands: [x], inputs: {file1: one, file2: two}}
          - empty: {commands: [x], inputs: {}}
          - auto: {commands: [x]}
        """)
    assert [s.inputs for s in wf.steps] == [{"file1": "one", "file2": "two"}, {}, None]


def test_substitute_params():
    """upstream: lambda/tests/compiler/test_util.py::test_substitute_params (``${Name}`` from
    Parameters everywhere; unknown names and substituted text left alone). In commands a parameter
    is data, resolved like job data, so the check renders the commands."""
    wf = load("""
        Repository: s3://b/${value1}
        Parameters:
          value1: {Type: String}
          value2: {Type: String}
          value3: {Type: Number}
          value4: {Type: String, Default: not used}
        Steps:
          - s:
              image: img:${value1}
              inputs: {i: "eh ${value1}", j: "bee ${value2}", k: "sea ${value3}", l: "dee ${skip_me}"}
              commands: ["echo ${value1} ${value2} ${value3} ${skip_me} ${value1} again"]
        """, {"value1": "string", "value2": "${reference}", "value3": "42"})
    step = wf.steps[0]
    assert wf.repository == "s3://b/string"
    assert step.image.name == "img:string"
    assert step.inputs == {"i": "eh string", "j": "bee ${reference}", "k": "sea 42", "l": "dee ${skip_me}"}
    assert substitute(step.commands[0], job_data_resolver({})) == "echo string ${reference} 42 ${skip_me} string again"


def test_substitute_params_empty_params():
    """upstream: lambda/tests/compiler/test_util.py::test_substitute_params_empty_params"""
    wf = load("Repository: s3://b/r\nSteps:\n  - s: {commands: ['${one} ${two} ${three}']}\n")
    assert wf.steps[0].commands == ["${one} ${two} ${three}"]


@pytest.mark.parametrize("timestring, seconds", [
    ("70s", 70), ("20 m", 1200), ("3h", 3600 * 3), ("2 d", 86400 * 2), ("1w", 86400 * 7)])
def test_time_string_to_seconds(timestring, seconds):
    """upstream: lambda/tests/compiler/test_util.py::test_time_string_to_seconds"""
    assert parse_duration_s(timestring) == seconds
