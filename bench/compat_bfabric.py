"""bfabric-app-runner 0.9.1 and labflows side by side: the same 3-chunk app, the same seed (not a test).

Installs bfabric-app-runner 0.9.1 into its own virtual environment (pyenv's Python 3.13:
``.labflows/bench/bfabric-app-runner``, once; on 3.12 its ``prepare workunit`` fails with
"'resources/workunit.mk' must be only a file name", and upstream pins 3.13 itself), then runs one app on workunit 1 with each tool
against a fresh stand-in seeded with the same data:

- bfabric-app-runner as its users run it without a cluster: ``prepare workunit``, then
  ``action dispatch`` and ``action run-all`` (the Makefile's targets, called directly: the
  Makefile would fetch the runner with ``uv`` from PyPI);
- labflows: ``python -m flows.run app APP WORK_DIR 1 --max-parallel-chunks 1`` (a fresh PREFECT_HOME,
  its ephemeral server; one chunk at a time like upstream, so that ids are given in the same order).

The app (written to a temporary folder) dispatches one chunk per input resource (3), fetches the
resource and a static file, counts lines, and registers per chunk a copied resource and a link,
and in the first chunk the workunit's dataset. Storages are ``scp`` storages on this host, reached
through small local ``ssh``/``scp``/``rsync`` stand-ins put first on PATH (the tools call these
programs; nothing leaves the machine).

Prints every entity each run created or changed, side by side (timestamps dropped:
they differ by nature), the files each stored and left in its chunk folders (with MD5s), a unified
diff of all of it, and both wall times. Exit code 1 when anything differs.

    .venv/bin/python bench/compat_bfabric.py [--python 3.13.0] [--keep]
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UPSTREAM_VERSION = "0.9.1"
VENV = ROOT / ".labflows" / "bench" / "bfabric-app-runner"
RESOURCES = 3
WORKUNIT = 1
# fields that differ by nature between two runs (when), not by what the tool registered
VOLATILE = {"created", "modified"}

APP_YML = """\
bfabric: {app_runner: %(version)s}
versions:
  - version: "1.0.0"
    commands:
      dispatch: {type: exec, command: '%(python)s ${app.dir}/dispatch.py'}
      process: {type: exec, command: '%(python)s ${app.dir}/process.py'}
      collect: {type: exec, command: '%(python)s ${app.dir}/collect.py'}
"""

DISPATCH = """\
import sys, pathlib, yaml
definition = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text())
work = pathlib.Path(sys.argv[2])
chunks = []
for resource_id in definition["execution"]["resources"]:
    chunk = work / f"chunk_{resource_id}"
    chunk.mkdir(parents=True, exist_ok=True)
    (chunk / "inputs.yml").write_text(yaml.safe_dump({"inputs": [
        {"type": "bfabric_resource", "id": resource_id, "filename": "input.tsv"},
        {"type": "static_yaml", "data": {"first": resource_id == min(definition["execution"]["resources"])},
         "filename": "chunk.yml"}]}))
    chunks.append(chunk.name)
(work / "chunks.yml").write_text(yaml.safe_dump({"chunks": chunks}))
"""

PROCESS = """\
import sys, pathlib
chunk = pathlib.Path(sys.argv[1])
lines = (chunk / "input.tsv").read_text().splitlines()
(chunk / "counts.txt").write_text(f"{chunk.name}\\t{len(lines)}\\n")
(chunk / "table.csv").write_text("Chunk,Lines\\n" + f"{chunk.name},{len(lines)}\\n")
"""

COLLECT = """\
import sys, pathlib, yaml
definition = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text())
chunk = pathlib.Path(sys.argv[2]).absolute()
first = yaml.safe_load((chunk / "chunk.yml").read_text())["first"]
outputs = [
    {"type": "bfabric_copy_resource", "local_path": str(chunk / "counts.txt"),
     "store_entry_path": f"{chunk.name}.counts.txt"},
    {"type": "bfabric_link", "name": f"report {chunk.name}", "url": f"https://example.org/{chunk.name}"},
]
if first:
    outputs.append({"type": "bfabric_dataset", "local_path": str(chunk / "table.csv"), "name": "Line counts"})
(chunk / "outputs.yml").write_text(yaml.safe_dump({"outputs": outputs}))
"""

# ssh HOST CMD..., scp [HOST:]SRC [HOST:]DST and rsync OPTS -- [HOST:]SRC DST, all acting on this host
_FAKE_TOOL = """\
import os, shutil, subprocess, sys
def local(arg):
    head, sep, tail = arg.partition(":")
    return tail if sep and "/" not in head else arg
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
if name == "ssh":
    sys.exit(subprocess.call(["sh", "-c", " ".join(args[1:])]))
