"""``blocks`` imports its classes on first use: a flow on a local folder never loads prefect-aws and
boto3, yet every saved block still loads by name and ``prefect block register -m blocks`` sees all."""

from __future__ import annotations

import inspect
import subprocess
import sys
import uuid

from prefect.blocks.core import Block

import blocks


def _fresh(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_importing_the_workflow_flow_loads_no_s3_code():
    assert _fresh("import sys, flows.workflow, flows.launcher; "
                  "print(sorted(m for m in ('prefect_aws', 'boto3', 'blocks.s3') if m in sys.modules))") == "[]"


def test_block_registration_still_finds_every_block_type():
    found = {name for name, cls in inspect.getmembers(blocks) if Block.is_block_class(cls)}
    assert found == {"BfabricCredentials", "LocalRepository", "Repository", "S3Repository"}


def test_a_saved_s3_block_loads_by_name_in_a_process_that_never_imported_it(harness_env):
    from prefect_aws import AwsCredentials

    from blocks.s3 import S3Repository

    name = f"lazy-{uuid.uuid4().hex[:8]}"
    S3Repository(credentials=AwsCredentials(region_name="eu-central-1")).save(name)
    slug = S3Repository.get_block_type_slug()  # by SLUG/NAME first: nothing has imported blocks.s3 yet
    code = ("from blocks.resolve import load_repository; "
            f"print(type(load_repository('{slug}/{name}')).__name__, type(load_repository({name!r})).__name__)")
    assert _fresh(code, harness_env) == "S3Repository S3Repository"
