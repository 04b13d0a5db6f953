"""``labflows app --dry-run`` / ``app-action ACTION --dry-run``: what a run would do, from the files
alone.

The command has already checked app.yml, chunks.yml, the forced storage and the workunit reference
(exit 2 on bad input). The plan adds each chunk's inputs.yml and outputs.yml (checked too), the
phases and the status writes; it contacts no B-Fabric, starts no flow and writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from specs.bfabric.app import app_from_doc
from specs.bfabric.chunks import load_chunks
from specs.bfabric.inputs import load_inputs
from specs.bfabric.outputs import load_outputs
from specs.source import load_yaml_file
from tasks.bfabric.app.phases import PHASE_STATUS, PHASE_STEPS


def plan_lines(args: argparse.Namespace, workunit_id: int | None) -> list[str]:
    """The plan, one line per fact; raises ``SpecError`` for a chunk's broken inputs/outputs file."""
    action = getattr(args, "action", "run-all")
    work_dir = Path(args.work_dir)
    template = app_from_doc(load_yaml_file(args.app_yml))
    versions = [name for entry in template.versions for name in entry.version]
    which = args.force_app_version or "the workunit's application_version"
    lines = [f"app {args.app_yml}: versions {', '.join(versions)}; would run {which}",
             f"workunit {workunit_id if workunit_id is not None else '?'} ({args.workunit_ref}), "
             f"work dir {work_dir}"]
    chunks_yml = work_dir / "chunks.yml"
    dispatch = action == "dispatch" or (action == "run-all" and not chunks_yml.is_file())
    if dispatch:
        lines.append("dispatch: would run (it writes chunks.yml and each chunk's inputs.yml)")
    steps = PHASE_STEPS[action]
    if steps:
        chunk = getattr(args, "chunk", None)
        if chunk is not None:
            chunk_dirs = [Path(chunk) if Path(chunk).is_dir() else work_dir / chunk]
        elif chunks_yml.is_file():
            chunk_dirs = load_chunks(chunks_yml).resolved(work_dir.absolute())
        else:
            chunk_dirs = []
        lines.append(f"chunk steps: {', '.join(steps)}, at most {args.max_parallel_chunks} chunk(s) at a time")
        if not chunk_dirs:
            lines.append("  chunks: known after dispatch")
        lines += [f"  {_chunk_line(d)}" for d in chunk_dirs]
    status = PHASE_STATUS[action] if action != "run-all" else "processing, then available"
    if args.read_only or getattr(args, "chunk", None) is not None or status is None:
        status = None
    lines.append(f"workunit status: {status or 'not written'}")
    lines.append("dry run: nothing was run or written")
    return lines


def _chunk_line(chunk_dir: Path) -> str:
    """``sample_1: 3 inputs (a.txt, …), outputs.yml 2 outputs`` for one chunk folder."""
    parts = [chunk_dir.name + ":"]
    inputs_yml = chunk_dir / "inputs.yml"
    if inputs_yml.is_file():
        spec = load_inputs(inputs_yml)
        parts.append(f"{len(spec.inputs)} input(s) in inputs.yml")
    else:
        parts.append("no inputs.yml")
    outputs_yml = chunk_dir / "outputs.yml"
    if outputs_yml.is_file():
        parts.append(f"; {len(load_outputs(outputs_yml).outputs)} output(s) in outputs.yml")
    else:
        parts.append("; outputs.yml written by the process step")
    return " ".join(parts).replace(" ;", ";")


def print_plan(args: argparse.Namespace, workunit_id: int | None) -> None:
    """Print the plan on stdout (see :func:`plan_lines`)."""
    print("\n".join(plan_lines(args, workunit_id)))
