"""Process step of the labflows demo app: ``process.py --count all|data --version V CHUNK_DIR``.

Counts the lines of ``input.tsv`` (``data``: without the header line) into
``<sample>.counts.txt``, and records when it started and ended in ``timing.json``. Settings come
from ``chunk.yml``: ``sleep_seconds`` (pretend to work that long), ``fail_sample`` (this sample
fails with exit code 2, to try failure handling).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", choices=["all", "data"], default="all")
    parser.add_argument("--version", default="?")
    parser.add_argument("chunk_dir", type=Path)
    args = parser.parse_args(argv)
    started = time.time()
    settings = yaml.safe_load((args.chunk_dir / "chunk.yml").read_text())
    sample = settings["sample"]
    if settings.get("fail_sample") == sample:
        print(f"{sample}: failing on purpose (fail_sample parameter)", file=sys.stderr)
        return 2
    time.sleep(float(settings.get("sleep_seconds") or 0))
    lines = (args.chunk_dir / "input.tsv").read_text().splitlines()
    count = len(lines) - 1 if args.count == "data" and lines else len(lines)
    (args.chunk_dir / f"{sample}.counts.txt").write_text(
        f"sample\t{sample}\nlines\t{count}\ncounted\t{args.count}\napp_version\t{args.version}\n")
    (args.chunk_dir / "timing.json").write_text(json.dumps({"start": started, "end": time.time()}))
    print(f"{sample}: {count} line(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
