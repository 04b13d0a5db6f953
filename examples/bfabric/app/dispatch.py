"""Dispatch of the labflows demo app: ``dispatch.py WORKUNIT_DEFINITION.yml WORK_DIR``.

One chunk per input resource (resource flow), or per dataset row (dataset flow, resource id in
the ``Resource`` column), built on labflows' ``DispatchIndividualResources``. Each chunk gets an
inputs.yml with its resource (as ``input.tsv``) and its settings (``chunk.yml``). The first chunk
also gets ``outputs_table.csv`` (which counts file belongs to which input) and registers the
workunit-level outputs: that table as a dataset, and a link.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bfabric import Bfabric
from loguru import logger

from specs.bfabric.app_template import path_safe_name
from specs.bfabric.workunit import load_workunit_definition
from tasks.bfabric.dispatch import DispatchIndividualResources, DispatchIndividualResourcesConfig, write_chunk_inputs

#: Workunit parameters the process step understands (everything else is ignored).
SETTINGS = ("sleep_seconds", "fail_sample", "greeting")


class CountLinesDispatch(DispatchIndividualResources):
    """One chunk per input ``.tsv`` resource."""

    def __init__(self, client: Bfabric, out_dir: Path) -> None:
        config = DispatchIndividualResourcesConfig(filter_suffix=".tsv", resource_column="Resource", param_columns=[])
        super().__init__(client, config, out_dir)
        self._jobs: list[tuple[Path, Any, dict[str, Any]]] = []

    def dispatch_job(self, resource: Any, params: dict[str, Any]) -> Path:
        sample = path_safe_name(Path(str(resource["name"])).stem)
        chunk_dir = self.out_dir / sample
        self._jobs.append((chunk_dir, resource, params))
        write_chunk_inputs(chunk_dir, self._inputs(sample, resource, params, summary=None))
        return chunk_dir

    @staticmethod
    def _inputs(sample: str, resource: Any, params: dict[str, Any], summary: str | None) -> list[dict[str, Any]]:
        settings = {"sample": sample, "resource_id": resource.id,
                    "register_summary": summary is not None,
                    **{k: params[k] for k in SETTINGS if params.get(k) is not None}}
        inputs = [{"type": "bfabric_resource", "id": resource.id, "filename": "input.tsv"},
                  {"type": "static_yaml", "data": settings, "filename": "chunk.yml"}]
        if summary is not None:
            inputs.append({"type": "static_file", "content": summary, "filename": "outputs_table.csv"})
        return inputs

    def dispatch_workunit(self, definition: Any) -> list[Path]:
        chunks = super().dispatch_workunit(definition)
        rows = ["Resource,Sample,Counts file"]
        rows += [f"{resource.id},{chunk_dir.name},{chunk_dir.name}.counts.txt" for chunk_dir, resource, _ in self._jobs]
        first_dir, first_resource, first_params = self._jobs[0]
        write_chunk_inputs(first_dir, self._inputs(first_dir.name, first_resource, first_params,
                                                   summary="\n".join(rows) + "\n"))
        return chunks


def main(argv: list[str]) -> int:
    logger.remove()  # the bfabric client logs every request at DEBUG level: keep warnings only
    logger.add(sys.stderr, level="WARNING")
    definition_file, work_dir = Path(argv[0]), Path(argv[1])
    definition = load_workunit_definition(definition_file)
    chunks = CountLinesDispatch(Bfabric.connect(), work_dir).dispatch_workunit(definition)
    print(f"dispatched {len(chunks)} chunk(s): {', '.join(c.name for c in chunks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
