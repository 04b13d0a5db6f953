"""Resolved input file names stay inside the chunk: names from the LIMS are checked too."""

from __future__ import annotations

import pytest

from tasks.bfabric.inputs.resolved import (
    InvalidInputsError, LocalSource, ResolvedDirectory, ResolvedFile, ResolvedStaticFile, validate_resolved,
)


@pytest.mark.parametrize("name", ["..", "../x.txt", "a/../../x.txt", "/etc/passwd"])
def test_a_resolved_name_outside_the_chunk_is_refused(name):
    # a bfabric_resource without filename takes the resource's storage name, which the LIMS supplies
    for item in (ResolvedFile(filename=name, source=LocalSource("/data/x.txt")),
                 ResolvedStaticFile(filename=name, content=b"x"),
                 ResolvedDirectory(filename=name, source=LocalSource("/data/x.zip"))):
        with pytest.raises(InvalidInputsError, match=r"input 2: file name '.*': "):
            validate_resolved([ResolvedStaticFile(filename="ok.txt", content=b"x"), item])


def test_names_inside_the_chunk_pass():
    items = [ResolvedStaticFile(filename="a/../b.txt", content=b"x"),
             ResolvedFile(filename="sub/x..y.txt", source=LocalSource("/data/x.txt"))]
    assert validate_resolved(items) == items
