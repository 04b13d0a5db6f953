"""Each extension point has one registry, and everything that lists its names derives them from it."""

from __future__ import annotations

import argparse
from typing import get_args

from prefect.utilities.callables import parameter_schema

from flows.cli import workflow as cli_workflow
from flows.launcher import launcher
from flows.workflow import run_workflow
from specs.bfabric.inputs import InputSpec
from specs.bfabric.outputs import OutputSpec
from specs.workflow.model import Options, SCHEMA_MODEL
from specs.workflow.parse import KIND_KEYS
from tasks.bclaw.step_kinds import STEP_KINDS, branch_handlers, flow_handlers
from tasks.bfabric.inputs.resolve import INPUT_HANDLERS
from tasks.bfabric.register.outputs import REGISTRARS
from tasks.runtime.executors import EXECUTORS, ExecutorName, get_executor


def _enum(schema: dict, defs: dict) -> list[str]:
    """The enum of a (possibly optional) string field of a JSON Schema."""
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:
            option = defs[option["$ref"].rsplit("/", 1)[-1]]
        if "enum" in option:
            return option["enum"]
    raise AssertionError(f"no enum in {schema}")


def test_executor_names_everywhere_come_from_the_registry():
    names = list(EXECUTORS)
    assert {"local", "docker", "podman"} <= set(names)
    assert list(get_args(ExecutorName)) == names
    assert list(get_args(get_args(Options.model_fields["executor"].annotation)[0])) == names
    schema = SCHEMA_MODEL.model_json_schema()
    options = schema["$defs"]["OptionsSpec"]["properties"]["executor"]
    assert _enum(options, schema["$defs"]) == names
    parser = argparse.ArgumentParser()
    cli_workflow.register(parser.add_subparsers())
    action = next(a for sub in parser._subparsers._group_actions for p in sub.choices.values()
                  for a in p._actions if a.dest == "executor")
    assert list(action.choices) == names
    for fn in (run_workflow, launcher):
        params = parameter_schema(fn).model_dump()
        assert _enum(params["properties"]["executor"], params.get("definitions", {})) == names


def test_unknown_executor_names_the_known_ones():
    try:
        get_executor("dockr")
    except ValueError as exc:
        assert "dockr" in str(exc) and "local, docker, podman" in str(exc)
    else:
        raise AssertionError("no error for an unknown executor")


def test_every_step_kind_of_the_spec_has_a_handler():
    kinds = {kind for _key, kind, _model in KIND_KEYS}
    assert set(STEP_KINDS) == kinds
    assert set(flow_handlers(lambda *a: None, run_child=lambda *a: None)) == kinds
    assert set(branch_handlers(run_child=lambda *a: None)) == kinds - {"scatter"}  # no nested scatter
    assert "subpipe" not in flow_handlers(lambda *a: None)  # without a child runner


def test_every_input_type_has_a_handler_and_every_output_type_a_registrar():
    assert set(INPUT_HANDLERS) == set(get_args(get_args(InputSpec)[0]))
    assert {t for t, h in INPUT_HANDLERS.items() if not h.needs_client} == {
        t for t in INPUT_HANDLERS if not t.__name__.startswith("Bfabric")}
    spec_types = {get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(OutputSpec)[0])}
    assert set(REGISTRARS) == spec_types == {"bfabric_copy_resource", "bfabric_dataset", "bfabric_link"}
