"""A flow run's name: kept when the run was created with one, made from its parameters otherwise.

``prefect deployment run … --flow-run-name plate7`` (or the UI's "Run name") names the run at its
creation; without one the server makes up a placeholder from coolname's word lists (``analytic-quail``),
as the engine does for a local run. A flow's ``flow_run_name`` function replaces the placeholder
with a name from its parameters and keeps a name somebody gave.
"""

from __future__ import annotations

import functools
from importlib import resources

from prefect.runtime import flow_run


@functools.cache
def _placeholder_words() -> frozenset[str]:
    """Every single word of coolname's lists, which Prefect's ``generate_slug`` draws from."""
    words: set[str] = set()
    for entry in resources.files("coolname").joinpath("data").iterdir():
        if entry.name.endswith(".txt"):
            for line in entry.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#") and "=" not in line and " " not in line:
                    words.add(line)
    return frozenset(words)


def is_placeholder(name: str) -> bool:
    """True for a name Prefect made up: two words of coolname's lists joined by ``-``.

    Example:
        >>> is_placeholder("analytic-quail"), is_placeholder("plate7"), is_placeholder("qc:job")
        (True, False, False)
    """
    words = name.split("-")
    return len(words) == 2 and all(word in _placeholder_words() for word in words)


def given_name() -> str | None:
    """The name the current flow run was created with, or None when Prefect made it up."""
    name = flow_run.get_name()
    return name if name and not is_placeholder(name) else None
