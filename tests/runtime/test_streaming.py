"""run_streaming's timeout: reported as a timeout even when the child exits by itself on SIGTERM."""

from __future__ import annotations

import sys

import pytest

from tasks.runtime.streaming import CommandTimeout, run_streaming

# Exits 143 on SIGTERM, as a container client does when it forwards the signal.
TRAPS_TERM = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(143))\ntime.sleep(60)\n"


def test_a_child_that_exits_on_sigterm_still_times_out(tmp_path):
    with pytest.raises(CommandTimeout, match="timed out after 1 s"):
        run_streaming([sys.executable, "-c", TRAPS_TERM], cwd=tmp_path, timeout_s=1)


def test_a_child_that_finishes_in_time_returns_its_code(tmp_path):
    assert run_streaming([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path, timeout_s=30) == 3
