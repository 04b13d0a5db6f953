"""tasks/bfabric/checksums.md5_file: B-Fabric's ``filechecksum`` (lower-case hex MD5) of a whole file,
read in 1 MiB blocks (files across block boundaries included)."""

import hashlib

import pytest

from tasks.bfabric.checksums import md5_file

MiB = 1 << 20


@pytest.mark.parametrize("size", [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB + 12345])
def test_md5_file_is_the_md5_of_the_whole_content(tmp_path, size):
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert md5_file(path) == hashlib.md5(data).hexdigest()


def test_md5_file_is_lower_case_hex_and_changes_with_any_byte(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"same size A")
    first = md5_file(path)
    assert len(first) == 32 and first == first.lower() and int(first, 16) >= 0
    path.write_bytes(b"same size B")
    assert md5_file(path) != first
