"""YAML documents that remember where every value came from.

Every spec format in labflows (BayerCLAW workflows, B-Fabric app/inputs/outputs/chunks files)
and every job file is loaded through :func:`load_yaml_file`, so that any problem found later, by
pydantic or by a cross-field rule, can be reported as one line ``FILE:LINE:COL: path: message``.

Files are untrusted input: loading is bounded (:mod:`specs.limits`, enforced while composing by
:mod:`specs.bounded_yaml`: size, items counting alias expansions, depth, integer digits), keys
given twice at any depth are errors, and JSON text gets JSON's syntax errors and meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from specs.bounded_yaml import LimitError, compose_and_construct
from specs.limits import Limits, LimitsConfigError
from specs.suggest import did_you_mean, keys_at

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec file, at a place in it."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.col}: {where}{self.message}"


class SpecError(Exception):
    """Raised when a spec file is unreadable or invalid; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_path(loc: Iterable[str | int]) -> str:
    """Render a location as ``Steps[2].align.retry.interval``.

    A key with characters that are not printable (a newline, a terminal escape) is shown quoted
    and escaped, ``['bad\\nkey']``, so a message about it stays one harmless line.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).isprintable():
            out += f"[{str(part)!r}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _norm(part: str | int) -> str | int:
    return part.lower() if isinstance(part, str) else part


@dataclass
class SourceDoc:
    """A parsed YAML document plus the position of each value and each mapping key."""

    file: str
    data: Any
    text: str = ""
    _value_pos: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    _key_pos: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    _spelling: dict[tuple, str | int] = field(default_factory=dict)

    def _resolve(self, loc: Loc) -> tuple[tuple, list[str | int]]:
        """``loc`` normalised, and as given, without list indexes the file does not have.

        Models accept "one or a list" (``qc_check: {...}`` as ``[{...}]``); their errors then
        name item 0 of a list the file never wrote, which would point at the wrong place.
        """
        norm: tuple = ()
        kept: list[str | int] = []
        for p in loc:
            n = _norm(p)
            if (isinstance(p, int) and p == 0 and norm + (n,) not in self._value_pos
                    and norm in self._value_pos and not self._is_sequence(norm)):
                continue
            norm = norm + (n,)
            kept.append(p)
        return norm, kept

    def _is_sequence(self, norm: tuple) -> bool:
        return isinstance(_get(self.data, norm), list)

    def position(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of ``loc``, or of its nearest ancestor that exists."""
        norm, _ = self._resolve(loc)
        while True:
            if key and norm in self._key_pos:
                return self._key_pos[norm]
            if norm in self._value_pos:
                return self._value_pos[norm]
            if not norm:
                return (1, 1)
            norm = norm[:-1]

    def spelled(self, loc: Loc) -> str:
        """The path as the file spells it (``Steps`` stays ``Steps`` even if the model says ``steps``)."""
        parts: list[str | int] = []
        norm: tuple = ()
        for p in self._resolve(loc)[1]:
            norm = norm + (_norm(p),)
            parts.append(self._spelling.get(norm, p))
        return format_path(parts)

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        """A :class:`Problem` located at ``loc``."""
        line, col = self.position(loc, key=key)
        return Problem(self.file, line, col, self.spelled(loc), message)

    def error(self, loc: Loc, message: str, *, key: bool = False) -> SpecError:
        """A :class:`SpecError` with one problem at ``loc``."""
        return SpecError([self.problem(loc, message, key=key)])

    def sub(self, loc: Loc) -> "SourceDoc":
        """A view of the value at ``loc`` that keeps the positions (used for nested files' parts)."""
        norm = tuple(_norm(p) for p in loc)
        n = len(norm)
        view = SourceDoc(self.file, _get(self.data, loc), self.text)
        for src, dst in ((self._value_pos, view._value_pos), (self._key_pos, view._key_pos),
                         (self._spelling, view._spelling)):
            for k, v in src.items():
                if k[:n] == norm:
                    dst[k[n:]] = v
        return view

    def problems_from(self, err: ValidationError, prefix: Loc = (), model: type | None = None) -> list[Problem]:
        """Turn a pydantic error into located problems; ``prefix`` is where the model's data sits.

        With ``model`` (the one validated), an unknown key gets a close-match suggestion.
        """
        problems = []
        for e in err.errors(include_url=False):
            loc = prefix + tuple(p for p in e["loc"] if not _is_union_tag(p))
            is_extra = e["type"] == "extra_forbidden"
            msg = "unknown key" if is_extra else _clean_msg(e)
            if is_extra and model is not None and e["loc"]:
                msg += did_you_mean(str(e["loc"][-1]), keys_at(model, e["loc"][:-1]))
            problems.append(self.problem(loc, msg, key=is_extra))
        return problems


