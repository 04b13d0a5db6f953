"""One run of a B-Fabric app on one workunit: what every step needs, and the errors a run reports.

:func:`build_app_run` loads app.yml for the workunit's application (see
:mod:`tasks.bfabric.app.workunit` for the definition) and picks the version to run
(``--force-app-version`` wins over the workunit's ``application_version`` parameter). The
resulting :class:`AppRun` is handed to every task of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specs.bfabric.app import AppVersion, AppVersionError, load_app
from specs.bfabric.workunit import WorkunitDefinition
from specs.source import SpecError
from tasks.bfabric.app.connection import BfabricConnection
from tasks.bfabric.app.workunit import WorkunitRefError, definition_path, workunit_id_of
from tasks.bfabric.chunks import NoChunksFoundError
from tasks.bfabric.commands import CommandFailedError
from tasks.bfabric.dispatch import DispatchError
from tasks.bfabric.inputs.resolved import InputsError
from tasks.bfabric.register.outputs import RegistrationError
from tasks.runtime.failures import ExpectedFailure

__all__ = [
    "AppRun",
    "AppRunError",
    "AppRunOptions",
    "ChunkStepError",
    "ChunksFailedError",
    "EXPECTED_ERRORS",
    "app_identity",
    "build_app_run",
    "select_version",
]


class AppRunError(ExpectedFailure, RuntimeError):
    """An app run failed for a reason its message explains (no traceback needed)."""


class ChunkStepError(AppRunError):
    """One step of one chunk failed."""

    def __init__(self, chunk: str, step: str, cause: BaseException) -> None:
        self.chunk, self.step = chunk, step
        super().__init__(f"chunk {chunk}, {step}: {cause}")


class ChunksFailedError(AppRunError):
    """Some chunks failed; carries ``(chunk, message)`` for each, and the results of the chunks
    that succeeded (for the summary of the failed run)."""

    def __init__(self, failures: list[tuple[str, str]], total: int,
                 results: list[dict[str, Any]] | None = None) -> None:
        self.failures = failures
        self.results = results or []  # the chunks that finished (for the run's summary)
        if len(failures) == 1:
            message = failures[0][1]
        else:
            message = f"{len(failures)} of {total} chunks failed: " + "; ".join(m for _, m in failures)
        super().__init__(message)


#: Failures whose message says everything: the CLI shows them without a traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    AppRunError, AppVersionError, CommandFailedError, DispatchError, InputsError, NoChunksFoundError,
    RegistrationError, SpecError, WorkunitRefError,
)


@dataclass(frozen=True)
class AppRunOptions:
    """Choices of the person starting the run (the app-runner's command line options)."""

    ssh_user: str | None = None
    force_storage: str | None = None
    force_app_version: str | None = None
    read_only: bool = False


@dataclass(frozen=True)
class AppRun:
    """Everything the steps of one app run need; shared (read-only) by every task."""

    app_yml: Path
    work_dir: Path
    definition: WorkunitDefinition
    version: AppVersion
    workflow_template_step_id: int | None
    options: AppRunOptions = field(default_factory=AppRunOptions)
    connection: BfabricConnection = field(default_factory=BfabricConnection)

    @property
    def workunit_id(self) -> int | None:
        """The workunit's id (None for a definition without registration section)."""
        return workunit_id_of(self.definition)

    @property
    def definition_file(self) -> Path:
        """``work_dir/workunit_definition.yml``: the workunit reference handed to app commands."""
        return definition_path(self.work_dir)


def app_identity(definition: WorkunitDefinition) -> tuple[int, str]:
    """``(app id, app name)`` for rendering app.yml (``${app.id}``, ``${app.name}``)."""
    if definition.registration is None:
        return 0, "app"
    return definition.registration.application_id, definition.registration.application_name


def select_version(app_yml: Path, definition: WorkunitDefinition, force_app_version: str | None
                   ) -> tuple[AppVersion, int | None]:
    """The app version to run and the app's workflow template step id."""
    app_id, app_name = app_identity(definition)
    spec = load_app(app_yml, app_id, app_name)
    requested = force_app_version or definition.execution.raw_parameters.get("application_version")
    return spec.resolve_version(requested), spec.bfabric.workflow_template_step_id


def build_app_run(app_yml: str | Path, work_dir: str | Path, definition: WorkunitDefinition,
                  options: AppRunOptions, connection: BfabricConnection) -> AppRun:
    """Load app.yml for the workunit's application and select the version to run."""
    app_path = Path(app_yml).absolute()
    version, step_id = select_version(app_path, definition, options.force_app_version)
    return AppRun(app_yml=app_path, work_dir=Path(work_dir).absolute(), definition=definition, version=version,
                  workflow_template_step_id=step_id, options=options, connection=connection)
