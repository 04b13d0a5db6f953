"""Size limits for reading spec and job files, so that no file can hang or exhaust the machine.

Every YAML or JSON file labflows reads (workflows, B-Fabric app/inputs/outputs/chunks files,
job files) is refused with one located line when it exceeds one of these limits. Each can be
raised (or lowered) with an environment variable:

=============================  ==========  =====================================================
variable                       default     what it bounds
=============================  ==========  =====================================================
``LABFLOWS_MAX_SPEC_BYTES``    2097152     file size in bytes (2 MiB)
``LABFLOWS_MAX_SPEC_ITEMS``    50000       values in the document, counting every alias
                                           expansion (a "billion laughs" file is refused early)
``LABFLOWS_MAX_SPEC_DEPTH``    100         nesting depth of lists and maps
``LABFLOWS_MAX_INT_DIGITS``    100         digits of an integer (at most Python's own limit,
                                           ``sys.get_int_max_str_digits()``, 4300 by default)
=============================  ==========  =====================================================

A variable set to anything but a positive integer makes every file fail to load, with one line
naming the variable.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields

ENV_VARS = {
    "max_bytes": "LABFLOWS_MAX_SPEC_BYTES",
    "max_items": "LABFLOWS_MAX_SPEC_ITEMS",
    "max_depth": "LABFLOWS_MAX_SPEC_DEPTH",
    "max_int_digits": "LABFLOWS_MAX_INT_DIGITS",
}


class LimitsConfigError(ValueError):
    """An environment variable holds no positive integer."""


@dataclass(frozen=True)
class Limits:
    """The bounds applied while loading one file."""

    max_bytes: int = 2 * 1024 * 1024
    max_items: int = 50_000
    max_depth: int = 100
    max_int_digits: int = 100

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Limits":
        """The defaults, overridden by the ``LABFLOWS_MAX_*`` variables that are set.

        Raises:
            LimitsConfigError: a variable is set to something other than a positive integer.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = environ.get(ENV_VARS[f.name], "").strip()
            if not raw:
                continue
            if not raw.isdigit() or int(raw) < 1:
                raise LimitsConfigError(f"{ENV_VARS[f.name]}={raw!r} must be a positive integer")
            values[f.name] = int(raw)
        python_limit = sys.get_int_max_str_digits()
        if python_limit and values.get("max_int_digits", 0) > python_limit:
            raise LimitsConfigError(f"{ENV_VARS['max_int_digits']}={values['max_int_digits']} is above "
                                    f"Python's limit of {python_limit} digits")
        return cls(**values)
