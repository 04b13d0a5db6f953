"""Fixtures for the runtime tests: a real podman with a registry-free busybox image."""

from tests.support.podman import podman  # noqa: F401
