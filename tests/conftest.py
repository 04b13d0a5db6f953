"""Test session set-up shared by every test folder.

Prefect state goes to a temporary PREFECT_HOME (set before prefect is imported anywhere), and
flows run against one temporary Prefect server per test session (``prefect_harness`` fixture).
"""

import os
import tempfile

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="labflows-test-prefect-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_UI_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")
os.environ.pop("PREFECT_API_URL", None)
# CLI subprocesses without PREFECT_API_URL use Prefect's temporary server, not a detached local one
# that would outlive the test (flows.cli.local_server); tests/cli/test_server.py undoes this
os.environ["LABFLOWS_EPHEMERAL"] = "1"

import pytest  # noqa: E402

# a skip that is not on tests/support/skip_pin.py's allow-list fails the run
from tests.support.skip_pin import (  # noqa: E402,F401
    pytest_collectreport,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
)
# the longest modules start first (tests/support/slow_first.py)
from tests.support.slow_first import pytest_collection_modifyitems, pytest_configure  # noqa: E402,F401


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole test session; request it to run flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def moto_endpoint():
    """``http://127.0.0.1:PORT`` of one moto S3 server (standalone, over HTTP) for the session."""
    import logging
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def harness_env(prefect_harness) -> dict[str, str]:
    """Environment for a CLI subprocess that uses the session's Prefect server (no server start of its own)."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
