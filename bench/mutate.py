"""Mutation testing of the safety-critical modules with cosmic-ray, one module at a time.

Each module is mutated in a throw-away copy of the tree (the files git knows, as they are on disk),
never in the checkout, and each mutant is judged by only the tests that cover that module
(:data:`MODULES`). The table printed at the end has, per module: mutants, killed, survived,
equivalent (survivors listed in bench/mutation.md with why), timeouts (counted as killed: the
tests noticed) and the score, killed / (mutants - equivalent).

Usage (``make mutate`` runs the whole list; it is not part of ``make test``)::

    python bench/mutate.py                          # every module of MODULES
    python bench/mutate.py blocks/s3_errors.py      # just these
    python bench/mutate.py --list                   # the modules and their tests
    python bench/mutate.py --survivors blocks/s3_errors.py   # print each survivor's diff
    python bench/mutate.py --report                 # the table of the kept sessions, nothing run

Needs ``cosmic-ray`` (the ``mutate`` extra) on PATH or next to this Python, or ``--cosmic-ray``.
Sessions are kept in ``--work`` (default ``.labflows/mutate``) with a fingerprint of what judged
them (the module's source; its tests, their conftests, tests/support and pyproject.toml). A later
run is incremental: a module whose fingerprint is unchanged and whose session is complete is
reported from its session without running anything; a finished session with a changed module or
tests starts anew; an unfinished one with the same fingerprint resumes (cosmic-ray's ``exec``).
``--rejudge`` runs the survivors again (after adding tests that should kill them); ``--fresh``
starts anew. ``--jobs`` modules run at once (default: one per CPU), each in its own tree.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# pytest options for test files that need no fixture of a conftest.py: skipping the conftests
# skips importing Prefect (the engine's conftest imports blocks), about 2 s instead of 6-8 s a mutant
NO_SERVER = ["--noconftest"]
# and for tests that use no plugin of an entry point (xdist, anyio, timeout: cosmic-ray bounds each
# run itself): about a fifth less CPU a mutant, whose cost for a pure module is mostly start-up
NO_PLUGINS = ["-p", "no:xdist", "-p", "no:anyio", "-p", "no:timeout"]

#: Module -> the tests that cover it (run for each of its mutants; keep them fast); options first.
MODULES: dict[str, list[str]] = {
    "tasks/bclaw/substitution.py": [*NO_SERVER, "tests/bclaw/engine/test_substitution_mutation.py",
                                    "tests/bclaw/engine/test_substitution.py",
                                    "tests/bclaw/engine/test_shell_context.py"],
    "tasks/bclaw/shell_context.py": [*NO_SERVER, *NO_PLUGINS, "tests/bclaw/engine/test_shell_context.py",
                                     "tests/bclaw/engine/test_shell_context_mutation.py",
                                     "tests/bclaw/engine/test_substitution_mutation.py"],
    "tasks/bclaw/qc.py": [*NO_SERVER, *NO_PLUGINS, "tests/bclaw/engine/test_qc.py"],
    "tasks/bclaw/staging.py": [*NO_SERVER, "tests/bclaw/engine/test_staging_mutation.py"],
    "blocks/local.py": [*NO_SERVER, "tests/blocks/test_local_mutation.py", "tests/blocks/test_local_fast_paths.py",
                        "tests/blocks/test_local_repository.py",
                        "tests/blocks/test_local_containment.py"],
    "blocks/s3_errors.py": [*NO_SERVER, *NO_PLUGINS, "tests/blocks/s3/test_s3_errors.py"],
    "blocks/s3.py": ["tests/blocks/s3/test_s3_mutation.py"],
    "tasks/runtime/repo_ops.py": ["tests/deploy/test_launcher_store.py"],
    "tasks/bfabric/checksums.py": [*NO_SERVER, *NO_PLUGINS, "tests/bfabric/test_checksums.py"],
    "tasks/bfabric/inputs/fetch.py": ["tests/bfabric/inputs/test_fetch_mutation.py"],
    "tasks/bfabric/register/resource.py": ["tests/bfabric/register/test_resource_mutation.py"],
    "tasks/runtime/executors/base.py": [*NO_SERVER, "tests/runtime/test_container_argv.py",
                                        "tests/runtime/test_executors_mutation.py"],
    "tasks/runtime/executors/local.py": [*NO_SERVER, "tests/runtime/test_executors_mutation.py"],
    "tasks/runtime/executors/container.py": [*NO_SERVER, "-k", "not reads_the_secret_block",
                                             "tests/runtime/test_container_argv.py",
                                             "tests/runtime/test_executors_mutation.py",
                                             "tests/runtime/test_registry_login.py"],
    "tasks/runtime/streaming.py": [*NO_SERVER, "tests/runtime/test_streaming_mutation.py",
                                   "tests/runtime/test_run_to_file.py", "tests/runtime/test_streaming.py"],
    "specs/source.py": [*NO_SERVER, *NO_PLUGINS, "-k", "not command_line", "tests/specs/test_source_mutation.py",
                        "tests/specs/test_source_limits.py"],
}

#: Module -> slower tests that judge only the mutants surviving its MODULES tests (a second pass:
#: a mutant the fast tests kill never pays for these).
SECOND_PASS: dict[str, list[str]] = {
    "tasks/bclaw/shell_context.py": ["tests/bclaw/engine/test_substitution.py"],
    "specs/source.py": ["tests/specs/test_malformed.py"],
    "blocks/s3.py": ["tests/blocks/s3/test_s3_primitives.py", "tests/blocks/s3/test_s3_faults.py"],
    "tasks/bfabric/inputs/fetch.py": ["tests/bfabric/inputs/test_fetch.py", "tests/bfabric/inputs/test_checksum_case.py"],
    "tasks/bfabric/register/resource.py": ["tests/bfabric/register/test_register_resource.py",
                                           "tests/bfabric/register/test_register_resource_identity.py",
                                           "tests/bfabric/register/test_register_idempotency.py"],
}

MUTATION_MD = ROOT / "bench" / "mutation.md"
# a row of the "Equivalent mutants" table: | module | line:col | operator | why |
_EQUIVALENT_ROW = re.compile(r"^\|\s*`?([\w/.]+\.py)`?\s*\|\s*(\d+):(\d+)\s*\|\s*`?([\w/]+)`?\s*\|\s*(.+?)\s*\|\s*$")


@dataclass
class Row:
    """One module's result."""

    module: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    timeouts: int = 0
    incompetent: int = 0
    pending: int = 0
    minutes: float = 0.0
    unchanged: bool = False

    @property
    def score(self) -> float | None:
        judged = self.mutants - self.equivalent - self.incompetent - self.pending
        return 100.0 * self.killed / judged if judged > 0 else None


