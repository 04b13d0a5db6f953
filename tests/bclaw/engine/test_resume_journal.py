"""A resumed parent replays the top-level steps it finished before it suspended (same flow run
id), runs them again in another flow run, and counts a step visited twice (a chooser's loop) as
two entries."""

from __future__ import annotations

from types import SimpleNamespace

from tasks.bclaw.context import StepRecord
from tasks.bclaw.resume_journal import journal_uri, journaled
from tasks.bclaw.walk import StepOutcome


def _counting_handler(calls: list[str]):
    def handler(step, ctx, prev):
        calls.append(step.name)
        return StepOutcome([StepRecord(step.name, "done", 1.5, [f"s3://bucket/repo/{step.name}.txt"])],
                           {"out": f"{step.name}.txt"}, goto="next" if step.name == "pick" else None)
    return handler


def test_the_same_flow_run_replays_what_it_did_and_another_runs_it_again(ctx):
    calls: list[str] = []
    step = SimpleNamespace(name="pick")
    first = journaled(_counting_handler(calls), "run-1")(step, ctx, {})
    replayed = journaled(_counting_handler(calls), "run-1")(step, ctx, {})  # the resumed run
    assert calls == ["pick"]
    assert replayed == first  # records, auto-inputs and the chooser's pick
    journaled(_counting_handler(calls), "run-2")(step, ctx, {})  # a new flow run does the step
    assert calls == ["pick", "pick"]


def test_a_step_visited_twice_has_two_entries(ctx):
    calls: list[str] = []
    step = SimpleNamespace(name="loop")
    run = journaled(_counting_handler(calls), "run-1")
    run(step, ctx, {})
    run(step, ctx, {})
    assert calls == ["loop", "loop"]  # the second visit is not the first one's replay
    assert ctx.repo.exists(journal_uri(ctx, "loop", 1)) and ctx.repo.exists(journal_uri(ctx, "loop", 2))
    resumed = journaled(_counting_handler(calls), "run-1")
    resumed(step, ctx, {})
    resumed(step, ctx, {})
    resumed(step, ctx, {})
    assert calls == ["loop", "loop", "loop"]  # two replayed, the third visit runs
