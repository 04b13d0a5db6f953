"""Staging benchmark: plain boto3 loops against S3Repository.upload_many / download_many.

Starts its own moto S3 server (a separate process on 127.0.0.1), writes three file sets
(one 512 MiB file, 64 files of 8 MiB, 1000 files of 64 KiB: 1 GiB in all; ``--scale`` shrinks
sizes and counts), and for each set times:

* plain: ``client.upload_file`` / ``client.download_file`` in a simple loop, boto3 defaults;
* labflows: ``S3Repository.upload_many`` / ``download_many`` (what the engine calls to stage a
  step's outputs and inputs), default block settings.

Prints MB/s (1 MB = 10**6 bytes) for each and the labflows/plain ratios. Not a test.

    python bench/staging.py               # 1 GiB each way per method
    python bench/staging.py --scale 0.25  # a quick run
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect_aws import AwsCredentials  # noqa: E402
from prefect_aws.client_parameters import AwsClientParameters  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from blocks.s3 import S3Repository  # noqa: E402
from tasks.bfabric.checksums import md5_file  # noqa: E402

MiB = 1024 * 1024
KEY_ID, SECRET = "bench", "bench-secret"


@dataclass
class FileSet:
    """``count`` files of ``size`` bytes each."""

    name: str
    count: int
    size: int

    @property
    def total(self) -> int:
        return self.count * self.size


def file_sets(scale: float) -> list[FileSet]:
    """The three sets of the benchmark, scaled."""
    return [
        FileSet("1 x 512 MiB", 1, max(1, int(512 * MiB * scale))),
        FileSet("64 x 8 MiB", max(1, round(64 * scale)), 8 * MiB),
        FileSet("1000 x 64 KiB", max(1, round(1000 * scale)), 64 * 1024),
    ]


def start_moto() -> tuple[subprocess.Popen, str]:
    """A moto server in its own process; returns it and its URL once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("moto server did not start")


def write_files(folder: Path, fs: FileSet) -> list[Path]:
    """Random files for one set (a repeated 1 MiB random block keeps generation cheap)."""
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MiB)
    paths = []
    for i in range(fs.count):
        path = folder / f"f{i:04d}.bin"
        with open(path, "wb") as out:
            left = fs.size
            out.write(i.to_bytes(8, "big"))  # every file differs
            left -= 8
            while left > 0:
                out.write(block[: min(left, MiB)])
                left -= min(left, MiB)
        paths.append(path)
    return paths


@dataclass
class Timing:
    """Wall seconds of one phase and the CPU seconds the client (this process) and moto spent."""

    wall: float
    client_cpu: float
    server_cpu: float


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, server_pid: int) -> Timing:
    """Run ``fn()`` and measure it."""
    server0, client0, start = process_cpu(server_pid), time.process_time(), time.perf_counter()
    fn()
    return Timing(time.perf_counter() - start, time.process_time() - client0, process_cpu(server_pid) - server0)


