"""The local server skips its database set-up only when the home is exactly as its last full start left it.

Direct calls on ``flows.cli.server_setup`` with a small SQLite database shaped like Prefect's (the two
tables it reads); the server itself is started in tests/cli/test_server.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import pytest

from flows.cli import server_setup


def _make_db(path, revision="a3b9c7d2e5f1", block_types=3):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        conn.execute("CREATE TABLE block_type (id INTEGER)")
        conn.executemany("INSERT INTO block_type VALUES (?)", [(i,) for i in range(block_types)])
    conn.close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A Prefect home with a database and a site-packages folder of its own; no Prefect setting in the env."""
    for name in [n for n in os.environ if n.startswith("PREFECT_")]:
        monkeypatch.delenv(name)
    for name in server_setup.SKIP_SETTINGS:  # what the calls set is removed again after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    site = tmp_path / "venv" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(site)])
    home = tmp_path / "prefect-home"
    home.mkdir()
    _make_db(home / "prefect.db")
    return home


def _skips(home) -> bool:
    skipped = server_setup.skip_repeated_setup(home)
    settings = {name: os.environ.get(name) for name in server_setup.SKIP_SETTINGS}
    if skipped:
        assert settings == server_setup.SKIP_SETTINGS
    else:  # a full start: migrations and registration on, registration not memoized
        assert settings == {**dict.fromkeys(server_setup.SKIP_SETTINGS),
                            "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false"}
        os.environ.pop("PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION")
    return skipped


def test_a_home_as_recorded_skips_both_steps(home, monkeypatch):
    assert not _skips(home)  # never recorded: a full start
    server_setup.record_setup(home)
    record = json.loads((home / server_setup.RECORD_NAME).read_text())
    assert record["revision"] == ["a3b9c7d2e5f1"] and record["block_types"] == 3
    assert _skips(home)
    for name in server_setup.SKIP_SETTINGS:
        monkeypatch.delenv(name)
    # the record's own settings in the environment do not count as "a database configured elsewhere"
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_MIGRATE_ON_START", "false")
    server_setup.record_setup(home)
    assert (home / server_setup.RECORD_NAME).exists()


def test_a_setting_the_user_gave_wins(home, monkeypatch):
    server_setup.record_setup(home)
    monkeypatch.setenv("PREFECT_SERVER_REGISTER_BLOCKS_ON_START", "true")
    assert server_setup.skip_repeated_setup(home)
    assert os.environ["PREFECT_SERVER_REGISTER_BLOCKS_ON_START"] == "true"
    assert os.environ["PREFECT_SERVER_DATABASE_MIGRATE_ON_START"] == "false"


def test_a_deleted_database_gets_the_full_start(home):
    server_setup.record_setup(home)
    (home / "prefect.db").unlink()
    assert not _skips(home)


def test_a_replaced_database_gets_the_full_start(home):
    server_setup.record_setup(home)
    (home / "prefect.db").rename(home / "old.db")
    _make_db(home / "prefect.db")  # same revision, same block types, another file (`database reset`, a copy)
    (home / "old.db").unlink()
    assert not _skips(home)


@pytest.mark.parametrize("change", ["revision", "block_types"])
def test_a_database_changed_since_gets_the_full_start(home, change):
    server_setup.record_setup(home)
    with sqlite3.connect(home / "prefect.db") as conn:
        if change == "revision":
            conn.execute("UPDATE alembic_version SET version_num = 'older'")
        else:
            conn.execute("DELETE FROM block_type WHERE id = 0")
    conn.close()
    assert not _skips(home)


def test_a_package_installed_upgraded_or_removed_gets_the_full_start(home):
    server_setup.record_setup(home)
    site = sys.path[0]
    os.mkdir(os.path.join(site, "prefect_new_collection-1.0.dist-info"))
    os.utime(site, ns=(1, os.stat(site).st_mtime_ns + 1_000_000))  # coarse clocks: make the change visible
    assert not _skips(home)


@pytest.mark.parametrize("where", ["env", "profile", "dotenv"])
def test_a_database_configured_elsewhere_is_never_skipped(home, monkeypatch, where):
    server_setup.record_setup(home)
    assert (home / server_setup.RECORD_NAME).exists()
    if where == "env":
        monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "postgresql+asyncpg://db/prefect")
    elif where == "profile":
        (home / "profiles.toml").write_text('[profiles.default]\nPREFECT_SERVER_DATABASE_CONNECTION_URL = "x"\n')
    else:
        (home.parent / ".env").write_text("PREFECT_SERVER_DATABASE_HOST=db\n")
    assert not _skips(home)
    server_setup.record_setup(home)  # a full start there records nothing
    assert not (home / server_setup.RECORD_NAME).exists()


def test_an_unreadable_record_or_database_gets_the_full_start(home):
    (home / server_setup.RECORD_NAME).write_text("{not json")
    assert not _skips(home)
    (home / server_setup.RECORD_NAME).write_text("{}")
    assert not _skips(home)
    server_setup.record_setup(home)
    (home / "prefect.db").write_bytes(b"not a database, same inode")
    assert not _skips(home)


def test_a_temporary_server_skips_the_set_up_only_of_a_home_as_recorded_and_keeps_prefects_memo(home):
    unset = dict.fromkeys(server_setup.SKIP_SETTINGS)
    assert not server_setup.skip_setup_of_temporary_server(home)  # never recorded
    assert {name: os.environ.get(name) for name in server_setup.SKIP_SETTINGS} == unset  # the memo stays on
    server_setup.record_setup(home)
    _make_db(home / "other.db")
    os.replace(home / "other.db", home / "prefect.db")  # replaced since: a new file
    assert not server_setup.skip_setup_of_temporary_server(home)
    assert {name: os.environ.get(name) for name in server_setup.SKIP_SETTINGS} == unset
    server_setup.record_setup(home)
    assert server_setup.skip_setup_of_temporary_server(home)
    assert {name: os.environ.get(name) for name in server_setup.SKIP_SETTINGS} == server_setup.SKIP_SETTINGS


CHOOSE = """\
import json, os, sys
from flows.cli import server_setup
from flows.cli.api_choice import choose_api
if sys.argv[1] == "record":
    server_setup.record_setup(server_setup.Path(os.environ["PREFECT_HOME"]))
print(json.dumps([choose_api(no_server=sys.argv[2] == "--no-server"),
                  {name: os.environ.get(name) for name in server_setup.SKIP_SETTINGS}]))
"""


def test_a_run_on_a_temporary_server_skips_the_set_up_of_a_recorded_home(home):
    """``choose_api`` in a fresh process (Prefect reads its settings at import), as a run calls it:
    with ``LABFLOWS_EPHEMERAL=1`` (recording the home first), then with ``--no-server``."""
    import subprocess
    from pathlib import Path

    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "PREFECT_HOME": str(home)}
    for record, how, extra in (("record", "-", {"LABFLOWS_EPHEMERAL": "1"}), ("as-is", "--no-server", {})):
        done = subprocess.run([sys.executable, "-c", CHOOSE, record, how], env={**env, **extra}, cwd=home,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout) == [None, server_setup.SKIP_SETTINGS], how
