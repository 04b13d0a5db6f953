"""``labflows workflow --image-registry HOST``: the dry run shows each command step's image as it
would run (bare names in HOST, job data in the tag), and a bad value is one line, exit 2."""

from __future__ import annotations

import json
import os
import textwrap

from tests.support.cli import run_cli

ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com"
WORKFLOW = """
Repository: s3://b/runs/${job.id}
Steps:
  - align:
      image: aligner:${job.version}
      commands: ['echo hi > a.txt']
  - pinned:
      image: docker.io/library/ubuntu:22.04
      commands: ['true']
"""


def _files(tmp_path):
    (tmp_path / "wf.yaml").write_text(textwrap.dedent(WORKFLOW))
    (tmp_path / "job.json").write_text(json.dumps({"id": "r1", "version": "1.2"}))
    return ["workflow", "wf.yaml", "--job", "job.json"]


def test_the_dry_run_shows_the_rewritten_image(tmp_path):
    done = run_cli(*_files(tmp_path), "--image-registry", ECR, "--dry-run",
                   cwd=tmp_path, env=dict(os.environ), timeout=120)
    assert done.returncode == 0, done.stderr
    images = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("image:")]
    assert images == [f"image: {ECR}/aligner:1.2", "image: docker.io/library/ubuntu:22.04"]
    plain = run_cli(*_files(tmp_path), "--executor", "docker", "-n", cwd=tmp_path, env=dict(os.environ), timeout=120)
    assert "   image: aligner:1.2" in plain.stdout.splitlines()  # no registry: as written


def test_a_bad_registry_is_one_line_exit_2_and_nothing_written(tmp_path):
    done = run_cli(*_files(tmp_path), "--image-registry", "evil;touch PWNED", cwd=tmp_path,
                   env=dict(os.environ), timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: image registry 'evil;touch PWNED': use HOST[:PORT][/PATH], "
        f"e.g. {ECR}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.json", "wf.yaml"]
