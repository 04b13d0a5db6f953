"""Expanding a scatter step's ``scatter:`` map into branch items, as BayerCLAW's scatter Lambda does.

Each value becomes a list:

1. a list is used as it is;
2. ``${job.X}`` (or ``parent.X``, ``scatter.X``; JMESPath) — a list result is scattered over, a
   string result is spliced into the text and expanded again, anything else is an error;
3. ``@path`` — one item per line; ``@path:JSONPATH`` — items picked from the parsed file
   (:mod:`tasks.bclaw.scatter.select`); ``path`` is relative to the repository unless a full URI;
4. a glob (``*``, ``?``, ``[``) — the repository URIs it matches;
5. anything else — one item, that file's URI.

Several keys give their Cartesian product, first key slowest. Items pass through ``items.csv``,
so a branch sees every scatter value as text.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from blocks.repository import Repository, has_glob, join_uri
from tasks.bclaw.containment import rendered_problem
from tasks.bclaw.scatter.select import FileSelectError, file_items, split_spec
from tasks.bclaw.staging import is_full_uri

_JOB_REF = re.compile(r"\$\{((?:job|parent|scatter)\..+?)\}")
MAX_EXPANSIONS = 20  # a string that keeps expanding to another reference is a loop


class ScatterError(ValueError):
    """A scatter value cannot be expanded; the message names the key."""


def qualify(value: str, repo_uri: str) -> str:
    """A repository-relative name as a full URI (full URIs stay as they are)."""
    return value if is_full_uri(value) else join_uri(repo_uri, value)


def _lookup(expr: str, job_data: dict) -> Any:
    try:
        return jmespath.search(expr, job_data)
    except (JMESPathError, TypeError, ValueError):
        return None


def expand_value(key: str, value: str | list, repo: Repository, repo_uri: str, job_data: dict) -> list:
    """One scatter value as its list of items (see the module docstring); a file or glob that job
    data moved outside the repository's root is a :class:`ScatterError`."""
    template = value
    for _ in range(MAX_EXPANSIONS):
        if isinstance(value, list):
            return value
        ref = _JOB_REF.search(value)
        if ref:
            field = ref.group(1)
            found = _lookup(field, job_data)
            if found is None:
                raise ScatterError(f"key={key!r}: {field} not found")
            if isinstance(found, list):
                value = found
            elif isinstance(found, str):
                value = value[:ref.start()] + found + value[ref.end():]
            else:
                raise ScatterError(f"key={key!r}: {field} is not a list or string")
        elif value.startswith("@"):
            path, selector = split_spec(value)
            uri = qualify(_checked(key, template, path), repo_uri)
            try:
                return file_items(uri, repo.read_text(uri), selector)
            except FileNotFoundError:
                raise ScatterError(f"key={key!r}: no file {uri}") from None
            except FileSelectError as exc:
                raise ScatterError(f"key={key!r}: {exc}") from None
        elif has_glob(value):
            return repo.glob(qualify(_checked(key, template, value), repo_uri))
        else:
            return [qualify(_checked(key, template, value), repo_uri)]
    raise ScatterError(f"key={key!r}: job data references expand to more references {MAX_EXPANSIONS} times")


def _checked(key: str, template: Any, path: str) -> str:
    """``path`` when it stays inside its root (job data may have supplied it); else a ScatterError."""
    problem = rendered_problem("read", template if isinstance(template, str) else "", path)
    if problem:
        raise ScatterError(f"key={key!r}: {problem}: {path!r}")
    return path


def expand_scatter(scatter: dict[str, str | list], repo: Repository, repo_uri: str,
                   job_data: dict) -> dict[str, list]:
    """Every key's list of items, in the order of ``scatter``."""
    return {key: expand_value(key, value, repo, repo_uri, job_data) for key, value in scatter.items()}


def as_text(value: Any) -> str:
    """A scatter value as ``items.csv`` carries it: ``str()``, and None as an empty string."""
    return "" if value is None else str(value)


def scatter_items(expanded: dict[str, list]) -> list[dict[str, str]]:
    """The Cartesian product of the expanded lists (first key slowest), values as text."""
    keys = list(expanded)
    return [{k: as_text(v) for k, v in zip(keys, combo)} for combo in itertools.product(*expanded.values())]


def items_csv(keys: list[str], items: list[dict[str, str]]) -> str:
    """``items.csv``: a header of the scatter keys and one quoted row per branch."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keys, dialect="unix")
    writer.writeheader()
    writer.writerows(items)
    return out.getvalue()
