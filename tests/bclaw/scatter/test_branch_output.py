"""A scatter branch's command output goes to its log file, not line by line to the run log (the
Prefect API), unless the command line asked for ``-v``; other steps' output goes to both."""

from __future__ import annotations

import logging

import pytest

from tasks.runtime.logs import VERBOSITY_ENV

WORKFLOW = """
    Repository: s3://bkt/out
    Steps:
      - talk:
          commands:
            - echo said-${job.word}
            - echo on-stderr >&2
    """


class _Records(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize(("branch", "verbosity", "in_run_log"), [
    ("main", None, True),  # a plain step: run log and log file
    ("7", None, False),  # a branch at the default verbosity: its log file only
    ("7", "0", False),
    ("8", "1", True),  # -v: branches too
])
def test_command_output_reaches_the_run_log_only_where_wanted(repo, write_file, tmp_path, monkeypatch,
                                                              branch, verbosity, in_run_log):
    from specs.workflow.model import load_workflow
    from tasks.bclaw.context import RunContext
    from tasks.bclaw.scatter.branches import run_command_with_retries

    if verbosity is None:
        monkeypatch.delenv(VERBOSITY_ENV, raising=False)
    else:
        monkeypatch.setenv(VERBOSITY_ENV, verbosity)
    wf = load_workflow(write_file("out.yaml", WORKFLOW))
    ctx = RunContext(repo=repo, repo_uri="s3://bkt/out", workflow_name="out", options=wf.options,
                     scratch=tmp_path / "scratch", execution_id="e1", branch_idx=branch)
    ctx.write_job_data({"word": "hi"})
    records = _Records()
    logger = logging.getLogger("labflows")  # the run logger outside a Prefect run
    level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    try:
        outcome = run_command_with_retries(wf.steps[0], ctx, {})
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert outcome.records[0].status == "done"

    suffix = "" if branch == "main" else f"[{branch}]"
    lines = (tmp_path / f"scratch/logs/e1/talk{suffix}.log").read_text().splitlines()
    assert "said-hi" in lines and "on-stderr" in lines
    assert lines.index("said-hi") < lines.index("on-stderr")  # stdout and stderr in the order written
    logged = [r.getMessage() for r in records.records if r.levelno >= logging.INFO]
    assert ("said-hi" in logged) == in_run_log, logged
    assert ("on-stderr" in logged) == in_run_log, logged
