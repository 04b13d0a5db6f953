"""The skip pin (tests/support/skip_pin.py): a skip not on the allow-list fails the run, with its name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.skip_pin import ALLOWED_SKIPS

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = '''
import pytest

def test_runs():
    assert True

SKIP
'''


def run_pytest(folder: Path, skip: str, *options: str) -> subprocess.CompletedProcess:
    (folder / "test_sample.py").write_text(SAMPLE.replace("SKIP", skip))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.support.skip_pin", "-p",
                           "no:cacheprovider", *options, "test_sample.py"], cwd=folder, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_run_without_skips_passes(tmp_path):
    result = run_pytest(tmp_path, "")
    assert result.returncode == 0, result.stdout
    assert "allow-list" not in result.stdout


def test_a_new_skip_fails_the_run_and_is_named(tmp_path):
    result = run_pytest(tmp_path, '@pytest.mark.skip(reason="flaky on Tuesdays")\ndef test_hidden():\n    pass\n')
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 skipped" in result.stdout
    assert "SKIPPED test_sample.py::test_hidden: Skipped: flaky on Tuesdays" in result.stdout


def test_importorskip_and_xfail_count_as_skips(tmp_path):
    result = run_pytest(tmp_path, 'def test_optional():\n    pytest.importorskip("no_such_module_here")\n\n'
                                  '@pytest.mark.xfail(reason="known bug")\ndef test_known():\n    assert False\n')
    assert result.returncode == 1, result.stdout
    assert "SKIPPED test_sample.py::test_optional: " in result.stdout
    assert "SKIPPED test_sample.py::test_known: xfail: known bug" in result.stdout


def test_a_module_skipped_at_collection_fails_the_run(tmp_path):
    result = run_pytest(tmp_path, 'pytest.importorskip("no_such_module_here")\n')
    assert result.returncode == 1, result.stdout
    assert "SKIPPED test_sample.py: " in result.stdout


@pytest.mark.parametrize("skip", ['@pytest.mark.skip(reason="flaky")\ndef test_hidden():\n    pass\n',
                                  'pytest.importorskip("no_such_module_here")\n'], ids=["test", "module"])
def test_skips_in_worker_processes_fail_the_run_too(tmp_path, skip):
    """``make test`` runs the suite with pytest-xdist: the workers' skips reach the pin as well."""
    result = run_pytest(tmp_path, skip, "-n", "2")
    assert result.returncode == 1, result.stdout
    assert "allow-list" in result.stdout


def test_the_allow_list_is_prefects_block_logo_check_only():
    assert sorted(ALLOWED_SKIPS) == [
        "tests/blocks/s3/test_s3_block.py::TestS3RepositoryBlockStandards::test_has_a_valid_image",
    ]
    assert all(reason.strip() for reason in ALLOWED_SKIPS.values())
