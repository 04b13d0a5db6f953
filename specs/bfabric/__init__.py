"""labflows: specs.bfabric."""
