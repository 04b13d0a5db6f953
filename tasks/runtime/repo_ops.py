"""Repository operations beyond the :class:`~blocks.repository.Repository` primitives: a file's
version (the launcher's run names) and an atomic "create unless it exists" (the launcher's
records, a workflow run's repository lock).

File versions:

* S3 with bucket versioning: the object's version ID (also the run name's suffix, as BayerCLAW).
* S3 without versioning: the ETag (the run name's suffix is ``NULL``, as BayerCLAW's).
* Local folders: :meth:`LocalRepository.etag` (size, modification time and inode), so copying a
  job file into the folder again is a new version, as re-uploading is on a versioned bucket.

Atomic creation:

* Local folders: the record is written to a temporary file and hard-linked into place;
  ``link`` fails when the name exists, so exactly one of several writers wins.
* S3: ``PutObject`` with ``If-None-Match: *`` (HTTP 412 when the key exists).
* Any other repository: check, then write (not atomic; the Prefect idempotency key still
  guarantees one flow run per file version).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from blocks.repository import Repository

_LOST_RACE_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


@dataclass(frozen=True)
class FileVersion:
    """A job file's version: ``token`` tells versions apart, ``name_part`` goes into run names."""

    token: str
    name_part: str


def _is_s3(repo: Repository, uri: str) -> bool:
    """True when ``uri`` is an object on real S3 (not a local folder standing in for it)."""
    return uri.startswith("s3://") and hasattr(repo, "_head")


def file_version(repo: Repository, uri: str) -> FileVersion:
    """The version of the object at ``uri`` (see the module docstring)."""
    if _is_s3(repo, uri):
        head: dict[str, Any] = repo._head(uri)  # S3Repository: one HEAD with its retry policy
        version_id = head.get("VersionId")
        if version_id and version_id != "null":
            return FileVersion(version_id, version_id)
        return FileVersion("etag-" + str(head.get("ETag", "")).strip('"'), "")
    token = repo.etag(uri)
    return FileVersion(token, token)


def create_exclusive(repo: Repository, uri: str, data: bytes) -> bool:
    """Create the object at ``uri`` with ``data`` unless one exists; True when this call created it."""
    if _is_s3(repo, uri):
        return _s3_put_if_absent(repo, uri, data)
    path_of = getattr(repo, "path_of", None)
    if path_of is not None or not uri.startswith("s3://"):
        return _link_if_absent(Path(path_of(uri)) if path_of else Path(uri), data)
    if repo.exists(uri):
        return False
    repo.write_bytes(uri, data)
    return True


def _link_if_absent(path: Path, data: bytes) -> bool:
    """Write ``data`` to a temporary file, then hard-link it to ``path`` (fails if it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def _s3_put_if_absent(repo: Any, uri: str, data: bytes) -> bool:
    """``PutObject`` with ``If-None-Match: *`` through the repository's own client."""
    bucket, key = repo._split(uri)
    extra = repo._extra_args(None, None)
    try:
        repo._client().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*", **extra)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if str(error.get("Code")) in _LOST_RACE_CODES or status in {"409", "412"}:
            return False
        raise
    return True
