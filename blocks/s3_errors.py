"""How :class:`~blocks.s3.S3Repository` judges S3 failures and retries the transient ones.

Every S3 error is sorted into *permanent* (access denied, a missing object or bucket, a bad
request: fail at once) or *transient* (connection resets, timeouts, HTTP 500/503, throttling:
retry with backoff). Failures surface as one-line :class:`~blocks.repository.RepositoryError`
messages that name the URI and never contain a secret.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Callable, Iterable, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from s3transfer.exceptions import RetriesExceededError as TransferRetriesExceeded
from urllib3.exceptions import HTTPError as Urllib3Error

from blocks.repository import ObjectNotFound, RepositoryError

T = TypeVar("T")

# Error codes S3 (or a compatible server) uses for "try again later".
TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestLimitExceeded", "TooManyRequestsException", "ServiceUnavailable", "InternalError",
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "BandwidthLimitExceeded",
    "OperationAborted", "PreconditionFailed",
})
DENIED_CODES = frozenset({
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
    "InvalidToken", "AllAccessDisabled", "AccountProblem",
})
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})


@dataclass(frozen=True)
class Failure:
    """A classified failure: what kind it is, whether retrying may help, and a one-line reason."""

    kind: str  # "not_found" | "no_bucket" | "denied" | "transient" | "permanent"
    reason: str

    @property
    def transient(self) -> bool:
        """True when the same request may succeed later."""
        return self.kind == "transient"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def root_cause(exc: BaseException) -> BaseException:
    """The innermost S3-relevant error behind wrappers (s3transfer, boto3, exception chains)."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ClientError, BotoCoreError)):
            return exc
        nxt = getattr(exc, "last_exception", None) or exc.__cause__
        if nxt is None:
            return exc
        exc = nxt
    return exc


def classify(exc: BaseException) -> Failure:
    """Sort an exception raised by boto3/s3transfer into a :class:`Failure`."""
    exc = root_cause(exc)
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "")
        status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        if code and code != str(status):
            reason = f"{code} (HTTP {status})" if status else code
        else:  # a HEAD response has no body, hence no error code
            reason = f"HTTP {status} {_phrase(status)}".rstrip() if status else "error"
        if code == "NoSuchBucket":
            return Failure("no_bucket", reason)
        if code in NOT_FOUND_CODES or (status == 404 and code not in {"NoSuchUpload"}):
            return Failure("not_found", reason)
        if code in DENIED_CODES or status == 403:
            return Failure("denied", reason)
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            return Failure("transient", reason)
        message = err.get("Message")
        return Failure("permanent", _one_line(f"{reason}: {message}" if message else reason))
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        return Failure("permanent", "no usable AWS credentials (check the repository's credentials block)")
    if isinstance(exc, (BotoConnectionError, HTTPClientError, IncompleteReadError, Urllib3Error,
                        ConnectionError, TimeoutError, TransferRetriesExceeded)):
        return Failure("transient", _one_line(f"{type(exc).__name__}: {exc}"))
    return Failure("permanent", _one_line(f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class RetryPolicy:
    """Our retry loop around whole operations (on top of botocore's per-request retries)."""

    attempts: int = 3
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 20.0
    scrub: tuple[str, ...] = ()  # secret strings that must never appear in a message
    warn: Callable[[str], None] | None = None  # told about each retry

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, jittered."""
        base = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)

    def clean(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.scrub:
            if secret:
                text = text.replace(secret, "***")
        return text

    def error(self, failure: Failure, action: str, uri: str, attempts: int, detail: str = "") -> RepositoryError:
        """The one-line exception for a failure of ``action`` on ``uri`` (``detail`` follows the URI)."""
        if failure.kind == "not_found":
            return ObjectNotFound(self.clean(f"no such object: {uri}"))
        if failure.kind == "no_bucket":
            return RepositoryError(self.clean(f"no such bucket: {bucket_of(uri)} (for {uri})"))
        if failure.kind == "denied":
            return RepositoryError(self.clean(f"access denied: could not {action} {uri}{detail}: {failure.reason}"))
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return RepositoryError(self.clean(f"could not {action} {uri}{detail}{tries}: {failure.reason}"))

    def run(self, action: str, uri: str, fn: Callable[[], T], *,
            on_failure: Callable[[], None] | None = None,
            explain: Callable[[Failure], Failure] | None = None, detail: str = "") -> T:
        """Call ``fn`` until it succeeds, a permanent failure occurs, or the attempts run out.

        ``on_failure`` runs after each failed attempt (to clean up, e.g. abort multipart uploads);
        ``explain`` may refine a classified failure (e.g. tell a missing bucket from a missing key).
        Raises a one-line :class:`RepositoryError` (or :class:`ObjectNotFound`) naming ``uri``.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except RepositoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                if on_failure is not None:
                    on_failure()
                failure = classify(exc)
                if explain is not None:
                    failure = explain(failure)
                if not failure.transient or attempt >= self.attempts:
                    raise self.error(failure, action, uri, attempt, detail) from exc
                if self.warn is not None:
                    self.warn(self.clean(f"retrying: could not {action} {uri}{detail} "
                                         f"(attempt {attempt} of {self.attempts}): {failure.reason}"))
                time.sleep(self.delay(attempt))


def bucket_of(uri: str) -> str:
    """The bucket name of an ``s3://bucket/key`` URI."""
    return uri[len("s3://"):].split("/", 1)[0]


def ignore_errors(calls: Iterable[Callable[[], object]]) -> None:
    """Run best-effort clean-up calls, swallowing their failures."""
    for call in calls:
        try:
            call()
        except Exception:  # noqa: BLE001 - clean-up must not hide the original failure
            pass
