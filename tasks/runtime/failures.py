"""Expected failures: the run stopped because of the user's data or commands, not a bug.

A non-zero exit, a QC condition, a missing input, too many failed scatter branches: the
exception's message is the whole story (step and reason), so the terminal and the Prefect run
log show that one line instead of a framework traceback (see :mod:`tasks.runtime.logs`).
"""

from __future__ import annotations


class ExpectedFailure(Exception):
    """Base (or mix-in) of every failure whose message says all there is to say.

    Attributes:
        outputs: what the failed step uploaded before it stopped (URIs), for the summary.
        outputs_note: a few words on ``outputs`` for the summary (``299 of 300 branches``).
    """

    outputs: list[str] = []
    outputs_note: str = ""


def is_expected(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception it was raised from (``__cause__``) is expected."""
    seen = 0
    while exc is not None and seen < 20:  # a cause chain is short; the bound guards a cycle
        if isinstance(exc, ExpectedFailure):
            return True
        exc, seen = exc.__cause__, seen + 1
    return False


def failure_outputs(exc: BaseException) -> list[str]:
    """The outputs a failed step uploaded (see :attr:`ExpectedFailure.outputs`), else none."""
    return list(getattr(exc, "outputs", None) or [])


def failure_outputs_note(exc: BaseException) -> str:
    """The few words on a failed step's outputs (see :attr:`ExpectedFailure.outputs_note`), else ``""``."""
    return str(getattr(exc, "outputs_note", "") or "")
