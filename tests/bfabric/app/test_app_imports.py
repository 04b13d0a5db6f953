"""Starting an app run imports only what every run needs: polars waits for a dataset input or output."""

from __future__ import annotations

import subprocess
import sys


def test_the_app_flow_and_command_line_load_no_polars():
    code = "import sys, flows.app, flows.cli.app; print('polars' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "False"
