"""labflows' own judgement of S3 failures (blocks/s3_errors.py), tested directly: which errors are
transient (503/SlowDown, throttling, 5xx, connection trouble), which fail at once, the one-line
messages, and the retry loop around whole operations. The same classification through real
requests, with botocore's retries turned down, is in test_s3_faults.py."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from s3transfer.exceptions import RetriesExceededError

from blocks.repository import ObjectNotFound, RepositoryError
from blocks.s3_errors import Failure, RetryPolicy, bucket_of, classify, ignore_errors, root_cause

URI = "s3://bkt/run/in.fq"


def client_error(code: str | None, status: int | None, message: str | None = None) -> ClientError:
    if code is not None:
        code = code.encode().decode()  # a fresh string, as parsed from a response (not an interned literal)
    error = {k: v for k, v in {"Code": code, "Message": message}.items() if v is not None}
    response: dict = {"Error": error}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, "GetObject")


@pytest.mark.parametrize("code,status,reason", [
    ("SlowDown", 503, "SlowDown (HTTP 503)"),
    ("SlowDown", None, "SlowDown"),                      # by its code alone
    ("503", 503, "HTTP 503 Service Unavailable"),        # a HEAD: no body, the status is the code
    ("ServiceUnavailable", 503, "ServiceUnavailable (HTTP 503)"),
    ("InternalError", 500, "InternalError (HTTP 500)"),
    ("500", 500, "HTTP 500 Internal Server Error"),
    ("Throttling", 400, "Throttling (HTTP 400)"),        # a throttling code with a 4xx status
    ("RequestTimeout", 400, "RequestTimeout (HTTP 400)"),
    ("429", 429, "HTTP 429 Too Many Requests"),
    ("Anything", 502, "Anything (HTTP 502)"),
])
def test_throttling_and_server_errors_are_transient(code, status, reason):
    failure = classify(client_error(code, status, "Please reduce your request rate."))
    assert failure == Failure("transient", reason) and failure.transient


@pytest.mark.parametrize("code,status,kind,reason", [
    ("AccessDenied", 403, "denied", "AccessDenied (HTTP 403)"),
    ("403", 403, "denied", "HTTP 403 Forbidden"),
    ("InvalidAccessKeyId", 400, "denied", "InvalidAccessKeyId (HTTP 400)"),
    ("NoSuchKey", 404, "not_found", "NoSuchKey (HTTP 404)"),
    ("404", 404, "not_found", "HTTP 404 Not Found"),
    ("NotFound", None, "not_found", "NotFound"),
    ("NoSuchVersion", 404, "not_found", "NoSuchVersion (HTTP 404)"),  # any 404 but a missing upload
    ("NoSuchBucket", 404, "no_bucket", "NoSuchBucket (HTTP 404)"),
    ("NoSuchUpload", 404, "permanent", "NoSuchUpload (HTTP 404): the message"),
    ("InvalidRequest", 400, "permanent", "InvalidRequest (HTTP 400): the message"),
    (None, 499, "permanent", "HTTP 499: the message"),  # no phrase for an unknown status
    (None, None, "permanent", "error: the message"),
])
def test_client_errors_that_fail_at_once(code, status, kind, reason):
    failure = classify(client_error(code, status, "the message"))
    assert failure == Failure(kind, reason) and not failure.transient


def test_a_permanent_error_without_a_message_is_its_reason():
    assert classify(client_error("InvalidRequest", 400)) == Failure("permanent", "InvalidRequest (HTTP 400)")


@pytest.mark.parametrize("exc", [
    EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    ConnectionClosedError(endpoint_url="http://127.0.0.1:9"),
    ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
    ConnectionResetError("reset by peer"),
    TimeoutError("timed out"),
])
def test_connection_trouble_is_transient(exc):
    failure = classify(exc)
    assert failure.transient and failure.reason.startswith(f"{type(exc).__name__}: ")


def test_missing_credentials_and_unknown_errors_are_permanent():
    assert classify(NoCredentialsError()) == Failure(
        "permanent", "no usable AWS credentials (check the repository's credentials block)")
    assert classify(ValueError("boom\n  second line")) == Failure("permanent", "ValueError: boom second line")


def test_long_reasons_are_cut_to_one_line_of_300_characters():
    reason = classify(client_error("InvalidRequest", 400, "x" * 500 + "\n" + "y")).reason
    assert len(reason) == 300 and reason.endswith("...") and "\n" not in reason
    assert reason.startswith("InvalidRequest (HTTP 400): xxx")
    exact = classify(ValueError("z" * (300 - len("ValueError: ")))).reason
    assert len(exact) == 300 and not exact.endswith("...")


def test_wrapped_errors_are_judged_by_their_root_cause():
    slow = client_error("SlowDown", 503)
    assert classify(RetriesExceededError(last_exception=slow)) == Failure("transient", "SlowDown (HTTP 503)")
    try:
        try:
            raise client_error("AccessDenied", 403)
        except ClientError as inner:
            raise RuntimeError("transfer failed") from inner
    except RuntimeError as outer:
        assert root_cause(outer).response["Error"]["Code"] == "AccessDenied"
        assert classify(outer).kind == "denied"
    loop = RuntimeError("a")
    loop.__cause__ = RuntimeError("b")
    loop.__cause__.__cause__ = loop
    assert root_cause(loop) is loop  # a cycle ends the walk


# ---- RetryPolicy ------------------------------------------------------------------------------
class Flaky:
    """Fails with the given exceptions, in order, then returns "ok"; counts calls."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_failures_are_retried_until_success():
    warnings: list[str] = []
    cleanups: list[int] = []
    fn = Flaky(client_error("SlowDown", 503), ConnectionResetError("reset"))
    policy = RetryPolicy(attempts=3, backoff_seconds=0, warn=warnings.append)
    assert policy.run("download", URI, fn, on_failure=lambda: cleanups.append(fn.calls)) == "ok"
    assert fn.calls == 3 and cleanups == [1, 2]
    assert warnings == [
        f"retrying: could not download {URI} (attempt 1 of 3): SlowDown (HTTP 503)",
        f"retrying: could not download {URI} (attempt 2 of 3): ConnectionResetError: reset",
    ]


