"""A local folder as a repository; ``s3://BUCKET/KEY`` resolves to ``ROOT/BUCKET/KEY``."""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import stat
import threading
from pathlib import Path

from pydantic import Field

from blocks.repository import (
    ObjectNotFound,
    PathOutsideRoot,
    Repository,
    TransferProgress,
    check_uri,
    copy_file,
)

DEFAULT_STORAGE = "./.labflows/storage"
_META_DIR = ".labflows-meta"
_META_ATTR = "user.labflows"  # the extended attribute that holds an object's tags and metadata
# setxattr failures that mean "not here" (file system without user attributes, value too large
# for it): the object's side file keeps them instead
_NO_ATTR = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.E2BIG, errno.ENOSPC, errno.EPERM, errno.ERANGE})
_umask_lock = threading.Lock()


def _current_umask() -> int:
    """The process umask (read from /proc when possible: setting it to read it races other threads)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open(…, "w")`` gives a new file: ``0o666`` less the umask.

    Temporary files are created ``0600``; stored objects get this mode before they are renamed
    into place, so other users and tools see them as they would see any other written file.
    """
    return 0o666 & ~_current_umask()


class LocalRepository(Repository):
    """Stores repositories in a local folder that stands in for S3.

    ``s3://BUCKET/KEY`` is the file ``ROOT/BUCKET/KEY``; plain paths are used as they are. A URI
    with a ``..`` segment (or ``s3:///…`` without a bucket) is refused, so no key leaves ``ROOT``.
    Stored files get the mode ``0666 & ~umask``. Object tags and metadata are kept as JSON in the
    object's extended attribute ``user.labflows``, set on the new file before it takes the object's
    name (it appears with them; no further file or folder per object); where the file system has
    no user attributes (or the JSON is too large for it) they go to a JSON side file under
    ``ROOT/.labflows-meta/`` instead, which is also read for objects written by earlier versions.

    Example:
        ```python
        from blocks import LocalRepository
        repo = LocalRepository(root="/data/labflows")
        repo.save("lab-storage")
        LocalRepository.load("lab-storage").read_text("s3://bucket/run1/_JOB_DATA_")
        ```
    """

    _block_type_name = "Labflows Local Repository"
    _block_type_slug = "labflows-local-repository"
    _logo_url = "https://images.ctfassets.net/gm98wzqotmnx/5Wt9PjvHkHHHDJhnF5T1Nu/6b8b5a9e3e9d7bd6d0a0b6c7d3a6e8c1/folder.png"  # noqa: E501
    _description = "A local folder standing in for S3: s3://BUCKET/KEY is ROOT/BUCKET/KEY."

    root: str = Field(default=DEFAULT_STORAGE, description="Folder that holds one sub-folder per bucket.")

    # ---- mapping ------------------------------------------------------------------------
    # Plain strings inside, not pathlib: a scatter branch maps a dozen URIs, 100,000 branches
    # a million; ``path_of`` gives callers a Path.
    def path_of(self, uri: str) -> Path:
        """The local file that holds ``uri``.

        Raises :class:`~blocks.repository.PathOutsideRoot` for a URI that would leave its root: a
        ``..`` segment anywhere, or an ``s3://`` URI without a bucket. Only what pathlib drops
        too is normalised away (``.`` segments, doubled and trailing slashes).
        """
        return Path(self._local(uri))

    def _root(self) -> str:
        return _absolute(self.root)

    def _local(self, uri: str) -> str:
        """:meth:`path_of` as a normalised absolute path string."""
        check_uri(uri)
        if uri.startswith("s3://"):
            root = self._root()
            path = os.path.normpath(f"{root}/{uri[len('s3://'):]}")
            # the check above refuses '..'; this one holds whatever a future URI form allows
            if path != root and not path.startswith(root.rstrip("/") + "/"):
                raise PathOutsideRoot(f"refused {uri!r}: leaves the storage folder {root}")
            return path
        if uri.startswith("file://"):
            uri = uri[len("file://"):]
        return _absolute(uri)

    def _meta_path(self, uri: str) -> Path:
        return Path(self._meta_local(self._local(uri)))

    def _meta_local(self, path: str) -> str:
        """The side file of the object at the local ``path``."""
        root = self._root()
        inside = root.rstrip("/") + "/"
        rel = path[len(inside):] if path.startswith(inside) else "_local_" + path
        return f"{inside}{_META_DIR}/{rel}.json"

    # ---- primitives ---------------------------------------------------------------------
    def exists(self, uri: str) -> bool:
        return os.path.isfile(self._local(uri))

    def read_bytes(self, uri: str) -> bytes:
        try:
            with open(self._local(uri), "rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no such object: {uri}") from None

    def write_bytes(self, uri, data, *, tags=None, metadata=None) -> None:
        path = self._local(uri)
        meta = _meta_json(tags, metadata)
        if not data:
            fd = _created_empty(path)
            if fd is not None:
                try:
                    in_attr = _set_meta_attr(fd, meta)
                finally:
                    os.close(fd)
                self._settle_side_file(path, meta, in_attr)
                return
        fd, tmp = _new_temp(path)
        try:
            with open(fd, "wb") as f:
                f.write(data)
                in_attr = _set_meta_attr(f.fileno(), meta)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
        self._settle_side_file(path, meta, in_attr)

    def list_uris(self, prefix: str) -> list[str]:
        base = self._local(prefix)
        top = base if prefix.endswith("/") else os.path.dirname(base)
        if not os.path.isdir(top):
            return []
        want = base + ("/" if prefix.endswith("/") else "")
        root = self._root().rstrip("/") + "/"
        as_s3 = prefix.startswith("s3://")
        out = []
        # plain strings, not Path objects: gathering a 10,000-branch scatter lists 30,000 files
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != _META_DIR]
            for name in filenames:
                full = f"{dirpath}/{name}"
                if not name.startswith(".") and full.startswith(want):
                    out.append("s3://" + full[len(root):] if as_s3 else full)
        return sorted(out)

    def download(self, uri: str, dest: Path, *, progress: TransferProgress | None = None) -> None:
        src = self._local(uri)
        if not os.path.isfile(src):
            raise ObjectNotFound(f"no such object: {uri}")
        part = f"{dest}.part"
        try:
            try:
                copy_file(src, part, progress)
            except FileNotFoundError:  # the destination's folder is new (checked only when needed)
                Path(dest).parent.mkdir(parents=True, exist_ok=True)
                copy_file(src, part, progress)
            os.replace(part, dest)
        except BaseException:
            _remove(part)
            raise

    def upload(self, src: Path, uri: str, *, tags=None, metadata=None,
               progress: TransferProgress | None = None) -> None:
        dest = self._local(uri)
        fd, tmp = _new_temp(dest)
        os.close(fd)
        meta = _meta_json(tags, metadata)
        try:
            copy_file(src, tmp, progress)
            in_attr = _set_meta_attr(tmp, meta)  # before the rename: the object appears with them
            os.replace(tmp, dest)
        except BaseException:
            _remove(tmp)
            raise
        self._settle_side_file(dest, meta, in_attr)

    def move_in(self, src: Path, uri: str, *, tags=None, metadata=None,
                progress: TransferProgress | None = None) -> None:
        """:meth:`upload` by renaming ``src`` into place when that is safe, else by copying it.

        Safe: ``src`` itself (not followed) is a regular file with no other link, owned by this
        user and with the mode a new object gets (``0666 & ~umask``), on the same file system as
        the object. The rename replaces the object atomically (its tags already set on ``src``),
        and ``src`` is gone. The caller vouches that no folder on the way to ``src`` is a symlink
        leading out of where it may take files from.
        """
        dest = self._local(uri)
        if not _movable(str(src)):
            self.upload(src, uri, tags=tags, metadata=metadata, progress=progress)
            return
        meta = _meta_json(tags, metadata)
        in_attr = _set_meta_attr(str(src), meta)  # before the rename: the object appears with them
        try:
            try:
                os.replace(src, dest)
            except FileNotFoundError:  # the object's folder is new (checked only when needed)
                if not os.path.lexists(src):
                    raise
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.replace(src, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            self.upload(src, uri, tags=tags, metadata=metadata, progress=progress)  # another file system
            return
        if progress is not None:
            size = os.stat(dest).st_size
            progress(size, size)
        self._settle_side_file(dest, meta, in_attr)

    def delete(self, uri: str) -> None:
        path = self._local(uri)
        _remove(path)
        _remove(self._meta_local(path))

    def etag(self, uri: str) -> str:
        st = self.path_of(uri).stat()
        return hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()).hexdigest()

    def get_tags(self, uri: str) -> dict[str, str]:
        return self._read_meta(uri).get("tags", {})

    def get_metadata(self, uri: str) -> dict[str, str]:
        return self._read_meta(uri).get("metadata", {})

    # ---- tags and metadata: the object's attribute, else its side file -----------------------
    def _settle_side_file(self, path: str, meta: bytes | None, in_attr: bool) -> None:
        """After the object at the local ``path`` was placed: its side file holds ``meta`` when the
        attribute could not; otherwise an earlier side file (older version, other file system) is
        removed, so it never outlives what it described."""
        side = self._meta_local(path)
        if in_attr or meta is None:
            _remove(side)
            return
        fd = _open_creating(side, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with open(fd, "wb") as f:
            f.write(meta)

    def _read_meta(self, uri: str) -> dict:
        path = self._local(uri)
        try:
            return json.loads(os.getxattr(path, _META_ATTR))
        except (OSError, AttributeError):  # no such attribute (or object), no attributes here: the side file
            pass
        try:
            with open(self._meta_local(path), "rb") as f:
                return json.loads(f.read())
        except FileNotFoundError:
            return {}


@functools.lru_cache(maxsize=64)
def _absolute_cached(path: str) -> str:
    return os.path.normpath(path)


def _absolute(path: str) -> str:
    """``path`` made absolute (against the current folder) and normalised, as a string."""
    if path.startswith("/"):
        return _absolute_cached(path)  # roots are absolute and asked for on every call
    return os.path.normpath(os.path.join(os.getcwd(), path))


def _open_creating(path: str, flags: int) -> int:
    """``os.open(path, flags, 0o666)``, making the parent folders first when they are missing.

    Mode 0o666 less the umask (the kernel applies it), as a plain ``open(…, "w")`` gives; the
    folders are made only when the open says they are missing (no ``mkdir`` per write).
    """
    flags |= os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, flags, 0o666)


