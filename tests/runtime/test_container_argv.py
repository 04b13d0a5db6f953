"""The container argv: one option order for docker and podman; only the GPU flags differ."""

from __future__ import annotations

import os

import pytest

from tasks.runtime.executors import EXECUTORS, Invocation, Mount
from tasks.runtime.executors.container import ContainerExecutor


def invocation(**changes) -> Invocation:
    fields = dict(argv=["sh", "-c", "true"], cwd="/w", env={"B": "2", "A": "1"}, image="img:1",
                  mounts=[Mount("/w", "/w")], workdir="/w", entrypoint="", init=True,
                  cpus=2, memory_mib=512, name="labflows-abc")
    return Invocation(**{**fields, **changes})


def head(engine: str) -> list[str]:
    return [engine, "run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm", "--name", "labflows-abc", "--init",
            "--mount", "type=bind,source=/w,target=/w", "--workdir", "/w", "--entrypoint", "",
            "--cpus", "2", "--memory", "512m"]


TAIL = ["--env", "A", "--env", "B", "img:1", "sh", "-c", "true"]


@pytest.mark.parametrize(("engine", "gpu", "flags"), [
    ("docker", 0, []),
    ("podman", 0, []),
    ("docker", "all", ["--gpus", "all"]),
    ("docker", 2, ["--gpus", "2"]),
    ("podman", "all", ["--device", "nvidia.com/gpu=all"]),
    ("podman", 2, ["--device", "nvidia.com/gpu=0", "--device", "nvidia.com/gpu=1"]),
])
def test_full_argv_per_engine_and_gpu(engine, gpu, flags):
    assert EXECUTORS[engine].argv(invocation(gpu=gpu)) == [*head(engine), *flags, *TAIL]


def test_no_name_no_limits_no_init():
    argv = EXECUTORS["podman"].argv(invocation(name=None, init=False, cpus=None, memory_mib=None, env={}))
    assert argv == ["podman", "run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm",
                    "--mount", "type=bind,source=/w,target=/w", "--workdir", "/w", "--entrypoint", "",
                    "img:1", "sh", "-c", "true"]


def test_an_engine_without_a_gpu_mapping_is_refused():
    with pytest.raises(ValueError, match="no GPU mapping"):
        ContainerExecutor("nerdctl")


@pytest.mark.parametrize("image", ["", "--privileged", "-v/:/host", "img:1 --rm", "img;true", "img\n"])
def test_an_image_that_is_not_a_reference_is_refused(image):
    for engine in ("docker", "podman"):
        with pytest.raises(ValueError, match="is not an image reference"):
            EXECUTORS[engine].argv(invocation(image=image))


@pytest.mark.parametrize("image", ["busybox", "localhost:5000/a/b_c:1.2-x", "docker.io/library/ubuntu@sha256:ab12"])
def test_image_references_pass(image):
    assert EXECUTORS["podman"].argv(invocation(image=image))[-4] == image
