"""Prefect tasks and plain helpers that talk to B-Fabric: client construction, output registration, app steps."""
