"""app.yml: version expansion, Mako-style templates, spec-relative paths, located errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from specs.bfabric.app import (
    AppSpec,
    AppSpecTemplate,
    AppVersionError,
    app_from_doc,
    load_app,
)
from specs.bfabric.app_commands import (
    CommandDocker,
    CommandExec,
    CommandPythonEnv,
    CommandShell,
)
from specs.kinds import validate_file
from specs.source import SpecError, load_yaml_text


def write_app(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "app.yml"
    path.write_text(textwrap.dedent(text))
    return path


def spec_error(path: Path, **kwargs) -> str:
    with pytest.raises(SpecError) as info:
        load_app(path, kwargs.get("app_id", 1000), kwargs.get("app_name", "app"))
    assert len(info.value.problems) >= 1
    for line in str(info.value).splitlines():
        assert line.startswith(f"{path}:"), line
    return str(info.value)


VERSIONS_YML = """\
bfabric:
  app_runner: 0.8.0
versions:
  - version: [1.0.0, 1.0.1]
    commands: &commands
      dispatch:
        type: shell
        command: echo "${app.version}" dispatch ${app.id}
      process:
        type: exec
        command: echo "${app.version}" process ${app.name}
  - version: 2.0.0
    commands:
      <<: *commands
      collect:
        type: exec
        command: echo collect ${app.version}
"""


def test_versions_are_expanded_and_rendered(tmp_path):
    spec = load_app(write_app(tmp_path, VERSIONS_YML), 1000, "My App (v2)!")
    assert spec.available_versions == ["1.0.0", "1.0.1", "2.0.0"]
    v101 = spec["1.0.1"]
    assert isinstance(v101.commands.dispatch, CommandShell)
    assert v101.commands.dispatch.command == 'echo "1.0.1" dispatch 1000'
    assert v101.commands.process.command == 'echo "1.0.1" process My_App_v2_'
    assert v101.commands.collect is None
    # merge key: version 2.0.0 reuses the anchored commands, rendered with its own version
    v2 = spec["2.0.0"]
    assert v2.commands.dispatch.command == 'echo "2.0.0" dispatch 1000'
    assert v2.commands.collect.command == "echo collect 2.0.0"


def test_contains_getitem_and_resolve_version(tmp_path):
    spec = load_app(write_app(tmp_path, VERSIONS_YML), 1, "a")
    assert "1.0.0" in spec and "9.9" not in spec
    assert spec["9.9"] is None
    assert spec.resolve_version("2.0.0").version == "2.0.0"
    with pytest.raises(AppVersionError, match="'9.9' not found; available versions: 1.0.0, 1.0.1, 2.0.0"):
        spec.resolve_version("9.9")
    with pytest.raises(AppVersionError, match="available versions: 1.0.0, 1.0.1, 2.0.0"):
        spec.resolve_version(None)


def test_single_version_needs_no_application_version(tmp_path):
    path = write_app(tmp_path, """\
        bfabric: {app_runner: 0.9.1}
        versions:
          - version: only
            commands:
              dispatch: {type: exec, command: d}
              process: {type: exec, command: p}
        """)
    spec = load_app(path, 1, "a")
    assert spec.resolve_version(None).version == "only"
    assert spec.resolve_version("only").version == "only"


def test_duplicate_versions_are_rejected_with_location(tmp_path):
    path = write_app(tmp_path, """\
        bfabric: {app_runner: 0.8.0}
        versions:
          - version: [1.0.0, 1.0.1]
            commands: {dispatch: {type: exec, command: d}, process: {type: exec, command: p}}
          - version: 1.0.1
            commands: {dispatch: {type: exec, command: d}, process: {type: exec, command: p}}
        """)
    assert spec_error(path) == f"{path}:5:14: versions[1].version: Duplicate versions found: 1.0.1"
    # validate (no rendering) reports the same
    with pytest.raises(SpecError, match="Duplicate versions found: 1.0.1"):
        validate_file(path)


def test_evaluated_model_also_rejects_duplicates():
    commands = {"dispatch": {"type": "exec", "command": "d"}, "process": {"type": "exec", "command": "p"}}
    with pytest.raises(ValueError, match="Duplicate versions found"):
        AppSpec.model_validate({"bfabric": {"app_runner": "1"},
                                "versions": [{"version": "a", "commands": commands},
                                             {"version": "a", "commands": commands}]})


PATHS_YML = """\
bfabric: {app_runner: 0.8.0}
versions:
  - version: [1.0.0]
    commands:
      dispatch:
        type: python_env
        pylock: dist/${app.version}/pylock.toml
        local_extra_deps:
          - dist/${app.version}/demo-${app.version}-py3-none-any.whl
          - /opt/abs.whl
          - ~/wheels/x.whl
        prepend_paths: [tools, ~/bin]
        command: -m demo.dispatch ${app.dir}/config.yml
        env:
          DATA: data/${app.version}
      process:
        type: docker
        image: python:3.9
        command: python /app/run.py
        mounts:
          work_dir_target: /work
          read_only: [[refs, /refs], [/abs/db, /db]]
          writeable: [[~/scratch, /scratch]]
      collect:
        type: exec
        command: ${app.dir}/collect.sh
        prepend_paths: [bin, /usr/local/bin]
