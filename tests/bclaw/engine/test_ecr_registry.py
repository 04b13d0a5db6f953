"""``Options: ecr_registry`` and ``--image-registry``: bare image names go to that registry
(BayerCLAW's ECR rewrite), names with a registry host stay as written, and without the option
nothing is rewritten; the flag's value is checked, and reaches the flows and work-pool children."""

from __future__ import annotations

import textwrap

import pytest

from specs.workflow.model import load_workflow
from tasks.bclaw.command_step import run_command_step
from tasks.bclaw.images import RegistryNameError, check_registry, registry_image

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


@pytest.mark.parametrize("registry", [ECR, "host:5000", "host:5000/team/images", "registry.example.org/"])
def test_registry_names_of_host_port_and_path_are_accepted(registry):
    assert check_registry(registry) == registry


@pytest.mark.parametrize("registry", ["", "bad host", "host;rm -rf /", "$(id)", "-host", "host:port", "host/../x",
                                      "host/UPPER", "a" * 300])
def test_other_registry_names_are_refused_naming_the_value(registry):
    with pytest.raises(RegistryNameError, match="use HOST\\[:PORT\\]\\[/PATH\\]") as caught:
        check_registry(registry)
    assert str(caught.value).startswith(f"image registry {registry!r}: ")


def test_image_registry_is_a_workflow_command_option():
    from flows.cli.main import build_parser

    args = build_parser().parse_args(["workflow", "wf.yaml", "--job", "j.json", "--image-registry", ECR])
    assert args.image_registry == ECR
    assert build_parser().parse_args(["workflow", "wf.yaml", "--job", "j.json"]).image_registry is None


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("flow_name", ["run-workflow", "run-step"])
def test_the_flows_image_registry_parameter_overrides_the_option(tmp_path, recording_docker, flow_name):
    """``run_workflow(image_registry=…)`` (what ``--image-registry`` passes) and a work pool's
    ``run_step`` (which the parent passes it on to) run the rewritten image."""
    from flows.step import run_step
    from flows.workflow import run_workflow

    wf = tmp_path / "wf.yaml"
    wf.write_text(textwrap.dedent(WORKFLOW).replace("REGISTRY", "other.example.org")
                  .replace("IMAGE", "aligner:${job.sample}"))
    storage = tmp_path / "storage"
    if flow_name == "run-workflow":
        run_workflow(workflow=str(wf), job={"sample": "S1"}, storage=str(storage), executor="docker",
                     image_registry=ECR)
    else:
        from blocks.local import LocalRepository
        from tasks.bclaw.context import RunContext

        ctx = RunContext(repo=LocalRepository(root=str(storage)), repo_uri="s3://bucket/repo", workflow_name="wf",
                         options=load_workflow(wf).options)
        ctx.write_job_data({"sample": "S1"})
        run_step(workflow=str(wf), step="step1", repository_uri="s3://bucket/repo", storage=str(storage),
                 executor="docker", image_registry=ECR)
    argv = recording_docker.read_text().splitlines()
    assert argv[argv.index("sh") - 1] == f"{ECR}/aligner:S1"
    assert (storage / "bucket/repo/out.txt").read_text() == "ran\n"


def test_the_work_pool_child_is_given_the_parents_registry(tmp_path, write_workflow, ctx):
    from tasks.bclaw.step_runner import WorkPoolRunner, _parameters

    runner = WorkPoolRunner("/wf.yaml", {}, {"storage": "/s"})
    with_one = write_workflow(WORKFLOW.replace("REGISTRY", ECR).replace("IMAGE", "x"))
    assert _parameters(runner, ctx.derive(options=with_one.options), "step1")["image_registry"] == ECR
    assert "image_registry" not in _parameters(runner, ctx, "step1")  # old run-step deployments lack it
