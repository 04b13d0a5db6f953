"""Real containers without a registry: podman, runc and a busybox image built from busybox-static.

The ``podman`` fixture (session scope) gives the tests an image, ``localhost/busybox:test``,
imported from a folder holding ``/bin/busybox`` and its applet links, in a podman store of its
own (``CONTAINERS_STORAGE_CONF``), with a ``containers.conf`` (``CONTAINERS_CONF``) that picks
runc (crun fails here: setrlimit, cgroups hybrid mode) and drops default ulimits. Both variables
are set in ``os.environ`` for the session, so labflows, started in-process or as a subprocess,
runs plain ``podman run …`` with no engine-specific flags.

When podman cannot be installed (not root, no apt) the tests skip with one line saying so;
when ``LABFLOWS_REQUIRE_CONTAINERS=1``, or podman is there but cannot run a container, they
fail with one line instead: a container test never passes without running a container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

IMAGE = "localhost/busybox:test"
BUSYBOX_PATHS = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
CONTAINERS_CONF = """\
[containers]
default_ulimits = []

[engine]
runtime = "runc"
"""
STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{root}/graph"
runroot = "{root}/run"
"""


@dataclass(frozen=True)
class Podman:
    """A podman ready to run :data:`IMAGE`; ``env`` holds the variables that select its config."""

    image: str
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``podman ARGS`` with this configuration; output captured as text."""
        return subprocess.run(["podman", *args], env={**os.environ, **self.env}, capture_output=True,
                              text=True, timeout=120, check=check)

    def containers(self) -> list[str]:
        """Names of every container in this store, running or not (``podman ps -a``)."""
        return self.run("ps", "-a", "--format", "{{.Names}}").stdout.split()


def _unavailable(reason: str) -> None:
    """Skip (podman not installable here) or fail (it should work), with ``reason`` in one line."""
    installable = os.geteuid() == 0 and shutil.which("apt-get")
    if os.environ.get("LABFLOWS_REQUIRE_CONTAINERS") == "1" or installable:
        pytest.fail(f"real containers: {reason}", pytrace=False)
    pytest.skip(f"real containers: {reason} (run `make test` as root with apt to install podman)")


def busybox_rootfs_tar(busybox: Path, dest: Path) -> Path:
    """A tar of a root folder with ``/bin/busybox``, its applets as links and an empty ``/tmp``."""
    root = dest / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "tmp").mkdir(mode=0o1777)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":  # the binary itself is in the list; a link would replace it
            (root / "bin" / applet).symlink_to("busybox")
    tar_path = dest / "rootfs.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(root, arcname=".")
    return tar_path


def build_podman(workdir: Path) -> Podman:
    """Write the configuration, import the image, run ``true`` once; calls :func:`_unavailable` on failure."""
    if not shutil.which("podman"):
        _unavailable("no `podman` on PATH")
    busybox = next((p for p in BUSYBOX_PATHS if p.exists()), None)
    if busybox is None:
        _unavailable("no busybox (apt-get install busybox-static)")
    (workdir / "containers.conf").write_text(CONTAINERS_CONF)
    (workdir / "storage.conf").write_text(STORAGE_CONF.format(root=workdir / "store"))
    podman = Podman(IMAGE, {"CONTAINERS_CONF": str(workdir / "containers.conf"),
                            "CONTAINERS_STORAGE_CONF": str(workdir / "storage.conf")})
    tar_path = busybox_rootfs_tar(busybox, workdir)
    for args in (("import", "--quiet", "--change", "ENV PATH=/bin", str(tar_path), IMAGE),
                 ("run", "--rm", "--network=none", IMAGE, "true")):
        result = podman.run(*args, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            _unavailable(f"`podman {args[0]}` failed (exit {result.returncode}): {last}")
    return podman


@pytest.fixture(scope="session")
def podman():
    """A working podman and :data:`IMAGE` for the session; its config variables set in ``os.environ``."""
    workdir = Path(tempfile.mkdtemp(prefix="labflows-podman-"))
    try:
        built = build_podman(workdir)
        with pytest.MonkeyPatch.context() as patch:
            for key, value in built.env.items():
                patch.setenv(key, value)
            yield built
        built.run("rm", "--all", "--force", check=False)
        built.run("rmi", "--all", "--force", check=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
