"""``labflows workflow --dry-run``: the plan with job values filled in, nothing written, a missing
job key named (exit 2)."""

from __future__ import annotations

import json
import os
import shutil

from tests.support.cli import run_cli
from tests.support.paths import EXAMPLES

QC = EXAMPLES / "qc" / "workflow.yaml"


def _listing(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    storage = tmp_path / "storage"
    shutil.copytree(EXAMPLES / "qc" / "storage", storage)
    before, cwd_before = _listing(storage), _listing(tmp_path)
    done = run_cli("workflow", str(QC), "--job", str(EXAMPLES / "qc" / "job-low.json"), "--storage", "storage",
                   "--dry-run", cwd=tmp_path, env=dict(os.environ), timeout=120)
    assert done.returncode == 0, done.stderr
    assert _listing(storage) == before and _listing(tmp_path) == cwd_before  # nothing written anywhere
    lines = done.stdout.splitlines()
    assert lines[0] == "dry run: workflow qc — repository storage/labflows-examples/runs/qc/S2"
    assert "1. make_reads (command)" in lines and "2. count (command)" in lines
    assert any("seq 1 5" in line for line in lines)  # ${job.reads} resolved
    assert "   outputs: stats=stats.json, counts=counts_*.txt" in lines
    assert "   references: adapters=s3://labflows-examples/refs/adapters.fa" in lines
    assert lines[-1] == "3 steps; nothing was run or written"


def test_dry_run_tells_which_skip_on_rerun_steps_would_be_skipped(tmp_path):
    wf = tmp_path / "wf.yaml"
    wf.write_text("Repository: s3://b/runs/${job.id}\nSteps:\n"
                  "  - first:\n      skip_on_rerun: true\n      commands: [echo a > a.txt]\n      outputs: {a: a.txt}\n"
                  '  - second:\n      skip_on_rerun: true\n      commands: ["cat ${a} > b.txt"]\n')
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"id": "r1"}))
    marker = tmp_path / "s" / "b" / "runs" / "r1" / "_control_" / "first.complete"
    marker.parent.mkdir(parents=True)
    marker.touch()
    done = run_cli("workflow", str(wf), "--job", str(job), "--storage", "s", "-n",
                   cwd=tmp_path, env=dict(os.environ), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1. first (command) — would be skipped (done before)" in done.stdout
    assert "2. second (command) — runs (not done before)" in done.stdout


def test_dry_run_names_a_missing_job_key_and_exits_2(tmp_path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"sample": "S9"}))  # no "reads"
    done = run_cli("workflow", str(QC), "--job", str(job), "--storage", "s", "-n",
                   cwd=tmp_path, env=dict(os.environ), timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {job}: step make_reads.commands[0]: job data has no 'reads' (${{job.reads}})"]
    assert done.stdout == "" and not (tmp_path / "s").exists() and not (tmp_path / ".labflows").exists()
