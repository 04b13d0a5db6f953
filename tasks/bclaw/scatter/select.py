"""``@file`` and ``@file:JSONPATH`` scatter sources: one item per line, or values picked from a parsed file.

With a selector the file is parsed by its extension (``.json``, ``.yaml``/``.yml``, ``.jsonl``/``.ndjson``,
``.csv``, ``.tsv``/``.tab`` as rows of ``{column: value}``, anything else as a list of lines) and the
JSONPath selector picks the items: every match is one item, so ``$.samples[*]`` scatters over a list.
A selector that matches nothing is an error, as in BayerCLAW. Items become text: lists and dicts as
JSON, everything else with ``str()``.

The selector dialect is BayerCLAW's (its ``jsonpath`` library, Goessner's original JSONPath): dots
and brackets both just separate steps, so ``$[*.b]``, ``$[*].b`` and ``$.*.b`` are the same; a step
is a key, an index, ``*``, ``..`` (any depth), a slice ``start:end:step``, a union ``a,b``, ``!``
(a mapping's keys) or a filter ``?(…)``. Filters are evaluated by ``jsonpath_ng``'s comparison
language (``?(@.n > 2)``), never as Python as upstream does; script steps ``(…)`` are refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Callable, Iterator

import yaml
from jsonpath_ng.ext import parse as parse_jsonpath

from specs.source import SpecError, load_yaml_text


class FileSelectError(ValueError):
    """A scatter file cannot be parsed or its selector is not valid JSONPath."""


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _jsonl(text: str) -> list[Any]:
    return [json.loads(line) for line in _lines(text)]


def _yaml(text: str) -> Any:
    """YAML read within the spec loader's limits: a step's output may be an alias bomb too."""
    try:
        return load_yaml_text(text, "<yaml>").data
    except SpecError as exc:
        p = exc.problems[0]
        raise ValueError(f"line {p.line} column {p.col}: {p.path + ': ' if p.path else ''}{p.message}") from None


def _rows(delimiter: str) -> Callable[[str], list[dict[str, str]]]:
    return lambda text: list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


_PARSERS: dict[str, Callable[[str], Any]] = {
    "json": json.loads,
    "yaml": _yaml,
    "yml": _yaml,
    "jsonl": _jsonl,
    "ndjson": _jsonl,
    "csv": _rows(","),
    "tsv": _rows("\t"),
    "tab": _rows("\t"),
}


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"@path:$[*].x"`` → ``("path", "$[*].x")``; ``"@path"`` → ``("path", None)``.

    The selector starts at the first ``:$`` (so ``s3://…`` paths keep their colon).
    """
    body = spec[1:] if spec.startswith("@") else spec
    cut = body.find(":$")
    if cut < 0:
        return body, None
    return body[:cut], body[cut + 1:]


