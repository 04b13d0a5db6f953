"""Inputs of a B-Fabric app chunk: resolve an inputs.yml, prepare, check and clean its files.

Plain functions (the app flow wraps them as Prefect tasks); ``inputs_spec`` is an
:class:`~specs.bfabric.inputs.InputsSpec`, a list of input entries, or the path of an inputs.yml.

* :func:`resolve_inputs`: the files the entries stand for (B-Fabric is asked only when a
  ``bfabric_*`` entry is present, so static/file-only specs work with ``client=None``).
* :func:`prepare_inputs`: put every file in ``target_dir``: fetched files go through
  ``<name>.part`` and an MD5 check, files already there with the right checksum are kept
  ("up to date"), static files are rewritten only when their content changed, archives are
  downloaded to ``<name>.zip`` and extracted into ``<name>/``.
* :func:`check_inputs`: ``(filename, FileStatus)`` per input.
* :func:`clean_inputs`: remove the prepared files (a directory input also loses its zip).

``filter`` keeps only the inputs whose file name is exactly one of the given names.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from specs.bfabric.inputs import InputSpec, InputsSpec, load_inputs
from tasks.bfabric.inputs.archive import extract_zip
from tasks.bfabric.inputs.check import FileStatus, file_status
from tasks.bfabric.inputs.fetch import fetch_file, part_path
from tasks.bfabric.inputs.lookups import bearer_token as client_bearer_token
from tasks.bfabric.inputs.resolve import needs_client, resolve_specs
from tasks.bfabric.inputs.resolved import (
    ResolvedDirectory,
    ResolvedFile,
    ResolvedInput,
    ResolvedStaticFile,
    apply_filter,
    normalize_filename,
)
from tasks.bfabric.inputs.static import write_static
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    from bfabric import Bfabric

__all__ = [
    "FileStatus",
    "InputsSource",
    "check_inputs",
    "clean_inputs",
    "inputs_need_client",
    "prepare_inputs",
    "resolve_inputs",
]

InputsSource = InputsSpec | Sequence[InputSpec] | str | Path
"""An inputs.yml path, a loaded :class:`InputsSpec`, or its list of entries."""

Filter = str | Sequence[str] | None


def _entries(inputs_spec: InputsSource) -> list[InputSpec]:
    if isinstance(inputs_spec, (str, Path)):
        return list(load_inputs(inputs_spec).inputs)
    if isinstance(inputs_spec, InputsSpec):
        return list(inputs_spec.inputs)
    return list(inputs_spec)


def inputs_need_client(inputs_spec: InputsSource) -> bool:
    """Whether any entry is a ``bfabric_*`` input (a B-Fabric client is then needed)."""
    return needs_client(_entries(inputs_spec))


def resolve_inputs(client: Bfabric | None, inputs_spec: InputsSource, target_dir: str | Path | None = None, *,
                   ssh_user: str | None = None) -> list[ResolvedInput]:
    """The resolved inputs of ``inputs_spec``, checked to fit in one directory.

    ``target_dir`` and ``ssh_user`` do not change the result (names are relative, the ssh user
    is applied when fetching); they are accepted so every function here takes the same
    arguments. Raises :class:`~tasks.bfabric.inputs.resolved.InputsError` subclasses
    (``InvalidInputsError`` for duplicate/nested names, ``InputNotFoundError`` for unknown ids).
    """
    return resolve_specs(client, _entries(inputs_spec))


def _selected(client: Bfabric | None, inputs_spec: InputsSource, filter: Filter) -> list[ResolvedInput]:
    items = resolve_inputs(client, inputs_spec)
    if filter is None:
        return items
    return apply_filter(items, [filter] if isinstance(filter, str) else filter)


def _prepare_one(item: ResolvedInput, target: Path, ssh_user: str | None, token: str | None) -> None:
    path = target / item.filename
    if isinstance(item, ResolvedStaticFile):
        write_static(item, path)
    elif isinstance(item, ResolvedFile):
        fetch_file(item, path, ssh_user=ssh_user, bearer_token=token)
    else:
        # the zip is the cache; extracting again is cheap and follows changed filters
        fetch_file(item.archive, target / item.archive_filename, ssh_user=ssh_user, bearer_token=token)
        members = extract_zip(target / item.archive_filename, path, item.include_patterns,
                              item.exclude_patterns, item.strip_root)
        run_logger().info("%s: extracted %d file(s)", item.filename, len(members))


def _is_dot(item: ResolvedInput) -> bool:
    return normalize_filename(item.filename) == "."


def prepare_inputs(client: Bfabric | None, inputs_spec: InputsSource, target_dir: str | Path, *,
                   ssh_user: str | None = None, filter: Filter = None,
                   bearer_token: str | None = None) -> list[Path]:
    """Prepare every (selected) input in ``target_dir``; returns the prepared paths in order.

    ``ssh_user`` is the login for rsync/scp (default: ssh's own choice). ``bearer_token`` is
    sent with downloads from B-Fabric storage URLs (``access: http``); by default it is the
    token of an OAuth/PAT client, read again for each file. Raises
    ``TransferError``/``ChecksumMismatchError`` when a file cannot be fetched correctly,
    ValueError when a directory is in the way of a static file.
    """
    target = Path(target_dir)
    items = _selected(client, inputs_spec, filter)
    run_logger().info("preparing %d input(s) in %s", len(items), target)
    for item in items:
        # read per file like upstream's token provider: the client refreshes OAuth tokens in a long batch
        _prepare_one(item, target, ssh_user, bearer_token or client_bearer_token(client))
    return [target / item.filename for item in items]


def check_inputs(client: Bfabric | None, inputs_spec: InputsSource, target_dir: str | Path, *,
                 ssh_user: str | None = None, filter: Filter = None) -> list[tuple[str, FileStatus]]:
    """``(filename, status)`` of every (selected) input in ``target_dir``."""
    target = Path(target_dir)
    return [(item.filename, file_status(item, target)) for item in _selected(client, inputs_spec, filter)]


def _remove(path: Path) -> bool:
    if path.is_symlink() or path.is_file():
        path.unlink()
        return True
    if path.is_dir():
        shutil.rmtree(path)
        return True
    return False


def clean_inputs(client: Bfabric | None, inputs_spec: InputsSource, target_dir: str | Path, *,
                 ssh_user: str | None = None, filter: Filter = None) -> list[Path]:
    """Remove the prepared files of every (selected) input; returns what was removed.

    A directory input loses its directory and its cached zip; left-over ``.part`` files go too.
    An archive extracted into ``.`` keeps its extracted files (only the zip is removed), since
    the target directory itself is not the input's to delete.
    """
    target = Path(target_dir)
    removed: list[Path] = []
    for item in _selected(client, inputs_spec, filter):
        paths = [target / item.filename]
        if isinstance(item, ResolvedDirectory):
            paths = [target / item.archive_filename] + ([] if _is_dot(item) else paths)
        for path in paths:
            part_path(path).unlink(missing_ok=True)
            if _remove(path):
                removed.append(path)
                run_logger().info("removed %s", path)
    return removed
