"""A configured Prefect API that does not answer: one line naming the setting, where it is set and the
fix; exit code 2, nothing run (the CLI in a subprocess, as users run it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dead_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/api"


def _run_hello(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base.update({"PREFECT_HOME": str(tmp_path / "prefect-home"), "LABFLOWS_HOME": str(tmp_path / "labflows-home"),
                 **env})
    return subprocess.run([sys.executable, "-m", "flows.run", "workflow", "examples/hello/workflow.yaml",
                           "--job", "examples/hello/job.json", "--storage", str(tmp_path / "storage")],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


def test_an_api_url_from_the_environment_that_does_not_answer_is_one_line(tmp_path):
    url = _dead_url()
    done = _run_hello(tmp_path, PREFECT_API_URL=url)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines() == [
        f"error: the environment variable PREFECT_API_URL points to {url}, which does not answer: start that "
        "server (prefect server start) or run `unset PREFECT_API_URL` so that labflows starts its own"]
    assert not (tmp_path / "storage").exists()


def test_an_api_url_from_the_prefect_profile_names_the_profile_and_its_file(tmp_path):
    url = _dead_url()
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text(f'active = "lab"\n\n[profiles.lab]\nPREFECT_API_URL = "{url}"\n')
    done = _run_hello(tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"error: PREFECT_API_URL in Prefect profile 'lab' ({home / 'profiles.toml'}) "
                               f"points to {url}, which does not answer")
    assert lines[0].endswith("run `prefect config unset PREFECT_API_URL` so that labflows starts its own")
