"""The command line's view of a run's progress (fed by :mod:`tasks.runtime.progress`).

In a terminal: a live table (rich) of the steps with state and duration, for a scatter step its
branches done/failed/total with rate and ETA, and a row for each large file moving (MiB done of
total, rate, ETA). Without one (CI, a pipe): a few plain lines, namely
the start, each step's start and end, and a scatter's counts every tenth of its branches (or every
:data:`PLAIN_EVERY_S` seconds when it moves slowly).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

from tasks.runtime.progress import ProgressEvent

PLAIN_EVERY_S = 10.0  # a slow scatter still prints a line this often (when its count moved)
MiB = 1 << 20


@dataclass
class Row:
    """One step (or an app's phase) as the view shows it."""

    name: str
    state: str = "running"
    started: float = field(default_factory=time.monotonic)
    duration_s: float | None = None
    total: int = 0
    counted_at: float | None = None  # when the branch total became known
    unit: str = "branches"
    settled: dict = field(default_factory=dict)  # branch index (chunk name) -> state, from this process
    batch_done: int = 0
    batch_failed: int = 0

    @property
    def failed(self) -> int:
        return max(self.batch_failed, sum(1 for s in self.settled.values() if s == "failed"))

    @property
    def not_run(self) -> int:
        """App chunks that stopped at an earlier phase."""
        return sum(1 for s in self.settled.values() if s == "not run")

    @property
    def done(self) -> int:
        return max(self.batch_done, sum(1 for s in self.settled.values() if s not in ("failed", "not run")))

    def counts(self) -> str:
        """``120/300 branches (0 failed) 41.3/s, ETA 4s`` (or ``chunks`` for an app's phase), or for
        a file transfer ``48.0/100.0 MiB 20.1 MiB/s, ETA 3s``."""
        if self.unit == "bytes":
            return self._bytes()
        finished = self.done + self.failed + self.not_run
        skipped = f", {self.not_run} not run" if self.not_run else ""
        text = f"{finished}/{self.total} {self.unit} ({self.failed} failed{skipped})"
        elapsed = time.monotonic() - (self.counted_at or self.started)
        if 0 < finished < self.total and elapsed > 0:
            rate = finished / elapsed
            text += f" {rate:.1f}/s, ETA {_seconds((self.total - finished) / rate)}"
        return text

    def _bytes(self) -> str:
        text = f"{self.batch_done / MiB:.1f}/{self.total / MiB:.1f} MiB"
        elapsed = time.monotonic() - self.started
        if 0 < self.batch_done < self.total and elapsed > 0:
            rate = self.batch_done / elapsed
            text += f" {rate / MiB:.1f} MiB/s, ETA {_seconds((self.total - self.batch_done) / rate)}"
        return text

    def elapsed(self) -> float:
        return self.duration_s if self.duration_s is not None else time.monotonic() - self.started


def _seconds(s: float) -> str:
    return f"{s:.0f}s" if s < 90 else f"{s / 60:.0f}min"


class ProgressModel:
    """The state every view renders: the run, its steps in the order they started."""

    def __init__(self) -> None:
        self.title = ""
        self.url = ""
        self.rows: dict[str, Row] = {}
        self.lock = threading.Lock()

    def apply(self, ev: ProgressEvent) -> Row | None:
        """Fold ``ev`` in; the row it changed (None for the run event)."""
        if ev.kind == "run":
            if not self.title:  # the first run is the user's; later ones are subpipes
                self.title, self.url = ev.name, ev.detail
            return None
        row = self.rows.get(ev.name)
        if row is None:
            row = self.rows[ev.name] = Row(ev.name)
        if ev.kind == "step" and ev.state:
            row.state = ev.state
            if ev.state != "running":
                row.duration_s = ev.duration_s or row.elapsed()
        elif ev.kind == "branches":
            if row.counted_at is None:
                row.counted_at = time.monotonic()
            row.total, row.batch_done, row.batch_failed = ev.total, ev.done, ev.failed
            row.unit = ev.detail or row.unit
        elif ev.kind == "transfer":  # a large file moving: bytes done of total
            row.unit, row.total, row.batch_done = "bytes", ev.total, ev.done
            if ev.state == "done":
                row.state, row.duration_s = "done", row.elapsed()
        elif ev.kind == "branch":
            row.settled[ev.detail or ev.index] = ev.state
            if row.unit == "chunks" and row.done + row.failed + row.not_run >= row.total:  # an app's phase ends
                row.state, row.duration_s = ("failed" if row.failed else "done"), row.elapsed()
        return row


class PlainProgress:
    """A few plain lines for a log file or a pipe."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.model = ProgressModel()
        self._printed: dict[str, tuple[int, float, int]] = {}  # row -> (tenths, when, count) last printed
        self._ended: set[str] = set()

    def __call__(self, ev: ProgressEvent) -> None:
        with self.model.lock:
            row = self.model.apply(ev)
            line = self._line(ev, row)
        if line:  # not print(): inside a flow with log_prints, print() becomes a log record
            self.stream.write(line + "\n")
            self.stream.flush()

    def _line(self, ev: ProgressEvent, row: Row | None) -> str | None:
        if row is None:
            if ev.name != self.model.title:
                return None
            url = f" — {ev.detail}" if ev.detail.startswith("http") else ""
            return f"run {ev.name}: {ev.total} step{'' if ev.total == 1 else 's'}{url}"
        if ev.kind == "step":
            if ev.state == "running":
                return f"{row.name}: started"
            counts = f", {row.counts()}" if row.total else ""
            return f"{row.name}: {ev.state} in {row.elapsed():.1f}s{counts}"
        if ev.kind == "transfer" and row.state != "running":
            if row.name in self._ended:
                return None
            self._ended.add(row.name)
            return f"{row.name}: done in {row.elapsed():.1f}s, {row.counts()}"
        if ev.kind == "branch" and row.unit == "chunks" and row.state != "running":
            if row.name in self._ended:
                return None
            self._ended.add(row.name)  # an app's phase has no step event: its last chunk ends it
            return f"{row.name}: {row.state}, {row.counts()}"
        if not row.total or row.state != "running":
            return None
        finished = row.batch_done if row.unit == "bytes" else row.done + row.failed
        tenths = 10 * finished // row.total
        last_tenths, last_at, last_finished = self._printed.get(row.name, (-1, 0.0, -1))
        now = time.monotonic()
        slow_but_moving = now - last_at >= PLAIN_EVERY_S and finished != last_finished
        if tenths > last_tenths or slow_but_moving:
            self._printed[row.name] = (tenths, now, finished)
            return f"{row.name}: {row.counts()}"
        return None

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc) -> None:
        return None


class LiveProgress:
    """A live table in the terminal (rich), redrawn a few times a second."""

    def __init__(self, stream: TextIO):
        from rich.console import Console

        self.model = ProgressModel()
        self.console = Console(file=stream)
        self._live = None

    def __call__(self, ev: ProgressEvent) -> None:
        with self.model.lock:
            self.model.apply(ev)

    def __rich__(self):
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        marks = {"running": "[cyan]running[/]", "done": "[green]done[/]", "failed": "[red]failed[/]",
                 "skipped": "[yellow]skipped[/]"}
        url = self.model.url if self.model.url.startswith("http") else ""
        table = Table(title=f"{self.model.title}  {url}".strip() or None, title_justify="left",
                      show_edge=False, box=None, padding=(0, 2))
        for column in ("step", "state", "time", "", "progress"):
            table.add_column(column)
        with self.model.lock:
            rows = list(self.model.rows.values())
            for row in rows:
                finished = row.batch_done if row.unit == "bytes" else row.done + row.failed
                bar = ProgressBar(total=row.total, completed=finished, width=24) if row.total else ""
                table.add_row(row.name, marks.get(row.state, row.state), f"{row.elapsed():.1f}s", bar,
                              row.counts() if row.total else "")
        return table

    def __enter__(self) -> "LiveProgress":
        from rich.live import Live

        self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
        self._live.__enter__()
        self._log_consoles = _print_logs_above(self.console)
        return self

    def __exit__(self, *exc) -> None:
        for handler, console in self._log_consoles:
            handler.console = console
        if self._live is not None:
            self._live.__exit__(*exc)


class _AboveTable:
    """Stands in for a Prefect console handler's rich console: prints through the live display's
    console, which puts the line above the table (plain text: a log line is no markup)."""

    def __init__(self, console):
        self._console = console

    def print(self, message, **_kwargs) -> None:
        from rich.text import Text

        self._console.print(Text(str(message)), soft_wrap=True)


def _print_logs_above(console) -> list[tuple]:
    """Route Prefect's console log handlers through ``console`` while the live table shows.

    They write to the real stderr, so their lines would cut through the table (rich's stderr
    redirect is bypassed by a console holding the file). Returns what to restore.
    """
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    saved = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            saved.append((handler, handler.console))
            handler.console = _AboveTable(console)
    return saved


def progress_view(stream: TextIO = sys.stderr) -> PlainProgress | LiveProgress:
    """A live table when ``stream`` is a terminal, plain lines otherwise."""
    return LiveProgress(stream) if stream.isatty() else PlainProgress(stream)
