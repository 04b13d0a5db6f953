"""A run stores its job data once: scatter branches refer to it instead of copying it."""

from __future__ import annotations

import json

SCATTER = """\
Repository: s3://bkt/big/${job.id}
Steps:
  - each:
      scatter:
        n: ${job.items}
      steps:
        - work:
            commands:
              - test "$(cat "$BC_JOB_DATA_FILE" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["job"]["blob"]))')" = 1000000
              - echo ${scatter.n} ${job.id} > out.txt
            outputs:
              out: out.txt
"""


def test_branches_refer_to_the_job_data_and_still_see_it(run_flow, storage):
    job = {"id": "j1", "items": [str(i) for i in range(10)], "blob": "x" * 1_000_000}
    state = run_flow(SCATTER, job, name="big")
    assert state.is_completed(), state.message
    repo = storage / "bkt/big/j1"
    for i in range(10):
        assert (repo / f"each/{i:05d}/out.txt").read_text() == f"{i} j1\n"  # ${job.id} resolved in a branch
        branch = json.loads((repo / f"each/{i:05d}/_JOB_DATA_").read_text())
        assert branch["job_ref"] == "s3://bkt/big/j1/_JOB_DATA_" and "job" not in branch
    stored = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
    # the job file copy and _JOB_DATA_ hold the blob: 2 MB, not 12
    assert 2_000_000 < stored < 2_500_000, stored
