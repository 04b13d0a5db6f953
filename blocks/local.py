"""A local folder as a repository; ``s3://BUCKET/KEY`` resolves to ``ROOT/BUCKET/KEY``."""

from __future__ import annotations

import functools
import hashlib
import json
import os
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
    Stored files get the mode ``0666 & ~umask``. Object tags and metadata are kept in JSON side
    files under ``ROOT/.labflows-meta/``.

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
        if not data and _created_empty(path):
            self._write_meta(path, tags, metadata)
            return
        fd, tmp = _new_temp(path)
        try:
            with open(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
        self._write_meta(path, tags, metadata)

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
        try:
            copy_file(src, tmp, progress)
            os.replace(tmp, dest)
        except BaseException:
            _remove(tmp)
            raise
        self._write_meta(dest, tags, metadata)

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

    # ---- side files for tags and metadata -------------------------------------------------
    def _write_meta(self, path: str, tags: dict | None, metadata: dict | None) -> None:
        """The side file of the object at the local ``path``: written, or removed without either."""
        meta = self._meta_local(path)
        if not tags and not metadata:
            _remove(meta)
            return
        text = json.dumps({"tags": tags or {}, "metadata": metadata or {}}).encode()
        fd = _open_creating(meta, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with open(fd, "wb") as f:
            f.write(text)

    def _read_meta(self, uri: str) -> dict:
        try:
            with open(self._meta_local(self._local(uri)), "rb") as f:
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


def _created_empty(path: str) -> bool:
    """Create ``path`` as a new empty file, atomically without a temporary file (a completion
    marker, removed when its step starts); False when something is there already (the caller
    replaces it through a temporary file: ``O_EXCL`` never follows or truncates what exists)."""
    try:
        os.close(_open_creating(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
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
