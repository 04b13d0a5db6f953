"""Job-data values that run a command, split, glob or shift the quoting if a shell reads them as code.

In a value, ``CANARY`` stands for the path of a file that exists only if the value ran, and
``MKCANARY`` for an executable that creates it (so a value can run a command without a space).
The ``only_*`` values hold exactly one unsafe character each, so dropping that one character
from a safety check makes a test fail.
"""

from __future__ import annotations

from pathlib import Path

HOSTILE = {
    "spaces": "a  b\tc",
    "star": "*",
    "globs": "?[ab]{c,d}*",
    "backticks": "`touch CANARY`",
    "dollar_paren": "$(touch CANARY)",
    "newline": "x\ntouch CANARY",
    "carriage_return": "x\rtouch CANARY\r",
    "ampersand": "x & touch CANARY",
    "semicolon": "x; touch CANARY",
    "pipe": "x | touch CANARY",
    "find_exec": "nomatch -o -exec touch CANARY {} +",
    "quotes": "it's \"q\" 'r' \\' \\\" end\\",
    "variables": "$HOME ${HOME} $0 $#",
    "heredoc_end": "x\nEOF\ntouch CANARY",
    "comment": "#x it's",
    "tilde": "~",
    "empty": "",
    "assignment": "A=1",
    "arithmetic": "$((1+1))",
    "only_backtick": "`MKCANARY`",
    "only_newline": "x\nMKCANARY",
    "only_carriage_return": "x\r",
    "only_ampersand": "x&MKCANARY",
    "only_semicolon": "x;MKCANARY",
    "only_pipe": "x|MKCANARY",
    "only_redirect": "x>CANARY",
    "only_dollar": "$PWD",
    "only_hash": "#x",
    "only_backslash": "a\\b",
    "only_quote": "it's",
    "only_double_quote": "say\"hi",
    "only_parens": "x(y)",
    "only_tilde": "~/x",
    "only_braces": "{a,b}",
}


def hostile_values(base: Path, prefix: str = "") -> dict[str, str]:
    """:data:`HOSTILE` with canaries under ``base/canaries`` (``<prefix><key>``) and their makers
    under ``base/bin``. Paths under pytest's ``tmp_path`` hold no shell metacharacters."""
    canaries, bin_dir = base / "canaries", base / "bin"
    canaries.mkdir(parents=True, exist_ok=True)
    bin_dir.mkdir(parents=True, exist_ok=True)
    values = {}
    for key, value in HOSTILE.items():
        canary, maker = canaries / f"{prefix}{key}", bin_dir / f"{prefix}{key}"
        maker.write_text(f"#!/bin/sh\ntouch {canary}\n")
        maker.chmod(0o755)
        values[key] = value.replace("MKCANARY", str(maker)).replace("CANARY", str(canary))
    return values