def _get(data: Any, loc: Loc) -> Any:
    for p in loc:
        if isinstance(data, dict):
            lowered = {(_norm(k)): v for k, v in data.items()}
            data = lowered.get(_norm(p))
        elif isinstance(data, list) and isinstance(p, int) and p < len(data):
            data = data[p]
        else:
            return None
    return data


def _is_union_tag(part: str | int) -> bool:
    # pydantic adds the member's name to the location for unions, e.g. 'function-after[...]'
    # or 'list[str]'; they mean nothing to a user reading the YAML.
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool", "dict"))


def _clean_msg(e: dict) -> str:
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, "):]
    if e["type"] == "missing":
        msg = "required key is missing"
    elif e["type"] == "model_type":  # "… or instance of ClassName" means nothing to a YAML author
        msg = "Input should be a map (key: value pairs)"
    return msg


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _index(doc: SourceDoc, node: yaml.Node, path: tuple, spelled: tuple) -> None:
    """Record positions under ``node``; the walk follows aliases, within the loader's limits."""
    doc._value_pos.setdefault(path, _mark(node))
    if isinstance(node, yaml.MappingNode):
        merged: list[yaml.Node] = []
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                merged.extend(vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode])
                continue
            key = knode.value
            try:
                key = int(key) if knode.tag == "tag:yaml.org,2002:int" else key
            except ValueError:
                pass
            child = path + (_norm(key),)
            doc._key_pos.setdefault(child, _mark(knode))
            doc._spelling.setdefault(child, key)
            _index(doc, vnode, child, spelled + (key,))
        for m in merged:  # merge keys: positions of the merged mapping, under this path
            _index(doc, m, path, spelled)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(doc, item, path + (i,), spelled + (i,))


def _duplicate_problems(file: str, duplicates: list) -> list[Problem]:
    """One problem per key given twice; a mapping reached through several aliases counts once."""
    found: dict[tuple[int, int], Problem] = {}
    for mark, path, key, first in duplicates:
        where = (mark.line + 1, mark.column + 1)
        found.setdefault(where, Problem(file, *where, format_path(path),
                                        f"duplicate key {key!r} (first at line {first.line + 1} "
                                        f"column {first.column + 1})"))
    return [found[k] for k in sorted(found)]


def _short_path(parts: tuple[str | int, ...], keep: int = 8) -> str:
    """A path for a one-line message: deep ones keep their first and last parts."""
    if len(parts) <= 2 * keep:
        return format_path(parts)
    return f"{format_path(parts[:keep])}…{format_path(parts[-keep:])}"


def _limits(file: str) -> Limits:
    try:
        return Limits.from_env()
    except LimitsConfigError as exc:
        raise SpecError([Problem(file, 1, 1, "", f"cannot read file: {exc}")]) from None


def _looks_like_json(text: str, file: str) -> bool:
    return file.lower().endswith(".json") or text.lstrip()[:1] in ("{", "[")


