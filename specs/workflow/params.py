"""Workflow ``Parameters``: values fixed when a workflow is loaded.

``${Name}`` (letters and digits only) is replaced in every string value of the document except
inside ``Parameters`` itself, with the value given on the command line (``--param Name=value``)
or else the parameter's ``Default``. Other ``${…}`` (``${job.x}``, ``${scatter.y}``, unknown
names) are left alone, and substituted text is not substituted again.

Values are data. In a step's ``commands`` a reference becomes a JMESPath JSON literal
(``${`"value"`}``, see :func:`command_literal`) that the engine resolves like job data, so the value
is quoted for the shell like any ``${job.x}`` (``Options: substitution``) and never read as shell
code. Elsewhere (image, Repository, file names) the text is pasted, as CloudFormation does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from specs.source import Loc, Problem, SourceDoc

PARAMETER_REF = re.compile(r"\$\{([A-Za-z0-9]+)\}")
PARAMETER_NAME = re.compile(r"^[A-Za-z0-9]+$")


def command_literal(value: str) -> str:
    """``value`` as ``${`"…"`}``: a JMESPath JSON literal inside a substitution.

    JSON escapes line breaks, and ``{``, ``}`` and backticks are written as ``\\u`` escapes, so
    the literal is one ``${…}`` on one line whatever the value holds.
    """
    body = json.dumps(value)
    for ch in "{}`":
        body = body.replace(ch, f"\\u{ord(ch):04x}")
    return "${`" + body + "`}"


def in_commands(loc: Loc) -> bool:
    """True for a location inside a step's ``commands`` (a step sits at ``…, index, name``)."""
    return any(key == "commands" and k >= 2 and isinstance(loc[k - 2], int) for k, key in enumerate(loc))


def parameter_text(value: Any) -> str:
    """A parameter value as text (``true``/``false`` for booleans, as CloudFormation writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Parameters:
    """Declared parameters, their values, and the problems found reading them."""

    declared: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def read(cls, doc: SourceDoc, loc: Loc | None, overrides: dict[str, str] | None) -> "Parameters":
        """Read the ``Parameters`` block at ``loc`` (None: there is none) with ``overrides``."""
        out = cls()
        raw = doc.data.get(loc[0]) if loc else None
        if loc and raw is not None and not isinstance(raw, dict):
            out.problems.append(doc.problem(loc, "Parameters must be a map of name: {Type, Default}"))
            raw = None
        for name, spec in (raw or {}).items():
            where = (*loc, name)
            if not isinstance(name, str) or not PARAMETER_NAME.match(name):
                out.problems.append(doc.problem(where, "parameter names must be letters and digits only",
                                                key=True))
                continue
            if not isinstance(spec, dict):
                out.problems.append(doc.problem(where, "a parameter must be a map with Type (and Default)"))
                continue
            if "Type" not in spec:
                out.problems.append(doc.problem(where, "Type is required (e.g. Type: String)", key=True))
            out.declared[name] = dict(spec)
            if "Default" in spec and spec["Default"] is not None:
                out.values[name] = parameter_text(spec["Default"])
        for name, value in (overrides or {}).items():
            if name not in out.declared:
                out.problems.append(doc.problem(loc or (), f"--param {name}: the workflow declares no "
                                                           f"parameter {name!r}", key=True))
            else:
                out.values[name] = value
        return out

    def substitute(self, doc: SourceDoc, data: Any, loc: Loc = (), skip: Any = None) -> Any:
        """A copy of ``data`` with parameters replaced; ``skip`` is a top-level key left untouched.

        A referenced parameter without a value is a problem at the string that uses it.
        """
        if isinstance(data, dict):
            return {k: v if (not loc and k == skip) else self.substitute(doc, v, (*loc, k))
                    for k, v in data.items()}
        if isinstance(data, list):
            return [self.substitute(doc, v, (*loc, i)) for i, v in enumerate(data)]
        if isinstance(data, str):
            return PARAMETER_REF.sub(lambda m: self._value(doc, m, loc), data)
        return data

    def _value(self, doc: SourceDoc, m: re.Match, loc: Loc) -> str:
        name = m.group(1)
        if name in self.values:
            return command_literal(self.values[name]) if in_commands(loc) else self.values[name]
        if name in self.declared:
            self.problems.append(doc.problem(loc, f"parameter {name!r} has no Default and no value "
                                                  f"was given (--param {name}=VALUE)"))
        return m.group(0)
