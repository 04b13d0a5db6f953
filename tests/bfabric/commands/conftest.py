"""Executables that record how they were called (stand-ins for docker, podman and app programs)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

RECORDER = """#!{python}
import json, os, sys
with open({record!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ)}}) + "\\n")
print("recorded", " ".join(sys.argv[1:]))
sys.exit({exit_code})
"""


class Recorder:
    """Creates recording executables in ``bin_dir`` and reads back their calls."""

    def __init__(self, root: Path):
        self.bin_dir = root / "bin"
        self.bin_dir.mkdir()
        self.record = root / "calls.jsonl"

    def make(self, name: str, exit_code: int = 0, directory: Path | None = None) -> Path:
        """An executable ``name`` that records its argv, cwd and environment, then exits."""
        path = (directory or self.bin_dir) / name
        path.write_text(RECORDER.format(python=sys.executable, record=str(self.record), exit_code=exit_code))
        path.chmod(0o755)
        return path

    def calls(self) -> list[dict]:
        """Every recorded call, oldest first."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def recorder(tmp_path) -> Recorder:
    return Recorder(tmp_path)


@pytest.fixture
def recorder_on_path(monkeypatch, recorder) -> Recorder:
    """The recorder, with its bin dir first on PATH."""
    monkeypatch.setenv("PATH", f"{recorder.bin_dir}:{os.environ.get('PATH', '')}")
    return recorder
