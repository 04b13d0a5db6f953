"""What an inputs.yml resolves to: files to fetch, files to write, archives to extract.

Resolution (:mod:`tasks.bfabric.inputs.resolve`) turns every input spec into one or more of

* :class:`ResolvedFile`: a file copied (or linked) from a :class:`LocalSource`, fetched from an
  :class:`SshSource` or downloaded from an :class:`HttpSource`, with an optional MD5 checksum;
* :class:`ResolvedStaticFile`: a file whose whole content is known (text or bytes);
* :class:`ResolvedDirectory`: a zip archive fetched to ``<filename>.zip`` (kept as a cache) and
  extracted into the directory ``<filename>``.

:func:`validate_resolved` rejects sets that cannot be prepared together (duplicate names, ``.``
next to other entries, files inside a directory input) and :func:`apply_filter` keeps the
entries named exactly by a ``--filter``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Iterable, Union

from specs.paths import relative_problem

__all__ = [
    "ChecksumMismatchError",
    "HttpSource",
    "InputNotFoundError",
    "InputsError",
    "InvalidInputsError",
    "LocalSource",
    "ResolvedDirectory",
    "ResolvedFile",
    "ResolvedInput",
    "ResolvedStaticFile",
    "Source",
    "SshSource",
    "TransferError",
    "apply_filter",
    "normalize_filename",
    "paths_of",
    "validate_resolved",
]


class InputsError(Exception):
    """Base class of input preparation errors; the message is one line."""


class InvalidInputsError(InputsError, ValueError):
    """The resolved inputs cannot be prepared together (a problem of the inputs.yml)."""


class InputNotFoundError(InputsError, KeyError):
    """A B-Fabric entity named by an input does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ChecksumMismatchError(InputsError):
    """A fetched file does not have the expected MD5 checksum (the partial file was deleted)."""


class TransferError(InputsError):
    """Every way of fetching a file failed."""


@dataclass(frozen=True)
class LocalSource:
    """A file on this machine (absolute path)."""

    path: str

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True)
class SshSource:
    """A file on a host reachable with rsync/scp over ssh."""

    host: str
    path: str

    def remote(self, user: str | None = None) -> str:
        """``[user@]host:path`` as rsync and scp take it."""
        return f"{user}@{self.host}:{self.path}" if user else f"{self.host}:{self.path}"

    def __str__(self) -> str:
        return self.remote()


@dataclass(frozen=True)
class HttpSource:
    """A file behind an http(s) URL.

    ``bfabric_auth`` is set only for URLs built from a B-Fabric storage access record: the bearer
    token is sent to those URLs and to no other.
    """

    url: str
    bfabric_auth: bool = False

    def __str__(self) -> str:
        return self.url.split("?")[0]  # a query may carry credentials; never show it


Source = Union[LocalSource, SshSource, HttpSource]


@dataclass(frozen=True)
class ResolvedFile:
    """A file fetched from ``source`` to ``filename`` (relative to the target directory)."""

    filename: str
    source: Source
    checksum: str | None = None
    link: bool = False


@dataclass(frozen=True)
class ResolvedStaticFile:
    """A file whose content is written as is."""

    filename: str
    content: str | bytes = field(repr=False)

    @property
    def data(self) -> bytes:
        """The content as bytes (text is UTF-8)."""
        return self.content if isinstance(self.content, bytes) else self.content.encode("utf-8")


@dataclass(frozen=True)
class ResolvedDirectory:
    """A zip archive fetched to :attr:`archive_filename` and extracted into ``filename``."""

    filename: str
    source: Source
    checksum: str | None = None
    include_patterns: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()
    strip_root: bool = False
    extract: str = "zip"

    @property
    def archive_filename(self) -> str:
        """Where the downloaded archive is kept: ``<filename>.zip`` next to the directory.

        ``input/result`` gives ``input/result.zip`` (not ``input/input/result.zip``, bfabricPy #323);
        an archive extracted into the target directory itself (``.``) is kept as ``.archive.zip``.
        """
        name = normalize_filename(self.filename)
        return ".archive.zip" if name == "." else f"{name}.zip"

    @property
    def archive(self) -> ResolvedFile:
        """The archive download as a plain file input."""
        return ResolvedFile(filename=self.archive_filename, source=self.source, checksum=self.checksum)


ResolvedInput = Union[ResolvedFile, ResolvedStaticFile, ResolvedDirectory]


def normalize_filename(filename: str) -> str:
    """``filename`` without ``./`` parts, doubled or trailing slashes (``.`` stays ``.``)."""
    return posixpath.normpath(filename)


def paths_of(item: ResolvedInput) -> list[str]:
    """Every path an input occupies below the target directory (a directory also has its zip)."""
    if isinstance(item, ResolvedDirectory):
        return [normalize_filename(item.filename), item.archive_filename]
    return [normalize_filename(item.filename)]


def validate_resolved(items: Iterable[ResolvedInput]) -> list[ResolvedInput]:
    """``items`` as a list, or :class:`InvalidInputsError` if they cannot live in one directory.

    Rejected: a file name outside the target directory (absolute, or climbing with ``..``: names
    of B-Fabric resources come from the LIMS, not from inputs.yml); two inputs with the same file
    name; ``.`` (a directory input extracted into the target directory itself) together with any
    other input; a file placed inside the directory of a directory input.
    """
    items = list(items)
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        for path in paths_of(item):
            problem = relative_problem(path)
            if problem:
                raise InvalidInputsError(f"input {index + 1}: file name {path!r}: {problem}")
            if path in seen:
                raise InvalidInputsError(f"duplicate input file name {path!r} (inputs {seen[path] + 1} and {index + 1})")
            seen[path] = index
    if "." in seen and len(items) > 1:
        raise InvalidInputsError("an input extracted into '.' must be the only input")
    directories = [normalize_filename(i.filename) for i in items if isinstance(i, ResolvedDirectory)]
    for directory in directories:
        for path in seen:
            if path.startswith(directory + "/"):
                raise InvalidInputsError(f"input file {path!r} is inside the directory input {directory!r}")
    return items


def apply_filter(items: Iterable[ResolvedInput], names: Iterable[str]) -> list[ResolvedInput]:
    """The inputs whose file name is exactly one of ``names`` (no globbing); raises if none is."""
    wanted = {normalize_filename(n) for n in names}
    kept = [i for i in items if normalize_filename(i.filename) in wanted]
    if not kept:
        raise InvalidInputsError(f"--filter {', '.join(sorted(wanted))}: no input has that file name")
    return kept
