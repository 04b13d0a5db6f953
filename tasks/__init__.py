"""labflows: tasks."""
