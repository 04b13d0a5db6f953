"""labflows: flows."""
