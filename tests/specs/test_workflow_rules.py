"""Workflow loading rules: order, parameters, shorthands, defaults and cross-field checks."""

import textwrap

import pytest
from pydantic import ValidationError

from specs.source import SpecError, load_yaml_text
from specs.workflow.model import (
    DEFAULT_IMAGE,
    ChooserStep,
    CommandStep,
    Compute,
    Filesystem,
    Image,
    Options,
    OutputSpec,
    ParallelStep,
    Retry,
    ScatterStep,
    SubpipeStep,
    Workflow,
    parse_output_shorthand,
    step_order,
    workflow_from_doc,
)


def load(text: str, params=None) -> Workflow:
    return workflow_from_doc(load_yaml_text(textwrap.dedent(text), "wf.yaml"), params)


def problems(text: str, params=None) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load(text, params)
    return [str(p) for p in exc.value.problems]


def one_step(spec: str, **top) -> str:
    """A workflow with one step named s whose spec is ``spec`` (indented YAML)."""
    body = textwrap.indent(textwrap.dedent(spec), " " * 6)
    return f"Repository: s3://b/r\nSteps:\n  - s:\n{body}\n  - t:\n      commands: [x]\n"


# ---- behaviour 6: step order -----------------------------------------------------------------
def test_step_order_reference_behaviour_6():
    wf = load("""
        Repository: s3://b/r
        Steps:
          - 1: {commands: [a]}
          - 2: {commands: [a]}
          - 3: {commands: [a], next: 5}
          - 4: {commands: [a], end: true}
          - 5: {commands: [a], Next: 7}
          - 6: {commands: [a], End: true}
          - 7: {commands: [a]}
        """)
    assert step_order(wf.steps) == {"1": "2", "2": "3", "3": "5", "4": None, "5": "7", "6": None, "7": None}


def test_step_order_of_an_empty_list():
    assert step_order([]) == {}


# ---- behaviour 7: parameters -----------------------------------------------------------------
PARAMS = """
    Repository: s3://b/${value1}
    Parameters:
      value1: {Type: String, Default: string}
      value2: {Type: String, Default: "${reference}"}
      value3: {Type: Number, Default: 42}
    Steps:
      - s:
          commands:
            - echo ${value1} ${value2} ${value3} ${skip_me} ${job.x} ${scatter.y}
"""


def as_run(commands: list[str]) -> list[str]:
    """Commands as the engine reads them: parameter values in commands are JSON literals (data)."""
    from tasks.bclaw.substitution import job_data_resolver, substitute

    return [substitute(line, job_data_resolver({})) for line in commands]


def test_parameters_reference_behaviour_7():
    wf = load(PARAMS)
    assert as_run(wf.steps[0].commands) == ["echo string ${reference} 42 ${skip_me} ${job.x} ${scatter.y}"]
    assert wf.repository == "s3://b/string"
    assert wf.parameters["value2"] == {"Type": "String", "Default": "${reference}"}  # block untouched


def test_command_line_values_override_defaults_without_recursion():
    wf = load(PARAMS, {"value1": "${value3}", "value3": "7"})
    assert as_run(wf.steps[0].commands) == ["echo ${value3} ${reference} 7 ${skip_me} ${job.x} ${scatter.y}"]
    assert wf.parameter_values == {"value1": "${value3}", "value2": "${reference}", "value3": "7"}


def test_parameters_fill_typed_fields():
    wf = load("""
        Repository: s3://b/r
        Parameters:
          cpus: {Type: Number, Default: 4}
          mem: {Type: String, Default: 8 Gb}
          spot: {Type: String, Default: false}
        Steps:
          - s: {commands: [x], compute: {cpus: "${cpus}", memory: "${mem}", spot: "${spot}"}}
        """)
    assert (wf.steps[0].compute.cpus, wf.steps[0].compute.memory, wf.steps[0].compute.spot) == (4, 8192, False)


