"""Scatter-gather on Prefect ``.map()``: expanding items, running branches in batches, gathering."""