paths = [a for a in args if not a.startswith("-")]
source, target = local(paths[-2]), local(paths[-1])
if os.path.isdir(target):
    target = os.path.join(target, os.path.basename(source))
shutil.copyfile(source, target)
"""


def ensure_upstream(python_version: str) -> Path:
    """The ``bfabric-app-runner`` executable of the bench's own venv (created on first use)."""
    exe = VENV / "bin" / "bfabric-app-runner"
    if exe.exists():
        return exe
    env = {**os.environ, "PYENV_VERSION": python_version}
    minor = ".".join(python_version.split(".")[:2])
    subprocess.run([f"python{minor}", "-m", "venv", str(VENV)], env=env, check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", f"bfabric-app-runner=={UPSTREAM_VERSION}"],
                   check=True)
    return exe


def write_app(app_dir: Path) -> Path:
    """The 3-chunk app; its commands run with this interpreter (it has PyYAML). Returns its app.yml."""
    app_dir.mkdir(parents=True)
    for name, text in (("dispatch.py", DISPATCH), ("process.py", PROCESS), ("collect.py", COLLECT)):
        (app_dir / name).write_text(text)
    (app_dir / "app.yml").write_text(APP_YML % {"python": sys.executable, "version": UPSTREAM_VERSION})
    return app_dir / "app.yml"


def write_fake_tools(bin_dir: Path) -> None:
    """``ssh``, ``scp`` and ``rsync`` that act on local paths (``HOST:`` is dropped)."""
    bin_dir.mkdir(parents=True)
    for name in ("ssh", "scp", "rsync"):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{_FAKE_TOOL}")
        path.chmod(0o755)


def make_seed(home: Path) -> dict[str, Any]:
    """The seed both stand-ins get: 3 input files on an scp storage, workunit 1 over them."""
    data = home / "data"
    (data / "inputs").mkdir(parents=True)
    resources = []
    for i in range(1, RESOURCES + 1):
        path = data / "inputs" / f"sample_{i}.tsv"
        path.write_text("gene\tcount\n" + "".join(f"G{j}\t{i * j}\n" for j in range(i * 5)))
        resources.append({"id": i, "name": path.name, "workunit": 3, "storage": 2,
                          "relativepath": f"inputs/{path.name}", "status": "available",
                          "filechecksum": hashlib.md5(path.read_bytes()).hexdigest(),
                          "size": path.stat().st_size})
    return {
        "project": [{"id": 1, "name": "compat project"}],
        "user": [{"id": 1, "login": "standin", "firstname": "Stand", "lastname": "In"}],
        "storage": [
            {"id": 2, "name": "inputs", "host": "storagehost", "basepath": f"{data}/", "protocol": "scp",
             "projectfolderprefix": "p"},
            {"id": 3, "name": "outputs", "host": "storagehost", "basepath": f"{home}/store/", "protocol": "scp",
             "projectfolderprefix": "p"},
        ],
        "application": [{"id": 1, "name": "compat app", "technology": ["Genomics"], "storage": 3},
                        {"id": 2, "name": "import", "technology": ["Genomics"], "storage": 2}],
        "workunit": [
            {"id": WORKUNIT, "name": "compat workunit", "application": 1, "container": 1, "status": "pending",
             "inputresource": [r["id"] for r in resources], "createdby": "standin"},
            {"id": 3, "name": "import", "application": 2, "container": 1, "status": "available",
             "createdby": "standin"},
        ],
        "resource": resources,
        "parameter": [{"id": 1, "workunit": WORKUNIT, "key": "application_version", "value": "1.0.0",
                       "context": "APPLICATION"}],
    }


def snapshot(server: Any) -> dict[str, dict[int, dict]]:
    """Every row of every endpoint, by endpoint and id."""
    from standin.schema import ENDPOINTS

    return {ep: {int(row["id"]): row for row in server.rows(ep)} for ep in ENDPOINTS}


def changed_entities(before: dict, after: dict) -> list[str]:
    """One sorted JSON line per entity the run created or changed (volatile fields dropped)."""
    lines = []
    for ep, rows in after.items():
        for id_, row in rows.items():
            if before.get(ep, {}).get(id_) == row:
                continue
            kept = {k: v for k, v in sorted(row.items()) if k not in VOLATILE}
            lines.append(f"{ep} {id_}: {json.dumps(kept, sort_keys=True)}")
    return sorted(lines)


def stored_files(store: Path) -> list[str]:
    """``relative path  md5`` of every file a run stored."""
    if not store.exists():
        return []
    return sorted(f"{p.relative_to(store)}  {hashlib.md5(p.read_bytes()).hexdigest()}"
                  for p in store.rglob("*") if p.is_file())


