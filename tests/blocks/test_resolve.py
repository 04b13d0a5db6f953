"""Choosing a run's repository: saved blocks by name or SLUG/NAME, and a clear error otherwise."""

from __future__ import annotations

import uuid

import pytest

from blocks.local import LocalRepository
from blocks.resolve import RepositoryBlockNotFound, load_repository, saved_repository_blocks


def test_saved_block_by_name_and_by_slug(prefect_harness, tmp_path):
    name = f"lab-{uuid.uuid4().hex[:8]}"
    LocalRepository(root=str(tmp_path)).save(name)
    slug = LocalRepository.get_block_type_slug()
    assert load_repository(name).root == str(tmp_path)
    assert load_repository(f"{slug}/{name}").root == str(tmp_path)
    assert f"{slug}/{name}" in saved_repository_blocks()


def test_unknown_block_lists_the_saved_ones(prefect_harness, tmp_path):
    name = f"lab-{uuid.uuid4().hex[:8]}"
    LocalRepository(root=str(tmp_path)).save(name)
    for wrong in ("no-such-block", f"{LocalRepository.get_block_type_slug()}/no-such-block"):
        with pytest.raises(RepositoryBlockNotFound) as err:
            load_repository(wrong)
        assert str(err.value).startswith(f"no saved repository block named {wrong!r}; saved: ")
        assert f"/{name}" in str(err.value)