def equivalent_mutants(path: Path = MUTATION_MD) -> dict[tuple[str, int, int, str], str]:
    """``(module, line, col, operator) -> why`` from the table in bench/mutation.md."""
    found: dict[tuple[str, int, int, str], str] = {}
    if not path.is_file():
        return found
    in_section = False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            in_section = line.lower().startswith("## equivalent mutants")
            continue
        match = _EQUIVALENT_ROW.match(line) if in_section else None
        if match:
            module, row, col, operator, why = match.groups()
            found[(module, int(row), int(col), operator)] = why
    return found


ANNOTATION = "equivalent: an annotation of an undecorated function under `from __future__ import annotations`"


def _is_stdlib_dataclass(decorator: ast.expr) -> bool:
    """``@dataclass``, ``@dataclass(...)``, ``@dataclasses.dataclass`` or ``@dataclasses.dataclass(...)``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "dataclass") or (
        isinstance(target, ast.Attribute) and target.attr == "dataclass"
        and isinstance(target.value, ast.Name) and target.value.id == "dataclasses")


def _plain_class(node: ast.ClassDef, tree: ast.Module) -> bool:
    """A class whose field annotations nobody evaluates: undecorated with no base but ``ABC``, or a
    stdlib dataclass (it reads a string annotation only to spot ``ClassVar``/``InitVar`` by name).
    Pydantic models and Prefect blocks read theirs, so any other base or decorator disqualifies."""
    stdlib = any(isinstance(n, ast.ImportFrom) and n.module == "dataclasses"
                 and any(a.name == "dataclass" for a in n.names) for n in tree.body) or any(
        isinstance(n, ast.Import) and any(a.name == "dataclasses" for a in n.names) for n in tree.body)
    bases_plain = all(isinstance(b, ast.Name) and b.id == "ABC" for b in node.bases) and not node.keywords
    if not node.decorator_list:
        return bases_plain
    return stdlib and not node.bases and all(_is_stdlib_dataclass(d) for d in node.decorator_list)


def _local_annotated(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AnnAssign]:
    """The annotated assignments to local variables of ``function`` (PEP 526: never evaluated, with
    or without postponed annotations), not those of classes or functions nested in it."""
    found: list[ast.AnnAssign] = []
    stack = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.AnnAssign):
            found.append(node)
        elif not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the never-evaluated annotations are, in a module with ``from __future__ import
    annotations`` (kept as strings nobody reads): those of undecorated functions and methods, and
    the field annotations of plain classes and stdlib dataclasses (:func:`_plain_class`), and those
    of local variables in any function. Decorated functions' own annotations are left out, as
    Prefect's and pydantic's decorators do read them."""
    tree = ast.parse(source)
    postponed = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                    and any(a.name == "annotations" for a in n.names) for n in tree.body)
    annotations: list[ast.expr] = []
    for node in ast.walk(tree) if postponed else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations += [s.annotation for s in _local_annotated(node)]
            if not node.decorator_list:
                args = node.args
                every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
                annotations += [a.annotation for a in every if a is not None] + [node.returns]
        elif isinstance(node, ast.ClassDef) and _plain_class(node, tree):
            annotations += [s.annotation for s in node.body if isinstance(s, ast.AnnAssign)]
    return [((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)) for a in annotations if a is not None]


