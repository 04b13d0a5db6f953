"""labflows: specs.workflow.model."""
