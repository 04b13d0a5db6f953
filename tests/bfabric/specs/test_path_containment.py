"""B-Fabric path fields stay inside their roots: store paths below the storage, inputs and chunks
inside the chunk and work directories (``validate`` in a subprocess: exit 2, one located line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from specs.bfabric.chunks import ChunkOutsideWorkDir
from specs.source import SpecError
from tasks.bfabric.chunks import ChunksFile
from tasks.bfabric.dispatch import DispatchError, DispatchSingleResourceFlow

ROOT = Path(__file__).resolve().parents[3]


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _copy(entry: str, **extra: str) -> str:
    fields = "".join(f"\n    {k}: {v}" for k, v in extra.items())
    return f"outputs:\n  - type: bfabric_copy_resource\n    local_path: out.txt\n    store_entry_path: {entry}{fields}\n"


# name -> (file name, text, expected "LINE:COL: path: message" start)
CORPUS = {
    "entry_dotdot": ("outputs.yml", _copy("../../etc/cron.d/x"),
                     "4:23: outputs[0].store_entry_path: '..' would leave its folder (the storage's basepath is "
                     "its root): '../../etc/cron.d/x'"),
    "entry_absolute": ("outputs.yml", _copy("/etc/passwd"),
                       "4:23: outputs[0].store_entry_path: must be a relative path inside its folder"),
    "entry_only_dotdot": ("outputs.yml", _copy("../.."),
                          "4:23: outputs[0].store_entry_path: '..' would leave its folder"),
    "folder_absolute": ("outputs.yml", _copy("x.txt", store_folder_path="/etc"),
                        "5:24: outputs[0].store_folder_path: must be a relative path inside its folder"),
    "folder_dotdot": ("outputs.yml", _copy("x.txt", store_folder_path="a/../../b"),
                      "5:24: outputs[0].store_folder_path: '..' would leave its folder"),
    "input_filename": ("inputs.yml", "inputs:\n  - type: static_file\n    content: x\n    filename: ../../x\n",
                       "4:15: inputs[0].filename: must not leave the target directory"),
    "input_dataset_file": ("inputs.yml", "inputs:\n  - type: bfabric_resource_dataset\n    id: 1\n    filename: d\n"
                                         "    output_dataset_filename: ../../d.parquet\n",
                           "5:30: inputs[0].output_dataset_filename: must not leave the target"),
    "input_source_name": ("inputs.yml", "inputs:\n  - type: file\n    source: {local: /data/..}\n",
                          "2:5: inputs[0]: the source's name '..' cannot be a file name in the chunk"),
    "input_url_name": ("inputs.yml", "inputs:\n  - type: file\n    source: {http: {url: 'https://h/a/..'}}\n",
                       "2:5: inputs[0]: the source's name '..' cannot be a file name"),
    "chunk_dotdot": ("chunks.yml", "chunks:\n  - ok\n  - ../../elsewhere\n",
                     "3:5: chunks[1]: a chunk must stay inside the work directory"),
    "chunk_absolute": ("chunks.yml", "chunks:\n  - /etc\n", "2:5: chunks[0]: a chunk must be inside the work directory"),
}


def test_validate_refuses_every_b_fabric_path_that_leaves_its_root(tmp_path):
    files = []
    for name, (kind_file, text, _) in CORPUS.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / kind_file).write_text(text)
        files.append(folder / kind_file)
    before = _tree(tmp_path)
    result = subprocess.run([sys.executable, "-m", "flows.run", "validate", *map(str, files)], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    for path, (name, (_, _, expected)) in zip(files, CORPUS.items()):
        mine = [line for line in lines if line.startswith(f"{path}:")]
        assert len(mine) == 1, (name, mine)
        assert mine[0].startswith(f"{path}:{expected}"), (name, mine[0])
    assert _tree(tmp_path) == before


def test_plain_b_fabric_paths_still_validate(tmp_path):
    (tmp_path / "outputs.yml").write_text(_copy("sub/x..y.txt", store_folder_path="p1/out"))
    (tmp_path / "chunks.yml").write_text(f"chunks:\n  - a\n  - {tmp_path}/b\n")
    result = subprocess.run([sys.executable, "-m", "flows.run", "validate", str(tmp_path / "outputs.yml"),
                             str(tmp_path / "chunks.yml")], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == 0, result.stderr


def test_chunks_file_outside_the_work_dir_is_refused_when_read(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "chunks.yml").write_text(f"chunks: [a, {tmp_path / 'other'}]\n")
    with pytest.raises(SpecError, match=r"chunks.yml:1:13: chunks\[1\]: a chunk must be inside the work directory"):
        ChunksFile.read(work)
    with pytest.raises(SpecError):
        ChunksFile.needs_dispatch(work)


def test_chunks_outside_the_work_dir_are_not_written(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    before = _tree(tmp_path)
    for outside in (tmp_path / "other", Path("../other"), Path("/etc")):
        with pytest.raises(ChunkOutsideWorkDir, match="outside the work directory"):
            ChunksFile.write(work, [work / "a", outside])
    assert _tree(tmp_path) == before
    ChunksFile.write(work, [work / "a", Path("b")])
    assert yaml.safe_load((work / "chunks.yml").read_text()) == {"chunks": ["a", "b"]}


class _Dispatch(DispatchSingleResourceFlow):
    def dispatch_job(self, resources, workunit):
        return None


@pytest.mark.parametrize("name", ["..", "../../x", "/etc", "a/b", ""])
def test_chunk_names_from_b_fabric_cannot_leave_the_work_dir(tmp_path, name):
    dispatcher = _Dispatch(client=None, config=None, out_dir=tmp_path)
    with pytest.raises(DispatchError, match="chunk name"):
        dispatcher.chunk_dir(name)
    assert dispatcher.chunk_dir("run_a.imzML") == tmp_path / "run_a.imzML"