def _created_empty(path: str) -> int | None:
    """Create ``path`` as a new empty file, atomically without a temporary file (a completion
    marker, removed when its step starts): its open fd; None when something is there already (the
    caller replaces it through a temporary file: ``O_EXCL`` never follows or truncates what exists)."""
    try:
        return _open_creating(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return None


def _movable(src: str) -> bool:
    """Whether :meth:`LocalRepository.move_in` may rename ``src`` (see there): a regular file, not
    a symlink, with no other hard link, this user's, with the mode a new object gets."""
    try:
        st = os.lstat(src)
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_uid == os.geteuid()
            and stat.S_IMODE(st.st_mode) == file_mode())


def _meta_json(tags: dict | None, metadata: dict | None) -> bytes | None:
    """Tags and metadata as the JSON an object keeps; None when there is neither."""
    if not tags and not metadata:
        return None
    return json.dumps({"tags": tags or {}, "metadata": metadata or {}}, separators=(",", ":")).encode()


def _set_meta_attr(target: int | str, meta: bytes | None) -> bool:
    """Put ``meta`` in the attribute of the new file ``target`` (an fd or a path); True when it is
    there or there is nothing to keep, False when this file system cannot hold it (side file)."""
    if meta is None:
        return True
    if not hasattr(os, "setxattr"):  # no extended attributes on this platform (macOS, Windows)
        return False
    try:
        os.setxattr(target, _META_ATTR, meta)
    except OSError as exc:
        if exc.errno in _NO_ATTR:
            return False
        raise
    return True


def _new_temp(path: str) -> tuple[int, str]:
    """A new hidden file next to ``path`` (``.<name>.<random>``), created exclusively: its fd and name."""
    folder, name = os.path.split(path)
    while True:
        tmp = f"{folder}/.{name}.{os.urandom(6).hex()}"
        try:
            return _open_creating(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL), tmp
        except FileExistsError:
            continue


def _remove(path: str) -> None:
    """Remove a file; a missing one is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
