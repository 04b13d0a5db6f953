"""labflows: tasks.bfabric.inputs.prepare."""
