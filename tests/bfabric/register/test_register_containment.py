"""A storage path from B-Fabric (the workunit's storage_output_folder) cannot leave the storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.bfabric.register.outputs import RegistrationError, register_outputs


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize("folder", ["../../outside", "/etc", "out/../../.."])
def test_a_hostile_output_folder_is_refused_before_any_copy(setup, folder) -> None:
    local = setup.write("result.txt", "data")
    outputs = setup.outputs({"type": "bfabric_copy_resource", "local_path": str(local),
                             "store_entry_path": "result.txt"})
    registration = setup.definition.registration.model_copy(update={"storage_output_folder": Path(folder)})
    definition = setup.definition.model_copy(update={"registration": registration})
    parent = setup.remote.parent
    before = _tree(parent)
    with pytest.raises(RegistrationError, match=r"output result.txt: storage path '.*': "):
        register_outputs(setup.client, outputs, definition)
    assert setup.ssh.calls() == []
    assert _tree(parent) == before
    assert setup.client.saved("resource") == []
