"""Conformance with BayerCLAW's ``lambda/tests/gather/test_gather.py`` (the scatter step's manifest).

Upstream has 2 tests; both are ported (0 AWS plumbing skipped).
"""

import logging

from tasks.bclaw.scatter.gather import gather, write_manifest

from .conftest import REPO


def test_lambda_handler(make_ctx, put, repo, caplog):
    """upstream: lambda/tests/gather/test_gather.py::test_lambda_handler (files grouped by basename,
    sorted; a name no branch wrote lists [] with a warning)."""
    ctx = make_ctx({"job": "data"})
    for branch, names in {"00000": ["output1", "output2", "zoutput2", "unoutput"],
                          "00001": ["output1", "unoutput"],
                          "00002": ["output1", "output2", "unoutput"]}.items():
        for name in names:
            put(f"test-step/{branch}/{name}", f"{branch}.{name}")
    with caplog.at_level(logging.WARNING):
        gathered = gather("test-step", {"out1": "output1", "out2": "output2", "out3": "output3"}, ctx)
    assert gathered.manifest_name == "test-step_manifest.json"
    assert gathered.manifest == {
        "out1": [f"{REPO}/test-step/{b}/output1" for b in ("00000", "00001", "00002")],
        "out2": [f"{REPO}/test-step/{b}/output2" for b in ("00000", "00002")],
        "out3": [],
    }
    assert "no files named output3 found" in caplog.text
    uri = write_manifest(gathered, ctx)
    assert uri == f"{REPO}/test-step_manifest.json" and repo.exists(uri)


def test_lambda_handler_no_manifest(make_ctx, repo):
    """upstream: lambda/tests/gather/test_gather.py::test_lambda_handler_no_manifest"""
    ctx = make_ctx({"job": "data"})
    gathered = gather("test-step", {}, ctx)
    assert gathered.manifest is None and write_manifest(gathered, ctx) is None
    assert not repo.exists(f"{REPO}/test-step_manifest.json")
