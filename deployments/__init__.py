"""labflows: deployments."""
