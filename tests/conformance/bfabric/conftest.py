"""Registration cases run against the stand-in with the real client: the fixtures of tests/bfabric/register."""

from tests.bfabric.register.conftest import setup  # noqa: F401
from tests.support.standin import fake_ssh, standin_client, standin_server  # noqa: F401
