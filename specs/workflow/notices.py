"""Notices about a valid workflow: things ``validate`` tells without calling them problems."""

from __future__ import annotations

import re

from specs.workflow.model import CommandStep, SubpipeStep, Workflow, iter_steps

# ${job…}, ${scatter…}, ${parent…}, or a parameter value (a JSON literal, see specs.workflow.params)
_DATA_REF = re.compile(r"\$\{\s*(?:(?:job|scatter|parent)\b|`)")


def raw_substitution_steps(wf: Workflow) -> list[str]:
    """Command steps (nested ones too) that paste job data or parameters into commands as text."""
    if wf.options.substitution != "raw":
        return []
    return [step.name for step in iter_steps(wf.steps)
            if isinstance(step, CommandStep) and any(_DATA_REF.search(line) for line in step.commands)]


def _substitution_notices(wf: Workflow) -> list[str]:
    if wf.options.substitution != "raw":
        return []
    steps = raw_substitution_steps(wf)
    if not steps:
        return ["notice: Options.substitution is raw, but no step substitutes job data or parameters "
                "into its commands"]
    return ["notice: Options.substitution is raw: job data and parameter values are pasted as shell text "
            f"(a value may become several words or a glob) into the commands of: {', '.join(steps)}"]


def _submit_notices(wf: Workflow) -> list[str]:
    return [f"notice: step {step.name}: submit is deprecated in BayerCLAW; its files are still copied into "
            f"the subpipe's repository" for step in iter_steps(wf.steps)
            if isinstance(step, SubpipeStep) and step.submit]


def workflow_notices(wf: Workflow) -> list[str]:
    """One line per notice (without the file name)."""
    return _substitution_notices(wf) + _submit_notices(wf)
