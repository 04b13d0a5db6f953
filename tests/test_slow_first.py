"""The slow-first order (tests/support/slow_first.py): listed modules exist and run first, longest first."""

from types import SimpleNamespace

from tests.support.paths import REPO_ROOT
from tests.support.slow_first import SLOW_MODULES, module_of, pytest_collection_modifyitems


def test_every_listed_module_exists():
    assert [m for m in SLOW_MODULES if not (REPO_ROOT / m).is_file()] == []


def test_longest_modules_first_the_rest_in_collection_order_tests_in_order_within_a_module():
    slowest, second = sorted(SLOW_MODULES, key=SLOW_MODULES.get, reverse=True)[:2]
    ids = ["tests/a/test_one.py::test_1", f"{second}::test_x", "tests/a/test_one.py::test_2[p::q]",
           f"{slowest}::test_b", "tests/b/test_two.py::test_1", f"{slowest}::test_a"]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    pytest_collection_modifyitems(items)
    assert [i.nodeid for i in items] == [
        f"{slowest}::test_b", f"{slowest}::test_a", f"{second}::test_x",
        "tests/a/test_one.py::test_1", "tests/a/test_one.py::test_2[p::q]", "tests/b/test_two.py::test_1"]
    assert module_of("tests/a/test_one.py::test_2[p::q]") == "tests/a/test_one.py"


def test_xdist_keeps_this_order(request):
    assert request.config.option.loadscopereorder is False  # xdist's default would sort by test count
