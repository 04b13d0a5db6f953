"""labflows: specs."""
