"""Fetching one resolved file: into ``<dest>.part``, MD5-checked, then renamed over ``<dest>``.

Ways to move the bytes, tried in order:

* ssh source: ``rsync -rltvP -- [user@]host:path <dest>.part``, then ``scp``. When the host is
  this machine (``localhost``, its host name or FQDN) and the path is readable here, the file is
  copied locally first, without ssh (a fast path; if the local copy fails rsync/scp still run).
* local source: ``rsync`` the same way, then :func:`shutil.copyfile`.
* http source: a streamed GET with httpx; the bearer token is sent only when the source was built
  from a B-Fabric storage access record (``HttpSource.bfabric_auth``), never logged.

A missing ``rsync`` (or ``scp``) executable is a failed attempt, not a crash: the next way is
tried. A file already at ``<dest>`` with the expected checksum is not fetched again ("up to
date"); without a checksum it is always fetched again. ``link: true`` makes a relative symlink.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
from pathlib import Path

import httpx

from blocks.repository import copy_file
from tasks.bfabric.checksums import md5_file
from tasks.bfabric.inputs.resolved import (
    ChecksumMismatchError,
    HttpSource,
    LocalSource,
    ResolvedFile,
    SshSource,
    TransferError,
)
from tasks.runtime.logs import run_logger
from tasks.runtime.streaming import run_streaming
from tasks.runtime.transfers import transfer_reporter

__all__ = ["HTTP_TIMEOUT", "fetch_file", "is_this_machine", "link_file", "md5_file", "part_path"]

HTTP_TIMEOUT = httpx.Timeout(60.0, connect=30.0)
_CHUNK = 1 << 20


def part_path(dest: Path) -> Path:
    """Where ``dest`` is written before it is complete."""
    return dest.with_name(dest.name + ".part")


@functools.lru_cache(maxsize=1)
def _own_names() -> frozenset[str]:
    hostname = socket.gethostname()
    names = {"localhost", "127.0.0.1", "::1", hostname, hostname.split(".")[0], socket.getfqdn()}
    return frozenset(n.lower() for n in names if n)


def is_this_machine(host: str) -> bool:
    """Whether ``host`` names the machine this runs on (``localhost``, its host name or FQDN)."""
    return host.lower() in _own_names()


def fetch_file(file: ResolvedFile, dest: Path, *, ssh_user: str | None = None,
               bearer_token: str | None = None) -> bool:
    """Put ``file`` at ``dest``; returns False when it was already up to date, True when fetched.

    Raises :class:`ChecksumMismatchError` (the part file is deleted) or :class:`TransferError`.
    """
    log = run_logger()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if file.link:
        return link_file(file, dest)
    if file.checksum and dest.is_file() and not dest.is_symlink() and md5_file(dest) == file.checksum.lower():
        log.info("%s: up to date", file.filename)
        return False
    part = part_path(dest)
    source = file.source
    if isinstance(source, HttpSource):
        _fetch_http(source, part, bearer_token)
    elif not _fetch_by_copy(source, part, ssh_user):
        part.unlink(missing_ok=True)
        raise TransferError(f"{file.filename}: could not fetch {source} (rsync and "
                            f"{'scp' if isinstance(source, SshSource) else 'copy'} failed)")
    _verify(part, file.checksum, file.filename)
    os.replace(part, dest)
    log.info("%s: fetched from %s", file.filename, source)
    return True


def _verify(part: Path, checksum: str | None, filename: str) -> None:
    """Raise (and delete ``part``) when its MD5 is not ``checksum``."""
    if checksum is None:
        run_logger().info("%s: no checksum known, not verified", filename)
        return
    actual = md5_file(part)
    if actual != checksum.lower():
        part.unlink(missing_ok=True)
        raise ChecksumMismatchError(f"{filename}: checksum mismatch (expected {checksum}, got {actual}); "
                                    "the download was deleted")


def _run(argv: list[str]) -> bool:
    """Run a transfer command; False if it failed or its executable is missing."""
    log = run_logger()
    if shutil.which(argv[0]) is None:
        log.warning("%s not found on PATH; trying the next way", argv[0])
        return False
    log.info("%s", " ".join(argv))
    try:
        code = run_streaming(argv, prefix=f"[{argv[0]}] ")
    except OSError as exc:  # vanished or not executable
        log.warning("cannot run %s: %s", argv[0], exc.strerror or exc)
        return False
    if code != 0:
        log.warning("%s exited with code %d", argv[0], code)
    return code == 0


def _reporter(part: Path):
    """Progress of the fetch into ``part`` (shown for a large file), named by the input's file name."""
    return transfer_reporter("download", part.name.removesuffix(".part"))


