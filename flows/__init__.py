"""labflows flows: run-workflow, run-app, the launcher; the command line lives in :mod:`flows.cli`."""
