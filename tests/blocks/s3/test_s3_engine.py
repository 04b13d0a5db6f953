"""The labflows engine on S3: workflows run with a saved S3Repository block against moto over HTTP.

Everything the engine wrote is checked through the direct (non-proxied) endpoint.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from blocks.s3 import S3Repository
from flows.run import main
from flows.workflow import run_workflow

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES_BUCKET = "labflows-examples"  # the qc example's Repository and reference live here


def ensure_bucket(s3_direct, name: str) -> None:
    """Create ``name`` unless it exists (the moto server lives for the whole session)."""
    try:
        s3_direct.create_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise


def clear_prefix(s3_direct, bucket: str, prefix: str) -> None:
    """Delete every object under ``prefix``."""
    for page in s3_direct.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            s3_direct.delete_object(Bucket=bucket, Key=obj["Key"])


def read(s3_direct, bucket: str, key: str) -> bytes:
    return s3_direct.get_object(Bucket=bucket, Key=key)["Body"].read()


def tags_of(s3_direct, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3_direct.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


@pytest.mark.usefixtures("prefect_harness")
def test_qc_example_runs_end_to_end_on_s3_via_the_cli(make_repo, s3_direct, capsys):
    ensure_bucket(s3_direct, EXAMPLES_BUCKET)
    run = "runs/qc/S1/"
    clear_prefix(s3_direct, EXAMPLES_BUCKET, run)
    s3_direct.upload_file(str(ROOT / "examples/qc/storage/labflows-examples/refs/adapters.fa"),
                          EXAMPLES_BUCKET, "refs/adapters.fa")
    name = f"qc-s3-{uuid.uuid4().hex[:8]}"
    make_repo(buckets=[EXAMPLES_BUCKET]).save(name)

    code = main(["workflow", str(ROOT / "examples/qc/workflow.yaml"), "--job", str(ROOT / "examples/qc/job.json"),
                 "--repository-block", name])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"repository s3://{EXAMPLES_BUCKET}/runs/qc/S1" in out.out

    assert read(s3_direct, EXAMPLES_BUCKET, run + "report.txt") == b"sample S1\nlines 400\n"
    assert json.loads(read(s3_direct, EXAMPLES_BUCKET, run + "stats.json")) == {"read_count": 100, "adapters": 2}
    keys = {o["Key"] for o in s3_direct.list_objects_v2(Bucket=EXAMPLES_BUCKET, Prefix=run)["Contents"]}
    assert {k for k in keys if k.startswith(run + "counts_")} == {f"{run}counts_{i:02d}.txt" for i in range(10)}
    assert {k for k in keys if "/_control_/" in k} == {
        f"{run}_control_/{step}.complete" for step in ("make_reads", "count", "report")}
    assert tags_of(s3_direct, EXAMPLES_BUCKET, run + "_control_/count.complete") == {"bclaw.system": "true"}
    head = s3_direct.head_object(Bucket=EXAMPLES_BUCKET, Key=run + "report.txt")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"].get("execution_id")  # the flow run id, as BayerCLAW's execution id
    assert s3_direct.list_multipart_uploads(Bucket=EXAMPLES_BUCKET).get("Uploads", []) == []


def wide_workflow(path: Path, bucket: str, n: int) -> Path:
    """A one-step workflow with ``n`` named inputs and ``n`` named outputs."""
    inputs = "\n".join(f"        in{i:02d}: in_{i:02d}.txt" for i in range(n))
    outputs = "\n".join(f"        out{i:02d}: out_{i:02d}.txt" for i in range(n))
    path.write_text(f"""\
Repository: s3://{bucket}/runs/${{job.sample}}
Steps:
  - upper:
      inputs:
{inputs}
      commands:
        - for i in $(seq -w 0 {n - 1}); do tr a-z A-Z < in_$i.txt > out_$i.txt; done
      outputs:
{outputs}
      retry: {{attempts: 0}}
""")
    return path


@pytest.mark.usefixtures("prefect_harness")
def test_workflow_with_50_inputs_and_50_outputs_completes_with_20_percent_faults(
        make_repo, fault_proxy, bucket, s3_direct, tmp_path):
    n = 50
    for i in range(n):
        s3_direct.put_object(Bucket=bucket, Key=f"runs/W/in_{i:02d}.txt", Body=f"sample w line {i}\n".encode() * 50)
    workflow = wide_workflow(tmp_path / "wide.yaml", bucket, n)
    (tmp_path / "job.json").write_text('{"sample": "W"}')
    name = f"wide-{uuid.uuid4().hex[:8]}"
    make_repo(endpoint=fault_proxy.url, buckets=[bucket], retry_backoff_seconds=0.05).save(name)
    loaded = S3Repository.load(name)
    assert loaded.credentials.aws_client_parameters.endpoint_url == fault_proxy.url

    fault_proxy.share = 0.2
    summary = run_workflow(workflow=str(workflow), job_file=str(tmp_path / "job.json"), repository_block=name)
    fault_proxy.share = 0

    assert [(s["name"], s["status"]) for s in summary["steps"]] == [("upper", "done")]
    assert fault_proxy.counts["reset"] + fault_proxy.counts["503"] >= 20, fault_proxy.counts
    for i in range(n):
        assert read(s3_direct, bucket, f"runs/W/out_{i:02d}.txt") == f"SAMPLE W LINE {i}\n".encode() * 50
    assert s3_direct.head_object(Bucket=bucket, Key="runs/W/_control_/upper.complete")
    assert s3_direct.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
