"""A local folder as a repository; ``s3://BUCKET/KEY`` resolves to ``ROOT/BUCKET/KEY``."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
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
    def path_of(self, uri: str) -> Path:
        """The local file that holds ``uri``.

        Raises :class:`~blocks.repository.PathOutsideRoot` for a URI that would leave its root: a
        ``..`` segment anywhere, or an ``s3://`` URI without a bucket. Nothing is normalised away.
        """
        check_uri(uri)
        if uri.startswith("s3://"):
            root = Path(self.root).absolute()
            path = root / uri[len("s3://"):]
            # the check above refuses '..'; this one holds whatever a future URI form allows
            if os.path.commonpath([os.path.normpath(path), os.path.normpath(root)]) != os.path.normpath(root):
                raise PathOutsideRoot(f"refused {uri!r}: leaves the storage folder {root}")
            return path
        if uri.startswith("file://"):
            uri = uri[len("file://"):]
        return Path(uri).absolute()

    def _meta_path(self, uri: str) -> Path:
        p = self.path_of(uri)
        try:
            rel = p.relative_to(Path(self.root).absolute())
        except ValueError:
            rel = Path("_local_") / p.relative_to("/")
        return Path(self.root).absolute() / _META_DIR / (rel.as_posix() + ".json")

    # ---- primitives ---------------------------------------------------------------------
    def exists(self, uri: str) -> bool:
        return self.path_of(uri).is_file()

    def read_bytes(self, uri: str) -> bytes:
        try:
            return self.path_of(uri).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no such object: {uri}") from None

    def write_bytes(self, uri, data, *, tags=None, metadata=None) -> None:
        path = self.path_of(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
            tmp.write(data)
        os.chmod(tmp.name, file_mode())
        os.replace(tmp.name, path)
        self._write_meta(uri, tags, metadata)

    def list_uris(self, prefix: str) -> list[str]:
        base = self.path_of(prefix)
        top = base if prefix.endswith("/") else base.parent
        if not top.is_dir():
            return []
        want = base.as_posix() + ("/" if prefix.endswith("/") else "")
        root = Path(self.root).absolute().as_posix() + "/"
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
        src = self.path_of(uri)
        if not src.is_file():
            raise ObjectNotFound(f"no such object: {uri}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        try:
            copy_file(src, part, progress)
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)

    def upload(self, src: Path, uri: str, *, tags=None, metadata=None,
               progress: TransferProgress | None = None) -> None:
        dest = self.path_of(uri)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        os.close(fd)
        try:
            copy_file(src, tmp, progress)
            os.chmod(tmp, file_mode())
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._write_meta(uri, tags, metadata)

    def delete(self, uri: str) -> None:
        self.path_of(uri).unlink(missing_ok=True)
        self._meta_path(uri).unlink(missing_ok=True)

    def etag(self, uri: str) -> str:
        st = self.path_of(uri).stat()
        return hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()).hexdigest()

    def get_tags(self, uri: str) -> dict[str, str]:
        return self._read_meta(uri).get("tags", {})

    def get_metadata(self, uri: str) -> dict[str, str]:
        return self._read_meta(uri).get("metadata", {})

    # ---- side files for tags and metadata -------------------------------------------------
    def _write_meta(self, uri: str, tags: dict | None, metadata: dict | None) -> None:
        meta = self._meta_path(uri)
        if not tags and not metadata:
            meta.unlink(missing_ok=True)
            return
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"tags": tags or {}, "metadata": metadata or {}}))

    def _read_meta(self, uri: str) -> dict:
        try:
            return json.loads(self._meta_path(uri).read_text())
        except FileNotFoundError:
            return {}
