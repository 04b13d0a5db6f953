"""The B-Fabric app spec (app.yml): which runner an app wants and the commands of each version.

An app.yml has two keys::

    bfabric: {app_runner: 0.8.0, workflow_template_step_id: 12}   # optional step id
    versions:
      - version: [1.0.0, 1.0.1]        # a string or a list; each entry becomes one AppVersion
        commands:
          dispatch: {type: exec, command: python ${app.dir}/dispatch.py}
          process:  {type: python_env, pylock: dist/${app.version}/pylock.toml, command: -m app.process}

String values are templates (see :mod:`specs.bfabric.app_template`): ``${app.id}``, ``${app.name}``,
``${app.version}`` and ``${app.dir}``. :func:`load_app` renders them for every version, anchors
spec-relative paths at the app.yml directory and rejects duplicate versions; :func:`app_from_doc`
only checks the document (for ``labflows validate``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationError, model_validator

from specs.bfabric.app_commands import CommandsSpec, resolve_commands_paths
from specs.bfabric.app_template import CHECK_VARIABLES, AppVariables, render_data
from specs.bfabric.common import LenientModel, problems_from, warn_ignored_keys
from specs.source import Loc, Problem, SourceDoc, SpecError, load_yaml_file

__all__ = [
    "AppSpec",
    "AppSpecTemplate",
    "AppVersion",
    "AppVersionError",
    "AppVersionMultiTemplate",
    "BfabricAppSpec",
    "SCHEMA_MODEL",
    "app_from_doc",
    "load_app",
]


class AppVersionError(ValueError):
    """The requested app version does not exist (or none was requested where one is needed)."""


class BfabricAppSpec(LenientModel):
    """The ``bfabric`` section: runner version and optional workflow step (other keys: ignored, as upstream)."""

    app_runner: str = Field(description="bfabric-app-runner version (`0.8.0`) or git ref (`git+https://…`).")
    workflow_template_step_id: int | None = Field(
        default=None, description="Workflow template step to record after the outputs are registered.")

    def runner_requirement(self, *, for_makefile: bool = False) -> str:
        """The requirement that installs the app runner: ``bfabric-app-runner==0.8.0`` for a version,
        ``bfabric-app-runner@git+…`` for a git ref (``#`` escaped as ``\\#`` inside a Makefile)."""
        if self.app_runner.startswith("git+"):
            ref = self.app_runner.replace("#", "\\#") if for_makefile else self.app_runner
            return f"bfabric-app-runner@{ref}"
        return f"bfabric-app-runner=={self.app_runner}"


def _as_list(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            raise ValueError(f"version {item!r} is read as a number: quote it (\"{item}\")")
    return [value] if isinstance(value, str) else value


class AppVersionMultiTemplate(LenientModel):
    """One entry of ``versions`` as written: one or more version names sharing commands.

    Other keys (``submitter:`` in upstream's own test data) are ignored, as bfabric-app-runner does.
    """

    version: Annotated[list[str], BeforeValidator(_as_list)] = Field(
        description="A version name, or a list of names sharing these commands.")
    commands: CommandsSpec


class AppSpecTemplate(LenientModel):
    """An app.yml as written, before templates are rendered."""

    bfabric: BfabricAppSpec
    versions: list[AppVersionMultiTemplate] = Field(min_length=1)


class AppVersion(BaseModel):
    """One runnable app version, templates rendered and paths resolved."""

    version: str = "latest"
    commands: CommandsSpec


class AppSpec(BaseModel):
    """An evaluated app.yml: one :class:`AppVersion` per version name."""

    bfabric: BfabricAppSpec
    versions: list[AppVersion]

    @model_validator(mode="after")
    def _unique_versions(self) -> "AppSpec":
        dups = sorted(v for v, n in Counter(v.version for v in self.versions).items() if n > 1)
        if dups:
            raise ValueError(f"Duplicate versions found: {', '.join(dups)}")
        return self

    @property
    def available_versions(self) -> list[str]:
        """Version names, in file order."""
        return [v.version for v in self.versions]

    def __contains__(self, version: object) -> bool:
        return version in self.available_versions

    def __getitem__(self, version: str) -> AppVersion | None:
        """The version called ``version``, or None."""
        return next((v for v in self.versions if v.version == version), None)

    def resolve_version(self, requested: str | None) -> AppVersion:
        """The version to run for a workunit's ``application_version`` parameter.

        A spec with a single version needs no parameter; otherwise the name must exist.
        """
        if requested is None:
            if len(self.versions) == 1:
                return self.versions[0]
            raise AppVersionError(
                "the workunit has no application_version parameter and the app has several versions; "
                f"available versions: {', '.join(self.available_versions)}")
        found = self[requested]
        if found is None:
            raise AppVersionError(
                f"app version {requested!r} not found; available versions: {', '.join(self.available_versions)}")
        return found


SCHEMA_MODEL = AppSpecTemplate


def _version_locs(doc: SourceDoc, index: int) -> list[Loc]:
    """Where each version name of ``versions[index]`` is written."""
    raw = doc.data["versions"][index]["version"]
    base: Loc = ("versions", index, "version")
    return [base] if isinstance(raw, str) else [base + (j,) for j in range(len(raw))]


def _duplicate_problems(doc: SourceDoc, template: AppSpecTemplate) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for i, entry in enumerate(template.versions):
        for name, loc in zip(entry.version, _version_locs(doc, i)):
            if name in seen:
                problems.append(doc.problem(loc, f"Duplicate versions found: {name}"))
            seen.add(name)
    return problems


def app_from_doc(doc: SourceDoc) -> AppSpecTemplate:
    """Validate an app.yml document without rendering it for a particular app; raises SpecError."""
    try:
        template = AppSpecTemplate.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(problems_from(doc, exc, model=AppSpecTemplate)) from None
    problems: list[Problem] = []
    render_data(doc, doc.data, (), CHECK_VARIABLES, problems)
    problems += _duplicate_problems(doc, template)
    if problems:
        raise SpecError(problems)
    return template


def _render_version(doc: SourceDoc, index: int, variables: AppVariables, app_dir: Path,
                    problems: list[Problem]) -> AppVersion | None:
    loc: Loc = ("versions", index, "commands")
    before = len(problems)
    rendered = render_data(doc, doc.data["versions"][index]["commands"], loc, {"app": variables}, problems)
    if len(problems) > before:
        return None
    try:
        commands = CommandsSpec.model_validate(rendered)
    except ValidationError as exc:
        problems.extend(problems_from(doc, exc, loc, CommandsSpec))
        return None
    return AppVersion(version=variables.version, commands=resolve_commands_paths(commands, app_dir))


def _render_bfabric(doc: SourceDoc, variables: AppVariables, problems: list[Problem]) -> BfabricAppSpec | None:
    rendered = render_data(doc, doc.data["bfabric"], ("bfabric",), {"app": variables}, problems)
    try:
        return BfabricAppSpec.model_validate(rendered)
    except ValidationError as exc:
        problems.extend(problems_from(doc, exc, ("bfabric",), BfabricAppSpec))
        return None


def evaluate_app(doc: SourceDoc, app_id: int, app_name: str, app_dir: Path) -> AppSpec:
    """Render a validated app.yml document for one app; raises SpecError with every problem."""
    template = app_from_doc(doc)
    problems: list[Problem] = []
    versions: list[AppVersion] = []

    def variables(version: str) -> AppVariables:
        return AppVariables.create(app_id, app_name, version, str(app_dir))

    bfabric = _render_bfabric(doc, variables("latest"), problems)
    for i, entry in enumerate(template.versions):
        for name in entry.version:
            version = _render_version(doc, i, variables(name), app_dir, problems)
            if version is not None:
                versions.append(version)
    if problems:
        raise SpecError(problems)
    return AppSpec(bfabric=bfabric, versions=versions)


def load_app(path: str | Path, app_id: int, app_name: str) -> AppSpec:
    """Read app.yml and evaluate it for app ``app_id`` called ``app_name``; raises SpecError."""
    doc = load_yaml_file(path)
    spec = evaluate_app(doc, app_id, app_name, Path(path).absolute().parent)
    warn_ignored_keys(doc, AppSpecTemplate.model_validate(doc.data))
    return spec
