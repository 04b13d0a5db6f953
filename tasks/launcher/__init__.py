"""labflows: tasks.launcher.router."""
