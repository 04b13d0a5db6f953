"""run_streaming and terminate_group called directly: lines, log file, exit codes, timeouts and the
whole process tree stopped (the fast tests ``make mutate`` judges streaming's mutants by).

Children are short Python or ``sh`` processes; every wait is bounded by the test's own timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.runtime.streaming import CommandTimeout, run_streaming, terminate_group

# Writes its pid, then sleeps: a child that is still running when something goes wrong.
PID_THEN_SLEEP = "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\nprint('up', flush=True)\ntime.sleep(60)\n"
# Says which signal reached it in a file, then exits 143 (as a container client forwarding SIGTERM).
REPORTS_TERM = ("import signal, sys, time\n"
                "def on(sig, _):\n    open(sys.argv[1], 'w').write(str(sig)); sys.exit(143)\n"
                "signal.signal(signal.SIGTERM, on)\nprint('ready', flush=True)\ntime.sleep(60)\n")
IGNORES_TERM = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)\n"


def gone(pid: int, within_s: float = 10.0) -> bool:
    """Whether process ``pid`` no longer exists (a zombie of ours counts as existing)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def start(script: str, *args: str, new_session: bool = True) -> subprocess.Popen:
    """A Python child that has printed its first line (its signal handlers are in place)."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True,
                            start_new_session=new_session)
    assert proc.stdout is not None and proc.stdout.readline()
    return proc


def test_terminate_group_sends_sigterm_first(tmp_path):
    seen = tmp_path / "signal"
    proc = start(REPORTS_TERM, str(seen))
    terminate_group(proc)
    assert proc.returncode == 143 and seen.read_text() == str(int(signal.SIGTERM))


def test_terminate_group_sends_the_first_signal_it_is_given(tmp_path):
    seen = tmp_path / "signal"
    proc = start(REPORTS_TERM.replace("SIGTERM", "SIGINT"), str(seen))
    terminate_group(proc, first_signal=signal.SIGINT)
    assert proc.returncode == 143 and seen.read_text() == str(int(signal.SIGINT))


def test_terminate_group_kills_what_ignores_sigterm_after_the_grace_period():
    proc = start(IGNORES_TERM)
    terminate_group(proc, grace_s=0.3)
    assert proc.returncode == -signal.SIGKILL


def test_terminate_group_leaves_a_finished_child_alone():
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    terminate_group(proc)
    assert proc.returncode == 0


def test_terminate_group_of_a_child_without_its_own_group_returns_without_raising():
    proc = start(IGNORES_TERM, new_session=False)  # its pid names no process group
    try:
        terminate_group(proc, grace_s=0.1)
        assert proc.poll() is None  # nothing was signalled
    finally:
        proc.kill()
        proc.wait()


def test_lines_are_logged_with_the_prefix_and_appended_to_the_log_file_in_order(tmp_path, caplog):
    log = tmp_path / "cmd.log"
    log.write_text("earlier\n")
    script = "import sys\nprint('out 1', flush=True)\nprint('err 2', file=sys.stderr, flush=True)\nprint('out 3')\n"
    with caplog.at_level("INFO", logger="labflows"):
        code = run_streaming([sys.executable, "-c", script], cwd=tmp_path, log_file=log, prefix="[s] ")
    assert code == 0
    assert [r.getMessage() for r in caplog.records] == ["[s] out 1", "[s] err 2", "[s] out 3"]
    assert log.read_text() == "earlier\nout 1\nerr 2\nout 3\n"


def test_the_child_runs_in_cwd_with_exactly_the_given_environment_and_no_stdin(tmp_path, caplog):
    script = "import os, sys\nprint(os.getcwd(), sorted(k for k in os.environ if k.startswith('LF_')), sys.stdin.read() == '')"
    with caplog.at_level("INFO", logger="labflows"):
        run_streaming([sys.executable, "-c", script], cwd=tmp_path, env={"LF_ONLY": "1", "PATH": os.environ["PATH"]})
    assert [r.getMessage() for r in caplog.records] == [f"{tmp_path} ['LF_ONLY'] True"]


def test_without_a_log_file_nothing_is_written_and_the_exit_code_is_returned(tmp_path):
    assert run_streaming(["sh", "-c", "echo x; exit 9"], cwd=tmp_path) == 9
    assert list(tmp_path.iterdir()) == []


def test_undecodable_output_is_replaced_not_fatal(tmp_path, caplog):
    with caplog.at_level("INFO", logger="labflows"):
        assert run_streaming(["sh", "-c", r"printf 'a\377b\n'"], cwd=tmp_path) == 0
    assert [r.getMessage() for r in caplog.records] == ["a\ufffdb"]


def test_a_timeout_stops_the_whole_process_tree(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    # sh starts a grandchild and waits for it: stopping only sh would leave the grandchild running
    script = f"{sys.executable} -c \"$1\" {pid_file} & wait"
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"^timed out after 1 s: sh -c "):
        run_streaming(["sh", "-c", script, "sh", PID_THEN_SLEEP], cwd=tmp_path, timeout_s=1)
    # a hang guard, not a timing: with only sh stopped, the grandchild holds the output open for 60 s
    assert time.monotonic() - started < 30
    assert gone(int(pid_file.read_text()))


def test_an_error_while_streaming_stops_the_child_and_is_raised(tmp_path):
    pid_file = tmp_path / "child.pid"
    with pytest.raises(OSError):  # /dev/full: no space left on device, at the first line
        run_streaming([sys.executable, "-c", PID_THEN_SLEEP, str(pid_file)], cwd=tmp_path,
                      log_file=Path("/dev/full"), timeout_s=30)
    assert gone(int(pid_file.read_text()))


def test_a_run_without_timeout_is_not_stopped(tmp_path):
    assert run_streaming(["sh", "-c", "sleep 0.3; exit 4"], cwd=tmp_path, timeout_s=None) == 4
    assert run_streaming(["sh", "-c", "exit 5"], cwd=tmp_path, timeout_s=0) == 5


def test_everything_but_the_argv_is_keyword_only(tmp_path):
    """``run_streaming(argv, folder)`` would be ambiguous (cwd or log file?): refused before running."""
    marker = tmp_path / "ran"
    with pytest.raises(TypeError):
        run_streaming(["sh", "-c", f"touch {marker}"], tmp_path)  # type: ignore[misc]
    assert not marker.exists()
