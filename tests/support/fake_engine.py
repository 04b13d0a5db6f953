"""A stand-in container engine on PATH: records every call, and ``run`` obeys its last two words.

For tests of what labflows asks an engine to do (the ``run`` argv, ``kill``/``rm -f`` after a
timeout, ``login``) without a container: ``ENGINE run … IMAGE exit N`` exits N, ``… sleep S``
sleeps S seconds, ``… say WORD`` prints WORD; ``kill`` fails as on a container that is already
gone (the engine client took it along); ``rm`` and ``login`` exit 0.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

SCRIPT = """#!{python}
import json, sys, time
with open({record!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1] == "run":
    verb, word = sys.argv[-2:]
    if verb == "exit":
        sys.exit(int(word))
    if verb == "sleep":
        time.sleep(float(word))
    if verb == "say":
        print(word, flush=True)
if sys.argv[1] == "kill":
    sys.exit("Error: no container with name or ID " + sys.argv[2] + " found: no such container")
"""


def install_fake_engine(folder: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put an executable ``name`` first on PATH (in ``folder``); returns the file its calls go to."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / f"{name}-calls.jsonl"
    engine = folder / name
    engine.write_text(SCRIPT.format(python=sys.executable, record=str(record)))
    engine.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    return record


def engine_calls(record: Path) -> list[list[str]]:
    """The argv (without the program) of every call so far, in order."""
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
