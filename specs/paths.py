"""Rules for path text that becomes a file or an object key: it must stay inside its root.

Spec validation (``validate``), the engine (job data rendered into paths) and the storage blocks
all ask the same questions, so the answers live here, in a module without dependencies. Each
function returns a short problem (``"'..' leaves its folder"``) or None when the text is fine.
"""

from __future__ import annotations

S3_SCHEME = "s3://"
FILE_SCHEME = "file://"


def _segments(text: str) -> list[str]:
    return text.split("/")


def escape_problem(text: str) -> str | None:
    """A problem when ``text`` has a ``..`` segment (or a NUL byte), else None."""
    if "\x00" in text:
        return "contains a NUL byte"
    if ".." in _segments(text):
        return "'..' would leave its folder"
    return None


def relative_problem(text: str) -> str | None:
    """A problem unless ``text`` is a relative path that stays inside the folder it is taken from."""
    if not text:
        return "must not be empty"
    if text.startswith("/") or "://" in text:
        return "must be a relative path inside its folder, not an absolute path or URI"
    return escape_problem(text)


def folder_name_problem(name: str) -> str | None:
    """A problem unless ``name`` can be one folder name (step and scatter names become folders)."""
    if name in ("", ".", ".."):
        return f"{name!r} cannot be a folder name"
    if "/" in name or "\x00" in name:
        return "becomes a folder name: must not contain '/' (nor a NUL byte)"
    return None


def uri_problem(uri: str) -> str | None:
    """A problem when an object URI or local path would escape its root.

    ``s3://BUCKET/KEY`` needs a bucket (not ``.`` or ``..``) and a key without ``..`` segments
    (a bare ``s3://`` is the prefix of everything, for listings); a local path (``/abs`` or
    ``file://``) must not have ``..`` segments either.
    """
    if uri.startswith(S3_SCHEME):
        rest = uri[len(S3_SCHEME):]
        bucket = rest.partition("/")[0]
        if rest.startswith("/") or bucket in (".", ".."):
            return f"needs a bucket name after s3:// (not {bucket!r})"
        return escape_problem(rest)
    if uri.startswith(FILE_SCHEME):
        uri = uri[len(FILE_SCHEME):]
    return escape_problem(uri)


def s3_target_problem(uri: str) -> str | None:
    """A problem unless ``uri`` is an ``s3://bucket/...`` URI inside its bucket (where outputs may go)."""
    if not uri.startswith(S3_SCHEME):
        return "must be an s3://bucket/folder/ URI (local and absolute paths are refused)"
    if not uri[len(S3_SCHEME):].partition("/")[0]:
        return "needs a bucket name after s3://"
    return uri_problem(uri)


def repository_target_problem(text: str) -> str | None:
    """A problem unless ``text`` is repository-relative (inside it) or an ``s3://`` URI inside its bucket."""
    if text.startswith(S3_SCHEME):
        return uri_problem(text)
    return relative_problem(text)


def readable_problem(text: str) -> str | None:
    """A problem when a file to read (an input, a reference) escapes: ``..`` anywhere, a bucket-less URI."""
    return uri_problem(text)
