"""labflows: tests.support."""
