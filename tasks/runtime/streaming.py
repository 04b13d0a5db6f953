"""Run a child process and stream its output, line by line, into the Prefect run log."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Mapping, Sequence

from tasks.runtime.logs import run_logger


class CommandTimeout(TimeoutError):
    """A command ran longer than its timeout and was stopped."""


def run_streaming(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    log_file: Path | None = None,
    prefix: str = "",
    timeout_s: float | None = None,
) -> int:
    """Run ``argv`` (no shell), log each output line as it arrives, return the exit code.

    stdout and stderr are merged so the log keeps their order; every line also goes to
    ``log_file`` when given. The child gets its own process group so a timeout or cancel
    can stop the whole tree (see :func:`terminate_group`); after ``timeout_s`` seconds the
    tree is stopped and :class:`CommandTimeout` raised.
    """
    logger = run_logger()
    sink = open(log_file, "a", encoding="utf-8") if log_file else None
    try:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, errors="replace", bufsize=1, start_new_session=True,
        )
        fired = threading.Event()  # the timer ran (finished is also set by cancel())

        def stop_on_timeout() -> None:
            fired.set()
            terminate_group(proc)

        timer = threading.Timer(timeout_s, stop_on_timeout) if timeout_s else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                logger.info("%s%s", prefix, line)
                if sink:
                    sink.write(line + "\n")
                    sink.flush()
            code = proc.wait()
        except BaseException:
            terminate_group(proc)
            raise
        finally:
            if timer:
                timer.cancel()
        # A container client forwards the signal and exits with the container's status (often
        # 143, not negative): the timer firing, not the code, says it timed out.
        if fired.is_set():
            raise CommandTimeout(f"timed out after {timeout_s:g} s: {' '.join(argv)}")
        return code
    finally:
        if sink:
            sink.close()


def run_to_file(
    argv: Sequence[str],
    *,
    log_file: Path,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> int:
    """Run ``argv`` (no shell) with its output appended to ``log_file`` only; return the exit code.

    What :func:`run_streaming` does without the run log: the child writes straight into the file
    (no pipe, no line read in Python, no log record per line), for the thousands of commands of a
    scatter whose branches keep their output in log files. Same process group handling; after
    ``timeout_s`` seconds the tree is stopped and :class:`CommandTimeout` raised.
    """
    with open(log_file, "ab") as sink:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                                stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        terminate_group(proc)
        raise CommandTimeout(f"timed out after {timeout_s:g} s: {' '.join(argv)}") from None
    except BaseException:
        terminate_group(proc)
        raise


def terminate_group(proc: subprocess.Popen, grace_s: float = 5.0,
                    first_signal: signal.Signals = signal.SIGTERM) -> None:
    """Stop a child started in its own session (:func:`run_streaming`'s) and everything it started.

    Args:
        proc: The child; its pid names its process group.
        grace_s: How long the group has to exit after ``first_signal`` before it gets SIGKILL.
        first_signal: What the group gets first (a Prefect server or worker wants SIGINT).
    """
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, first_signal)
        proc.wait(timeout=grace_s)
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
