"""Large files show their bytes while they move: a step's input download and output upload through
a local repository, and a B-Fabric input fetched over HTTP, above a low test threshold."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flows.cli.progress_view import LiveProgress, PlainProgress
from tasks.runtime.progress import listening
from tasks.runtime.transfers import THRESHOLD_ENV, transfer_reporter
from tests.support.cli import run_cli

MiB = 1 << 20

WORKFLOW = """\
Repository: s3://bench/big
Steps:
  - copy:
      inputs:
        data: in.bin
        note: small.txt
      commands:
        - cp in.bin out.bin
      outputs:
        out: out.bin
"""


def test_a_large_input_and_output_show_their_bytes_a_small_file_does_not(tmp_path, harness_env):
    repo = tmp_path / "st" / "bench" / "big"
    repo.mkdir(parents=True)
    (repo / "in.bin").write_bytes(b"x" * (20 * MiB))  # 8 MiB copy chunks: 0, 8, 16, 20 MiB
    (repo / "small.txt").write_text("below the threshold\n")
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    (tmp_path / "job.json").write_text(json.dumps({}))
    done = run_cli("workflow", "wf.yaml", "--job", "job.json", "--storage", "st", cwd=tmp_path,
                   env={**harness_env, THRESHOLD_ENV: str(MiB)})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    downloads = [line for line in lines if line.startswith("download in.bin: ")]
    assert downloads[0] == "download in.bin: 0.0/20.0 MiB", lines
    assert any(line.startswith("download in.bin: 8.0/20.0 MiB") for line in downloads), lines  # while it moves
    assert downloads[-1].startswith("download in.bin: done in ") and downloads[-1].endswith(", 20.0/20.0 MiB")
    assert any(line.startswith("upload out.bin: done in ") for line in lines), lines
    assert not [line for line in lines if "small.txt" in line]  # below the threshold: no lines
    assert (repo / "out.bin").stat().st_size == 20 * MiB


class _BigFile(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", str(3 * MiB))
        self.end_headers()
        for _ in range(3):
            self.wfile.write(b"y" * MiB)

    def log_message(self, *args) -> None:
        pass


def test_a_large_bfabric_http_input_shows_its_bytes(tmp_path, monkeypatch):
    """The fetch itself (real HTTP, real files); the view is the command line's plain one."""
    from tasks.bfabric.inputs.fetch import _fetch_http
    from tasks.bfabric.inputs.resolved import HttpSource

    monkeypatch.setenv(THRESHOLD_ENV, str(MiB))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BigFile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = io.StringIO()
    try:
        with listening(PlainProgress(out)):
            _fetch_http(HttpSource(url=f"http://127.0.0.1:{server.server_port}/big.raw"),
                        tmp_path / "big.raw.part", None)
    finally:
        server.shutdown()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("download big.raw: 1.0/3.0 MiB"), lines
    assert lines[-1].startswith("download big.raw: done in ") and lines[-1].endswith(", 3.0/3.0 MiB")
    assert (tmp_path / "big.raw.part").stat().st_size == 3 * MiB


def test_the_live_table_shows_a_transfer_row_with_its_mib():
    view = LiveProgress(io.StringIO())
    tell = transfer_reporter("upload", "reads.bam")
    with listening(view):
        tell(0, 200 * MiB)
        tell(50 * MiB, 200 * MiB)
    from rich.console import Console

    console = Console(file=io.StringIO(), width=140)
    console.print(view)
    text = console.file.getvalue()
    assert "upload reads.bam" in text and "50.0/200.0 MiB" in text and "running" in text
