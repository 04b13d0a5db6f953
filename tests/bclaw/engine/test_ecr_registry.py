"""``Options: ecr_registry``: bare image names go to that registry (BayerCLAW's ECR rewrite), names
with a registry host stay as written, and without the option nothing is rewritten."""

from __future__ import annotations

import pytest

from tasks.bclaw.command_step import run_command_step
from tasks.bclaw.images import registry_image

ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com"


@pytest.mark.parametrize(("name", "expected"), [
    ("ubuntu", f"{ECR}/ubuntu"),
    ("tool:${job.version}", f"{ECR}/tool:${{job.version}}"),
    ("myorg/tool:1.0", f"{ECR}/myorg/tool:1.0"),  # '.' only after the last '/': no registry host
    ("docker.io/library/ubuntu", "docker.io/library/ubuntu"),
    ("host-with-port:1234/image", "host-with-port:1234/image"),
    ("public.ecr.aws/ubuntu/ubuntu:latest", "public.ecr.aws/ubuntu/ubuntu:latest"),
    (f"{ECR}/tool", f"{ECR}/tool"),
])
def test_upstreams_rule_for_which_names_are_rewritten(name, expected):
    assert registry_image(name, ECR) == expected
    assert registry_image(name, ECR + "/") == expected
    assert registry_image(name, None) == name  # no option: as written


WORKFLOW = """
Repository: s3://bucket/repo
Options: {ecr_registry: REGISTRY}
Steps:
  - step1:
      image: IMAGE
      commands: ['echo ran > out.txt']
      outputs: {out: out.txt}
"""


@pytest.mark.parametrize(("registry", "image", "expected"), [
    (ECR, "aligner:${job.sample}", f"{ECR}/aligner:S1"),  # job data fills the tag after the rewrite
    (ECR, "docker.io/library/ubuntu:${job.sample}", "docker.io/library/ubuntu:S1"),
    ("null", "aligner:${job.sample}", "aligner:S1"),
])
def test_the_docker_argv_gets_the_rewritten_image(write_workflow, ctx, recording_docker, registry, image, expected):
    wf = write_workflow(WORKFLOW.replace("REGISTRY", registry).replace("IMAGE", image))
    run_command_step(wf.steps[0], ctx.derive(executor="docker", options=wf.options))
    argv = recording_docker.read_text().splitlines()
    assert argv[argv.index("sh") - 1] == expected
