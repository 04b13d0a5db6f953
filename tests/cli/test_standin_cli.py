"""The stand-in's command as the B-Fabric tour uses it: a free port when the default is taken,
and a configuration line that can be pasted as printed."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from contextlib import contextmanager

from bfabric import Bfabric

from flows.cli.standin import DEFAULT_PORT
from tests.support.paths import EXAMPLES, REPO_ROOT


@contextmanager
def _standin(*args: str):
    proc = subprocess.Popen([sys.executable, "-m", "flows.run", "bfabric-standin", *args], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        while not lines or lines[-1] != "Ctrl-C to stop.":
            line = proc.stdout.readline()
            assert line, f"the stand-in exited early: {proc.stderr.read()}"
            lines.append(line.rstrip("\n"))
        yield lines
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@contextmanager
def _occupied(port: int):
    """Hold ``port`` on 127.0.0.1 (if nobody else does already)."""
    sock = socket.socket()
    try:
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            pass  # taken by someone else: just as good
        yield
    finally:
        sock.close()


def test_default_port_taken_picks_a_free_one_and_the_printed_export_works(monkeypatch):
    with _occupied(DEFAULT_PORT), _standin("--seed", str(EXAMPLES / "bfabric" / "seed.yaml")) as lines:
        assert lines[0] == f"port {DEFAULT_PORT} is taken; using {lines[1].rsplit(':', 1)[1].split('/')[0]}"
        export = next(x for x in lines if x.startswith("export BFABRICPY_CONFIG_OVERRIDE="))
        value = export.split("=", 1)[1]
        assert value.startswith("'") and value.endswith("'")
        monkeypatch.setenv("BFABRICPY_CONFIG_OVERRIDE", value[1:-1])
        monkeypatch.delenv("BFABRICPY_CONFIG_ENV", raising=False)
        client = Bfabric.connect()
        assert str(DEFAULT_PORT) not in client.config.base_url
        assert client.read("workunit", {"id": 1})[0]["status"].lower() == "pending"


def test_an_explicit_port_that_is_taken_says_so_in_one_line():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "flows.run", "bfabric-standin", "--port", str(port)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: cannot listen on port {port}: Address already in use (--port 0 picks a free port)"]
