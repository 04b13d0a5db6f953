"""Download helpers for :class:`~blocks.s3.S3Repository`: the first ranged GET.

boto3's managed download starts with a HEAD to learn an object's size, then GETs it: two
requests for every small file. Staging fetches many small files, so a download here starts with
one GET of the first ``threshold`` bytes instead. When that is the whole object (the usual case
for small files) it is written out and that was the only request; otherwise the body is dropped
and the managed transfer takes over, already told the size and ETag (so it skips its HEAD and
pins every ranged part to that ETag with ``If-Match``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from blocks.repository import TransferProgress

from botocore.exceptions import ClientError
from s3transfer.subscribers import BaseSubscriber
from s3transfer.utils import S3_RETRYABLE_DOWNLOAD_ERRORS

CHUNK = 1024 * 1024


class KnownObject(BaseSubscriber):
    """Tells a managed download the object's size and ETag before it starts."""

    def __init__(self, size: int, etag: str | None) -> None:
        self.size = size
        self.etag = etag

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        future.meta.provide_transfer_size(self.size)
        if self.etag:
            future.meta.provide_object_etag(self.etag)


class ProgressSubscriber(BaseSubscriber):
    """Tells ``progress`` the bytes done of a managed transfer of ``total`` bytes.

    s3transfer reports from its worker threads, in increments that go negative when a part is
    retried, so the sum is kept under a lock."""

    def __init__(self, progress: TransferProgress, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        self._lock = threading.Lock()

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        with self._lock:
            self.done += bytes_transferred
            self.progress(self.done, self.total)


def told(progress: TransferProgress | None, total: int) -> list[BaseSubscriber]:
    """Subscribers telling ``progress`` (none without one) how a managed transfer goes, told the
    start at once."""
    if progress is None:
        return []
    progress(0, total)
    return [ProgressSubscriber(progress, total)]


@dataclass
class FirstChunk:
    """The answer to the first ranged GET: its streaming body, the object's size and ETag."""

    response: dict[str, Any]
    size: int
    etag: str | None

    @property
    def complete(self) -> bool:
        """True when this response carries the whole object."""
        return self.size <= int(self.response.get("ContentLength", 0))

    def save(self, path: Path, progress: TransferProgress | None = None) -> None:
        """Stream the body to ``path`` (botocore checks the length; a short body raises), telling
        ``progress`` the bytes written at the start and after each chunk."""
        body = self.response["Body"]
        done = 0
        if progress is not None:
            progress(done, self.size)
        with open(path, "wb") as out:
            for chunk in body.iter_chunks(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, self.size)

    def discard(self) -> None:
        """Drop the unread body (its connection is closed, not reused)."""
        self.response["Body"].close()

    def known_object(self) -> KnownObject:
        """A subscriber handing this object's size and ETag to a managed download."""
        return KnownObject(self.size, self.etag)


def fetch_first_chunk(client: Any, bucket: str, key: str, threshold: int) -> FirstChunk:
    """GET the first ``threshold`` bytes of an object (the whole object when it is smaller)."""
    try:
        response = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{threshold - 1}")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "InvalidRange":
            raise
        response = client.get_object(Bucket=bucket, Key=key)  # an empty object has no byte 0
    content_range = response.get("ContentRange")
    size = int(content_range.rsplit("/", 1)[1]) if content_range else int(response.get("ContentLength", 0))
    return FirstChunk(response, size, response.get("ETag"))


def download_object(client: Any, bucket: str, key: str, part: Path, *, threshold: int,
                    managed: Callable[[list[BaseSubscriber]], None], attempts: int = 5,
                    progress: TransferProgress | None = None) -> None:
    """Write an object to ``part``: one GET when it is below ``threshold`` bytes, else the first GET
    hands over to ``managed(subscribers)`` (a managed download; the subscribers carry the known size
    and ETag, and tell ``progress``). A body that breaks off while being read is fetched again, up
    to ``attempts`` times, as s3transfer does for its own GETs; ``progress`` is told the bytes
    written (from 0 again on a new attempt)."""
    for attempt in range(1, attempts + 1):
        first = fetch_first_chunk(client, bucket, key, threshold)
        if not first.complete:
            first.discard()
            managed([first.known_object(), *told(progress, first.size)])
            return
        try:
            first.save(part, progress)
            return
        except S3_RETRYABLE_DOWNLOAD_ERRORS:
            if attempt == attempts:
                raise