def parse_file(name: str, text: str) -> Any:
    """The file's content as data, by extension (plain lines for unknown extensions)."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    parser = _PARSERS.get(ext, _lines)
    try:
        return parser(text)
    except (ValueError, yaml.YAMLError, csv.Error) as exc:
        raise FileSelectError(f"{name}: cannot parse as {ext or 'lines'}: {exc}") from None


def stringify(item: Any) -> str:
    """An item as scatter text: JSON for lists and dicts, ``str()`` otherwise."""
    return json.dumps(item) if isinstance(item, (dict, list)) else str(item)


_BRACKETED = re.compile(r"[\['](\??\(.*?\))[\]']")  # [(script)] and [?(filter)], kept whole
_SEPARATOR = re.compile(r"'?(?<!@)\.'?|\['?")
_SLICE = re.compile(r"(-?\d*):(-?\d*):?(-?\d*)")


def selector_steps(selector: str) -> list[str]:
    """A BayerCLAW selector as its steps: ``"$[*.b]"`` → ``["*", "b"]``, ``"$..id"`` → ``["..", "id"]``.

    Raises:
        FileSelectError: the selector does not start at ``$`` or its brackets do not pair up
            (upstream silently matches nothing there; the error says why).
    """
    if not selector.startswith("$") or selector.count("[") != selector.count("]"):
        raise FileSelectError(f"invalid JSONPath {selector!r}: it must start with $ and close every [")
    kept: list[str] = []

    def keep(m: re.Match) -> str:
        kept.append(m.group(1))
        return f"[#{len(kept) - 1}]"

    text = _BRACKETED.sub(keep, selector)
    text = _SEPARATOR.sub(";", text)
    text = re.sub(r";;;|;;", ";..;", text)
    text = re.sub(r";$|'?\]|'$", "", text)
    text = re.sub(r"#(\d+)", lambda m: kept[int(m.group(1))], text)
    if text.startswith("$;"):
        text = text[2:]
    return text.split(";") if text else []


def _children(obj: Any) -> list:
    """The keys (or indexes) of a mapping or list; nothing for a scalar."""
    if isinstance(obj, list):
        return list(range(len(obj)))
    return list(obj) if isinstance(obj, dict) else []


def _child(obj: Any, key: Any) -> tuple[bool, Any]:
    """``(True, obj[key])`` when ``key`` names a member of ``obj`` (indexes may be text)."""
    if isinstance(obj, dict) and key in obj:
        return True, obj[key]
    if isinstance(obj, list) and str(key).isdigit() and int(key) < len(obj):
        return True, obj[int(key)]
    return False, None


def _slice_indexes(m: re.Match, length: int) -> range:
    """Upstream's slice: bounds clamped into ``[0, length]`` (negative ones count from the end),
    then ``range(start, end, step)``, so a negative step selects nothing; step 0 nothing either."""
    start, end, step = (int(g) if g else default for g, default in zip(m.groups(), (0, length, 1)))
    start = max(0, start + length) if start < 0 else min(length, start)
    end = max(0, end + length) if end < 0 else min(length, end)
    return range(start, end, step) if step else range(0)


def _passes(condition: str, item: Any) -> bool:
    """Whether ``item`` passes the filter ``?(condition)`` (``jsonpath_ng``'s comparisons)."""
    try:
        return bool(parse_jsonpath(f"$[?({condition})]").find([item]))
    except Exception:  # jsonpath_ng raises JSONPathError, and plain Exception for some bad filters
        raise FileSelectError(f"invalid JSONPath filter ?({condition})") from None


def _trace(steps: list[str], obj: Any) -> Iterator[Any]:
    """The values ``steps`` reach from ``obj``, in document order (Goessner's algorithm)."""
    if not steps:
        yield obj
        return
    step, rest = steps[0], steps[1:]
    found, value = _child(obj, step)
    if step == "*":
        for key in _children(obj):
            yield from _trace([str(key), *rest], obj)
    elif step == "..":
        yield from _trace(rest, obj)
        for key in _children(obj):
            yield from _trace(["..", *rest], _child(obj, key)[1])
    elif step == "!":
        if isinstance(obj, dict):
            for key in obj:
                yield from _trace(rest, key)
    elif found:
        yield from _trace(rest, value)
    elif step.startswith("?(") and step.endswith(")"):
        for key in _children(obj):
            if _passes(step[2:-1], _child(obj, key)[1]):
                yield from _trace([str(key), *rest], obj)
    elif step.startswith("(") and step.endswith(")"):
        raise FileSelectError(f"script expression {step} is not supported (it would run as code)")
    elif (m := _SLICE.fullmatch(step)) and isinstance(obj, (dict, list)):
        for i in _slice_indexes(m, len(obj)):
            yield from _trace([str(i), *rest], obj)
    elif "," in step:
        for piece in re.split(r"'?,'?", step):
            yield from _trace([piece, *rest], obj)


def select(data: Any, selector: str, name: str = "file") -> list[str]:
    """The items ``selector`` picks from ``data``, as text (see the module docstring)."""
    try:
        steps = selector_steps(selector)
        values = list(_trace(steps, data)) if data else []
    except FileSelectError as exc:
        raise FileSelectError(f"{name}: {exc}") from None
    except RecursionError:
        raise FileSelectError(f"{name}: data nested too deeply for selector {selector!r}") from None
    if not values:
        raise FileSelectError(f"{name}: selector {selector!r} matched nothing")
    return [stringify(v) for v in values]


def file_items(name: str, text: str, selector: str | None) -> list[str]:
    """Scatter items of a file: its non-empty lines, or what ``selector`` picks from it."""
    if selector is None:
        return _lines(text)
    return select(parse_file(name, text), selector, name)
