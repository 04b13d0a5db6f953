"""labflows: tasks.bclaw.scatter."""
