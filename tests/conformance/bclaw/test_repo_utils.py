"""Conformance with BayerCLAW's ``lambda/tests/common/test_repo_utils.py`` (where the Lambdas put
files relative to a repository).

Upstream has 9 tests: 2 ported; 7 skipped as plumbing of its S3File/Repo value classes
(construction, repr, JSON serialisation, to_dict), which labflows does not have (URIs are strings).
"""

import pytest

from tasks.bclaw.scatter.branches import branch_uri
from tasks.bclaw.scatter.expand import qualify

REPO = "s3://repo-bucket/repo/prefix"


@pytest.mark.parametrize("spec, expect", [
    ("plain_filename.txt", f"{REPO}/plain_filename.txt"),
    ("s3://other-bucket/other/dir/filename.txt", "s3://other-bucket/other/dir/filename.txt"),
])
def test_repo_qualify(spec, expect):
    """upstream: lambda/tests/common/test_repo_utils.py::test_repo_qualify"""
    assert qualify(spec, REPO) == expect


def test_repo_sub_repo():
    """upstream: lambda/tests/common/test_repo_utils.py::test_repo_sub_repo (a scatter branch's
    repository is a folder of the step's)."""
    assert branch_uri(REPO, "sub-repo", 3) == f"{REPO}/sub-repo/00003"
