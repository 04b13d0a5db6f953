"""labflows: tasks.bclaw."""
