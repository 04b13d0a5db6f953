"""Gather: ``<repo>/<Step>_manifest.json`` from the branches' files, and the branch table artifact.

As in BayerCLAW, every object under ``<repo>/<Step>/`` is grouped by basename; each output of the
scatter step (``{symbol: filename}``) lists the sorted URIs of the files with that name, or ``[]``
with a warning when no branch produced one. A step without outputs writes no manifest and hands
``{}`` on; otherwise the next step gets ``{"manifest": "<Step>_manifest.json"}`` as auto-inputs.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from blocks.repository import basename, join_uri
from tasks.bclaw.context import RunContext
from tasks.runtime.logs import run_logger

_BRANCH_DIR = re.compile(r"^\d{5,}$")
TABLE_ROW_LIMIT = 2000  # the table artifact lists at most this many branches (failed ones first)


@dataclass
class Gathered:
    """The manifest (None without outputs), its file name, and each branch's output URIs."""

    manifest: dict[str, list[str]] | None
    manifest_name: str | None
    branch_outputs: dict[int, list[str]] = field(default_factory=dict)


def manifest_name(step_name: str) -> str:
    """``<Step>_manifest.json``."""
    return f"{step_name}_manifest.json"


def gather(step_name: str, outputs: dict[str, str], ctx: RunContext) -> Gathered:
    """Build the manifest of ``outputs`` (file names, job data already substituted); see :func:`write_manifest`."""
    scatter_uri = ctx.uri(step_name)
    by_name: dict[str, list[str]] = defaultdict(list)
    per_branch: dict[int, list[str]] = defaultdict(list)
    wanted = set(outputs.values())
    for uri in ctx.repo.list_uris(scatter_uri + "/"):
        name = basename(uri)
        if name not in wanted:
            continue
        by_name[name].append(uri)
        first = uri[len(scatter_uri) + 1:].split("/", 1)[0]
        if _BRANCH_DIR.match(first):
            per_branch[int(first)].append(uri)
    if not outputs:
        return Gathered(None, None, dict(per_branch))
    manifest: dict[str, list[str]] = {}
    for sym, filename in outputs.items():
        if filename not in by_name:
            run_logger().warning("%s: no files named %s found", step_name, filename)
        manifest[sym] = sorted(by_name.get(filename, []))
    return Gathered(manifest, manifest_name(step_name), dict(per_branch))


def write_manifest(gathered: Gathered, ctx: RunContext) -> str | None:
    """Write ``<repo>/<Step>_manifest.json`` (when the step has outputs); its URI."""
    if gathered.manifest is None or gathered.manifest_name is None:
        return None
    uri = join_uri(ctx.repo_uri, gathered.manifest_name)
    ctx.repo.write_text(uri, json.dumps(gathered.manifest, indent=2))
    return uri


def branch_table(items: list[dict[str, str]], results: dict, gathered: Gathered) -> list[dict[str, str]]:
    """Rows of the branch table artifact: index, scatter values, status, outputs (failed first when long)."""
    order = sorted(range(len(items)), key=lambda i: (results[i].status != "failed", i))[:TABLE_ROW_LIMIT]
    rows = []
    for i in sorted(order) if len(items) <= TABLE_ROW_LIMIT else order:
        result = results[i]
        rows.append({
            "branch": f"{i:05d}",
            **{f"scatter.{k}": v for k, v in items[i].items()},
            "status": result.status,
            "outputs": " ".join(basename(u) for u in gathered.branch_outputs.get(i, [])),
            "message": result.message,
        })
    return rows
