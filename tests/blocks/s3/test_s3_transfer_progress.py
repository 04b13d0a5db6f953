"""Large files on S3 show their bytes while they move: the command line in a subprocess runs a
workflow on a saved S3Repository block against moto over HTTP, with a low progress threshold."""

from __future__ import annotations

import json
import uuid

from tasks.runtime.transfers import THRESHOLD_ENV
from tests.support.cli import run_cli

MiB = 1 << 20

WORKFLOW = """\
Repository: s3://{bucket}/run
Steps:
  - copy:
      inputs:
        big: big.bin
        mid: mid.bin
        note: small.txt
      commands:
        - cp big.bin big.out
        - cp mid.bin mid.out
      outputs:
        big_out: big.out
        mid_out: mid.out
"""


def _lines_of(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if line.startswith(name + ": ")]


def test_s3_downloads_and_uploads_above_the_threshold_show_their_bytes(tmp_path, harness_env, make_repo,
                                                                          s3_direct, bucket):
    # big: above multipart_threshold_mb (a managed, multipart transfer); mid: one GET / one PutObject
    s3_direct.put_object(Bucket=bucket, Key="run/big.bin", Body=b"b" * (6 * MiB))
    s3_direct.put_object(Bucket=bucket, Key="run/mid.bin", Body=b"m" * (2 * MiB))
    s3_direct.put_object(Bucket=bucket, Key="run/small.txt", Body=b"below the threshold\n")
    block = f"progress-{uuid.uuid4().hex[:8]}"
    make_repo(buckets=[bucket], multipart_threshold_mb=5, multipart_chunksize_mb=5).save(block)
    (tmp_path / "wf.yaml").write_text(WORKFLOW.format(bucket=bucket))
    (tmp_path / "job.json").write_text(json.dumps({}))

    done = run_cli("workflow", "wf.yaml", "--job", "job.json", "--repository-block", block, cwd=tmp_path,
                   env={**harness_env, THRESHOLD_ENV: str(MiB)}, timeout=120)

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    for name, mib in (("download big.bin", 6), ("download mid.bin", 2), ("upload big.out", 6), ("upload mid.out", 2)):
        shown = _lines_of(lines, name)
        assert shown, (name, lines)
        assert shown[0] == f"{name}: 0.0/{mib}.0 MiB", (name, lines)
        assert shown[-1].startswith(f"{name}: done in ") and shown[-1].endswith(f", {mib}.0/{mib}.0 MiB"), shown
    # the multipart transfers report while they move, not only at their start and end
    for name in ("download big.bin", "upload big.out"):
        assert [line for line in _lines_of(lines, name)[1:-1] if "/6.0 MiB" in line], (name, lines)
    assert not [line for line in lines if "small.txt" in line]  # below the threshold: no lines
    assert s3_direct.head_object(Bucket=bucket, Key="run/big.out")["ContentLength"] == 6 * MiB
    assert s3_direct.head_object(Bucket=bucket, Key="run/mid.out")["ContentLength"] == 2 * MiB
