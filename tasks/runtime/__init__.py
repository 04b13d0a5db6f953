"""labflows: tasks.runtime."""
