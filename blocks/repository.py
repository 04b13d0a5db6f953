"""The repository interface: where a workflow's job data, inputs, outputs and markers live.

A *repository* is addressed by URIs: ``s3://bucket/key`` or a local path. Every storage
(the local folder that stands in for S3, real S3 or MinIO) implements the few primitive
operations of :class:`Repository`; globbing and concurrent transfers are built on them once.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import shutil
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from prefect.blocks.core import Block
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from specs.paths import escape_problem, uri_problem

_GLOB_CHARS = re.compile(r"[*?\[]")
COPY_CHUNK = 8 << 20  # a local copy that reports progress moves this many bytes at a time

TransferProgress = Callable[[int, int], None]
"""Told ``(bytes done, bytes total)`` as one file moves (at its start, after each chunk, at its end)."""
ProgressFor = Callable[[str, str], "TransferProgress | None"]
"""``(direction, uri) -> TransferProgress or None``: whom a transfer of ``uri`` (``download`` or
``upload``) tells how far it got; None for a file nobody watches."""


def copy_file(src: Path, dest: Path | str, progress: TransferProgress | None = None) -> None:
    """Copy ``src`` to ``dest`` (:func:`shutil.copyfile` without ``progress``; chunk by chunk, telling
    ``progress`` the bytes done, with it)."""
    if progress is None:
        shutil.copyfile(src, dest)
        return
    total = Path(src).stat().st_size
    done = 0
    progress(done, total)
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(COPY_CHUNK):
            fout.write(chunk)
            done += len(chunk)
            progress(done, total)


class RepositoryError(Exception):
    """A repository operation failed for good; the message names the URI."""


class ObjectNotFound(RepositoryError, FileNotFoundError):
    """The object at a URI does not exist."""


class PathOutsideRoot(RepositoryError, ValueError):
    """A URI or key would leave its root (a ``..`` segment, no bucket); nothing was read or written."""


def check_uri(uri: str) -> str:
    """``uri`` itself, or :class:`PathOutsideRoot` when it would escape its root (see :func:`specs.paths.uri_problem`)."""
    problem = uri_problem(uri)
    if problem:
        raise PathOutsideRoot(f"refused {uri!r}: {problem}")
    return uri


def join_uri(base: str, *parts: str) -> str:
    """Join URI parts with single slashes: ``join_uri("s3://b/r/", "x")`` is ``s3://b/r/x``.

    A part with a ``..`` segment raises :class:`PathOutsideRoot`: joined names stay below ``base``.
    """
    out = base.rstrip("/")
    for p in parts:
        p = str(p).strip("/")
        problem = escape_problem(p)
        if problem:
            raise PathOutsideRoot(f"refused {p!r} below {base}: {problem}")
        if p:
            out = f"{out}/{p}"
    return out


def basename(uri: str) -> str:
    """The last path component of a URI or path."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def has_glob(text: str) -> bool:
    """True when ``text`` contains glob characters (``*``, ``?``, ``[``)."""
    return bool(_GLOB_CHARS.search(text))


