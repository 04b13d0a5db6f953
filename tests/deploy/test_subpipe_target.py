"""Subpipe deployment targets checked before starting: one line naming the deployment and what is
missing; the child's parameters never inherit the deployment's default job file or repository."""

from __future__ import annotations

import pytest

from flows.subpipes import ChildFailed, check_deployment_target, child_parameters
from tasks.bclaw.subpipe import ChildRun

RUN = ChildRun(step_name="sub", workflow="run-workflow/launcher-tests", job={"id": "c1"},
               repository_uri="s3://b/parent/p1/sub", repository_params={"storage": "/data/storage"},
               executor="local")


def test_child_parameters_override_the_deployments_job_file_name_and_repository():
    # "" is run_workflow's "not given"; a null would fail the deployment's parameter schema
    assert child_parameters(RUN, "qc:job/sub") == {
        "job": {"id": "c1"}, "repository_uri": "s3://b/parent/p1/sub", "storage": "/data/storage",
        "job_file": "", "run_name": "qc:job/sub", "repository_block": ""}


def test_a_target_without_a_default_workflow_is_one_line_naming_deployment_and_parameter(workflow_deployment):
    with pytest.raises(ChildFailed) as caught:
        check_deployment_target(workflow_deployment, child_parameters(RUN))
    message = str(caught.value)
    assert message.startswith(f"deployment {workflow_deployment} has no value for the required parameter(s) "
                              "'workflow': ")
    assert "\n" not in message
    check_deployment_target(workflow_deployment, {**child_parameters(RUN), "workflow": "wf.yaml"})  # no error


def test_an_unknown_target_says_it_does_not_exist(prefect_harness):
    with pytest.raises(ChildFailed, match=r"^deployment run-workflow/nope does not exist on the Prefect server"):
        check_deployment_target("run-workflow/nope", child_parameters(RUN))
