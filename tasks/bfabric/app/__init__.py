"""labflows: tasks.bfabric.app."""
