"""Prefect tasks and the machinery under them, by wing: bclaw, bfabric, launcher, and the shared runtime."""
