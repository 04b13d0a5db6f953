"""Pytest plugin: the modules that take longest run first, so that no worker ends the run alone.

``make test`` hands whole modules to four pytest-xdist workers (``--dist loadscope``, module-scoped
fixtures start servers and workers once per module). xdist's default order puts modules with many
tests first, which left the few-test, minutes-long server modules for the end: one worker ran them
while the others had finished (70 s of a 12-minute run, with three workers). Longest first is the
classic fix; the rest follow in collection order and fill the gaps.

:data:`SLOW_MODULES` holds the modules' seconds as measured in a full run (three workers
on two cores). The figures only order the run: a stale one costs time, never a test.
tests/test_slow_first.py checks that every listed module exists.

Loaded by ``tests/conftest.py``; ``pytest -p tests.support.slow_first`` loads it elsewhere.
"""

from __future__ import annotations

import pytest

#: Module path (relative to the rootdir) -> seconds its tests took in a full run.
SLOW_MODULES: dict[str, float] = {
    "tests/cli/test_server.py": 293,
    "tests/deploy/test_step_runner.py": 244,
    "tests/deploy/test_server_e2e.py": 201,
    "tests/bclaw/engine/test_job_data_is_data.py": 89,
    "tests/bclaw/engine/test_flow.py": 69,
    "tests/deploy/test_launcher_watch.py": 66,
    "tests/cli/test_warm_runner.py": 57,
    "tests/blocks/s3/test_s3_engine.py": 39,
    "tests/bfabric/app/test_run_app.py": 37,
    "tests/bfabric/app/test_app_actions.py": 37,
    "tests/bclaw/scatter/test_gather_flow.py": 27,
    "tests/cli/test_run_output.py": 27,
    "tests/bfabric/app/test_cli_app.py": 26,
    "tests/bclaw/scatter/test_native_subpipe.py": 24,
    "tests/conformance/bclaw/test_docs_examples.py": 24,
    "tests/deploy/test_launcher.py": 22,
    "tests/runtime/test_dask_resources.py": 21,
    "tests/bclaw/scatter/test_branches_flow.py": 20,
    "tests/blocks/s3/test_s3_primitives.py": 20,
    "tests/bclaw/scatter/test_dask.py": 20,
    "tests/runtime/test_containers.py": 20,
    "tests/specs/test_malformed_corpus.py": 19,
    "tests/bclaw/scatter/test_choosers.py": 18,
    "tests/blocks/s3/test_s3_faults.py": 17,
}


def module_of(nodeid: str) -> str:
    """The module part of a node id (``tests/x/test_y.py::test_z[a::b]`` -> ``tests/x/test_y.py``)."""
    return nodeid.split("::", 1)[0]


def pytest_configure(config: pytest.Config) -> None:
    # keep the order below: xdist would re-sort modules by their number of tests
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first, the rest after them; tests keep their order within a module."""
    position = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (-SLOW_MODULES.get(module_of(item.nodeid), 0), position[id(item)]))
