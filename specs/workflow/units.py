"""Memory sizes and durations as BayerCLAW workflows write them.

* memory: a number means MiB (``10`` → 10); a string has a unit and is read like
  ``humanfriendly.parse_size(..., binary=True)`` (``"1 Gb"`` and ``"1G"`` → 1024, ``"9.1M"`` → 10).
  Results are rounded up and never below 4 MiB (the AWS Batch minimum).
* durations: ``"3s"``, ``"20 m"``, ``"1w"`` (units s m h d w); a bare number means seconds.
* timeouts: durations of at least 60 s (``"10 s"`` → 60).
"""

from __future__ import annotations

import math
import re

MIN_MEMORY_MIB = 4
MIN_TIMEOUT_S = 60

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")
# humanfriendly matches a unit by its first letter (k, m, g, …) and, with binary=True,
# gives every unit its power-of-1024 meaning ("1 GB" is one GiB).
_SIZE_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}

_DURATION = re.compile(r"^\s*(\d+)\s?([smhdw])\s*$")
_BARE_NUMBER = re.compile(r"^\s*(\d+)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_memory_mib(value: int | float | str) -> int:
    """Memory in MiB from a workflow's ``compute.memory`` (a number of MiB or a size string).

    A string without a unit (``"2048"``, e.g. from a ``${param}``) also means MiB.
    Raises ValueError for anything else.
    """
    if _is_number(value):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"memory must be a positive size, not {value!r}")
        return max(MIN_MEMORY_MIB, math.ceil(value))
    if not isinstance(value, str):
        raise ValueError(f"memory must be a number (MiB) or a size like \"4 Gb\", not {value!r}")
    m = _SIZE.match(value)
    if not m:
        raise ValueError(f"memory must look like \"4 Gb\" or \"512M\", not {value!r}")
    number, unit = float(m.group(1)), m.group(2).lower()
    if not unit:
        mib = number
    elif unit[0] == "b":
        mib = number / 1024**2
    elif unit[0] in _SIZE_POWERS:
        mib = number * 1024 ** (_SIZE_POWERS[unit[0]] - 2)
    else:
        raise ValueError(f"unknown memory unit {m.group(2)!r} in {value!r} (use b, K, M, G, T)")
    if mib <= 0:
        raise ValueError(f"memory must be a positive size, not {value!r}")
    # round away float noise before ceil ("9.1M" is 9.1 MiB, not 9.100000000000001)
    return max(MIN_MEMORY_MIB, math.ceil(round(mib, 6)))


def parse_duration_s(value: int | str) -> int:
    """Seconds from a duration such as ``"3s"``, ``"20 m"``, ``"1w"`` or a bare number of seconds.

    Raises ValueError (``must look like "3s" …``) for anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value}")
        return value
    if isinstance(value, str):
        if m := _DURATION.match(value):
            return int(m.group(1)) * _SECONDS[m.group(2)]
        if m := _BARE_NUMBER.match(value):
            return int(m.group(1))
    raise ValueError(f'must look like "3s": a whole number and a unit s, m, h, d or w, not {value!r}')


def parse_timeout_s(value: int | str) -> int:
    """A timeout in seconds: a duration (see :func:`parse_duration_s`) raised to at least 60 s."""
    return max(MIN_TIMEOUT_S, parse_duration_s(value))
