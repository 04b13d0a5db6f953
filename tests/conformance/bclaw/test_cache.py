"""Conformance with BayerCLAW's ``bclaw_runner/tests/test_cache.py`` (``references``: downloaded
once per machine into ``<scratch>/<etag>/``, hard-linked into the workspace).

Upstream has 6 tests: 5 ported (test_blocking_download_already_there as the second fetch of
test_download_to_cache); 1 deliberate: test_blocking_download_blocked expects upstream's private
helper to raise BlockingIOError while another process holds the lock; labflows waits for the lock
instead (one download per machine either way; docs/compatibility.md). Labflows' cache is
``<scratch>/references/<etag>/``.
"""

import pytest

from tasks.bclaw.staging import fetch_references

REFS = "s3://refs-bucket"


@pytest.fixture
def filled(put, repo):
    put(f"{REFS}/some/path/file1", "file one")
    put(f"{REFS}/other/path/file2", "file two")
    put(f"{REFS}/one/more/path/file3", "file three")
    return repo


def test_blocking_download(filled, tmp_path):
    """upstream: bclaw_runner/tests/test_cache.py::test_blocking_download"""
    (tmp_path / "ws").mkdir()
    fetch_references(filled, {"f": f"{REFS}/some/path/file1"}, tmp_path / "cache", tmp_path / "ws")
    assert (tmp_path / "ws" / "file1").read_text() == "file one"


def test_download_to_cache(filled, tmp_path):
    """upstream: bclaw_runner/tests/test_cache.py::test_download_to_cache (cached under the etag;
    a second fetch uses the cached file, not the object)."""
    (tmp_path / "ws").mkdir()
    cache = tmp_path / "cache"
    uri = f"{REFS}/some/path/file1"
    fetch_references(filled, {"test_file": uri}, cache, tmp_path / "ws")
    cached = cache / filled.etag(uri) / "file1"
    assert cached.read_text() == "file one"
    with cached.open("a") as fp:
        fp.write("extra content\n")
    (tmp_path / "ws2").mkdir()
    fetch_references(filled, {"test_file": uri}, cache, tmp_path / "ws2")
    assert (tmp_path / "ws2" / "file1").read_text() == "file oneextra content\n"


def test_get_reference_inputs(filled, tmp_path):
    """upstream: bclaw_runner/tests/test_cache.py::test_get_reference_inputs (hard links)."""
    ws = tmp_path / "workdir"
    ws.mkdir()
    spec = {"file1": f"{REFS}/some/path/file1", "file2": f"{REFS}/other/path/file2",
            "file3": f"{REFS}/one/more/path/file3"}
    assert fetch_references(filled, spec, tmp_path / "cache", ws) == {"file1": "file1", "file2": "file2",
                                                                       "file3": "file3"}
    for name, content in {"file1": "file one", "file2": "file two", "file3": "file three"}.items():
        assert (ws / name).read_text() == content
        assert (ws / name).stat().st_nlink >= 2


def test_get_reference_inputs_fail(filled, tmp_path):
    """upstream: bclaw_runner/tests/test_cache.py::test_get_reference_inputs_fail"""
    ws = tmp_path / "workdir"
    ws.mkdir()
    with pytest.raises(Exception):
        fetch_references(filled, {"file1": f"{REFS}/some/path/file1", "file3": f"{REFS}/does/not/exist/file99"},
                         tmp_path / "cache", ws)