class _NotJson(ValueError):
    """A constant JSON does not have (NaN, Infinity)."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not valid JSON")


def _parse_json(text: str, file: str, limits: Limits) -> tuple[Any, Problem | None]:
    """``(data, None)`` for valid JSON text, ``(None, problem)`` for a syntax error.

    Integers longer than the limit are left as text: the YAML pass that follows refuses them
    with their position.
    """
    def integer(digits: str) -> Any:
        return int(digits) if len(digits) <= limits.max_int_digits else digits

    try:
        return json.loads(text, parse_int=integer, parse_constant=_refuse_constant), None
    except json.JSONDecodeError as exc:
        return None, Problem(file, exc.lineno, exc.colno, "",
                             f"JSON syntax error at line {exc.lineno} column {exc.colno}: {exc.msg}")
    except _NotJson as exc:
        return None, Problem(file, 1, 1, "", f"JSON syntax error: {exc}")
    except RecursionError:
        return None, Problem(file, 1, 1, "", f"nested deeper than {limits.max_depth} levels "
                                             "(the limit is LABFLOWS_MAX_SPEC_DEPTH)")


def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    if isinstance(exc, LimitError):
        return Problem(file, exc.line, exc.col, _short_path(exc.path), exc.message)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and what.startswith("but "):  # the problem alone does not say what is wrong
            what = f"{exc.context}, {what}"
        elif exc.context and what == "second occurrence" and exc.context_mark is not None:
            what = f"{exc.context.split(';')[0]} (first at line {exc.context_mark.line + 1})"
        if "maximum nesting depth" in what:  # libyaml's own bound, beyond ours
            return Problem(file, line, col, "", f"nested deeper than {_limits(file).max_depth} levels "
                                                "(the limit is LABFLOWS_MAX_SPEC_DEPTH)")
        return Problem(file, line, col, "", f"YAML syntax error: {what}")
    return Problem(file, 1, 1, "", f"YAML error: {exc}")


def load_yaml_text(text: str, file: str = "<string>") -> SourceDoc:
    """Parse YAML or JSON text (plain data only) within the :class:`~specs.limits.Limits` and index positions.

    JSON (a ``.json`` file, or text starting with ``{`` or ``[`` that is not valid YAML either)
    gets JSON syntax errors. Raises :class:`SpecError` for syntax errors, exceeded limits and
    keys repeated in a mapping, one located problem each.
    """
    limits = _limits(file)
    if len(text) > limits.max_bytes:
        raise SpecError([Problem(file, 1, 1, "", f"file larger than {limits.max_bytes} bytes "
                                                 "(the limit is LABFLOWS_MAX_SPEC_BYTES)")])
    is_json = _looks_like_json(text, file)
    json_data, json_problem = _parse_json(text, file, limits) if is_json else (None, None)
    if json_problem is not None and file.lower().endswith(".json"):
        raise SpecError([json_problem])
    try:  # YAML also reads JSON: it gives the positions, the limits and the duplicate keys
        node, data, duplicates = compose_and_construct(text, limits)
    except LimitError as exc:
        raise SpecError([_yaml_problem(exc, file)]) from None
    except yaml.YAMLError as exc:
        if json_problem is not None or not is_json:
            raise SpecError([json_problem or _yaml_problem(exc, file)]) from None
        node, data, duplicates = None, json_data, []  # valid JSON that YAML cannot read: no positions
    if is_json and json_problem is None:
        data = json_data  # JSON's own meaning of values (1e5 is a number, not a string)
    if duplicates:
        raise SpecError(_duplicate_problems(file, duplicates))
    doc = SourceDoc(file, data, text)
    if node is not None:
        _index(doc, node, (), ())
    return doc


def load_yaml_file(path: str | Path) -> SourceDoc:
    """Read and parse a YAML (or JSON) file; unreadable and oversized files become :class:`SpecError`.

    At most ``max_bytes + 1`` bytes are read, so a huge file costs no memory.
    """
    name = str(path)
    limits = _limits(name)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limits.max_bytes + 1)
        if len(raw) > limits.max_bytes:
            raise SpecError([Problem(name, 1, 1, "", f"file larger than {limits.max_bytes} bytes "
                                                     "(the limit is LABFLOWS_MAX_SPEC_BYTES)")])
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError([Problem(name, 1, 1, "", f"cannot read file: {reason}")]) from None
    return load_yaml_text(text, name)
