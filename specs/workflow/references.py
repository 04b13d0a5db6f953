"""Checks of the ``${…}`` references in a workflow's strings, for ``validate``.

At run time the text inside ``${…}`` (up to the first ``}``) is a JMESPath expression over the
job data when it starts with ``job``, ``parent`` or ``scatter``; an expression JMESPath cannot
parse silently resolves to nothing, so it is reported here instead. A ``${`` without a closing
``}`` is reported too: it can never be substituted.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import jmespath
from jmespath.exceptions import IncompleteExpressionError, JMESPathError

from specs.source import Loc, Problem, SourceDoc

_REFERENCE = re.compile(r"\$\{(.*?)\}")
_JOB_DATA = re.compile(r"\s*(job|parent|scatter)\b")


def reference_problems(doc: SourceDoc, data: Any) -> list[Problem]:
    """Problems of every ``${…}`` in the string values of ``data`` (the document's data)."""
    problems = []
    for loc, text in _strings(data, ()):
        for message in text_problems(text):
            problems.append(doc.problem(loc, message))
    return problems


def text_problems(text: str) -> list[str]:
    """What is wrong with the ``${…}`` references of one string."""
    problems = []
    closed_to = 0
    for m in _REFERENCE.finditer(text):
        closed_to = m.end()
        inner = m.group(1)
        if _JOB_DATA.match(inner):
            reason = jmespath_problem(inner)
            if reason:
                problems.append(f"invalid JMESPath in ${{{inner}}}: {reason}")
    if "${" in text[closed_to:]:
        problems.append(f"unterminated '${{' (no closing '}}') in {text!r}")
    return problems


def jmespath_problem(expression: str) -> str | None:
    """Why JMESPath cannot parse ``expression`` (one line), or None when it can."""
    try:
        jmespath.compile(expression)
    except IncompleteExpressionError:
        return "incomplete expression"
    except JMESPathError as exc:
        reason = (str(getattr(exc, "msg", "") or "").splitlines() or [type(exc).__name__])[0]
        position = getattr(exc, "lex_position", None)
        return f"{reason} (at column {position + 1})" if isinstance(position, int) else reason
    return None


def _strings(data: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(data, str):
        yield loc, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*loc, i))


def job_references(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """``(loc, path)`` of every ``${job.PATH}`` in the string values of ``data``."""
    for where, text in _strings(data, loc):
        for m in _REFERENCE.finditer(text):
            inner = m.group(1).strip()
            if inner.startswith("job."):
                yield where, inner[len("job."):]
