"""The steps of a B-Fabric app run as plain functions (the Prefect tasks in :mod:`tasks.bfabric.app.tasks` wrap them).

Like bfabric-app-runner, every app command runs with the work directory as its current
directory (a relative ``local_path`` in an outputs.yml is therefore relative to the work
directory) and gets these arguments:

* dispatch: ``<workunit_definition.yml> <work_dir>``;
* process: ``<chunk_dir>``;
* collect: ``<workunit_definition.yml> <chunk_dir>``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

from specs.bfabric.app_commands import (
    Command,
    CommandExec,
    CommandPythonEnv,
    CommandShell,
)
from specs.bfabric.outputs import (
    CopyResourceSpec,
    OutputsSpec,
    SaveDatasetSpec,
    load_outputs,
)
from tasks.bfabric.app.connection import BfabricConnection
from tasks.bfabric.app.run import AppRun
from tasks.bfabric.chunks import ChunksFile, workunit_definition_guard, write_chunk_definition
from tasks.bfabric.commands import run_command
from tasks.bfabric.inputs.prepare import inputs_need_client, prepare_inputs
from tasks.bfabric.register.outputs import register_outputs, set_workunit_status
from tasks.bfabric.register.storage import load_storage
from tasks.runtime.logs import run_logger

__all__ = [
    "INPUTS_FILE",
    "OUTPUTS_FILE",
    "anchor_local_paths",
    "collect_chunk",
    "command_with_env",
    "dispatch_workunit",
    "prepare_chunk_inputs",
    "process_chunk",
    "register_chunk_outputs",
    "write_status",
]

INPUTS_FILE = "inputs.yml"
OUTPUTS_FILE = "outputs.yml"

# Registration looks an entity up, then saves it: chunks of one run register one after the other,
# so two chunks naming the same dataset or link cannot both create it.
_REGISTER_LOCK = threading.Lock()


def command_with_env(command: Command, extra_env: dict[str, str]) -> Command:
    """``command`` with ``extra_env`` added to its environment (exec, shell and python_env commands).

    A docker command is returned unchanged: its environment would be written on the ``docker run``
    command line; containers see the B-Fabric configuration through the shared ``~/.bfabricpy.yml``.
    """
    if not extra_env:
        return command
    if isinstance(command, (CommandExec, CommandPythonEnv)):
        return command.model_copy(update={"env": {**command.env, **extra_env}})
    if isinstance(command, CommandShell):  # shell commands are exec commands without env
        return CommandExec(type="exec", command=command.command, env=dict(extra_env))
    run_logger().info("docker command: B-Fabric credentials reach it through the mounted ~/.bfabricpy.yml only")
    return command


def _run_app_command(run: AppRun, command: Command, args: Sequence[Path | str]) -> None:
    run_command(command_with_env(command, run.connection.command_env()), [str(a) for a in args], cwd=run.work_dir)


def dispatch_workunit(run: AppRun) -> list[Path]:
    """Run the app's dispatch command; returns the chunk directories it produced.

    ``workunit_definition.yml`` is guarded: a dispatch that changes it gets a warning, its version
    is kept as ``.bak`` and the original restored.
    """
    with workunit_definition_guard(run.work_dir):
        _run_app_command(run, run.version.commands.dispatch, [run.definition_file, run.work_dir])
    chunks = ChunksFile.read(run.work_dir)
    run_logger().info("dispatch made %d chunk(s): %s", len(chunks), ", ".join(c.name for c in chunks))
    return chunks


def prepare_chunk_inputs(run: AppRun, chunk_dir: Path, filter: str | None = None) -> list[Path]:
    """Fetch and write the files of ``chunk_dir/inputs.yml`` into the chunk directory."""
    spec_file = Path(chunk_dir) / INPUTS_FILE
    client = run.connection.client() if inputs_need_client(spec_file) else None
    return prepare_inputs(client, spec_file, chunk_dir, ssh_user=run.options.ssh_user, filter=filter)


def process_chunk(run: AppRun, chunk_dir: Path) -> None:
    """Run the app's process command on one chunk."""
    _run_app_command(run, run.version.commands.process, [Path(chunk_dir)])


def collect_chunk(run: AppRun, chunk_dir: Path) -> bool:
    """Run the app's collect command on one chunk, if the app has one; whether it ran.

    Unless read-only, the chunk first gets its ``workunit_definition.yml`` (as upstream's outputs step).
    """
    if run.version.commands.collect is None:
        return False
    if not run.options.read_only:
        write_chunk_definition(run.definition, Path(chunk_dir))
    _run_app_command(run, run.version.commands.collect, [run.definition_file, Path(chunk_dir)])
    return True


def anchor_local_paths(outputs: OutputsSpec, base_dir: Path) -> OutputsSpec:
    """``outputs`` with every relative ``local_path`` made absolute against ``base_dir``."""
    anchored: list[Any] = []
    for output in outputs.outputs:
        if isinstance(output, (CopyResourceSpec, SaveDatasetSpec)) and not output.local_path.is_absolute():
            output = output.model_copy(update={"local_path": Path(base_dir) / output.local_path})
        anchored.append(output)
    return OutputsSpec.model_construct(outputs=anchored)


def register_chunk_outputs(run: AppRun, chunk_dir: Path) -> list[dict[str, Any]]:
    """Register ``chunk_dir/outputs.yml`` in B-Fabric; returns one record per entity touched.

    In read-only mode nothing is registered (a warning says so) and the result is empty.
    """
    spec_file = Path(chunk_dir) / OUTPUTS_FILE
    if run.options.read_only:
        run_logger().warning("read-only: the outputs of %s are not registered", spec_file)
        return []
    write_chunk_definition(run.definition, Path(chunk_dir))
    outputs = anchor_local_paths(load_outputs(spec_file), run.work_dir)
    with _REGISTER_LOCK:
        return register_outputs(run.connection.client(), outputs, run.definition, ssh_user=run.options.ssh_user,
                                force_storage=run.options.force_storage,
                                workflow_template_step_id=run.workflow_template_step_id,
                                storage_loader=lambda: _output_storage(run))


def _output_storage(run: AppRun) -> dict[str, Any]:
    """The storage the run's outputs are copied to, read from B-Fabric once per run (not per chunk)."""
    storage_id = int(run.definition.registration.storage_id)
    force = run.options.force_storage
    return run.connection.once(("storage", storage_id, force),
                               lambda: load_storage(run.connection.client(), storage_id, force))


def write_status(connection: BfabricConnection, workunit_id: int | None, status: str) -> bool:
    """Set the workunit's status (skipped, with a warning, without a workunit id); whether it was set."""
    if workunit_id is None:
        run_logger().warning("no workunit id (the definition has no registration): status %r not written", status)
        return False
    set_workunit_status(connection.client(), workunit_id, status)
    return True
