"""The labflows command line: one module per command, wired together by :mod:`flows.cli.main`."""
