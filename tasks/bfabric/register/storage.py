"""Where output files go: the workunit's storage, and copying a file onto it.

Two kinds of storage are supported:

- ``protocol: scp`` (B-Fabric's usual storages): the file goes to ``host:{basepath}{relative path}``
  (plain concatenation, as the app runner does, so ``basepath`` needs its trailing ``/``), with
  ``ssh [user@]host mkdir -p <parent>`` then ``scp <local> [user@]host:<path>``;
- ``protocol: file`` or ``local`` (single-machine installations): ``basepath`` is a local folder and
  the file is copied to a temporary name next to the target, then renamed into place.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tasks.bfabric.register.common import RegistrationError
from tasks.runtime.logs import run_logger

if TYPE_CHECKING:
    from bfabric import Bfabric

LOCAL_PROTOCOLS = ("file", "local")


def load_storage(
    client: Bfabric, storage_id: int, force_storage: str | Path | Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The storage to copy to: ``force_storage`` (a YAML file or mapping) if given, else storage ``storage_id``."""
    if force_storage is not None:
        if isinstance(force_storage, Mapping):
            storage = dict(force_storage)
        else:
            storage = yaml.safe_load(Path(force_storage).read_text())
        if not isinstance(storage, dict):
            raise RegistrationError(f"forced storage {force_storage} is not a mapping of storage fields")
        return storage
    found = client.read("storage", {"id": storage_id}).to_list_dict()
    if not found:
        raise RegistrationError(f"storage {storage_id} does not exist in B-Fabric")
    return dict(found[0])


def storage_target(storage: Mapping[str, Any], relative_path: str) -> str:
    """The path of ``relative_path`` on ``storage`` (``basepath`` + ``relative_path``)."""
    basepath = storage.get("basepath")
    if not basepath:
        raise RegistrationError(f"storage {storage.get('id', '(forced)')} has no basepath")
    if str(storage.get("protocol")) in LOCAL_PROTOCOLS:
        return str(Path(str(basepath)) / relative_path)
    if not str(basepath).endswith("/"):
        run_logger().warning("storage basepath %r has no trailing '/': the path is joined without one", basepath)
    return f"{basepath}{relative_path}"


def copy_to_storage(
    local_path: Path, storage: Mapping[str, Any], relative_path: str, ssh_user: str | None = None
) -> str:
    """Copy ``local_path`` onto ``storage`` at ``relative_path``; returns where it went."""
    protocol = str(storage.get("protocol") or "")
    target = storage_target(storage, relative_path)
    if protocol == "scp":
        host = str(storage.get("host") or "")
        if not host:
            raise RegistrationError(f"scp storage {storage.get('id', '(forced)')} has no host")
        _scp(local_path, host, target, ssh_user)
        return f"{host}:{target}"
    if protocol in LOCAL_PROTOCOLS:
        _local_copy(local_path, Path(target))
        return target
    raise RegistrationError(
        f"storage {storage.get('id', '(forced)')} has protocol {protocol!r}: only scp and local (file) storages "
        "can receive output files"
    )


def _reject_option(value: str, role: str) -> None:
    # ssh/scp would read a leading "-" as an option
    if value.startswith("-"):
        raise RegistrationError(f"{role} must not start with '-': {value!r}")


def _run(argv: list[str]) -> None:
    run_logger().info("running %s", shlex.join(argv))
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise RegistrationError(f"{shlex.join(argv)} failed with exit code {done.returncode}: {detail}")


def _scp(local_path: Path, host: str, target: str, ssh_user: str | None) -> None:
    remote = f"{ssh_user}@{host}" if ssh_user else host
    _reject_option(remote, "ssh destination")
    _reject_option(str(local_path), "local path")
    # ssh hands its arguments to the remote shell: quote the folder
    _run(["ssh", remote, "mkdir", "-p", shlex.quote(posixpath.dirname(target))])
    _run(["scp", str(local_path), f"{remote}:{target}"])


def _local_copy(local_path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(local_path, tmp_name)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    run_logger().info("copied %s to %s", local_path, target)
