"""Time and peak memory of ``validate`` on the hostile files of issue 11 (see bench/README.md).

Each file is written to a temporary folder and validated by a fresh ``python -m flows.run
validate`` process; the figures are that child's wall time and peak RSS (``os.wait4``).
Run: ``.venv/bin/python bench/hostile_files.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def laughs(levels: int = 10, width: int = 10) -> str:
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nRepository: s3://b/r\nSteps: *l{levels - 1}\n"


FILES: dict[str, tuple[str, str]] = {
    "alias bomb (10^10 items once expanded)": ("workflow", laughs()),
    "1e6-item literal list (7 MB)": ("workflow", "Repository: s3://b/r\nSteps: [" + ", ".join(["0"] * 1_000_000) + "]\n"),
    "100k steps (4.6 MB)": ("workflow", "Repository: s3://b/r\nSteps:\n"
                           + "".join(f"  - s{i}:\n      commands: [echo {i}]\n" for i in range(100_000))),
    "50k-item list under the size limit": ("job", "samples: [" + ", ".join(["0"] * 60_000) + "]\n"),
    "nesting 100,000 deep": ("workflow", "Steps: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    "5000-digit integer": ("workflow", "Repository: s3://b/r\nSteps: " + "9" * 5000 + "\n"),
    "10**10**10 in a condition": ("workflow", "Repository: s3://b/r\nSteps:\n  - a:\n      commands: [x]\n"
                                  "  - c:\n      choices:\n        - {if: 10**10**10 > 1, next: b}\n"
                                  "  - b:\n      commands: [x]\n"),
}


def measure(kind: str, text: str, folder: Path) -> tuple[int, float, float]:
    path = folder / ("file.json" if text.startswith("{") else "file.yaml")
    path.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "flows.run", "validate", "--kind", kind, str(path)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), time.monotonic() - start, usage.ru_maxrss / 1024


def main() -> None:
    print("| file | exit | wall s | peak MB |\n| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, text) in FILES.items():
            code, seconds, mb = measure(kind, text, Path(tmp))
            print(f"| {name} | {code} | {seconds:.2f} | {mb:.0f} |")


if __name__ == "__main__":
    main()
