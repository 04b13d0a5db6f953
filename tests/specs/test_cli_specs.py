"""``validate`` and ``schema`` commands (in-process), and the workflow JSON Schema."""

import contextlib
import io
import json
from pathlib import Path

import jsonschema
import pytest

import specs.kinds
from flows.cli.main import main
from flows.cli.specs import (
    ParamError,
    parse_param_pairs,
    schema_for,
    validate_one,
    validate_paths,
)
from specs.source import load_yaml_file
from specs.workflow import model as workflow
from specs.workflow import schema as workflow_schema

HERE = Path(__file__).parent
VALID = sorted((HERE / "valid").glob("*.yaml"))


def run(argv: list[str]) -> tuple[int, str, str]:
    """The command as the CLI runs it (its errors turned into exit codes by flows.cli.main)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_validate_prints_ok():
    assert run(["validate", str(VALID[0])]) == (0, "ok\n", "")


def test_several_files_report_each():
    bad = HERE / "malformed" / "wrong_type.yaml"
    code, out, err = run(["validate", str(VALID[0]), str(bad)])
    assert code == 2
    assert out == f"{VALID[0]}: ok\n"
    assert err.startswith(f"{bad}:7:15: Steps[0].align.compute.cpus: ")


def test_param_supplies_a_missing_value():
    path = HERE / "malformed" / "parameter_without_value.yaml"
    assert run(["validate", str(path), "--param", "tag=22.04"]) == (0, "ok\n", "")


def test_bad_param_syntax():
    code, out, err = run(["validate", str(VALID[0]), "--param", "novalue"])
    assert (code, out) == (2, "")
    assert err == "error: --param 'novalue': expected NAME=VALUE\n"
    assert parse_param_pairs(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ParamError):
        parse_param_pairs(["=1"])


def test_param_on_a_non_workflow_file(tmp_path):
    other = tmp_path / "inputs.yml"
    other.write_text("inputs: []\n")
    assert validate_one(other, params={"a": "1"}) == [f"{other}: --param applies to workflow files only"]


def test_files_that_are_no_spec_or_unreadable(tmp_path):
    stray = tmp_path / "stray.yaml"
    stray.write_text("hello: world\n")
    assert validate_one(stray) == [f"{stray}:1:1: not a labflows spec: expected a workflow (Steps), an app "
                                   "(bfabric, versions), inputs, outputs, chunks or a workunit definition "
                                   "(execution, registration)"]
    missing = tmp_path / "missing.yaml"
    assert validate_one(missing)[0].startswith(f"{missing}:1:1: cannot read file")


def test_a_kind_whose_module_is_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(specs.kinds.VALIDATORS, "chunks", "specs.no_such_module:chunks_from_doc")
    path = tmp_path / "chunks.yml"
    path.write_text("chunks: []\n")
    err = io.StringIO()
    assert validate_paths([str(path)], out=io.StringIO(), err=err) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}: cannot validate this kind of file here:")
    assert "specs.no_such_module" in lines[0]
    with pytest.raises(LookupError, match="no schema for chunks"):
        schema_for("chunks")


def test_explicit_kind():
    code, _, err = run(["validate", "--kind", "workflow", str(HERE / "malformed" / "missing_repository.yaml")])
    assert code == 2 and "Repository: required key is missing" in err


def test_schema_command_prints_the_workflow_schema():
    code, out, err = run(["schema", "workflow"])
    assert (code, err) == (0, "")
    schema = json.loads(out)
    assert schema["title"] == "WorkflowDocument"
    assert schema["allOf"] == [{"anyOf": [{"required": ["Repository"]}, {"required": ["repository"]}]},
                               {"anyOf": [{"required": ["Steps"]}, {"required": ["steps"]}]}]
    assert schema["properties"]["steps"] == schema["properties"]["Steps"]
    assert schema["properties"]["Repository"]["description"]


def test_schema_for_a_module_without_schema(monkeypatch):
    monkeypatch.setitem(specs.kinds.VALIDATORS, "chunks", "specs.workflow.units:parse_memory_mib")
    code, out, err = run(["schema", "chunks"])
    assert (code, out) == (2, "")
    assert err == "error: no schema for chunks: specs.workflow.units has no SCHEMA_MODEL\n"


def test_workflow_module_exposes_its_schema_model():
    assert workflow.SCHEMA_MODEL is workflow_schema.WorkflowDocument


def _described(schema: dict) -> list[str]:
    """Property paths of every object in the schema that lacks a description."""
    missing = []
    for name, model in schema.get("$defs", {}).items():
        for prop, spec in model.get("properties", {}).items():
            if "description" not in spec:
                missing.append(f"{name}.{prop}")
    return missing


def test_every_schema_key_is_described():
    assert _described(workflow.SCHEMA_MODEL.model_json_schema()) == []


def _keys(model) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


@pytest.mark.parametrize("runtime, raw, extra_raw, extra_runtime", [
    (workflow.CommandStep, workflow_schema.CommandStepSpec, {"Next", "End"}, {"name", "kind"}),
    (workflow.ScatterStep, workflow_schema.ScatterStepSpec, {"Next", "End"}, {"name", "kind"}),
    (workflow.SubpipeStep, workflow_schema.SubpipeStepSpec, {"Next", "End"}, {"name", "kind"}),
    (workflow.ParallelStep, workflow_schema.ParallelStepSpec, {"Next", "End"}, {"name", "kind"}),
    (workflow.ChooserStep, workflow_schema.ChooserStepSpec, {"Next"}, {"name", "kind", "end"}),
    (workflow.Choice, workflow_schema.ChoiceSpec, set(), set()),
    (workflow.Branch, workflow_schema.BranchSpec, set(), set()),
    (workflow.Compute, workflow_schema.ComputeSpec, set(), set()),
    (workflow.Retry, workflow_schema.RetrySpec, set(), set()),
    (workflow.Filesystem, workflow_schema.FilesystemSpec, set(), set()),
    (workflow.QCCheck, workflow_schema.QCCheckSpec, set(), set()),
    (workflow.OutputSpec, workflow_schema.OutputSpecMap, set(), set()),
    (workflow.Image, workflow_schema.ImageSpec, set(), set()),
    (workflow.Options, workflow_schema.OptionsSpec, set(), set()),
])
def test_schema_keys_match_the_models(runtime, raw, extra_raw, extra_runtime):
    assert _keys(raw) - extra_raw == _keys(runtime) - extra_runtime


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_examples_match_the_json_schema(path):
    jsonschema.validate(load_yaml_file(path).data, workflow.SCHEMA_MODEL.model_json_schema())
