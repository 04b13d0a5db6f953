"""Real containers through labflows: podman (and ``docker`` pointing at podman) with a busybox image.

Each test runs one or two real containers (about a second each here) and checks what a user
relies on: the workspace bind-mounted, files owned by the calling user, exit codes and timeouts
honoured, no container left behind, job data inert, ``compute`` limits visible in the cgroup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from specs.bfabric.app_commands import CommandDocker, MountOptions
from tasks.bclaw.commands import CommandRun, run_commands
from tasks.bfabric.commands import CommandFailedError, run_command
from tasks.runtime.executors import EXECUTORS, Invocation, Mount
from tasks.runtime.streaming import CommandTimeout
from tests.support.paths import REPO_ROOT
from tests.support.podman import IMAGE

EVIL = "$(touch CANARY1); `touch CANARY2`; touch CANARY3 && 'q\" *"

# Reads the container's own cgroup limits, v2 files first, then v1; "none" when neither is exposed.
LIMITS = textwrap.dedent("""\
    if [ -f /sys/fs/cgroup/cpu.max ]; then cat /sys/fs/cgroup/cpu.max;
    elif [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
      echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)";
    else echo none; fi > cpu.txt
    if [ -f /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max;
    elif [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then cat /sys/fs/cgroup/memory/memory.limit_in_bytes;
    else echo none; fi > mem.txt""")

WORKFLOW = """\
Repository: s3://bucket/wf/${job.id}
Steps:
  - inside:
      image: localhost/busybox:${job.tag}
      compute: {cpus: 1, memory: 96 Mb}
      retry: {attempts: 0}
      commands:
        - id -u > uid.txt
        - echo ${job.evil} > evil.txt
        - limits.sh
        - ls -a > listing.txt
        - exit ${job.code}
      outputs:
        uid: uid.txt
        evil: evil.txt
        cpu: cpu.txt
        mem: mem.txt
        listing: listing.txt
"""


def write_workflow(tmp_path: Path, code: int) -> tuple[Path, Path]:
    """The workflow (limits script inlined as commands) and a job whose data is hostile."""
    workflow = tmp_path / "workflow.yaml"
    commands = "\n".join(f"        - {json.dumps(line)}" for line in LIMITS.replace(";\n", "; ").splitlines())
    workflow.write_text(WORKFLOW.replace("        - limits.sh", commands))
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"id": "j1", "evil": EVIL, "code": code, "tag": "test"}))
    return workflow, job


@pytest.fixture
def cli(prefect_harness):
    """Run ``python -m flows.run ARGS`` in a fresh process, against the session's Prefect server
    (so each run does not start a temporary server of its own)."""
    from prefect.settings import PREFECT_API_URL

    api = {"PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(REPO_ROOT)}

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flows.run", *args], cwd=REPO_ROOT, capture_output=True,
                              text=True, env={**os.environ, **api, **(env or {})}, timeout=240)

    return run


def test_workflow_step_runs_in_podman_through_the_cli(podman, cli, tmp_path):
    workflow, job = write_workflow(tmp_path, code=0)
    storage = tmp_path / "storage"
    result = cli("workflow", str(workflow), "--job", str(job), "--storage", str(storage), "--executor", "podman")
    assert result.returncode == 0, result.stderr[-2000:]
    out = storage / "bucket/wf/j1"
    assert (out / "uid.txt").read_text() == f"{os.getuid()}\n"
    assert (out / "evil.txt").read_text() == EVIL + "\n"  # data, not code
    listing = (out / "listing.txt").read_text().split()
    assert "_commands.sh" in listing  # the workspace was the bind-mounted working directory
    assert not [name for name in listing if name.startswith("CANARY")]
    cpu, mem = (out / "cpu.txt").read_text().split(), (out / "mem.txt").read_text().strip()
    assert podman.containers() == []
    if cpu == ["none"] or mem == "none":
        pytest.skip("this kernel exposes no cgroup cpu/memory limit files inside the container")
    assert int(cpu[0]) / int(cpu[1]) == 1.0  # compute.cpus: 1
    assert int(mem) == 96 * 1024 * 1024  # compute.memory: 96 Mb


def test_docker_shim_on_path_auth_login_and_a_failing_step_exit_code(podman, cli, tmp_path):
    from prefect.blocks.system import Secret

    password = "pw $(touch CANARY5) 'q"
    Secret(value={"username": "bot", "password": password}).save("regcreds-cli", overwrite=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls, login = tmp_path / "docker-calls", tmp_path / "login"
    shim = bindir / "docker"  # the docker CLI, played by podman; logins recorded instead of sent
    shim.write_text(f'#!/bin/sh\necho "$1" >> {calls}\n'
                    f'if [ "$1" = login ]; then echo "$@" > {login}.args; cat > {login}.stdin; exit 0; fi\n'
                    'exec podman "$@"\n')
    shim.chmod(0o755)
    workflow, job = write_workflow(tmp_path, code=7)
    workflow.write_text(workflow.read_text().replace("image: localhost/busybox:${job.tag}",
                                                     'image: "localhost/busybox:${job.tag} +auth: regcreds-cli"'))
    storage = tmp_path / "storage"
    result = cli("workflow", str(workflow), "--job", str(job), "--storage", str(storage), "--executor", "docker",
                 env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "command exited with code 7" in result.stderr
    assert calls.read_text().split() == ["login", "run"]  # through the docker CLI: login, then one run
    assert login.with_suffix(".args").read_text() == "login --username bot --password-stdin localhost\n"
    assert login.with_suffix(".stdin").read_text() == password
    assert "touch CANARY5" not in result.stdout + result.stderr  # the password is never logged
    assert (storage / "bucket/wf/j1/uid.txt").read_text() == f"{os.getuid()}\n"  # it ran before exit 7
    assert podman.containers() == []


def test_timeout_stops_and_removes_a_container_that_ignores_sigterm(podman, tmp_path):
    # The worst case: SIGTERM ignored, so the client is killed and the container would outlive it.
    log = tmp_path / "run.log"
    run = CommandRun(script="trap '' TERM\necho started\nsleep 300\n", workspace=tmp_path, image=IMAGE,
                     log_file=log, timeout_s=2)
    with pytest.raises(CommandTimeout):
        run_commands(run, "podman")
    assert "started" in log.read_text()  # it was running when the time ran out
    assert podman.containers() == []


def test_files_written_in_the_container_belong_to_the_calling_user(podman, tmp_path, monkeypatch):
    uid, gid = (os.getuid(), os.getgid())
    if os.geteuid() == 0:  # as root, pretend to be someone else so ownership is not trivially right
        uid, gid = 4321, 4322
        monkeypatch.setattr(os, "getuid", lambda: uid)
        monkeypatch.setattr(os, "getgid", lambda: gid)
    work = tmp_path / "work"
    work.mkdir(mode=0o777)
    work.chmod(0o777)
    inv = Invocation(argv=["sh", "-c", "echo hi > out.txt && mkdir sub && touch sub/f"], cwd=work, image=IMAGE,
                     mounts=[Mount(work, work)], workdir=work, init=True)
    assert EXECUTORS["podman"].run(inv) == 0
    for path in (work / "out.txt", work / "sub", work / "sub/f"):
        assert (path.stat().st_uid, path.stat().st_gid) == (uid, gid), path
    assert podman.containers() == []


def app_command(script: str) -> CommandDocker:
    return CommandDocker(type="docker", image=IMAGE, engine="podman", command=f"sh -c '{script}' sh",
                         mounts=MountOptions(share_bfabric_config=False))


def test_app_docker_command_with_podman_args_stay_data(podman, tmp_path):
    spec = app_command('cd "$1" && shift && printf "%s\\n" "$@" > args.txt && id -u > uid.txt')
    args = [str(tmp_path), EVIL, "a;touch CANARY4", "*"]
    run_command(spec, args, cwd=tmp_path)
    assert (tmp_path / "args.txt").read_text().splitlines() == args[1:]
    assert (tmp_path / "uid.txt").read_text() == f"{os.getuid()}\n"
    assert (tmp_path / "args.txt").stat().st_uid == os.getuid()
    assert not list(tmp_path.glob("CANARY*"))
    assert podman.containers() == []


def test_app_docker_command_exit_code_is_honoured(podman, tmp_path):
    with pytest.raises(CommandFailedError) as info:
        run_command(app_command("exit 5"), [], cwd=tmp_path)
    assert info.value.returncode == 5
    assert podman.containers() == []