def test_referenced_parameter_without_value_is_located_at_each_use():
    found = problems("""
        Repository: s3://b/${bucket}
        Parameters:
          bucket: {Type: String}
          unused: {Type: String}
        Steps:
          - s: {commands: ["echo ${bucket}"]}
        """)
    assert found == [
        "wf.yaml:2:13: Repository: parameter 'bucket' has no Default and no value was given (--param bucket=VALUE)",
        "wf.yaml:7:20: Steps[0].s.commands[0]: parameter 'bucket' has no Default and no value was given "
        "(--param bucket=VALUE)",
    ]
    assert load("""
        Repository: s3://b/${bucket}
        Parameters: {bucket: {Type: String}}
        Steps: [{s: {commands: [x]}}]
        """, {"bucket": "given"}).repository == "s3://b/given"


def test_parameter_block_problems():
    found = problems("""
        Repository: s3://b/r
        Parameters:
          bad-name: {Type: String}
          noType: {Default: 1}
          notMap: 3
        Steps: [{s: {commands: [x]}}]
        """, {"undeclared": "1"})
    assert found == [
        "wf.yaml:3:1: Parameters: --param undeclared: the workflow declares no parameter 'undeclared'",
        "wf.yaml:4:3: Parameters.bad-name: parameter names must be letters and digits only",
        "wf.yaml:5:3: Parameters.noType: Type is required (e.g. Type: String)",
        "wf.yaml:6:11: Parameters.notMap: a parameter must be a map with Type (and Default)",
    ]


# ---- outputs ---------------------------------------------------------------------------------
def test_output_shorthand_with_destination_and_tags():
    assert parse_output_shorthand("file1 -> s3://bucket/yada/yada/ +tag1: value1 +tag2:  value2") == {
        "name": "file1", "dest": "s3://bucket/yada/yada/", "s3_tags": {"tag1": "value1", "tag2": "value2"}}


@pytest.mark.parametrize("text, expected", [
    ("file2", {"name": "file2", "dest": None, "s3_tags": {}}),
    ("out/**/*.txt", {"name": "out/**/*.txt", "dest": None, "s3_tags": {}}),
    ("f +k: some value", {"name": "f", "dest": None, "s3_tags": {"k": "some value"}}),
    ("f -> s3://b/d/\n+a: 1\n+b: two words\n", {"name": "f", "dest": "s3://b/d/", "s3_tags": {"a": "1", "b": "two words"}}),
])
def test_output_shorthand_forms(text, expected):
    assert OutputSpec.model_validate(OutputSpec.coerce(text)).model_dump() == expected


@pytest.mark.parametrize("text", [
    "file1 => s3://bucket/yada/yada/",
    "file3-> s3://bucket/yada/yada/",
    "file6 -> s3://b/yada.txt",
    "filename with spaces",
    "f +notag",
    "",
])
def test_rejected_output_shorthands(text):
    with pytest.raises((ValueError, ValidationError)):
        OutputSpec.model_validate(OutputSpec.coerce(text))


def test_output_map_form_and_list_form():
    wf = load(one_step("""
        commands: [x]
        outputs:
          - a: {name: a.txt, dest: s3://b/d/, s3_tags: {n: 1}}
          - b: b.txt
        """))
    outputs = wf.steps[0].outputs
    assert outputs["a"].model_dump() == {"name": "a.txt", "dest": "s3://b/d/", "s3_tags": {"n": "1"}}
    assert outputs["b"].name == "b.txt" and outputs["b"].dest is None


# ---- images ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, name, auth", [
    ("ubuntu", "ubuntu", None),
    ("docker.io/library/ubuntu:22.04", "docker.io/library/ubuntu:22.04", None),
    ("my.registry/img:${job.tag} +auth: my-secret", "my.registry/img:${job.tag}", "my-secret"),
    ("img\n+auth: s\n", "img", "s"),
    ({"name": "img", "auth": "s"}, "img", "s"),
    ({"name": "img"}, "img", None),
])
def test_image_forms(value, name, auth):
    step = CommandStep(name="s", commands=["x"], image=value)
    assert (step.image.name, step.image.auth) == (name, auth)


@pytest.mark.parametrize("value", ["two words", "img +auth:", "img +secret: x", {"nom": "x"}])
def test_bad_images(value):
    with pytest.raises(ValidationError):
        CommandStep(name="s", commands=["x"], image=value)


