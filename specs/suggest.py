"""Close-match suggestions for unknown keys: ``comands`` -> did you mean 'commands'?"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any, get_args

from pydantic import BaseModel

_CUTOFF = 0.75  # difflib ratio: one or two letters swapped, dropped or added in a word of 6+


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word`` (case-insensitively), if one is close enough."""
    by_lower = {c.lower(): c for c in candidates if c != word}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=_CUTOFF)
    return by_lower[match[0]] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for a close candidate, else an empty string."""
    match = closest(word, candidates)
    return f" (did you mean {match!r}?)" if match else ""


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    """Every key a model accepts (field names and aliases) -> the field's annotation."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        for key in (name, info.alias, info.validation_alias if isinstance(info.validation_alias, str) else None):
            if key:
                out[key] = info.annotation
    return out


def keys_at(model: type[BaseModel], loc: Sequence[Any]) -> set[str]:
    """The keys the models at ``loc`` (a pydantic error location, without the key itself) accept."""
    current = [model]
    for part in loc:
        step = [m for c in current for key, ann in _keys(c).items() if key == part for m in _models_in(ann)]
        if step or any(part in _keys(c) for c in current):
            current = step
        # list indexes, dict keys and union tags keep the candidates
    return {key for c in current for key in _keys(c)}
