"""bfabric-app-runner's app spec tests, ported: app.yml versions, the bfabric section, spec-relative paths.

Upstream files mirrored (fgcz/bfabricPy, tests/bfabric_app_runner/): specs/app/test_app_spec.py (13
cases, 13 ported), specs/app/test_app_version.py (3 cases, 3 ported), specs/app/test_commands_spec.py
(2 cases, 2 ported). Each test names its upstream test; upstream's test data file is used unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from specs.bfabric.app import AppSpec, AppVersion, load_app
from specs.bfabric.app_commands import CommandExec, CommandsSpec, CommandShell
from specs.bfabric.common import ignored_keys_notice
from specs.kinds import validate_file
from specs.source import SpecError, load_yaml_file

VERSIONS_YML = Path(__file__).parent / "data" / "test_versions.yml"


@pytest.fixture(scope="module")
def parsed() -> AppSpec:
    return load_app(VERSIONS_YML, 1000, "yyy")


def test_available_versions(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestVersions::test_available_versions"""
    assert set(parsed.available_versions) == {"0.1.0", "0.1.1", "1.0.0", "1.0.1"}


def test_hardcoded_single_variant(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestVersions::test_hardcoded_single_variant"""
    assert parsed["0.1.0"].commands.dispatch.command == 'echo "0.1.0"'


def test_parametric_single_variant(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestVersions::test_parametric_single_variant"""
    assert parsed["0.1.1"].commands.dispatch.command == 'echo "0.1.1"'


def test_parametric_multiple_variants(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestVersions::test_parametric_multiple_variants"""
    assert parsed["1.0.0"].commands.dispatch.command == 'echo "1.0.0"'
    assert parsed["1.0.1"].commands.dispatch.command == 'echo "1.0.1"'


def test_substitute_app_id(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestVersions::test_substitute_app_id"""
    assert parsed["0.1.0"].commands.process.command == 'echo "1000"'
    assert isinstance(parsed["0.1.0"].commands.collect, CommandShell)  # merged from the anchor


def test_reject_duplicates(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestVersions::test_reject_duplicates"""
    version = parsed["0.1.0"]
    with pytest.raises(ValueError, match="Duplicate versions found"):
        AppSpec(bfabric=parsed.bfabric, versions=[version, version])


def test_reject_duplicates_in_the_file(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestVersions::test_reject_duplicates
    (the same rule as a user meets it: a file naming one version twice, located)."""
    text = VERSIONS_YML.read_text().replace("version: [0.1.1]", "version: [0.1.0]")
    (tmp_path / "app.yml").write_text(text)
    with pytest.raises(SpecError, match=r"app.yml:\d+:\d+: versions\[1\]\.version\[0\]: Duplicate versions found"):
        load_app(tmp_path / "app.yml", 1000, "yyy")


def test_app_runner_version(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestBfabricAppSpec::test_app_runner_version"""
    assert parsed.bfabric.app_runner == "0"


def test_app_runner_workflow_template_step(parsed):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestBfabricAppSpec::test_app_runner_workflow_template_step"""
    assert parsed.bfabric.workflow_template_step_id is None


def test_submitter_under_versions_is_accepted_with_one_notice():
    """upstream: tests/bfabric_app_runner/specs/app/test_versions.yml (upstream's AppVersionMultiTemplate ignores
    ``submitter:``); labflows accepts it too and names the ignored keys in one notice line."""
    kind, model = validate_file(VERSIONS_YML)
    notice = ignored_keys_notice(load_yaml_file(VERSIONS_YML), model)
    assert kind == "app"
    assert notice == (f"{VERSIONS_YML}:16:5: versions[0].submitter: notice: accepted as bfabric-app-runner does, "
                      "but labflows ignores: versions[0].submitter, versions[1].submitter, versions[2].submitter")


RELATIVE_PATHS_YAML = """\
bfabric:
  app_runner: "0"
versions:
  - version: "1.0.0"
    commands:
      dispatch:
        type: exec
        command: bash ${app.dir}/hello.sh
        prepend_paths:
          - bin
          - /opt/global/bin
      process:
        type: python_env
        pylock: dist/${app.version}/pylock.toml
        command: -m app.process
        local_extra_deps:
          - dist/${app.version}/app-${app.version}-py3-none-any.whl
          - ~/wheels/extra.whl
      collect:
        type: docker
        image: image
        command: command
        mounts:
          work_dir_target: /work
          read_only:
            - [reference, /app/reference]
          writeable:
            - [/data/results, /app/results]
"""


@pytest.fixture()
def app_dir(tmp_path) -> Path:
    return tmp_path.resolve()


@pytest.fixture()
def loaded(app_dir) -> AppVersion:
    (app_dir / "app.yml").write_text(RELATIVE_PATHS_YAML)
    return load_app(app_dir / "app.yml", 1000, "yyy")["1.0.0"]


def test_pylock_is_resolved_after_interpolation(loaded, app_dir):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestSpecRelativePaths::test_pylock_is_resolved_after_interpolation"""
    assert loaded.commands.process.pylock == app_dir / "dist/1.0.0/pylock.toml"


def test_local_extra_deps_are_resolved_and_expanded(loaded, app_dir):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestSpecRelativePaths::test_local_extra_deps_are_resolved_and_expanded"""
    assert loaded.commands.process.local_extra_deps == [
        app_dir / "dist/1.0.0/app-1.0.0-py3-none-any.whl", Path.home() / "wheels/extra.whl"]


def test_prepend_paths_keeps_absolute_entries(loaded, app_dir):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestSpecRelativePaths::test_prepend_paths_keeps_absolute_entries"""
    assert loaded.commands.dispatch.prepend_paths == [app_dir / "bin", Path("/opt/global/bin")]


def test_mount_host_paths_are_resolved(loaded, app_dir):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestSpecRelativePaths::test_mount_host_paths_are_resolved"""
    mounts = loaded.commands.collect.mounts
    assert mounts.read_only == [(app_dir / "reference", Path("/app/reference"))]
    assert mounts.writeable == [(Path("/data/results"), Path("/app/results"))]


def test_mount_container_paths_are_untouched(loaded):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestSpecRelativePaths::test_mount_container_paths_are_untouched"""
    assert loaded.commands.collect.mounts.work_dir_target == Path("/work")


def test_app_dir_variable(loaded, app_dir):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_spec.py::TestSpecRelativePaths::test_app_dir_variable"""
    assert loaded.commands.dispatch.command == f"bash {app_dir}/hello.sh"


# upstream's serialized AppVersion (test_app_version.py's fixture), as a file would hold it
APP_VERSION_YAML = """\
commands:
  collect: {command: collect, type: shell}
  dispatch: {command: dispatch, type: shell}
  process:
    command: command
    custom_args: []
    engine: docker
    entrypoint: null
    env: {}
    hostname: null
    image: image
    mac_address: null
    mounts:
      read_only:
      - - /host
        - /container
      share_bfabric_config: true
      work_dir_target: null
      writeable: []
    type: docker
version: 0.0.1
"""


def _app_yml(version_entry: dict, **bfabric: object) -> str:
    return yaml.safe_dump({"bfabric": {"app_runner": "0.9.1", **bfabric}, "versions": [version_entry]})


def test_parse_app_version(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_version.py::test_parse"""
    (tmp_path / "app.yml").write_text(_app_yml(yaml.safe_load(APP_VERSION_YAML)))
    version = load_app(tmp_path / "app.yml", 1, "a")["0.0.1"]
    process = version.commands.process
    assert (process.image, process.command, process.engine) == ("image", "command", "docker")
    assert process.mounts.read_only == [(Path("/host"), Path("/container"))]
    assert process.mounts.share_bfabric_config is True and process.mounts.work_dir_target is None
    assert (version.commands.dispatch.command, version.commands.collect.command) == ("dispatch", "collect")


def test_serialize_app_version():
    """upstream: tests/bfabric_app_runner/specs/app/test_app_version.py::test_serialize (what labflows writes
    back reads as the same version: a round trip through YAML)."""
    version = AppVersion.model_validate(yaml.safe_load(APP_VERSION_YAML))
    again = AppVersion.model_validate(yaml.safe_load(yaml.safe_dump(version.model_dump(mode="json"))))
    assert again == version


def test_parse_ignores_removed_reuse_default_resource(tmp_path):
    """upstream: tests/bfabric_app_runner/specs/app/test_app_version.py::test_parse_ignores_removed_reuse_default_resource"""
    entry = yaml.safe_load(APP_VERSION_YAML) | {"reuse_default_resource": True}
    (tmp_path / "app.yml").write_text(_app_yml(entry, reuse_default_resource=True))
    version = load_app(tmp_path / "app.yml", 1, "a")["0.0.1"]
    assert not hasattr(version, "reuse_default_resource")
    _, model = validate_file(tmp_path / "app.yml")
    notice = ignored_keys_notice(load_yaml_file(tmp_path / "app.yml"), model)
    assert notice.endswith("labflows ignores: bfabric.reuse_default_resource, versions[0].reuse_default_resource")


def test_parse_exec():
    """upstream: tests/bfabric_app_runner/specs/app/test_commands_spec.py::TestCommandsSpec::test_parse_exec"""
    command = {"type": "exec", "command": "bash -c 'echo hello world'"}
    parsed = CommandsSpec.model_validate({"dispatch": command, "process": command})
    expected = CommandExec(type="exec", command="bash -c 'echo hello world'")
    assert parsed.dispatch == expected and parsed.process == expected
    assert parsed.collect is None


def test_relative_paths_kept_without_spec_dir():
    """upstream: tests/bfabric_app_runner/specs/app/test_commands_spec.py::TestCommandsSpec::test_relative_paths_kept_without_spec_dir"""
    parsed = CommandsSpec.model_validate({
        "dispatch": {"type": "python_env", "pylock": "dist/pylock.toml", "command": "-m app"},
        "process": {"type": "exec", "command": "p"}})
    assert parsed.dispatch.pylock == Path("dist/pylock.toml")
