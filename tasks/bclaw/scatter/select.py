"""``@file`` and ``@file:JSONPATH`` scatter sources: one item per line, or values picked from a parsed file.

With a selector the file is parsed by its extension (``.json``, ``.yaml``/``.yml``, ``.jsonl``/``.ndjson``,
``.csv``, ``.tsv``/``.tab`` as rows of ``{column: value}``, anything else as a list of lines) and the
JSONPath selector (standard syntax, ``jsonpath_ng``) picks the items: every match is one item,
so ``$.samples[*]`` scatters over a list. A selector that matches nothing is an error, as in
BayerCLAW. Items become text: lists and dicts as JSON, everything else with ``str()``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable

import yaml
from jsonpath_ng.exceptions import JSONPathError
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


def select(data: Any, selector: str, name: str = "file") -> list[str]:
    """The items ``selector`` picks from ``data``, as text (see the module docstring)."""
    try:
        expr = parse_jsonpath(selector)
    except JSONPathError as exc:
        raise FileSelectError(f"{name}: invalid JSONPath {selector!r}: {exc}") from None
    matches = expr.find(data)
    if not matches:
        raise FileSelectError(f"{name}: selector {selector!r} matched nothing")
    return [stringify(m.value) for m in matches]


def file_items(name: str, text: str, selector: str | None) -> list[str]:
    """Scatter items of a file: its non-empty lines, or what ``selector`` picks from it."""
    if selector is None:
        return _lines(text)
    return select(parse_file(name, text), selector, name)
