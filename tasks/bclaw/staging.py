"""Moving a command step's files: inputs and references in, outputs out (bclaw_runner semantics)."""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from blocks.repository import Repository, basename, join_uri
from tasks.runtime.failures import ExpectedFailure
from tasks.runtime.logs import run_logger
from tasks.runtime.transfers import progress_for


class MissingInputError(ExpectedFailure, FileNotFoundError):
    """A required input matched no object in the repository."""


def is_full_uri(value: str) -> bool:
    """True for values that name an object themselves (``s3://…`` or an absolute path)."""
    return value.startswith(("s3://", "/", "file://"))


def input_uri(value: str, repo_uri: str) -> str:
    """Where an input lives: full URIs as they are, anything else ``<repo>/<basename>``."""
    return value if is_full_uri(value) else join_uri(repo_uri, basename(value))


def download_inputs(repo: Repository, inputs: dict[str, str], repo_uri: str, workspace: Path) -> dict[str, str]:
    """Download every input (globs expanded) into ``workspace`` under its basename.

    Returns ``{symbol without '?': basename(value)}``; for a glob that is the pattern itself,
    left for the shell to expand. A missing optional (``name?``) input only logs a warning.
    """
    logger = run_logger()
    symbols: dict[str, str] = {}
    pairs: list[tuple[str, Path]] = []
    for sym, value in inputs.items():
        optional = sym.endswith("?")
        matches = repo.glob(input_uri(value, repo_uri))
        if not matches:
            if optional:
                logger.warning("optional file not found: %s; skipping", value)
            else:
                raise MissingInputError(f"input {sym.rstrip('?')}: no file matches {input_uri(value, repo_uri)}")
        pairs.extend((uri, workspace / basename(uri)) for uri in matches)
        symbols[sym.rstrip("?")] = basename(value)
    repo.download_many(pairs, progress_for)  # a large file's bytes show in the command line's progress
    return symbols


def fetch_references(repo: Repository, references: dict[str, str], cache_dir: Path, workspace: Path) -> dict[str, str]:
    """Fetch references once per machine into ``cache_dir/<etag>/`` and hard-link them in.

    A file lock per object keeps two steps from downloading the same reference at once.
    """
    symbols: dict[str, str] = {}
    for sym, uri in references.items():
        name = basename(uri)
        cached = cache_dir / repo.etag(uri) / name
        cached.parent.mkdir(parents=True, exist_ok=True)
        with open(cached.parent / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not cached.exists():
                run_logger().info("caching reference %s", uri)
                repo.download(uri, cached, progress=progress_for("download", uri))
        _link_or_copy(cached, workspace / name)
        symbols[sym] = name
    return symbols


def _link_or_copy(src: Path, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    try:
        os.link(src, dest)
    except OSError:  # another file system: copy instead
        shutil.copyfile(src, dest)


@dataclass(frozen=True)
class UploadedOutput:
    """One output symbol and the objects it produced."""

    symbol: str
    uris: list[str]


def merge_tags(*layers: dict[str, str] | None) -> dict[str, str]:
    """Tags from general to specific; later layers win (Options < step < file)."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer or {})
    return merged


def upload_outputs(repo: Repository, outputs: dict, repo_uri: str, workspace: Path, *,
                   base_tags: dict[str, str] | None = None,
                   metadata: dict[str, str] | None = None, move: bool = False) -> list[UploadedOutput]:
    """Upload each output's matching files to ``<dest or repo>/<basename>``.

    ``outputs`` maps symbols to objects with ``name``, ``dest`` and ``s3_tags`` attributes.
    Names are globbed recursively (``**``) in the workspace; no match only logs a warning.
    ``move``: the workspace is removed right after (nothing reads it again), so a file uploaded
    once may be moved into the repository instead of copied (:meth:`~blocks.repository.Repository.move_in`),
    unless the way to it leaves the workspace (a symlinked folder); what the repository moves
    it decides (a local one: no symlink, no other hard link, same file system).
    """
    logger = run_logger()
    items = []
    uploaded = []
    for sym, spec in outputs.items():
        files = sorted(glob.glob(spec.name, root_dir=workspace, recursive=True))
        files = [f for f in files if (workspace / f).is_file()]
        if not files:
            logger.warning("output %s: no file matches %s", sym, spec.name)
        target = spec.dest or repo_uri
        uris = [join_uri(target, basename(f)) for f in files]
        tags = merge_tags(base_tags, spec.s3_tags)
        items.extend((f, (workspace / f, uri, tags, metadata)) for f, uri in zip(files, uris))
        uploaded.append(UploadedOutput(sym, uris))
    movable = _movable_files([f for f, _ in items], workspace) if move else set()
    repo.upload_many([item for f, item in items if f not in movable], progress_for)
    repo.upload_many([item for f, item in items if f in movable], progress_for, move=True)
    return uploaded


def _movable_files(files: list[str], workspace: Path) -> set[str]:
    """The workspace-relative ``files`` that may be moved out: uploaded once (a second upload
    needs the file still there) and reached through real folders of the workspace only."""
    once = [f for f, n in Counter(files).items() if n == 1]
    real = os.path.realpath(workspace)
    return {f for f in once if "/" not in f
            or os.path.realpath(os.path.join(real, os.path.dirname(f))) == os.path.join(real, os.path.dirname(f))}