def mark_annotation_mutants(session: str, module_file: str) -> None:
    """Mark the session's mutants inside never-evaluated annotations as equivalent (pending ones
    are then not run). Runs under cosmic-ray's Python: ``mutate.py --mark-annotations SESSION FILE``."""
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = annotation_spans(Path(module_file).read_text())
    with use_db(session) as db:
        inside = [item.job_id for item in db.work_items
                  if all(any(start <= tuple(m.start_pos) and tuple(m.end_pos) <= end for start, end in spans)
                         for m in item.mutations)]
        if inside:
            db.set_multiple_results(inside, WorkResult(output=ANNOTATION, worker_outcome=WorkerOutcome.SKIPPED))


def forget_survivors(session: Path, equivalents: dict[tuple[str, int, int, str], str] | None = None) -> int:
    """Drop the results of surviving mutants, so the next ``exec`` judges them again (with the tests
    as they are now); returns how many. Survivors listed as ``equivalents`` keep their result (no
    test can kill them). cosmic-ray has no command for this: its tables are plain."""
    with sqlite3.connect(session) as db:
        survivors = db.execute(
            "SELECT r.job_id, s.module_path, s.start_pos_row, s.start_pos_col, s.operator_name "
            "FROM work_results r JOIN mutation_specs s USING (job_id) WHERE r.test_outcome = 'SURVIVED'").fetchall()
        again = [(job,) for job, *key in survivors if tuple(key) not in (equivalents or {})]
        db.executemany("DELETE FROM work_results WHERE job_id = ?", again)
        return len(again)


