"""``re.match``/``search``/``fullmatch``/``findall`` for conditions, on a linear-time engine.

Conditions see job data, and Python's backtracking ``re`` can take exponential time on patterns
like ``(a+)+$``. These functions run on RE2 (the ``google-re2`` package), whose matching time
is linear in the text, so no pattern or text can hang a flow. RE2 has no backreferences and no
lookaround; such patterns are refused with an error. Flags from ``re`` (``re.I``, ``re.M``,
``re.S``, ``re.A``) are honoured; ``re.X`` (verbose) is not supported.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import re2

MAX_PROGRAM_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern
_INLINE_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s"}
_IGNORED_FLAGS = re.ASCII | re.UNICODE


class RegexError(ValueError):
    """A pattern RE2 cannot compile, or flags it does not support."""


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, flags: int) -> Any:
    if not isinstance(pattern, str):
        raise RegexError(f"a pattern must be a string, not {type(pattern).__name__}")
    unknown = flags & ~(sum(_INLINE_FLAGS) | _IGNORED_FLAGS)
    if unknown:
        raise RegexError(f"unsupported regular expression flags: {re.RegexFlag(unknown)!r}")
    inline = "".join(letter for flag, letter in _INLINE_FLAGS.items() if flags & flag)
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PROGRAM_MEMORY
    try:
        return re2.compile(f"(?{inline}){pattern}" if inline else pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexError(f"invalid regular expression {pattern!r}: {reason}") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise RegexError(f"can only match strings, not {type(value).__name__}")
    return value


def match(pattern: str, string: str, flags: int = 0) -> Any:
    """Like :func:`re.match`, in linear time."""
    return _compiled(pattern, int(flags)).match(_text(string))


def search(pattern: str, string: str, flags: int = 0) -> Any:
    """Like :func:`re.search`, in linear time."""
    return _compiled(pattern, int(flags)).search(_text(string))


def fullmatch(pattern: str, string: str, flags: int = 0) -> Any:
    """Like :func:`re.fullmatch`, in linear time."""
    return _compiled(pattern, int(flags)).fullmatch(_text(string))


def findall(pattern: str, string: str, flags: int = 0) -> list[Any]:
    """Like :func:`re.findall`, in linear time."""
    return _compiled(pattern, int(flags)).findall(_text(string))