def _local_copy(path: str, part: Path) -> bool:
    try:
        copy_file(Path(path), part, _reporter(part))
    except OSError as exc:
        run_logger().warning("copy %s failed: %s", path, exc.strerror or exc)
        return False
    return True


def _fetch_by_copy(source: LocalSource | SshSource, part: Path, ssh_user: str | None) -> bool:
    """Copy a local or ssh source to ``part`` with the first way that works."""
    if isinstance(source, LocalSource):
        return _run(["rsync", "-rltvP", "--", source.path, str(part)]) or _local_copy(source.path, part)
    if is_this_machine(source.host) and os.access(source.path, os.R_OK) and _local_copy(source.path, part):
        return True
    remote = source.remote(ssh_user)
    return (_run(["rsync", "-rltvP", "--", remote, str(part)])
            or _run(["scp", "-p", "-o", "BatchMode=yes", "--", remote, str(part)]))


def _fetch_http(source: HttpSource, part: Path, bearer_token: str | None) -> None:
    """Stream ``source`` into ``part``; raises :class:`TransferError` (part deleted) on failure."""
    headers = {"Accept-Encoding": "identity"}  # the checksum is over the stored bytes
    if source.bfabric_auth:
        if not bearer_token:
            raise TransferError(f"{source}: this B-Fabric storage URL needs a bearer token (an OAuth/PAT "
                                "B-Fabric login); use access: ssh or connect with a token")
        headers["Authorization"] = f"Bearer {bearer_token}"
    try:
        # httpx drops the Authorization header when a redirect leaves the URL's origin
        with httpx.stream("GET", source.url, headers=headers, follow_redirects=True, timeout=HTTP_TIMEOUT) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("Content-Length") or 0)  # unknown (0): no progress shown
            tell, done = _reporter(part), 0
            with open(part, "wb") as out:
                for block in resp.iter_bytes(_CHUNK):
                    out.write(block)
                    done += len(block)
                    tell(done, total)
    except httpx.HTTPStatusError as exc:
        part.unlink(missing_ok=True)
        hint = "; the bearer token may be missing or lack access" if exc.response.status_code in (401, 403) else ""
        raise TransferError(f"{source}: HTTP {exc.response.status_code}{hint}") from None
    except (httpx.HTTPError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise TransferError(f"{source}: download failed: {type(exc).__name__}") from None


def link_file(file: ResolvedFile, dest: Path) -> bool:
    """Make ``dest`` a relative symlink to the local source; False if it already is one."""
    if not isinstance(file.source, LocalSource):  # a real check: asserts vanish under python -O
        raise TransferError(f"{file.filename}: cannot link a non-local file ({file.source}); "
                            "link: true needs a local source")
    target = os.path.relpath(Path(file.source.path).resolve(), dest.parent.resolve())
    if dest.is_symlink():
        if os.readlink(dest) == target:
            run_logger().info("%s: up to date (link)", file.filename)
            return False
        dest.unlink()
    elif dest.exists():
        raise TransferError(f"{file.filename}: exists and is not a symlink; remove it to link {file.source}")
    os.symlink(target, dest)
    run_logger().info("%s: linked to %s", file.filename, target)
    return True
