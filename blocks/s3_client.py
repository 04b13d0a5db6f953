"""The boto3 client and transfer manager behind one :class:`~blocks.s3.S3Repository`.

The client is built the prefect-aws way (``credentials.get_boto3_session()`` plus the
credentials' ``aws_client_parameters``: endpoint URL, TLS verification, botocore config), with
the repository's retry mode, attempt count and connection-pool size merged into the botocore
config. One ``s3transfer`` manager per repository is shared by every transfer, so managed
(multipart, parallel-part) transfers do not pay for a new thread pool per file.

The holder also remembers which multipart uploads were started for which key, so a failed
upload can abort exactly those and leave no parts behind.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Callable

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from s3transfer.manager import TransferManager

MiB = 1024 * 1024


def build_s3_client(credentials: Any, *, max_attempts: int, retry_mode: str, max_pool_connections: int) -> Any:
    """An S3 client from a prefect-aws credentials block (``AwsCredentials`` or ``MinIOCredentials``).

    The credentials' own botocore config is kept; retries and the pool size come from the
    repository and take precedence.
    """
    session = credentials.get_boto3_session()
    params = credentials.aws_client_parameters.get_params_override()
    # botocore's "max_attempts" counts retries after the first request; "total_max_attempts" is
    # the number of attempts, which is what the repository's max_attempts means
    ours = Config(retries={"total_max_attempts": max_attempts, "mode": retry_mode},
                  max_pool_connections=max_pool_connections)
    theirs = params.pop("config", None)
    params["config"] = theirs.merge(ours) if theirs is not None else ours
    if getattr(credentials, "region_name", None):
        params["region_name"] = credentials.region_name
    return session.client("s3", **params)


class S3ClientHolder:
    """Lazily built, thread-safe client + transfer manager; never copied or pickled.

    Copies (``copy.deepcopy``, pickling: Prefect may do either to task parameters) get a fresh,
    empty holder, so a block always stays copyable and picklable.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: Any = None
        self._manager: TransferManager | None = None
        self._uploads: dict[tuple[str, str], set[str]] = defaultdict(set)

    def __deepcopy__(self, memo: dict) -> "S3ClientHolder":
        return S3ClientHolder()

    def __copy__(self) -> "S3ClientHolder":
        return S3ClientHolder()

    def __reduce__(self):
        return (S3ClientHolder, ())

    def __repr__(self) -> str:
        return "S3ClientHolder()"

    def client(self, factory: Callable[[], Any]) -> Any:
        """The client, built by ``factory`` on first use."""
        with self._lock:
            if self._client is None:
                client = factory()
                client.meta.events.register("after-call.s3.CreateMultipartUpload", self._remember_upload)
                self._client = client
            return self._client

    def manager(self, factory: Callable[[], Any], config: TransferConfig) -> TransferManager:
        """The shared transfer manager (built on first use with ``config``)."""
        client = self.client(factory)
        with self._lock:
            if self._manager is None:
                self._manager = TransferManager(client, config)
            return self._manager

    # ---- multipart bookkeeping ------------------------------------------------------------
    def _remember_upload(self, parsed: dict | None = None, **_: Any) -> None:
        if parsed and parsed.get("UploadId") and parsed.get("Bucket") and parsed.get("Key"):
            with self._lock:
                self._uploads[(parsed["Bucket"], parsed["Key"])].add(parsed["UploadId"])

    def take_uploads(self, bucket: str, key: str) -> set[str]:
        """Forget and return the multipart upload ids started for ``bucket/key``."""
        with self._lock:
            return self._uploads.pop((bucket, key), set())
