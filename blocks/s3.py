"""Real S3 (or MinIO, or any S3-compatible server) as a labflows repository block."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Literal, Union, get_args
from urllib.parse import urlencode

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from prefect.blocks.abstract import CredentialsBlock
from prefect.utilities.dispatch import lookup_type
from prefect_aws import AwsCredentials, MinIOCredentials
from pydantic import Field, PrivateAttr, field_validator
from s3transfer.manager import TransferManager

from blocks.local import LocalRepository
from blocks.repository import ObjectNotFound, Repository, RepositoryError, TransferProgress, check_uri
from blocks.s3_client import MiB, S3ClientHolder, build_s3_client
from blocks.s3_errors import Failure, RetryPolicy, ignore_errors
from blocks.s3_transfer import download_object, told

S3_SCHEME = "s3://"


class S3Repository(Repository):
    """Workflow repositories on S3, MinIO or another S3-compatible server.

    Transfers use boto3's managed transfer (multipart with parallel parts above
    ``multipart_threshold_mb``); an upload is whole or absent (failed multipart uploads are
    aborted), a download lands in ``<dest>.part`` and is renamed when complete. Transient errors
    (connection resets, timeouts, HTTP 500/503, throttling) are retried by botocore and again,
    with backoff, around each whole transfer; permanent ones (403, a missing object or bucket)
    fail at once with a one-line message naming the URI. Plain paths (not ``s3://``) are local
    files, handled as :class:`~blocks.local.LocalRepository` handles them.

    Example:
        Load a saved repository and read a job's data:
        ```python
        from blocks.s3 import S3Repository

        s3_repository = S3Repository.load("BLOCK_NAME")
        s3_repository.read_text("s3://my-bucket/runs/run1/_JOB_DATA_")
        ```

        Create one for a MinIO server and save it:
        ```python
        from prefect_aws import MinIOCredentials
        from prefect_aws.client_parameters import AwsClientParameters
        from blocks.s3 import S3Repository

        S3Repository(
            buckets=["lab-data"],
            credentials=MinIOCredentials(
                minio_root_user="labflows", minio_root_password="...",
                aws_client_parameters=AwsClientParameters(endpoint_url="http://minio:9000"),
            ),
            server_side_encryption=None,
        ).save("lab-minio")
        ```
    """

    _block_type_name = "Labflows S3 Repository"
    _block_type_slug = "labflows-s3-repository"
    _logo_url = "https://cdn.sanity.io/images/3ugk85nk/production/d74b16fe84ce626345adf235a47008fea2869a60-225x225.png"  # noqa: E501
    _documentation_url = "https://docs.prefect.io/integrations/prefect-aws"
    _description = (
        "Workflow repositories on S3 or MinIO: fast, fault-tolerant staging of inputs and outputs "
        "with boto3 managed transfers, retries, server-side encryption, tags and metadata."
    )

    buckets: list[str] = Field(
        default_factory=list,
        description="Buckets this repository serves; empty means any bucket.",
    )
    credentials: Union[AwsCredentials, MinIOCredentials] = Field(
        default_factory=AwsCredentials,
        description="A prefect-aws credentials block (AWS or MinIO) with the endpoint URL and region.",
    )
    server_side_encryption: Literal["AES256", "aws:kms"] | None = Field(
        default="AES256",
        description="Server-side encryption of uploaded objects (as BayerCLAW: AES256); None to send none, "
                    "e.g. for a MinIO server without a KMS.",
    )
    multipart_threshold_mb: int = Field(
        default=16, ge=5,
        description="Files of at least this many MiB move in parts; smaller ones in one request each.")
    multipart_chunksize_mb: int = Field(
        default=16, ge=5, description="Size of one part, in MiB (memory in flight: about max_concurrency parts).")
    max_concurrency: int = Field(
        default=10, ge=1,
        description="Requests the shared boto3 transfer manager runs at once (parts of large files and "
                    "whole small files together).")
    file_concurrency: int = Field(
        default=8, ge=1, description="Files of one step that are staged at once.")
    max_attempts: int = Field(
        default=5, ge=1, description="Attempts botocore makes for each request (its own retries).")
    retry_mode: Literal["standard", "adaptive"] = Field(
        default="standard", description="Botocore retry mode; adaptive also rate-limits the client when throttled.")
    transfer_attempts: int = Field(
        default=3, ge=1,
        description="Attempts labflows makes for each whole operation (a file transfer, a listing) "
                    "when botocore's retries were not enough.")
    retry_backoff_seconds: float = Field(
        default=1.0, ge=0,
        description="First wait between labflows' attempts, in seconds; doubled on each further attempt.")

    _holder: S3ClientHolder = PrivateAttr(default_factory=S3ClientHolder)

    @field_validator("credentials", mode="before")
    @classmethod
    def _credentials_from_dict(cls, value: Any) -> Any:
        """Build the right credentials class from a saved block's dict (a union of blocks needs help)."""
        if not isinstance(value, dict):
            return value
        value = dict(value)
        slug = value.pop("block_type_slug", None)
        classes = ((lookup_type(CredentialsBlock, dispatch_key=slug),) if slug
                   else get_args(cls.model_fields["credentials"].annotation))
        for credentials_cls in classes:
            try:
                return credentials_cls(**value)
            except ValueError:
                continue
        raise ValueError("credentials match neither AwsCredentials nor MinIOCredentials")

    # ---- plumbing -------------------------------------------------------------------------
    def transfer_workers(self) -> int:
        """How many files of one step move at once (``file_concurrency``)."""
        return self.file_concurrency

    def _client(self) -> Any:
        return self._holder.client(self._new_client)

    def _new_client(self) -> Any:
        return build_s3_client(
            self.credentials, max_attempts=self.max_attempts, retry_mode=self.retry_mode,
            max_pool_connections=self.max_concurrency + self.file_concurrency + 2)

    def _manager(self) -> TransferManager:
        config = TransferConfig(
            multipart_threshold=self.multipart_threshold_mb * MiB,
            multipart_chunksize=self.multipart_chunksize_mb * MiB,
            max_concurrency=self.max_concurrency,
            use_threads=True,
        )
        return self._holder.manager(self._new_client, config)

    def _policy(self) -> RetryPolicy:
        creds = self.credentials
        secrets = []
        for name in ("aws_secret_access_key", "minio_root_password", "aws_session_token"):
            value = getattr(creds, name, None)
            if value is not None:
                secrets.append(value.get_secret_value() if hasattr(value, "get_secret_value") else str(value))
        return RetryPolicy(attempts=self.transfer_attempts, backoff_seconds=self.retry_backoff_seconds,
                           scrub=tuple(s for s in secrets if s), warn=self.logger.warning)

    def _split(self, uri: str) -> tuple[str, str]:
        """``(bucket, key)`` of an ``s3://`` URI, checking the bucket is one this repository serves
        and that the key has no ``..`` segment (:class:`~blocks.repository.PathOutsideRoot`)."""
        bucket, _, key = check_uri(uri)[len(S3_SCHEME):].partition("/")
        if not bucket:
            raise RepositoryError(f"not an S3 object URI (no bucket): {uri}")
        if self.buckets and bucket not in self.buckets:
            raise RepositoryError(
                f"bucket {bucket!r} is not served by this repository (serves {', '.join(self.buckets)}): {uri}")
        return bucket, key

    def _run(self, action: str, uri: str, fn: Callable[[], Any], **kwargs: Any) -> Any:
        return self._policy().run(action, uri, fn, **kwargs)

    def _missing_bucket(self, bucket: str) -> Callable[[Failure], Failure]:
        """Refine "not found" (a HEAD cannot tell) into "no such bucket" when the bucket is missing."""
        def explain(failure: Failure) -> Failure:
            if failure.kind != "not_found":
                return failure
            try:
                self._client().head_bucket(Bucket=bucket)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchBucket", "NotFound"}:
                    return Failure("no_bucket", "NoSuchBucket (HTTP 404)")
            except Exception:  # noqa: BLE001 - keep the original diagnosis
                pass
            return failure
        return explain

    def _extra_args(self, tags: dict[str, str] | None, metadata: dict[str, str] | None) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.server_side_encryption:
            extra["ServerSideEncryption"] = self.server_side_encryption
        if metadata:
            extra["Metadata"] = {str(k): str(v) for k, v in metadata.items()}
        if tags:
            extra["Tagging"] = urlencode({str(k): str(v) for k, v in tags.items()})
        return extra

    @staticmethod
    def _is_s3(uri: str) -> bool:
        return str(uri).startswith(S3_SCHEME)

    @staticmethod
    def _local() -> LocalRepository:
        return LocalRepository()

    # ---- primitives -------------------------------------------------------------------------
    def exists(self, uri: str) -> bool:
        """True when an object exists at ``uri`` (a missing bucket counts as absent)."""
        if not self._is_s3(uri):
            return self._local().exists(uri)
        bucket, key = self._split(uri)
        try:
            self._run("check", uri, lambda: self._client().head_object(Bucket=bucket, Key=key))
        except ObjectNotFound:
            return False
        return True

    def read_bytes(self, uri: str) -> bytes:
        """The object's bytes; :class:`ObjectNotFound` when absent."""
        if not self._is_s3(uri):
            return self._local().read_bytes(uri)
        bucket, key = self._split(uri)
        return self._run("read", uri, lambda: self._client().get_object(Bucket=bucket, Key=key)["Body"].read())

    def write_bytes(self, uri: str, data: bytes, *, tags: dict[str, str] | None = None,
                    metadata: dict[str, str] | None = None) -> None:
        """Write an object whole in one request, with encryption, tags and metadata."""
        if not self._is_s3(uri):
            return self._local().write_bytes(uri, data, tags=tags, metadata=metadata)
        bucket, key = self._split(uri)
        extra = self._extra_args(tags, metadata)
        self._run("write", uri, lambda: self._client().put_object(Bucket=bucket, Key=key, Body=data, **extra))

    def list_uris(self, prefix: str) -> list[str]:
        """Every object URI starting with ``prefix`` (all pages of the listing), sorted."""
        if not self._is_s3(prefix):
            return self._local().list_uris(prefix)
        bucket, key_prefix = self._split(prefix)

        def listing() -> list[str]:
            pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix)
            return [f"{S3_SCHEME}{bucket}/{obj['Key']}" for page in pages for obj in page.get("Contents", [])]

        return sorted(self._run("list", prefix, listing))

    def download(self, uri: str, dest: Path, *, progress: TransferProgress | None = None) -> None:
        """Download to ``<dest>.part``, then rename to ``dest``: one ranged GET for an object below
        ``multipart_threshold_mb``, a managed parallel ranged download for a larger one.
        ``progress`` is told the bytes written (from 0 again when the download is retried)."""
        if not self._is_s3(uri):
            return self._local().download(uri, dest, progress=progress)
        bucket, key = self._split(uri)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")

        def attempt() -> None:
            self._fetch(bucket, key, part, progress)
            os.replace(part, dest)

        try:
            self._run("download", uri, attempt, explain=self._missing_bucket(bucket))
        finally:
            part.unlink(missing_ok=True)

    def upload(self, src: Path, uri: str, *, tags: dict[str, str] | None = None,
               metadata: dict[str, str] | None = None, progress: TransferProgress | None = None) -> None:
        """Upload a file with the managed transfer; a failed multipart upload is aborted.
        ``progress`` is told the bytes sent of a multipart upload, the start and end of a smaller one."""
        if not self._is_s3(uri):
            return self._local().upload(src, uri, tags=tags, metadata=metadata, progress=progress)
        bucket, key = self._split(uri)
        if not Path(src).is_file():
            raise RepositoryError(f"could not upload {src} to {uri}: no such local file")
        extra = self._extra_args(tags, metadata)

        def attempt() -> None:
            self._store(Path(src), bucket, key, extra, progress)

        try:
            self._run("upload", uri, attempt, detail=f" from {src}",
                      on_failure=lambda: self._abort_multipart(bucket, key),
                      explain=self._missing_bucket(bucket))
        finally:
            self._holder.take_uploads(bucket, key)

    def _fetch(self, bucket: str, key: str, part: Path, progress: TransferProgress | None) -> None:
        """Write the object to ``part``: one ranged GET of up to ``multipart_threshold_mb``; a larger
        object continues as a managed parallel ranged download (told size and ETag: no HEAD)."""
        download_object(
            self._client(), bucket, key, part, threshold=self.multipart_threshold_mb * MiB, progress=progress,
            managed=lambda subscribers: self._manager().download(
                bucket, key, str(part), subscribers=subscribers).result())

    def _store(self, src: Path, bucket: str, key: str, extra: dict[str, Any],
               progress: TransferProgress | None) -> None:
        """One PutObject below ``multipart_threshold_mb``, else a managed multipart upload.

        Bodies up to 1 MiB are sent from memory: botocore then skips ``Expect: 100-continue``, a round
        trip that costs more than such a body takes to send. ``progress`` follows a multipart upload
        part by part; a PutObject is told its start and its end only (botocore reads its body more
        than once, for the checksum, so counting reads would count bytes twice)."""
        size = src.stat().st_size
        if size >= self.multipart_threshold_mb * MiB:
            self._manager().upload(str(src), bucket, key, extra_args=extra,
                                   subscribers=told(progress, size)).result()
            return
        if progress is not None:
            progress(0, size)
        if size <= MiB:
            self._client().put_object(Bucket=bucket, Key=key, Body=src.read_bytes(), **extra)
        else:
            with open(src, "rb") as body:
                self._client().put_object(Bucket=bucket, Key=key, Body=body, **extra)
        if progress is not None:
            progress(size, size)

    def _abort_multipart(self, bucket: str, key: str) -> None:
        """Abort the multipart uploads this repository started for ``key`` (best effort, retried)."""
        client = self._client()
        ignore_errors(
            (lambda upload_id=upload_id: self._run(
                "abort a multipart upload of", f"{S3_SCHEME}{bucket}/{key}",
                lambda: client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)))
            for upload_id in self._holder.take_uploads(bucket, key))

    def delete(self, uri: str) -> None:
        """Remove an object (no error when it is absent; a missing bucket is an error)."""
        if not self._is_s3(uri):
            return self._local().delete(uri)
        bucket, key = self._split(uri)
        self._run("delete", uri, lambda: self._client().delete_object(Bucket=bucket, Key=key))

    def etag(self, uri: str) -> str:
        """The S3 ETag (without quotes): the engine's reference-cache key."""
        if not self._is_s3(uri):
            return self._local().etag(uri)
        return self._head(uri)["ETag"].strip('"')

    def get_tags(self, uri: str) -> dict[str, str]:
        """The object's S3 tags."""
        if not self._is_s3(uri):
            return self._local().get_tags(uri)
        bucket, key = self._split(uri)
        resp = self._run("read the tags of", uri,
                         lambda: self._client().get_object_tagging(Bucket=bucket, Key=key))
        return {t["Key"]: t["Value"] for t in resp.get("TagSet", [])}

    def get_metadata(self, uri: str) -> dict[str, str]:
        """The object's user metadata (``x-amz-meta-*``)."""
        if not self._is_s3(uri):
            return self._local().get_metadata(uri)
        return dict(self._head(uri).get("Metadata", {}))

    def _head(self, uri: str) -> dict[str, Any]:
        bucket, key = self._split(uri)
        return self._run("read", uri, lambda: self._client().head_object(Bucket=bucket, Key=key),
                         explain=self._missing_bucket(bucket))

    # ---- overrides of the generic helpers ---------------------------------------------------
    def copy(self, src: str, dst: str) -> None:
        """Copy server-side between S3 URIs (multipart for large objects); tags and metadata are not
        copied, as with the generic copy. Other combinations go through the generic copy."""
        if not (self._is_s3(src) and self._is_s3(dst)):
            return super().copy(src, dst)
        src_bucket, src_key = self._split(src)
        bucket, key = self._split(dst)
        extra = self._extra_args(None, None) | {"MetadataDirective": "REPLACE", "TaggingDirective": "REPLACE"}

        def attempt() -> None:
            self._manager().copy({"Bucket": src_bucket, "Key": src_key}, bucket, key, extra_args=extra).result()

        try:
            self._run("copy", src, attempt, detail=f" to {dst}",
                      on_failure=lambda: self._abort_multipart(bucket, key),
                      explain=self._missing_bucket(src_bucket))
        finally:
            self._holder.take_uploads(bucket, key)
