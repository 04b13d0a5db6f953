"""Include/exclude filters on relative paths (archive members, dataset resources).

Patterns are shell-style (:func:`fnmatch.fnmatchcase`, case-sensitive) and match the whole
relative path, and ``*`` also matches ``/``. So ``*.txt`` matches at any depth, ``test.txt``
only at the top level, and ``dir1/*.txt`` only below ``dir1``. With include patterns a path must
match at least one; a path matching any exclude pattern is dropped (exclude beats include).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Callable, Iterable, Sequence, TypeVar

__all__ = ["filter_items", "is_selected"]

T = TypeVar("T")


def is_selected(path: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether ``path`` passes the include and exclude patterns."""
    if include and not any(fnmatchcase(path, p) for p in include):
        return False
    return not any(fnmatchcase(path, p) for p in exclude)


def filter_items(items: Iterable[T], include: Sequence[str], exclude: Sequence[str],
                 key: Callable[[T], str] = str) -> list[T]:
    """The items whose ``key`` (default: ``str(item)``) passes the patterns, in order."""
    return [item for item in items if is_selected(key(item), include, exclude)]
