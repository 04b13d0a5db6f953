"""``labflows app --dry-run``: the plan from the files alone (no B-Fabric, no Prefect), nothing
written; a broken chunk file is exit 2 naming it."""

from __future__ import annotations

import os

from tests.support.cli import run_cli
from tests.support.paths import EXAMPLES

APP_YML = str(EXAMPLES / "bfabric" / "app" / "app.yml")
NO_SERVER = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # a run would fail to reach it


def _listing(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_app_dry_run_plans_dispatch_for_a_new_work_dir_and_writes_nothing(tmp_path):
    done = run_cli("app", APP_YML, "work", "1", "--dry-run", cwd=tmp_path, env=NO_SERVER, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"app {APP_YML}: versions 1.0.0, 1.1.0; would run the workunit's application_version",
        "workunit 1 (1), work dir work",
        "dispatch: would run (it writes chunks.yml and each chunk's inputs.yml)",
        "chunk steps: inputs, process, collect, register, at most 2 chunk(s) at a time",
        "  chunks: known after dispatch",
        "workunit status: processing, then available",
        "dry run: nothing was run or written",
    ]
    assert _listing(tmp_path) == []


def test_app_action_dry_run_lists_the_dispatched_chunks_and_names_a_broken_inputs_file(tmp_path):
    work = tmp_path / "work"
    for name in ("s1", "s2"):
        (work / name).mkdir(parents=True)
    (work / "chunks.yml").write_text("chunks:\n  - s1\n  - s2\n")
    (work / "s1" / "inputs.yml").write_text(
        "inputs:\n  - {type: static_file, content: 'x', filename: a.txt}\n")
    before = _listing(tmp_path)
    done = run_cli("app-action", "outputs", APP_YML, "work", "1", "--dry-run", "--read-only",
                   cwd=tmp_path, env=NO_SERVER, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "chunk steps: collect, register, at most 2 chunk(s) at a time" in lines
    assert "  s1: 1 input(s) in inputs.yml; outputs.yml written by the process step" in lines
    assert "  s2: no inputs.yml; outputs.yml written by the process step" in lines
    assert "workunit status: not written" in lines and not any(line.startswith("dispatch") for line in lines)
    assert _listing(tmp_path) == before

    (work / "s2" / "inputs.yml").write_text("inputs:\n  - {type: static_fle, filename: b.txt}\n")
    bad = run_cli("app-action", "inputs", APP_YML, "work", "1", "-n", cwd=tmp_path, env=NO_SERVER, timeout=60)
    assert bad.returncode == 2, bad.stderr
    assert "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"{work / 's2' / 'inputs.yml'}:2:"), bad.stderr
