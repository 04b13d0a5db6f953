"""``labflows validate FILE…`` and ``labflows schema KIND``: check spec files, print JSON Schemas.

``validate`` tells each file's kind from its content (a BayerCLAW workflow, a B-Fabric app,
inputs, outputs, chunks or workunit file), validates it and prints ``ok`` or one
``FILE:LINE:COL: path: message`` line per problem (exit 2). ``schema`` prints the JSON Schema of
a kind's raw YAML format, for editor completion: each spec module exposes it as ``SCHEMA_MODEL``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from flows.cli.errors import UsageError
from specs.kinds import VALIDATORS, detect_kind, validate_file
from specs.source import SpecError, load_yaml_file


# spec kinds of the bfabric wing: their notice names keys accepted as bfabric-app-runner does but ignored
BFABRIC_KINDS = ("app", "inputs", "outputs", "chunks", "workunit")


class ParamError(ValueError):
    """A malformed ``--param``."""


def parse_param_pairs(pairs: list[str]) -> dict[str, str]:
    """``["K=V", …]`` as a dict; raises :class:`ParamError` for an entry without ``=``."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParamError(f"--param {pair!r}: expected NAME=VALUE")
        params[key.strip()] = value
    return params


def register(subparsers: Any) -> None:
    """Add the ``validate`` and ``schema`` commands."""
    kinds = sorted(VALIDATORS)
    p = subparsers.add_parser("validate", help="check workflow and B-Fabric spec files",
                              description="Check spec files; print ok or one FILE:LINE:COL line per problem.")
    p.add_argument("files", nargs="+", metavar="FILE", help="YAML files to check")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="workflow parameter value, overrides its Default (repeatable)")
    p.add_argument("--kind", choices=kinds, help="the files' kind (default: told from their content)")
    p.set_defaults(func=validate_command)
    s = subparsers.add_parser("schema", help="print the JSON Schema of a spec format",
                              description="Print the JSON Schema of a spec format (for editors).")
    s.add_argument("kind", choices=kinds, help="spec kind")
    s.set_defaults(func=schema_command)


def validate_one(path: str | Path, *, kind: str | None = None,
                 params: dict[str, str] | None = None) -> list[str]:
    """The problems of one file as printable lines; empty when the file is valid."""
    return check_one(path, kind=kind, params=params)[0]


def check_one(path: str | Path, *, kind: str | None = None,
              params: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """``(problems, notices)`` of one file as printable lines; notices only for a valid file."""
    try:
        if params:
            doc = load_yaml_file(path)
            found = kind or detect_kind(doc.data)
            if found != "workflow":
                return [f"{path}: --param applies to workflow files only"], []
            from specs.workflow.model import workflow_from_doc

            model = workflow_from_doc(doc, params)
        else:
            found, model = validate_file(path, kind)
    except SpecError as exc:
        return [str(p) for p in exc.problems], []
    except (ImportError, AttributeError) as exc:  # a kind whose validator is not available
        return [f"{path}: cannot validate this kind of file here: {exc}"], []
    if found in BFABRIC_KINDS:
        from specs.bfabric.common import ignored_keys_notice

        notice = ignored_keys_notice(load_yaml_file(path), model)
        return [], [notice] if notice else []
    if found != "workflow":
        return [], []
    from specs.workflow.notices import workflow_notices

    return [], [f"{path}: {line}" for line in workflow_notices(model)]


def validate_paths(paths: list[str], *, kind: str | None = None, params: dict[str, str] | None = None,
                   out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Validate every file, print ``ok`` (``FILE: ok`` for several) or problems; 0 or 2."""
    out, err = out or sys.stdout, err or sys.stderr
    status = 0
    for path in paths:
        problems, notices = check_one(path, kind=kind, params=params)
        for line in problems + notices:
            print(line, file=err)
        if problems:
            status = 2
        else:
            print("ok" if len(paths) == 1 else f"{path}: ok", file=out)
        # one result per line, in order, even when both streams go to one pipe
        out.flush()
        err.flush()
    return status


def validate_command(args: argparse.Namespace) -> int:
    """``validate``: exit 0 when every file is valid, else 2 (a bad --param: UsageError)."""
    try:
        params = parse_param_pairs(args.param)
    except ParamError as exc:
        raise UsageError(str(exc)) from None
    return validate_paths(args.files, kind=args.kind, params=params)


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of a kind's YAML format (its module's ``SCHEMA_MODEL``).

    Raises LookupError when the kind is unknown or its module is not available.
    """
    if kind not in VALIDATORS:
        raise LookupError(f"unknown kind {kind!r} (known: {', '.join(sorted(VALIDATORS))})")
    module_name = VALIDATORS[kind].split(":")[0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"no schema for {kind}: {exc}") from None
    model = getattr(module, "SCHEMA_MODEL", None)
    if model is None:
        raise LookupError(f"no schema for {kind}: {module_name} has no SCHEMA_MODEL")
    return model.model_json_schema()


def schema_command(args: argparse.Namespace) -> int:
    """``schema``: print the schema as JSON (no schema: UsageError, exit 2)."""
    try:
        schema = schema_for(args.kind)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(schema, indent=2))
    return 0
