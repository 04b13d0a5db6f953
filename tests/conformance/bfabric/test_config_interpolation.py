"""bfabric-app-runner's config interpolation tests, ported: ``${app.…}`` in every string value of app.yml.

upstream file: tests/bfabric_app_runner/specs/test_config_interpolation.py (11 cases): 10 ported; 1 skipped
as plumbing (test_interpolate_with_dict_variables: passing the variables as a plain dict is a Python
API of upstream's helper, not something a file can express).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from specs.bfabric.app_template import AppVariables, render_data
from specs.source import load_yaml_text

VARIABLES = {"app": AppVariables.create(1000, "Test Application", "1.0.0", "/apps/test")}


def render(data: Any) -> tuple[Any, list[str]]:
    """``data`` written to a YAML file and rendered as app.yml values are; (result, problem lines)."""
    doc = load_yaml_text(yaml.safe_dump({"value": data}), "app.yml")
    problems: list = []
    result = render_data(doc, doc.data["value"], ("value",), VARIABLES, problems)
    return result, [str(p) for p in problems]


def test_variables_app_model():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_variables_app_model"""
    app = AppVariables.create(2000, "Test", "1.0", "/d")
    assert (app.id, app.name, app.version) == (2000, "Test", "1.0")


def test_variables_model():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_variables_model"""
    app = VARIABLES["app"]
    assert (app.id, app.name, app.version) == (1000, "Test_Application", "1.0.0")


def test_interpolate_simple_string():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_interpolate_simple_string"""
    assert render("App ${app.name} (${app.id}) version ${app.version}") == (
        "App Test_Application (1000) version 1.0.0", [])


def test_interpolate_dict():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_interpolate_dict"""
    data = {"name": "${app.name}", "metadata": {"id": "${app.id}", "version": "${app.version}"}}
    assert render(data) == ({"name": "Test_Application", "metadata": {"id": "1000", "version": "1.0.0"}}, [])


def test_interpolate_list():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_interpolate_list"""
    assert render(["${app.name}", {"id": "${app.id}"}, ["${app.version}"]]) == (
        ["Test_Application", {"id": "1000"}, ["1.0.0"]], [])


def test_interpolate_non_string_values():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_interpolate_non_string_values"""
    data = {"number": 42, "boolean": True, "none": None, "mixed": ["${app.id}", 123, True]}
    assert render(data) == ({"number": 42, "boolean": True, "none": None, "mixed": ["1000", 123, True]}, [])


def test_invalid_template_syntax():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_invalid_template_syntax"""
    result, problems = render("${invalid.syntax")
    assert len(problems) == 1 and "app.yml:1:8: value: template syntax error" in problems[0]


@pytest.mark.parametrize("template", ["${app.missing}", "${workunit.id}"])
def test_missing_variable(template):
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_missing_variable"""
    _, problems = render(template)
    assert len(problems) == 1 and "undefined template variable" in problems[0]


def test_empty_string_template():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_empty_string_template"""
    assert render("") == ("", [])


def test_complex_nested_structure():
    """upstream: tests/bfabric_app_runner/specs/test_config_interpolation.py::test_complex_nested_structure"""
    data = {"app_info": {"details": [{"name": "${app.name}"}, ["${app.id}", {"version": "${app.version}"}], 123,
                                     "${app.name} v${app.version}"]},
            "metadata": "${app.id}", "constants": [True, None, 42]}
    expected = {"app_info": {"details": [{"name": "Test_Application"}, ["1000", {"version": "1.0.0"}], 123,
                                         "Test_Application v1.0.0"]},
                "metadata": "1000", "constants": [True, None, 42]}
    assert render(data) == (expected, [])
