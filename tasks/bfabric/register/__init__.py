"""labflows: tasks.bfabric.register.outputs."""
