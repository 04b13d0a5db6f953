"""The file formats labflows reads, as validated models with located errors (no behaviour)."""