class Repository(Block, ABC):
    """Abstract storage for workflow repositories; subclasses implement the primitives."""

    _block_type_name = "Labflows Repository"

    @property
    def logger(self) -> logging.Logger | logging.LoggerAdapter:
        """The current Prefect run's logger, else ``labflows.<ClassName>`` (as Prefect's own
        abstract blocks do, so retry warnings show up in the run that caused them)."""
        try:
            return get_run_logger()
        except MissingContextError:
            return logging.getLogger(f"labflows.{type(self).__name__}")

    # ---- primitives -------------------------------------------------------------------
    @abstractmethod
    def exists(self, uri: str) -> bool:
        """True when an object exists at ``uri``."""

    @abstractmethod
    def read_bytes(self, uri: str) -> bytes:
        """The object's bytes; :class:`ObjectNotFound` when absent."""

    @abstractmethod
    def write_bytes(self, uri: str, data: bytes, *, tags: dict[str, str] | None = None,
                    metadata: dict[str, str] | None = None) -> None:
        """Write an object whole (readers never see a partial object)."""

    @abstractmethod
    def list_uris(self, prefix: str) -> list[str]:
        """Every object whose URI starts with ``prefix`` (recursive, string-prefix semantics)."""

    @abstractmethod
    def download(self, uri: str, dest: Path, *, progress: TransferProgress | None = None) -> None:
        """Copy an object to a local file; ``dest`` is either complete or absent afterwards.
        A backend that can tells ``progress`` how far it got."""

    @abstractmethod
    def upload(self, src: Path, uri: str, *, tags: dict[str, str] | None = None,
               metadata: dict[str, str] | None = None, progress: TransferProgress | None = None) -> None:
        """Store a local file as an object, whole or not at all (``progress`` as for :meth:`download`)."""

    @abstractmethod
    def delete(self, uri: str) -> None:
        """Remove an object (no error when absent)."""

    @abstractmethod
    def etag(self, uri: str) -> str:
        """A token that changes whenever the object's content changes."""

    @abstractmethod
    def get_tags(self, uri: str) -> dict[str, str]:
        """The object's tags."""

    @abstractmethod
    def get_metadata(self, uri: str) -> dict[str, str]:
        """The object's user metadata."""

    # ---- built on the primitives ----------------------------------------------------------
    def copy(self, src: str, dst: str) -> None:
        """Copy one object to another URI."""
        self.write_bytes(dst, self.read_bytes(src))

    def read_text(self, uri: str) -> str:
        """The object decoded as UTF-8."""
        return self.read_bytes(uri).decode("utf-8")

    def write_text(self, uri: str, text: str, **kwargs) -> None:
        """Write UTF-8 text as an object."""
        self.write_bytes(uri, text.encode("utf-8"), **kwargs)

    def glob(self, pattern: str) -> list[str]:
        """URIs matching a glob, BayerCLAW style: list with the glob-free prefix up to a ``/``,
        then ``fnmatch`` on whole URIs, so ``*`` also matches ``/``. A pattern without glob
        characters matches itself when it exists."""
        m = _GLOB_CHARS.search(pattern)
        if not m:
            return [pattern] if self.exists(pattern) else []
        prefix = pattern[: m.start()]
        prefix = prefix[: prefix.rfind("/") + 1]
        return sorted(u for u in self.list_uris(prefix) if fnmatch.fnmatchcase(u, pattern))

    def transfer_workers(self) -> int:
        """How many files of one step move at once."""
        return 8

    def download_many(self, pairs: Iterable[tuple[str, Path]], progress_for: ProgressFor | None = None) -> None:
        """Download several objects concurrently; the first failure is raised after all finish.
        ``progress_for`` says whom each download tells how far it got."""
        watch = progress_for or _unwatched
        self._run_many(lambda p: self.download(p[0], p[1], progress=watch("download", p[0])), list(pairs))

    def move_in(self, src: Path, uri: str, *, tags: dict[str, str] | None = None,
                metadata: dict[str, str] | None = None, progress: TransferProgress | None = None) -> None:
        """:meth:`upload` a file its caller no longer needs: a repository may take it (move it into
        place) instead of copying it. Here: a plain upload; ``src`` stays."""
        self.upload(src, uri, tags=tags, metadata=metadata, progress=progress)

    def upload_many(self, items: Iterable[tuple[Path, str, dict[str, str] | None, dict[str, str] | None]],
                    progress_for: ProgressFor | None = None, *, move: bool = False) -> None:
        """Upload ``(src, uri, tags, metadata)`` items concurrently; the first failure is raised.
        ``progress_for`` as for :meth:`download_many`; ``move``: through :meth:`move_in` (the
        sources are not needed afterwards)."""
        watch = progress_for or _unwatched
        put = self.move_in if move else self.upload
        self._run_many(lambda i: put(i[0], i[1], tags=i[2], metadata=i[3], progress=watch("upload", i[1])),
                       list(items))

    def _run_many(self, fn, items: list) -> None:
        if len(items) <= 1:
            for item in items:
                fn(item)
            return
        with ThreadPoolExecutor(max_workers=min(self.transfer_workers(), len(items))) as pool:
            futures = [pool.submit(fn, item) for item in items]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]


def _unwatched(direction: str, uri: str) -> None:
    """The :data:`ProgressFor` of transfers nobody watches."""
    return None
