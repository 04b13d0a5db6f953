"""Collect step of the labflows demo app: ``collect.py WORKUNIT_DEFINITION.yml CHUNK_DIR``.

Writes the chunk's ``outputs.yml``: its counts file as a copied resource; the first chunk also
registers ``outputs_table.csv`` as the workunit's dataset and a link to a report page.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from specs.bfabric.outputs import write_outputs
from specs.bfabric.workunit import load_workunit_definition


def main(argv: list[str]) -> int:
    definition = load_workunit_definition(argv[0])
    chunk_dir = Path(argv[1]).absolute()
    settings = yaml.safe_load((chunk_dir / "chunk.yml").read_text())
    sample = settings["sample"]
    outputs: list[dict] = [{"type": "bfabric_copy_resource", "local_path": str(chunk_dir / f"{sample}.counts.txt"),
                            "store_entry_path": f"{sample}.counts.txt"}]
    if settings.get("register_summary"):
        workunit_id = definition.registration.workunit_id if definition.registration else 0
        outputs += [
            {"type": "bfabric_dataset", "local_path": str(chunk_dir / "outputs_table.csv"), "name": "Line counts"},
            {"type": "bfabric_link", "name": "Line count report",
             "url": f"https://labflows.example.org/demo/workunit/{workunit_id}"},
        ]
    write_outputs(chunk_dir / "outputs.yml", outputs)
    print(f"{sample}: {len(outputs)} output(s) to register")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