# ---- defaults --------------------------------------------------------------------------------
def test_command_step_defaults():
    step = load("Repository: s3://b/r\nSteps: [{s: {commands: [x]}}]").steps[0]
    assert step.image == Image(name=DEFAULT_IMAGE) and DEFAULT_IMAGE == "public.ecr.aws/ubuntu/ubuntu:latest"
    assert (step.task_role, step.inputs, step.references, step.outputs) == (None, None, {}, {})
    assert (step.s3_tags, step.job_tags, step.filesystems, step.qc_check, step.timeout) == ({}, {}, [], [], None)
    assert (step.skip_on_rerun, step.skip_if_output_exists, step.next, step.end) == (False, False, None, False)
    assert step.compute == Compute(cpus=1, memory=1024, spot=True, gpu=0, queue_name=None, shell=None, consumes={})
    assert step.retry == Retry(attempts=3, interval=3, backoff_rate=1.5)


def test_other_defaults():
    assert Options().model_dump() == {"shell": "sh", "task_role": None, "s3_tags": {}, "job_tags": {},
                                      "versioned": None, "executor": None, "scatter_batch_size": None,
                                      "substitution": "word", "step_runner": "in-process", "step_pools": {},
                                      "default_step_pool": None, "step_start_timeout": 300.0,
                                      "ecr_registry": None, "parent_wait": "suspend"}
    assert Filesystem(efs_id="fs-12ab", host_path="/mnt").root_dir == "/"
    scatter = ScatterStep(name="s", scatter={"x": [1]}, steps=[CommandStep(name="c", commands=["x"])])
    assert (scatter.inputs, scatter.outputs, scatter.max_concurrency, scatter.error_tolerance,
            scatter.batch_size) == (None, {}, 0, 0, None)
    assert ChooserStep(name="c", choices=[{"if": "x", "next": "n"}]).inputs == {}
    assert ParallelStep(name="p", branches=[{"steps": [CommandStep(name="c", commands=["x"])]}]).inputs == {}
    sub = SubpipeStep(name="p", subpipe="other")
    assert (sub.job_data, sub.retrieve, sub.submit) == (None, [], None)
    wf = load("Repository: s3://b/r\nSteps: [{s: {commands: [x]}}]")
    assert (wf.parameters, wf.options, wf.transform) == ({}, Options(), None)


# ---- field rules -----------------------------------------------------------------------------
def test_timeout_below_the_minimum_is_raised_to_60s():
    assert load(one_step("commands: [x]\ntimeout: 10 s")).steps[0].timeout == 60
    assert load(one_step("commands: [x]\ntimeout: 2h")).steps[0].timeout == 7200


def test_symbol_maps_as_lists_and_optional_inputs():
    step = load(one_step("""
        inputs:
          - a: a.txt
          - b?: b.txt
        references: [{ref: s3://refs/genome.fa}, {local: /data/x.fa}]
        commands: [x]
        """)).steps[0]
    assert step.inputs == {"a": "a.txt", "b?": "b.txt"}
    assert step.references == {"ref": "s3://refs/genome.fa", "local": "/data/x.fa"}


