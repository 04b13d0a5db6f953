"""Fixtures: recording ``rsync``/``scp`` on PATH, a seeded B-Fabric stand-in with a storage folder.

There is no ssh server here, so ``rsync`` and ``scp`` are small executables that record their
argv and copy ``[user@]host:/path`` from the local ``/path``. Everything else is real: the
``bfabric`` client talks SOAP to :class:`standin.server.StandinServer`.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from standin.server import StandinServer
from tests.support.standin import FakeSsh, running_standin

_TOOL = '''\
import json, os, shutil, sys
name = os.path.basename(sys.argv[0])
with open(os.environ["FAKE_TRANSFER_LOG"], "a") as log:
    log.write(json.dumps([name, *sys.argv[1:]]) + "\\n")
code = int(os.environ.get("FAKE_" + name.upper() + "_EXIT", "0"))
if code:
    print(name + ": simulated failure", file=sys.stderr)
    sys.exit(code)
args = sys.argv[sys.argv.index("--") + 1:]
source, dest = args
if ":" in source.split("/", 1)[0]:
    source = source.split(":", 1)[1]
print(name + ": copying " + source)
shutil.copyfile(source, dest)
'''


class Tools(FakeSsh):
    """The recording transfer executables of one test (same log format as the fake ssh)."""

    def names(self) -> list[str]:
        """The executables called, in order."""
        return [c[0] for c in self.calls()]


def _install(bin_dir: Path, names: tuple[str, ...]) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{_TOOL}")
        path.chmod(0o755)


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    """Recording ``rsync`` and ``scp`` first on PATH."""
    t = Tools(tmp_path / "bin", tmp_path / "transfers.jsonl")
    _install(t.bin_dir, ("rsync", "scp"))
    monkeypatch.setenv("PATH", f"{t.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_TRANSFER_LOG", str(t.log))
    for name in ("RSYNC", "SCP"):
        monkeypatch.delenv(f"FAKE_{name}_EXIT", raising=False)
    return t


@pytest.fixture
def scp_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    """Only a recording ``scp`` on PATH: no ``rsync`` anywhere."""
    t = Tools(tmp_path / "bin-scp-only", tmp_path / "transfers.jsonl")
    _install(t.bin_dir, ("scp",))
    monkeypatch.setenv("PATH", str(t.bin_dir))
    monkeypatch.setenv("FAKE_TRANSFER_LOG", str(t.log))
    monkeypatch.delenv("FAKE_SCP_EXIT", raising=False)
    return t


def md5(data: bytes) -> str:
    """Hex MD5 of ``data``."""
    return hashlib.md5(data).hexdigest()


def zip_bytes(members: dict[str, str]) -> bytes:
    """A zip archive holding ``members`` (name -> text)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buffer.getvalue()


#: Files of the storage folder (relative path -> content).
STORAGE_FILES: dict[str, bytes] = {
    "p1/file_10.txt": b"ten\n",
    "p1/file_11.txt": b"eleven\n",
    "p1/sub/data.csv": b"a,b\n1,2\n",
    "p1/archive.zip": zip_bytes({"root/a.txt": "A", "root/dir1/b.txt": "B", "root/dir1/c.log": "C"}),
    "p1/flat.zip": zip_bytes({"a.txt": "A", "dir1/b.txt": "B"}),
}


@dataclass
class Bfab:
    """A stand-in seeded for the inputs tests, its real client and the storage folder."""

    server: StandinServer
    client: object
    storage: Path

    def path(self, relative: str) -> Path:
        """A file of the storage folder."""
        return self.storage / relative


def _seed(storage: Path) -> dict:
    def res(id_: int, rel: str, **extra: object) -> dict:
        return {"id": id_, "name": Path(rel).name, "storage": 1, "relativepath": rel,
                "filechecksum": md5(STORAGE_FILES[rel.lstrip("/")]), **extra}

    dataset_items = [
        {"position": i + 1, "field": [{"attributeposition": 1, "value": str(rid)},
                                      {"attributeposition": 2, "value": name}]}
        for i, (rid, name) in enumerate([(10, "first"), (11, "second")])
    ]
    return {
        "project": [{"id": 1, "name": "P"}],
        "order": [{"id": 3, "name": "O", "project": 1, "fastasequence": ">prot\nMKV\n"},
                  {"id": 4, "name": "no fasta", "project": 1}],
        "storage": [{"id": 1, "name": "ssh storage", "host": "storagehost", "basepath": str(storage) + "/",
                     "protocol": "scp"},
                    {"id": 2, "name": "no http", "host": "otherhost", "basepath": str(storage), "protocol": "scp"}],
        "sample": [{"id": 5, "name": "S5", "groupingvar": "A", "container": 1},
                   {"id": 6, "name": "S6", "groupingvar": "B", "container": 1}],
        "resource": [
            res(10, "p1/file_10.txt", sample=5),
            res(11, "/p1/file_11.txt", sample=6),
            res(12, "p1/sub/data.csv"),
            res(13, "p1/archive.zip"),
            res(14, "p1/flat.zip"),
            {"id": 15, "name": "bad checksum", "storage": 1, "relativepath": "p1/file_10.txt",
             "filechecksum": "0" * 32},
            {"id": 16, "name": "other storage", "storage": 2, "relativepath": "p1/file_10.txt",
             "filechecksum": md5(STORAGE_FILES["p1/file_10.txt"])},
        ],
        "dataset": [
            {"id": 20, "name": "resources", "container": 1,
             "attribute": [{"name": "Resource", "position": 1, "type": "String"},
                           {"name": "Name", "position": 2, "type": "String"}],
             "item": dataset_items},
            {"id": 21, "name": "clash", "container": 1,
             "attribute": [{"name": "resource", "position": 1, "type": "String"},
                           {"name": "File", "position": 2, "type": "String"}],
             "item": [{"position": 1, "field": [{"attributeposition": 1, "value": "10"},
                                                {"attributeposition": 2, "value": "x"}]}]},
        ],
        "workunit": [{"id": 7, "name": "wu in order", "container": {"classname": "order", "id": 3}},
                     {"id": 8, "name": "wu in project", "container": {"classname": "project", "id": 1}}],
    }


@pytest.fixture
def bfab(tmp_path: Path) -> Bfab:
    """A running stand-in seeded with resources on a storage folder (host ``storagehost``)."""
    storage = tmp_path / "storage"
    for rel, data in STORAGE_FILES.items():
        (storage / rel).parent.mkdir(parents=True, exist_ok=True)
        (storage / rel).write_bytes(data)
    with running_standin(_seed(storage)) as server:
        yield Bfab(server=server, client=server.client(), storage=storage)