@pytest.mark.parametrize("attempts", [2, 3])
def test_transient_failures_stop_after_the_last_attempt(attempts):
    fn = Flaky(*[client_error("SlowDown", 503)] * 5)
    with pytest.raises(RepositoryError) as info:
        RetryPolicy(attempts=attempts, backoff_seconds=0).run("upload", URI, fn, detail=" from /tmp/x")
    assert str(info.value) == f"could not upload {URI} from /tmp/x after {attempts} attempts: SlowDown (HTTP 503)"
    assert fn.calls == attempts and isinstance(info.value.__cause__, ClientError)


@pytest.mark.parametrize("error,expected", [
    (client_error("AccessDenied", 403), RepositoryError(f"access denied: could not read {URI}: AccessDenied (HTTP 403)")),
    (client_error("NoSuchKey", 404), ObjectNotFound(f"no such object: {URI}")),
    (client_error("NoSuchBucket", 404), RepositoryError(f"no such bucket: bkt (for {URI})")),
    (client_error("InvalidRequest", 400, "bad"), RepositoryError(f"could not read {URI}: InvalidRequest (HTTP 400): bad")),
])
def test_permanent_failures_fail_at_the_first_attempt(error, expected):
    fn = Flaky(error)
    with pytest.raises(RepositoryError) as info:
        RetryPolicy(attempts=5, backoff_seconds=0).run("read", URI, fn)
    assert (type(info.value), str(info.value)) == (type(expected), str(expected))
    assert fn.calls == 1


def test_repository_errors_pass_through_and_explain_refines_the_failure():
    fn = Flaky(RepositoryError("already judged"))
    with pytest.raises(RepositoryError, match="^already judged$"):
        RetryPolicy(attempts=3, backoff_seconds=0, warn=pytest.fail).run("read", URI, fn)
    assert fn.calls == 1

    fn = Flaky(client_error("404", 404))
    with pytest.raises(RepositoryError) as info:
        RetryPolicy(attempts=3, backoff_seconds=0).run(
            "read", URI, fn, explain=lambda f: Failure("no_bucket", "NoSuchBucket (HTTP 404)"))
    assert str(info.value) == f"no such bucket: bkt (for {URI})" and not isinstance(info.value, ObjectNotFound)


def test_one_attempt_says_no_attempt_count_and_secrets_are_scrubbed():
    fn = Flaky(client_error("SlowDown", 503, "key=SECRET"), client_error("InvalidRequest", 400, "key=SECRET"))
    policy = RetryPolicy(attempts=1, backoff_seconds=0, scrub=("", "SECRET"))
    with pytest.raises(RepositoryError) as info:
        policy.run("read", "s3://bkt/SECRET", fn)
    assert str(info.value) == "could not read s3://bkt/***: SlowDown (HTTP 503)"
    with pytest.raises(RepositoryError) as info:
        policy.run("read", URI, fn)
    assert str(info.value) == f"could not read {URI}: InvalidRequest (HTTP 400): key=***"
    assert policy.clean("a SECRET b SECRET") == "a *** b ***"


def test_backoff_doubles_with_jitter_and_is_capped():
    policy = RetryPolicy(backoff_seconds=1.0, max_backoff_seconds=5.0)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(base * 0.5 <= d <= base for d in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > base * 0.2  # jittered, not fixed


def test_failures_and_policies_are_frozen_values():
    failure = Failure("transient", "SlowDown (HTTP 503)")
    with pytest.raises(AttributeError):
        failure.kind = "permanent"  # type: ignore[misc]
    assert {failure} == {Failure("transient", "SlowDown (HTTP 503)")}
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.attempts = 10  # type: ignore[misc]


def test_the_hooks_of_run_are_keyword_only():
    """``on_failure``/``explain``/``detail`` by position would silently swap meanings: refused."""
    with pytest.raises(TypeError):
        RetryPolicy(backoff_seconds=0).run("read", URI, Flaky(), lambda: None)  # type: ignore[misc]


def test_a_policy_of_zero_attempts_still_makes_one():
    fn = Flaky(*[client_error("SlowDown", 503)] * 3)
    with pytest.raises(RepositoryError, match="^could not read .*: SlowDown"):
        RetryPolicy(attempts=0, backoff_seconds=0).run("read", URI, fn)
    assert fn.calls == 1


def test_bucket_of_and_ignore_errors():
    assert bucket_of("s3://bkt/a/b") == "bkt" and bucket_of("s3://bkt") == "bkt"
    done: list[int] = []

    def boom() -> None:
        raise RuntimeError("clean-up failed")

    ignore_errors([lambda: done.append(1), boom, lambda: done.append(3)])
    assert done == [1, 3]


def test_policy_defaults_are_the_documented_ones():
    """3 attempts, 1 s first wait doubling up to 20 s (S3Repository passes its own fields)."""
    policy = RetryPolicy()
    assert (policy.attempts, policy.backoff_seconds, policy.max_backoff_seconds) == (3, 1.0, 20.0)
    assert (policy.scrub, policy.warn) == ((), None)
