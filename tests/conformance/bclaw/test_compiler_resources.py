"""Conformance with the user-visible cases of BayerCLAW's compiler tests
(``lambda/tests/compiler/test_*_resources.py``): memory, timeouts, QC checks, skip modes, error
tolerance, shells, nesting rules. labflows reads these in its loader (``specs.workflow``).

Upstream has 41 tests in the seven files (batch 18, scatter_gather 8, state_machine 4, subpipe 4,
native_step 3, chooser 3, enhanced_parallel 1); 9 are ported here (batch 5, scatter_gather 3,
chooser 1); 32 skipped as CloudFormation/Step Functions/Batch plumbing (image URIs expanded to
ECR, job queues, job definitions, volumes,
consumable-resource properties, state names and ASL JSON of batch, scatter/gather, native,
chooser, subpipe and state machine resources; the behaviour behind them is covered by the ports of
the runner and Lambda tests).
"""

import textwrap

import pytest

from specs.source import SpecError, load_yaml_text
from specs.workflow.model import workflow_from_doc
from specs.workflow.units import parse_memory_mib, parse_timeout_s


def load(text: str):
    return workflow_from_doc(load_yaml_text(textwrap.dedent(text), "wf.yaml"))


def one_step(spec: str, options: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(spec), " " * 6)
    return f"Repository: s3://b/r\n{options}Steps:\n  - s:\n{body}\n"


@pytest.mark.parametrize("req, mibs", [(10, 10), (1, 4), (9.1, 10), ("1G", 1024), ("9.1M", 10), ("1M", 4)])
def test_get_memory_in_mibs(req, mibs):
    """upstream: lambda/tests/compiler/test_batch_resources.py::test_get_memory_in_mibs"""
    assert parse_memory_mib(req) == mibs


@pytest.mark.parametrize("timeout, expect", [(None, None), ("10 s", 60), ("100 s", 100), ("1 h", 3600)])
def test_get_timeout(timeout, expect):
    """upstream: lambda/tests/compiler/test_batch_resources.py::test_get_timeout (at least 60 s)."""
    spec = "commands: [x]" + (f"\ntimeout: {timeout}" if timeout else "")
    assert load(one_step(spec)).steps[0].timeout == expect
    if timeout:
        assert parse_timeout_s(timeout) == expect


@pytest.mark.parametrize("qc_spec, expect", [
    ("", []),
    ("qc_check: {qc_result_file: qc.out, stop_early_if: x == 1}", [("qc.out", ["x == 1"])]),
    ("qc_check: {qc_result_file: qc.out, stop_early_if: [x == 1, y == 2]}", [("qc.out", ["x == 1", "y == 2"])]),
    ("qc_check:\n  - {qc_result_file: qc1.out, stop_early_if: [x == 1, y == 2]}\n"
     "  - {qc_result_file: qc2.out, stop_early_if: z == 3}",
     [("qc1.out", ["x == 1", "y == 2"]), ("qc2.out", ["z == 3"])]),
])
def test_handle_qc_check(qc_spec, expect):
    """upstream: lambda/tests/compiler/test_batch_resources.py::test_handle_qc_check"""
    step = load(one_step(f"commands: [x]\n{qc_spec}")).steps[0]
    assert [(q.qc_result_file, q.stop_early_if) for q in step.qc_check] == expect


@pytest.mark.parametrize("spec, rerun, output", [
    ("", False, False), ("skip_if_output_exists: true", False, True), ("skip_if_output_exists: false", False, False),
    ("skip_on_rerun: true", True, False), ("skip_on_rerun: false", False, False),
])
def test_get_skip_behavior(spec, rerun, output):
    """upstream: lambda/tests/compiler/test_batch_resources.py::test_get_skip_behavior"""
    step = load(one_step(f"commands: [x]\n{spec}")).steps[0]
    assert (bool(step.skip_on_rerun), bool(step.skip_if_output_exists)) == (rerun, output)


def test_skip_modes_are_exclusive():
    """upstream: validation.py "only one of 'skip_on_rerun' or 'skip_if_output_exists' is allowed"."""
    with pytest.raises(SpecError, match="skip"):
        load(one_step("commands: [x]\nskip_on_rerun: true\nskip_if_output_exists: true"))


@pytest.mark.parametrize("step_shell, expect", [(None, "bash"), ("sh", "sh"), ("sh-pipefail", "sh-pipefail")])
def test_handle_batch_shell_opt(step_shell, expect):
    """upstream: lambda/tests/compiler/test_batch_resources.py::test_handle_batch_shell_opt (the
    step's compute.shell overrides Options.shell)."""
    spec = "commands: [x]" + (f"\ncompute: {{shell: {step_shell}}}" if step_shell else "")
    wf = load(one_step(spec, "Options:\n  shell: bash\n"))
    assert (wf.steps[0].compute.shell or wf.options.shell) == expect


@pytest.mark.parametrize("spec, total, tolerated", [("99%", 100, 99), (88, 1000, 88), ("0000066%", 100, 66)])
def test_error_tolerance(spec, total, tolerated):
    """upstream: lambda/tests/compiler/test_scatter_gather_resources.py::test_error_tolerance and
    ::test_map_step (a count or a percentage, leading zeroes allowed)."""
    wf = load(f"""
        Repository: s3://b/r
        Steps:
          - sc:
              scatter: {{x: [1, 2]}}
              error_tolerance: {spec if isinstance(spec, int) else repr(spec)}
              steps:
                - a: {{commands: [x]}}
        """)
    assert wf.steps[0].tolerated_failures(total) == tolerated


def test_handle_scatter_gather_too_deep():
    """upstream: lambda/tests/compiler/test_scatter_gather_resources.py::test_handle_scatter_gather_too_deep"""
    with pytest.raises(SpecError, match="(?i)nested scatter"):
        load("""
            Repository: s3://b/r
            Steps:
              - outer:
                  scatter: {x: [1]}
                  steps:
                    - inner:
                        scatter: {y: [1]}
                        steps:
                          - a: {commands: [x]}
            """)


def test_make_chooser_steps_terminal_state_fail():
    """upstream: lambda/tests/compiler/test_chooser_resources.py::test_make_chooser_steps_terminal_state_fail"""
    with pytest.raises(SpecError, match="(?i)chooser.*terminal|terminal.*chooser|last step"):
        load("""
            Repository: s3://b/r
            Steps:
              - a: {commands: [x]}
              - choose:
                  inputs: {f: f.json}
                  choices:
                    - {if: x == 1, next: a}
            """)