def chunk_files(work: Path) -> list[str]:
    """``chunk/file  md5`` of every file the run left in its chunk folders (the work dir's own path,
    which the app writes into outputs.yml, counted as ``<work>``)."""
    return sorted(f"{p.relative_to(work)}  "
                  f"{hashlib.md5(p.read_bytes().replace(str(work).encode(), b'<work>')).hexdigest()}"
                  for p in work.glob("chunk_*/*") if p.is_file())


def run_tool(name: str, seed: dict, home: Path, commands: list[list[str]], env: dict[str, str]
             ) -> tuple[list[str], list[str], float, str]:
    """Run ``commands`` against a fresh stand-in; (entities, stored files, wall s, log)."""
    from standin.server import StandinServer

    server = StandinServer(port=0, seed=seed).start()
    log = []
    try:
        before = snapshot(server)
        env = {**env, "BFABRICPY_CONFIG_OVERRIDE": json.dumps(server.config_override())}
        started = time.perf_counter()
        for argv in commands:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
            log.append(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}")
            if done.returncode != 0:
                raise SystemExit(f"{name}: {' '.join(argv)} exited with {done.returncode}\n" + log[-1][-4000:])
        wall = time.perf_counter() - started
        entities = changed_entities(before, snapshot(server))
    finally:
        server.stop()
    store = home / "store"
    files = stored_files(store)
    if store.exists():
        store.rename(home / f"store-{name}")
    return entities, files, wall, "\n".join(log)


def side_by_side(left: list[str], right: list[str], width: int = 100) -> str:
    """Two columns, ``upstream | labflows``, long lines cut."""
    rows = [f"{'bfabric-app-runner ' + UPSTREAM_VERSION:<{width}} | labflows"]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ""
        b = right[i] if i < len(right) else ""
        rows.append(f"{a[:width]:<{width}} | {b[:width]}")
    return "\n".join(rows)


def main() -> int:
    """Install, run both tools, print entities, diff and wall times; 1 when they differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.13.0", help="pyenv Python (>= 3.13: on 3.12, prepare fails reading its Makefile template) for the upstream venv")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = parser.parse_args()

    upstream = ensure_upstream(args.python)
    home = Path(tempfile.mkdtemp(prefix="labflows-compat-bfabric-"))
    app_yml = write_app(home / "app")
    write_fake_tools(home / "bin")
    seed = make_seed(home)
    env = {**os.environ, "PATH": f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PREFECT_HOME": str(home / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    env.pop("BFABRICPY_CONFIG_ENV", None)

    up_work = home / "upstream" / f"WU{WORKUNIT}"
    up_cmds = [
        [str(upstream), "prepare", "workunit", str(app_yml), str(up_work), str(WORKUNIT)],
        [str(upstream), "action", "dispatch", "--config", str(up_work / "app_env.yml")],
        [str(upstream), "action", "run-all", "--config", str(up_work / "app_env.yml")],
    ]
    lf_work = home / "labflows" / f"WU{WORKUNIT}"
    # one chunk at a time, as bfabric-app-runner: in parallel, ids follow the order chunks finish in
    lf_cmds = [[sys.executable, "-m", "flows.run", "app", str(app_yml), str(lf_work), str(WORKUNIT),
                "--max-parallel-chunks", "1"]]

    up_entities, up_files, up_wall, _ = run_tool("upstream", seed, home, up_cmds, env)
    lf_entities, lf_files, lf_wall, _ = run_tool("labflows", seed, home, lf_cmds, env)

    up_chunks, lf_chunks = chunk_files(up_work), chunk_files(lf_work)
    print(f"== registered entities ({len(up_entities)} vs {len(lf_entities)}) ==")
    print(side_by_side(up_entities, lf_entities))
    print("\n== stored files ==")
    print(side_by_side(up_files, lf_files))
    print("\n== chunk folders ==")
    print(side_by_side(up_chunks, lf_chunks))
    diff = list(difflib.unified_diff(up_entities + ["-- stored"] + up_files + ["-- chunks"] + up_chunks,
                                     lf_entities + ["-- stored"] + lf_files + ["-- chunks"] + lf_chunks,
                                     "bfabric-app-runner", "labflows", lineterm="", n=0))
    print("\n== diff ==")
    print("\n".join(diff) if diff else "(none: identical entities, stored files and chunk folders)")
    print("\n== wall time (s) ==")
    print(f"bfabric-app-runner {UPSTREAM_VERSION}: {up_wall:.1f}  (3 processes: prepare, dispatch, run-all)")
    print(f"labflows: {lf_wall:.1f}  (1 process, starting Prefect's ephemeral server in a fresh PREFECT_HOME)")
    if args.keep:
        print(f"\nkept: {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
