"""Fixtures: a seeded stand-in on a free port, a real bfabric client for it, fake ssh/scp."""

from tests.support.standin import fake_ssh, standin_client, standin_server  # noqa: F401