"""


def test_spec_relative_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    spec = load_app(write_app(app_dir, PATHS_YML), 1, "a")
    cmds = spec["1.0.0"].commands
    home = tmp_path / "home"
    assert isinstance(cmds.dispatch, CommandPythonEnv)
    assert cmds.dispatch.pylock == app_dir / "dist/1.0.0/pylock.toml"
    assert cmds.dispatch.local_extra_deps == [app_dir / "dist/1.0.0/demo-1.0.0-py3-none-any.whl",
                                              Path("/opt/abs.whl"), home / "wheels/x.whl"]
    assert cmds.dispatch.prepend_paths == [app_dir / "tools", home / "bin"]
    # strings inside command and env are rendered but never path-resolved
    assert cmds.dispatch.command == f"-m demo.dispatch {app_dir}/config.yml"
    assert cmds.dispatch.env == {"DATA": "data/1.0.0"}
    assert cmds.dispatch.python_version == "3.13" and cmds.dispatch.refresh is False
    assert isinstance(cmds.process, CommandDocker)
    mounts = cmds.process.mounts
    assert mounts.read_only == [(app_dir / "refs", Path("/refs")), (Path("/abs/db"), Path("/db"))]
    assert mounts.writeable == [(home / "scratch", Path("/scratch"))]
    assert mounts.work_dir_target == Path("/work")  # container side untouched
    assert mounts.share_bfabric_config is True
    assert isinstance(cmds.collect, CommandExec)
    assert cmds.collect.command == f"{app_dir}/collect.sh"
    assert Path(cmds.collect.command).parent.is_absolute()
    assert cmds.collect.prepend_paths == [app_dir / "bin", Path("/usr/local/bin")]


def test_relative_app_path_gives_absolute_app_dir(tmp_path, monkeypatch):
    write_app(tmp_path, PATHS_YML)
    monkeypatch.chdir(tmp_path)
    spec = load_app("app.yml", 1, "a")
    assert spec["1.0.0"].commands.collect.command == f"{tmp_path}/collect.sh"


def test_undefined_template_variable_is_located(tmp_path):
    path = write_app(tmp_path, """\
        bfabric: {app_runner: 0.8.0}
        versions:
          - version: 1.0.0
            commands:
              dispatch: {type: exec, command: d}
              process: {type: exec, command: "run ${app.nope}"}
        """)
    assert spec_error(path) == (f"{path}:6:38: versions[0].commands.process.command: "
                                "undefined template variable 'nope' in ${app.nope}")
    path.write_text(path.read_text().replace("${app.nope}", "${workunit.id}"))
    assert "undefined template variable 'workunit'" in spec_error(path)


@pytest.mark.parametrize("text, message", [
    ("<% import os %>x", "unsupported Mako construct"),
    ("${__import__('os').system('true')}", "unsupported template expression"),
    ("${app.version | h}", "template filters are not supported"),
    ("run ${app.version", "template syntax error"),
])
def test_templates_never_run_code(tmp_path, text, message):
    path = write_app(tmp_path, f"""\
        bfabric: {{app_runner: 0.8.0}}
        versions:
          - version: 1.0.0
            commands:
              dispatch: {{type: exec, command: d}}
              process: {{type: exec, command: {text!r}}}
        """)
    assert message in spec_error(path)


def test_mako_text_semantics_kept(tmp_path):
    path = write_app(tmp_path, """\
        bfabric: {app_runner: 0.8.0}
        versions:
          - version: 1.0.0
            commands:
              dispatch: {type: exec, command: "echo <%text>${HOME}</%text> 100% $PATH"}
              process: {type: exec, command: p}
        """)
    assert load_app(path, 1, "a")["1.0.0"].commands.dispatch.command == "echo ${HOME} 100% $PATH"


def test_keys_are_not_templated(tmp_path):
    path = write_app(tmp_path, """\
        bfabric: {app_runner: 0.8.0}
        versions:
          - version: 1.0.0
            commands:
              dispatch: {type: exec, command: d, env: {"K_${app.id}": "${app.id}"}}
              process: {type: exec, command: p}
        """)
    assert load_app(path, 7, "a")["1.0.0"].commands.dispatch.env == {"K_${app.id}": "7"}


@pytest.mark.parametrize("snippet, expected", [
    ("dispatch: {type: exec, command: d, comand: x}", ":5:42: versions[0].commands.dispatch.comand: unknown key"),
    ("dispatch: {type: exec, command: [1]}", ":5:39: versions[0].commands.dispatch.command: Input should be"),
    ("dispatch: {type: bash, command: d}", ":5:24: versions[0].commands.dispatch.type: unknown type 'bash'; expected one of: 'shell', 'exec'"),
    ("dispatch: {type: docker, command: d}", ":5:17: versions[0].commands.dispatch.image: required key is missing"),
    ("dispatch: {type: docker, image: i, command: d, engine: lxc}", ":5:62: versions[0].commands.dispatch.engine: Input should be 'docker' or 'podman'"),
    ("dispatch: {type: exec, command: d}\n" + " " * 14 + "finish: {}", ":6:7: versions[0].commands.finish: unknown key"),
])
def test_malformed_commands_give_located_one_line_errors(tmp_path, snippet, expected):
    path = write_app(tmp_path, f"""\
        bfabric: {{app_runner: 0.8.0}}
        versions:
          - version: 1.0.0
            commands:
              {snippet}
              process: {{type: exec, command: p}}
        """)
    message = spec_error(path)
    assert len(message.splitlines()) == 1
    assert message.startswith(f"{path}{expected}"), message


def test_missing_and_wrong_top_level(tmp_path):
    path = write_app(tmp_path, """\
        versions:
          - version: 1.0.0
            commands: {dispatch: {type: exec, command: d}}
        """)
    message = spec_error(path)
    assert f"{path}:1:1: bfabric: required key is missing" in message
    assert f"{path}:3:15: versions[0].commands.process: required key is missing" in message


def test_app_from_doc_validates_without_rendering():
    doc = load_yaml_text(VERSIONS_YML, "app.yml")
    template = app_from_doc(doc)
    assert isinstance(template, AppSpecTemplate)
    assert template.versions[0].version == ["1.0.0", "1.0.1"]
    assert template.versions[1].version == ["2.0.0"]  # a single string is coerced to a list
    assert template.versions[0].commands.dispatch.command == 'echo "${app.version}" dispatch ${app.id}'
    bad = load_yaml_text(VERSIONS_YML.replace("${app.id}", "${app.ident}"), "app.yml")
    with pytest.raises(SpecError, match=r"app.yml:8:\d+: versions\[0\].commands.dispatch.command: undefined"):
        app_from_doc(bad)


def test_validate_file_detects_app_kind(tmp_path):
    kind, model = validate_file(write_app(tmp_path, VERSIONS_YML))
    assert kind == "app" and isinstance(model, AppSpecTemplate)
    from specs.bfabric import app

    assert app.SCHEMA_MODEL is AppSpecTemplate
    assert "versions" in app.SCHEMA_MODEL.model_json_schema()["properties"]


def test_workflow_template_step_id(tmp_path):
    path = write_app(tmp_path, VERSIONS_YML.replace("app_runner: 0.8.0", "app_runner: 0.8.0\n  workflow_template_step_id: 12"))
    spec = load_app(path, 1, "a")
    assert spec.bfabric.workflow_template_step_id == 12
    assert spec.bfabric.app_runner == "0.8.0"


def test_runner_requirement_for_version_and_git_ref():
    from specs.bfabric.app import BfabricAppSpec

    assert BfabricAppSpec(app_runner="1.2.3").runner_requirement() == "bfabric-app-runner==1.2.3"
    git = BfabricAppSpec(app_runner="git+https://github.com/fgcz/bfabricPy@main#subdirectory=bfabric_app_runner")
    assert git.runner_requirement() == (
        "bfabric-app-runner@git+https://github.com/fgcz/bfabricPy@main#subdirectory=bfabric_app_runner")
    assert git.runner_requirement(for_makefile=True) == (
        "bfabric-app-runner@git+https://github.com/fgcz/bfabricPy@main\\#subdirectory=bfabric_app_runner")


@pytest.mark.parametrize("kind, closed", [
    ("app", False), ("inputs", True), ("outputs", True), ("chunks", False), ("workunit", False)])
def test_every_kind_exposes_a_json_schema(kind, closed):
    """The schema's top level is closed exactly where bfabric-app-runner forbids unknown keys."""
    import importlib

    from specs.kinds import VALIDATORS

    module = importlib.import_module(VALIDATORS[kind].split(":")[0])
    schema = module.SCHEMA_MODEL.model_json_schema()
    assert schema["type"] == "object"
    assert (schema.get("additionalProperties", True) is False) == closed


@pytest.mark.parametrize("versions, expected", [
    ("versions: []", ":2:11: versions: List should have at least 1 item"),
    ("versions:\n  - version: 1.0\n    commands: {dispatch: {type: exec, command: d}, process: {type: exec, command: p}}",
     ":3:14: versions[0].version: version 1.0 is read as a number: quote it (\"1.0\")"),
])
def test_version_list_problems(tmp_path, versions, expected):
    path = write_app(tmp_path, "bfabric: {app_runner: 0.8.0}\n" + versions + "\n")
    assert spec_error(path).startswith(f"{path}{expected}")
