"""``${app.…}`` substitution in app.yml string values, with Mako's syntax but without running code.

B-Fabric app specs are Mako templates: every string value (never a key) may contain
``${app.id}``, ``${app.name}``, ``${app.version}`` and ``${app.dir}``. Mako itself would compile
the text to Python and run it; here the text is only *parsed* with Mako's lexer (so escapes such as
a backslash-newline and ``<%text>`` behave exactly like Mako's), and each ``${…}`` must be a plain
dotted name of a known variable. Anything else (control lines, ``<% code %>``, filters, calls) is
an error, and so is an undefined variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Mapping

from mako import exceptions as mako_exceptions
from mako import parsetree
from mako.lexer import Lexer

from specs.source import Loc, Problem, SourceDoc

_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def path_safe_name(name: str) -> str:
    """``name`` with every run of characters outside ``[A-Za-z0-9_-]`` replaced by ``_``."""
    return _NAME.sub("_", name)


@dataclass(frozen=True)
class AppVariables:
    """What ``${app.…}`` can name."""

    id: int
    name: str
    version: str
    dir: str

    @classmethod
    def create(cls, app_id: int, app_name: str, version: str, app_dir: str) -> "AppVariables":
        """Variables for one version; the name is made path-safe."""
        return cls(id=app_id, name=path_safe_name(app_name), version=version, dir=app_dir)


class TemplateProblem(ValueError):
    """A string value that cannot be rendered."""


def _is_template(text: str) -> bool:
    # Only strings that could contain Mako syntax are parsed; plain text is returned untouched.
    return any(mark in text for mark in ("${", "<%", "%", "##", "\\\n"))


def _parse(text: str) -> list[parsetree.Node]:
    try:
        return Lexer(text).parse().nodes
    except mako_exceptions.MakoException as exc:
        raise TemplateProblem(f"template syntax error: {exc}") from None


def _lookup(code: str, variables: Mapping[str, Any]) -> str:
    expr = code.strip()
    if not _DOTTED.fullmatch(expr):
        raise TemplateProblem(f"unsupported template expression ${{{expr}}}: only names such as ${{app.version}}")
    root, *attrs = expr.split(".")
    if root not in variables:
        raise TemplateProblem(f"undefined template variable '{root}' in ${{{expr}}}")
    value = variables[root]
    for attr in attrs:
        allowed = {f.name for f in fields(value)} if hasattr(value, "__dataclass_fields__") else set()
        if attr not in allowed:
            raise TemplateProblem(f"undefined template variable '{attr}' in ${{{expr}}}")
        value = getattr(value, attr)
    if value is None:
        raise TemplateProblem(f"undefined template variable in ${{{expr}}}")
    return str(value)


def _render_nodes(nodes: list[parsetree.Node], variables: Mapping[str, Any]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, parsetree.Text):
            out.append(node.content)
        elif isinstance(node, parsetree.Comment):
            continue
        elif isinstance(node, parsetree.TextTag):
            out.append(_render_nodes(node.nodes, variables))
        elif isinstance(node, parsetree.Expression):
            if node.escapes.strip():
                raise TemplateProblem(f"template filters are not supported: ${{{node.text.strip()} | {node.escapes}}}")
            out.append(_lookup(node.text, variables))
        else:
            raise TemplateProblem(
                f"unsupported Mako construct ({type(node).__name__}): only ${{app.…}} substitutions are allowed")
    return "".join(out)


def render_string(text: str, variables: Mapping[str, Any]) -> str:
    """Render one string value; raises :class:`TemplateProblem`."""
    if not _is_template(text):
        return text
    return _render_nodes(_parse(text), variables)


# Stand-in values used to check a template without knowing the app it will be rendered for.
CHECK_VARIABLES: Mapping[str, Any] = {"app": AppVariables(id=0, name="app", version="latest", dir="/")}


def render_data(doc: SourceDoc, data: Any, loc: Loc, variables: Mapping[str, Any],
                problems: list[Problem]) -> Any:
    """Render every string value under ``data`` (found at ``loc`` in ``doc``); keys stay as written.

    Problems are appended, located, to ``problems``; the failing value is kept as written.
    Rendering with :data:`CHECK_VARIABLES` checks a template without a real app.
    """
    if isinstance(data, dict):
        return {k: render_data(doc, v, loc + (k,), variables, problems) for k, v in data.items()}
    if isinstance(data, list):
        return [render_data(doc, v, loc + (i,), variables, problems) for i, v in enumerate(data)]
    if isinstance(data, str):
        try:
            return render_string(data, variables)
        except TemplateProblem as exc:
            problems.append(doc.problem(loc, str(exc)))
    return data