@pytest.mark.parametrize("spec, expected", [
    ("commands: [x]\ninputs: [{a: x}, {a: y}]", "wf.yaml:5:15: Steps[0].s.inputs: duplicated keys: a"),
    ("commands: [x]\nreferences: {r: genome.fa}",
     "wf.yaml:5:23: Steps[0].s.references.r: references must be full paths (s3://bucket/key or /absolute/path), "
     "not 'genome.fa'"),
    ("commands: [x]\nreferences: {r: s3://b/*.fa}",
     "wf.yaml:5:23: Steps[0].s.references.r: globs are not allowed in references: 's3://b/*.fa'"),
    ("commands: [x]\ncompute: {gpu: some}",
     "wf.yaml:5:22: Steps[0].s.compute.gpu: gpu must be a whole number >= 0 or \"all\", not 'some'"),
    ("commands: [x]\ncompute: {consumes: {licence: 0}}",
     "wf.yaml:5:37: Steps[0].s.compute.consumes.licence: Input should be greater than or equal to 1"),
    ("commands: [x]\nretry: {backoff_rate: 0.5}",
     "wf.yaml:5:29: Steps[0].s.retry.backoff_rate: backoff_rate must be at least 1.0, not 0.5"),
    ("commands: [x]\nretry: {timeout: 1h}",
     "wf.yaml:5:15: Steps[0].s.retry.timeout: unknown key: timeout belongs to the step itself, not under retry"),
    ("commands: [x]\nconsumes: {a: 1}", "wf.yaml:5:7: Steps[0].s.consumes: unknown key: consumes belongs under compute"),
    ("commands: [x]\nfilesystems:\n  - efs_id: fs-1\n    host_path: /m/${job.x}",
     "wf.yaml:7:22: Steps[0].s.filesystems[0].host_path: string substitutions (${...}) are not allowed in filesystems"),
    ("commands: [x]\nfilesystems: {efs_id: fs-1, host_path: relative}",
     "wf.yaml:5:46: Steps[0].s.filesystems.host_path: must be an absolute path starting with '/', not 'relative'"),
    ("commands: []", "wf.yaml:4:17: Steps[0].s.commands: Value should have at least 1 item after validation, not 0"),
    ("commands: [x]\nname: other", "wf.yaml:5:7: Steps[0].s.name: unknown key"),
    ("commands: [x]\nnext: t\nNext: t", "wf.yaml:5:7: Steps[0].s.next: 'next' is given twice (next and Next)"),
    ("commands: [x]\nnext: t\nend: true", "wf.yaml:6:7: Steps[0].s.end: a step cannot have both 'next' and 'end'"),
    ("choices: [{if: x, next: t}]\nend: true",
     "wf.yaml:5:7: Steps[0].s.end: a simple chooser cannot end its steps: branch to a native Succeed or Fail step instead"),
    ("scatter: {x: [1]}\nsteps: [{c: {commands: [x]}}]\nerror_tolerance: 101%",
     "wf.yaml:6:24: Steps[0].s.error_tolerance: error_tolerance must be a whole number >= 0 or a percentage like "
     "\"10%\", not '101%'"),
    ("scatter: {x: [1]}\ninputs: {a: x}\noutputs: {a: y}\nsteps: [{c: {commands: [x]}}]",
     "wf.yaml:3:5: Steps[0].s: duplicated keys: a (symbols must be unique across inputs, outputs and references)"),
    ("subpipe: other\nretrieve: ['*.bam']",
     "wf.yaml:5:18: Steps[0].s.retrieve[0]: globs are not allowed in retrieve: '*.bam'"),
    ("branches: [{if: 'x >', steps: [{c: {commands: [x]}}]}]",
     "wf.yaml:4:23: Steps[0].s.branches[0].if: invalid expression: invalid syntax"),
    ("Type: Parallel\nBranches: [{steps: [{c: {commands: [x]}}], if: x}]",
     "wf.yaml:5:50: Steps[0].s.Branches[0].if: unknown key (a native Parallel branch has only steps)"),
    ("Type: Parallel", "wf.yaml:3:5: Steps[0].s: a native Parallel step needs Branches: [{steps: [...]}, ...]"),
    ("scatter: {x: 5}\nsteps: [{c: {commands: [x]}}]",
     "wf.yaml:4:20: Steps[0].s.scatter.x: expected a list or a string (${job.x}, @file.json:$[*], a glob or a "
     "file name), not 5"),
    ("commands: [x]\noutputs: {o: 5}",
     "wf.yaml:5:20: Steps[0].s.outputs.o: an output must be a file name or a map {name, dest, s3_tags}, not 5"),
    ("commands: [x]\nimage: 5",
     "wf.yaml:5:14: Steps[0].s.image: image must be a name, \"name +auth: secret\" or {name, auth}, not 5"),
    ("commands: [x]\ninputs: 5", "wf.yaml:5:15: Steps[0].s.inputs: Input should be a valid dictionary"),
])
def test_located_rules(spec, expected):
    assert expected in problems(one_step(spec))


@pytest.mark.parametrize("value, expected", [(0, 0), (3, 3), ("10%", "10%"), ("100%", "100%"), ("0%", "0%")])
def test_error_tolerance_values(value, expected):
    scatter = ScatterStep(name="s", scatter={"x": "a"}, steps=[CommandStep(name="c", commands=["x"])],
                          error_tolerance=value)
    assert scatter.error_tolerance == expected


