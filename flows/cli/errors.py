"""Errors every command module may raise; :mod:`flows.cli.main` turns them into exit codes.

A leaf module, so command modules never import the entry point back.
"""


class UsageError(Exception):
    """Bad input that is not a spec file problem (a missing file, a bad --param): exit 2."""


def print_failure(message: str) -> int:
    """End a command that failed for an expected reason (B-Fabric said no, a transfer failed) the way
    ``workflow`` and ``app`` end: one ``ERROR …`` line on stderr, no traceback.

    Returns:
        The exit code of such a failure, 1.
    """
    import sys

    print(f"ERROR {message}", file=sys.stderr, flush=True)
    return 1
