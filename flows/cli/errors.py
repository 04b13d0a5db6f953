"""Errors every command module may raise; :mod:`flows.cli.main` turns them into exit codes.

A leaf module, so command modules never import the entry point back.
"""


class UsageError(Exception):
    """Bad input that is not a spec file problem (a missing file, a bad --param): exit 2."""