def empty_bucket(client, bucket: str) -> None:
    """Delete every object (moto keeps them in memory)."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})


def run_set(src: list[Path], work: Path, client, repo: S3Repository, bucket: str, server_pid: int) -> dict:
    """Time both methods on one file set; returns a :class:`Timing` per method and direction."""
    out: dict[str, Timing] = {}
    keys = [f"plain/{p.name}" for p in src]
    dest = work / "plain-down"
    dest.mkdir(parents=True)

    def plain_up() -> None:
        for p, k in zip(src, keys):
            client.upload_file(str(p), bucket, k)

    def plain_down() -> None:
        for p, k in zip(src, keys):
            client.download_file(bucket, k, str(dest / p.name))

    out["plain_up"] = timed(plain_up, server_pid)
    out["plain_down"] = timed(plain_down, server_pid)
    check(src, dest)
    shutil.rmtree(dest)
    empty_bucket(client, bucket)

    uris = [f"s3://{bucket}/labflows/{p.name}" for p in src]
    dest = work / "labflows-down"
    out["labflows_up"] = timed(lambda: repo.upload_many((p, u, None, None) for p, u in zip(src, uris)), server_pid)
    out["labflows_down"] = timed(lambda: repo.download_many((u, dest / p.name) for p, u in zip(src, uris)),
                                 server_pid)
    check(src, dest)
    shutil.rmtree(dest)
    empty_bucket(client, bucket)
    return out


def check(src: list[Path], dest: Path) -> None:
    """The first and last downloaded files equal their sources."""
    for p in {src[0], src[-1]}:
        if md5_file(p) != md5_file(dest / p.name):
            raise SystemExit(f"downloaded {p.name} differs from its source")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 1 GiB data set (default 1)")
    parser.add_argument("--sse", choices=["none", "AES256"], default="none",
                        help="labflows' server_side_encryption (default none: the same requests as the plain "
                             "loop; moto spends extra CPU on AES256 headers, AWS does not)")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="labflows-bench-", dir=args.workdir))
    proc, url = start_moto()
    try:
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
        bucket = "bench"
        client.create_bucket(Bucket=bucket)
        repo = S3Repository(credentials=AwsCredentials(
            aws_access_key_id=KEY_ID, aws_secret_access_key=SecretStr(SECRET), region_name="us-east-1",
            aws_client_parameters=AwsClientParameters(endpoint_url=url)),
            server_side_encryption=None if args.sse == "none" else args.sse)
        print(f"# staging benchmark: scale {args.scale}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"moto server in its own process")
        print(f"# labflows settings: file_concurrency={repo.file_concurrency} max_concurrency={repo.max_concurrency} "
              f"multipart {repo.multipart_threshold_mb}/{repo.multipart_chunksize_mb} MiB, "
              f"server_side_encryption={repo.server_side_encryption}; plain: boto3 defaults")
        header = f"{'set':<15} {'MB':>7} {'plain up':>9} {'lf up':>9} {'ratio':>6} {'plain dn':>9} {'lf dn':>9} {'ratio':>6}"
        print(header)
        phases = ("plain_up", "labflows_up", "plain_down", "labflows_down")
        totals = {k: 0.0 for k in phases}
        cpu_lines = []
        total_bytes = 0
        for fs in file_sets(args.scale):
            src = write_files(work / "src", fs)
            timings = run_set(src, work, client, repo, bucket, proc.pid)
            shutil.rmtree(work / "src")
            mb = fs.total / 1e6
            rate = {k: mb / t.wall for k, t in timings.items()}
            print(f"{fs.name:<15} {mb:7.0f} {rate['plain_up']:9.1f} {rate['labflows_up']:9.1f} "
                  f"{rate['labflows_up'] / rate['plain_up']:5.2f}x {rate['plain_down']:9.1f} "
                  f"{rate['labflows_down']:9.1f} {rate['labflows_down'] / rate['plain_down']:5.2f}x", flush=True)
            cpu_lines.append(f"{fs.name:<15} " + "  ".join(
                f"{timings[k].wall:6.1f} {timings[k].client_cpu:6.1f} {timings[k].server_cpu:6.1f}" for k in phases))
            for k, t in timings.items():
                totals[k] += t.wall
            total_bytes += fs.total
        mb = total_bytes / 1e6
        print(f"{'all':<15} {mb:7.0f} {mb / totals['plain_up']:9.1f} {mb / totals['labflows_up']:9.1f} "
              f"{totals['plain_up'] / totals['labflows_up']:5.2f}x {mb / totals['plain_down']:9.1f} "
              f"{mb / totals['labflows_down']:9.1f} {totals['plain_down'] / totals['labflows_down']:5.2f}x")
        print("# MB/s, 1 MB = 10**6 bytes; ratio = labflows / plain")
        print("# seconds: wall, client CPU, moto CPU for " + ", ".join(phases))
        for line in cpu_lines:
            print("# " + line)
        print(f"# load average after the run: {os.getloadavg()[0]:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
