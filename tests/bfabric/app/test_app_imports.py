"""The app command's fixed costs: it imports only what every run needs (polars waits for a dataset input or
output), and its process ends without the collector's last passes over the heap."""

from __future__ import annotations

import subprocess
import sys


def test_the_app_flow_and_command_line_load_no_polars():
    code = "import sys, flows.app, flows.cli.app; print('polars' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "False"


def test_the_command_line_freezes_the_heap_at_exit_so_finalization_skips_collecting_it():
    # a handler registered first runs last: it sees what the app command's exit handler did
    code = ("import atexit, gc; atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0)); "
            "from flows.cli.app import skip_last_collection_at_exit; skip_last_collection_at_exit()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "frozen True"
