"""labflows: flows.cli."""