@pytest.mark.parametrize("value", [-1, "abc", "10", "10 %", "150%", True, 1.5])
def test_bad_error_tolerance(value):
    with pytest.raises(ValidationError, match="error_tolerance must be"):
        ScatterStep(name="s", scatter={"x": "a"}, steps=[CommandStep(name="c", commands=["x"])],
                    error_tolerance=value)


def test_duplicate_step_names_anywhere_in_the_workflow():
    found = problems("""
        Repository: s3://b/r
        Steps:
          - a: {commands: [x]}
          - sc:
              scatter: {x: [1]}
              steps:
                - a: {commands: [x]}
        """)
    assert found == ["wf.yaml:8:11: Steps[1].sc.steps[0].a: duplicate step name 'a' (also at Steps[0].a)"]


def test_next_cannot_leave_its_list():
    found = problems("""
        Repository: s3://b/r
        Steps:
          - top: {commands: [x]}
          - sc:
              scatter: {x: [1]}
              steps:
                - c1: {commands: [x], next: top}
                - c2: {commands: [x]}
        """)
    assert found == ["wf.yaml:8:37: Steps[1].sc.steps[0].c1.next: no step named 'top' in this list (c1, c2)"]


def test_chooser_last_inside_a_scatter_and_with_next():
    found = problems("""
        Repository: s3://b/r
        Steps:
          - sc:
              scatter: {x: [1]}
              steps:
                - c1: {commands: [x]}
                - pick: {choices: [{if: "1 > 0", next: c1}]}
        """)
    assert found == ["wf.yaml:8:11: Steps[0].sc.steps[1].pick: a simple chooser cannot be the last step: add a "
                     "step after it (taken when no condition holds) or give it 'next'"]
    wf = load("""
        Repository: s3://b/r
        Steps:
          - c1: {commands: [x]}
          - pick: {choices: {if: "1 > 0", next: c1}, next: c1}
        """)
    assert wf.steps[1].choices[0].next == "c1" and step_order(wf.steps)["pick"] == "c1"


def test_every_broken_step_is_reported_in_file_order():
    found = problems("""
        Repository: s3://b/r
        Options: {shell: zsh}
        Steps:
          - a: {commands: [x], compute: {cpus: many}}
          - b: {commands: [x], retry: {interval: soon}}
          - c: {commands: [x], outputs: {o: "file1 => s3://b/"}, next: nowhere}
          - d: {commands: [x], next: nowhere}
        """)
    assert [line.split(": ")[0] for line in found] == [
        "wf.yaml:3:18", "wf.yaml:5:40", "wf.yaml:6:42", "wf.yaml:7:37", "wf.yaml:8:30"]
    assert found[-1] == "wf.yaml:8:30: Steps[3].d.next: no step named 'nowhere' in this list (a, b, c, d)"


def test_top_level_keys_in_any_case_but_only_once():
    assert load("REPOSITORY: s3://b/r/\nsteps: [{s: {commands: [x]}}]").repository == "s3://b/r"
    found = problems("Repository: s3://b/r\nrepository: s3://c\nSteps: [{s: {commands: [x]}}]")
    # positions are looked up case-insensitively, so the problem is shown at the first spelling
    assert found == ["wf.yaml:1:1: Repository: given twice ('Repository' and 'repository')"]


def test_a_document_that_is_not_a_map():
    assert problems("- just\n- a list\n") == ["wf.yaml:1:1: a workflow must be a map with Repository and Steps"]


def test_missing_steps_and_empty_steps():
    assert problems("Repository: s3://b/r\n") == ["wf.yaml:1:1: Steps: required key is missing"]
    assert problems("Repository: s3://b/r\nSteps: []\n") == [
        "wf.yaml:2:8: Steps: must be a non-empty list of steps like '- StepName: {...}'"]


def test_commands_that_yaml_reads_as_maps_get_a_hint():
    found = problems(one_step("commands:\n  - echo {\"a\": 1} > x"))
    assert found == ["wf.yaml:5:11: Steps[0].s.commands[0]: YAML read this command as a map: quote commands "
                     "that contain ': '"]