def _digest(paths: list[Path], extra: str = "") -> str:
    """SHA-256 over ``extra`` and each path's name and bytes (a missing file counts as absent)."""
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(b"\0" + str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<absent>")
    return digest.hexdigest()


def test_files(module: str) -> list[Path]:
    """What decides how ``module``'s mutants are judged, besides its source: its test files (both
    passes), the conftest.py files above them, tests/support and pyproject.toml (pytest's options)."""
    options = MODULES[module] + SECOND_PASS.get(module, [])
    files = {ROOT / o for o in options if o.endswith(".py")}
    for test in list(files):
        folder = test.parent
        while folder != ROOT.parent and ROOT in (folder, *folder.parents):
            files.add(folder / "conftest.py")
            folder = folder.parent
    files |= set((ROOT / "tests" / "support").glob("*.py"))
    files.add(ROOT / "pyproject.toml")
    return sorted(files)


def fingerprint(module: str) -> dict[str, str]:
    """``{"source": …, "tests": …}``: digests of the module and of what judges it (:func:`test_files`,
    with the test options of :data:`MODULES` and :data:`SECOND_PASS`)."""
    options = json.dumps([MODULES[module], SECOND_PASS.get(module, [])])
    return {"source": _digest([ROOT / module]), "tests": _digest(test_files(module), options)}


def plan(record: dict | None, current: dict[str, str], session_exists: bool, pending: int | None,
         fresh: bool = False, rejudge: bool = False) -> str:
    """What to do with a module's kept session: ``"fresh"``, ``"resume"``, ``"rejudge"`` or ``"skip"``.

    ``record`` is the fingerprint stored with the session (``None`` for none), ``pending`` the
    session's mutants not judged yet (``None`` without a session). A session is only reused for the
    source it was made from: mutants are positions in that source. A finished session is reused for
    the same tests too (``skip``); for changed tests it starts anew, as a weakened test could let a
    mutant live that it once killed, unless ``rejudge`` asks for the survivors only.

    Example:
        >>> plan({"source": "a", "tests": "t"}, {"source": "a", "tests": "t"}, True, 0)
        'skip'
    """
    same_source = record is not None and record.get("source") == current["source"]
    if fresh or not session_exists or not same_source:
        return "fresh"
    if rejudge:
        return "rejudge"
    if record.get("tests") != current["tests"]:
        return "fresh"
    return "skip" if pending == 0 else "resume"


def copy_tree(dest: Path) -> None:
    """The files git knows (tracked and untracked, not ignored), as they are on disk, into ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def find_cosmic_ray(given: str | None) -> str:
    """The cosmic-ray executable: ``given``, next to this Python, or on PATH."""
    for candidate in (given, str(Path(sys.executable).with_name("cosmic-ray")), shutil.which("cosmic-ray")):
        if candidate and Path(candidate).is_file():
            return candidate
    sys.exit("cosmic-ray not found: pip install -e '.[mutate]' (or pass --cosmic-ray PATH)")


def test_command(python: str, tests: list[str]) -> str:
    """The command judging one mutant: stop at the first failure, no output beyond the summary."""
    return shlex.join([python, "-m", "pytest", "-x", "-q", "--no-header", *tests])


def baseline_seconds(tree: Path, command: str, env: dict[str, str]) -> float:
    """Run the module's tests once, unmutated; they must pass (else every mutant would look killed)."""
    started = time.monotonic()
    result = subprocess.run(shlex.split(command), cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"the tests fail without any mutation:\n{command}\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return time.monotonic() - started


def write_config(path: Path, module: str, command: str, timeout: float) -> None:
    path.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )


def read_session(cosmic_ray: str, session: Path, module: str,
                 equivalents: dict[tuple[str, int, int, str], str]) -> tuple[Row, list[dict]]:
    """Count the session's outcomes; returns the row and the surviving mutations (not equivalent)."""
    dump = subprocess.run([cosmic_ray, "dump", str(session)], check=True, capture_output=True, text=True).stdout
    row, survivors = Row(module), []
    for line in filter(None, dump.splitlines()):
        item, result = json.loads(line)
        mutation = item["mutations"][0]
        row.mutants += 1
        if result is None:
            row.pending += 1
            continue
        key = (module, mutation["start_pos"][0], mutation["start_pos"][1], mutation["operator_name"])
        outcome, worker = result.get("test_outcome"), result.get("worker_outcome")
        if result.get("output") == ANNOTATION:
            row.equivalent += 1
        elif outcome == "incompetent" or worker in ("exception", "abnormal", "skipped"):
            row.incompetent += 1
        elif outcome == "killed":
            row.killed += 1
            row.timeouts += result.get("output") == "timeout"
        elif key in equivalents:
            row.equivalent += 1
        else:
            row.survived += 1
            survivors.append({**mutation, "diff": result.get("diff", "")})
    return row, survivors


def read_record(path: Path) -> dict | None:
    """The fingerprint kept with a session (``None`` when missing or unreadable: a fresh start)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def run_module(module: str, args: argparse.Namespace, cosmic_ray: str,
               equivalents: dict[tuple[str, int, int, str], str]) -> tuple[Row, list[dict]]:
    """Mutate one module in its own copy of the tree and judge every mutant by its tests; a complete
    session judged by the same source and tests is only read (see :func:`plan`)."""
    work = Path(args.work).resolve() / module.replace("/", "__")
    session, tree, record_file = work / "session.sqlite", work / "tree", work / "fingerprint.json"
    current = fingerprint(module)
    kept = read_session(cosmic_ray, session, module, equivalents) if session.exists() else None
    pending = kept[0].pending if kept else None
    action = plan(read_record(record_file), current, session.exists(), pending, args.fresh, args.rejudge)
    if action == "skip":
        row, survivors = kept
        row.unchanged = True
        print(f"{module}: unchanged since its complete run, not run again", flush=True)
        return row, survivors
    if action == "fresh" and work.exists():
        shutil.rmtree(work)
    if tree.exists():  # never reuse a tree a killed run may have left mutated
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    copy_tree(tree)
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    passes = [MODULES[module]] + ([MODULES[module] + SECOND_PASS[module]] if module in SECOND_PASS else [])
    configs = []
    for number, tests in enumerate(passes, 1):
        command = test_command(args.python, tests)
        base = baseline_seconds(tree, command, env)
        configs.append(work / f"config{'' if number == 1 else number}.toml")
        # a mutant that stops a loop advancing runs until this timeout (it counts as killed): 5x the
        # unmutated run leaves room for a busy machine without waiting half a minute per such mutant
        write_config(configs[-1], module, command, timeout=max(10.0, 5 * base))
        print(f"{module}: pass {number} baseline {base:.1f} s", flush=True)
    if not session.exists():
        subprocess.run([cosmic_ray, "init", str(configs[0]), str(session)], cwd=tree, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    elif action == "rejudge":
        print(f"{module}: judging {forget_survivors(session, equivalents)} survivors again", flush=True)
    record_file.write_text(json.dumps(current))  # what this session is judged by, also if interrupted
    cr_python = Path(cosmic_ray).with_name("python")
    subprocess.run([str(cr_python if cr_python.is_file() else sys.executable), __file__, "--mark-annotations",
                    str(session), str(tree / module)], check=True)
    for number, config in enumerate(configs, 1):
        if number > 1:  # the slower tests judge only what the fast ones let through
            print(f"{module}: pass {number} judges {forget_survivors(session, equivalents)} survivors", flush=True)
        print(f"{module}: pass {number}: mutating ...", flush=True)
        subprocess.run([cosmic_ray, "exec", str(config), str(session)], cwd=tree, env=env, check=True)
    row, survivors = read_session(cosmic_ray, session, module, equivalents)
    row.minutes = (time.monotonic() - started) / 60
    record_file.write_text(json.dumps({**current, "minutes": round(row.minutes, 2)}))
    shutil.rmtree(tree)
    print(f"{module}: done in {row.minutes:.1f} min", flush=True)
    return row, survivors


def longest_first(modules: list[str], work: Path) -> list[str]:
    """``modules`` ordered for ``--jobs``: the longest last run first (a module never run counts by
    its source's size, a rough measure of its mutants), so that no long module starts last."""
    def cost(module: str) -> float:
        record = read_record(work / module.replace("/", "__") / "fingerprint.json") or {}
        minutes = record.get("minutes")
        return float(minutes) if isinstance(minutes, (int, float)) else (ROOT / module).stat().st_size / 1000
    return sorted(modules, key=cost, reverse=True)


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = ["| module | mutants | killed | survived | equivalent | timeouts | score | minutes |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        score = "-" if r.score is None else f"{r.score:.1f}%"
        extra = "".join(f" ({n} {what})" for n, what in ((r.incompetent, "incompetent"), (r.pending, "pending")) if n)
        minutes = "unchanged" if r.unchanged else f"{r.minutes:.1f}"
        lines.append(f"| {r.module} | {r.mutants}{extra} | {r.killed} | {r.survived} | {r.equivalent} | "
                     f"{r.timeouts} | {score} | {minutes} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the modules asked for; print the table (and the survivors); exit 1 when one scores below target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all of MODULES)")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests, then stop")
    parser.add_argument("--python", default=sys.executable, help="the Python that runs the tests")
    parser.add_argument("--cosmic-ray", help="the cosmic-ray executable")
    parser.add_argument("--work", default=str(ROOT / ".labflows" / "mutate"), help="folder for sessions")
    parser.add_argument("--fresh", action="store_true", help="start each module's session anew")
    parser.add_argument("--rejudge", action="store_true",
                        help="run the surviving mutants of the kept sessions again (after adding tests)")
    parser.add_argument("--survivors", action="store_true", help="print each surviving mutant's diff")
    parser.add_argument("--report", action="store_true",
                        help="only print the table of the kept sessions (pending mutants are counted, not run)")
    parser.add_argument("--target", type=float, default=90.0, help="minimum score per module, in percent")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="modules mutated at once, each in its own tree (default: one per CPU)")
    parser.add_argument("--mark-annotations", nargs=2, metavar=("SESSION", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.mark_annotations:
        mark_annotation_mutants(*args.mark_annotations)
        return 0
    if args.list:
        for module, tests in MODULES.items():
            then = f" (then {' '.join(SECOND_PASS[module])})" if module in SECOND_PASS else ""
            print(f"{module}: {' '.join(tests)}{then}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"not a module of MODULES: {', '.join(unknown)} (see --list)")
    cosmic_ray = find_cosmic_ray(args.cosmic_ray)
    equivalents = equivalent_mutants()
    work = Path(args.work).resolve()
    modules = args.modules or list(MODULES)

    def judge(module: str) -> tuple[Row, list[dict]] | None:
        if not args.report:
            return run_module(module, args, cosmic_ray, equivalents)
        session = work / module.replace("/", "__") / "session.sqlite"
        return read_session(cosmic_ray, session, module, equivalents) if session.exists() else None

    started = time.monotonic()
    jobs = 1 if args.report else max(1, args.jobs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each module's work is its own subprocesses
        order = longest_first(modules, work)
        results = dict(zip(order, pool.map(judge, order)))
    rows: list[Row] = []
    for module in modules:
        if results[module] is None:
            continue
        row, survivors = results[module]
        rows.append(row)
        for s in survivors:
            where = f"{s['module_path']}:{s['start_pos'][0]}:{s['start_pos'][1]}"
            print(f"SURVIVED {where} {s['operator_name']} (in {s.get('definition_name')})")
            if args.survivors:
                print(s["diff"])
    print(table(rows))
    if not args.report:
        print(f"{len(rows)} modules in {(time.monotonic() - started) / 60:.1f} min with {jobs} at once")
    low = [r.module for r in rows if r.score is not None and r.score < args.target]
    if low:
        print(f"below {args.target:.0f}%: {', '.join(low)}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
