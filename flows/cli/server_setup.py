"""Skip the database work a local server's start repeats for nothing once its home is set up.

Prefect's server runs two set-up steps at every start: the database migrations (an Alembic check,
even when the database is current) and the block auto-registration (which first imports every
installed Prefect collection, prefect-aws, prefect-dask, prefect-docker, to hash their block types).
Together they cost about 1.5 s of CPU, on the path of a run that waits for the server.

The local server records what a full start left behind (:func:`record_setup`): the site-packages
that served it, the database file, its Alembic revision and its number of block types. A later start
that finds the same (:func:`skip_repeated_setup`; for Prefect's temporary server of a ``--no-server``
run, :func:`skip_setup_of_temporary_server`) turns both steps off; anything different (Prefect or
a collection installed, upgraded or removed, a reset or replaced database, a database configured
elsewhere) gets the full start again. Standard library only: it runs before Prefect is imported.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

RECORD_NAME = "labflows-server-setup.json"
# the settings turned off; memoizing is off too, as Prefect's memo imports every collection to hash them
SKIP_SETTINGS = {
    "PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false",
    "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
    "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}


def _install_fingerprint() -> dict[str, int]:
    """mtime of each site-packages folder: an install, upgrade or removal of a package changes it."""
    found = {}
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            try:
                found[entry] = os.stat(entry).st_mtime_ns
            except OSError:
                continue
    return found


def _default_database(home: Path) -> Path | None:
    """The home's own SQLite database, or None when settings may put the database elsewhere."""
    if any("DATABASE" in name for name in os.environ if name.startswith("PREFECT_") and name not in SKIP_SETTINGS):
        return None
    for settings_file in (home / "profiles.toml", Path(".env"), Path("prefect.toml")):
        try:
            if "database" in settings_file.read_text(errors="replace").lower():
                return None
        except OSError:
            continue
    return home / "prefect.db"


def _database_state(db: Path) -> dict | None:
    """Inode, Alembic revision and block-type count of ``db`` (read only), or None if unreadable."""
    try:
        inode = os.stat(db).st_ino
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
            block_types = conn.execute("SELECT count(*) FROM block_type").fetchone()[0]
    except (OSError, sqlite3.Error):
        return None
    return {"inode": inode, "revision": sorted(r[0] for r in revision), "block_types": block_types}


def _current(home: Path) -> dict | None:
    db = _default_database(home)
    state = _database_state(db) if db else None
    if state is None:
        return None
    return {"python": sys.version, "site_packages": _install_fingerprint(), "database": str(db), **state}


def set_up_as_recorded(home: Path) -> bool:
    """True when ``home``'s database, Python and site-packages are as the last full start recorded."""
    try:
        recorded = json.loads((home / RECORD_NAME).read_text())
    except (OSError, ValueError):
        return False
    return bool(recorded) and recorded == _current(home)


def _turn_off_setup() -> None:
    for name, value in SKIP_SETTINGS.items():
        os.environ.setdefault(name, value)


def skip_repeated_setup(home: Path) -> bool:
    """Turn off the migrations and block registration when ``home`` is set up as recorded.

    Call before Prefect is imported (it reads its settings at import). Settings already in the
    environment win.

    Returns:
        True when the set-up steps were turned off; False for a full start, which also registers the
        block types without Prefect's memo.
    """
    if not set_up_as_recorded(home):
        # a full start registers the block types for real: Prefect's memo only knows that it once did,
        # not whether this database (perhaps removed or reset since) still holds them
        os.environ.setdefault("PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION", "false")
        return False
    _turn_off_setup()
    return True


def skip_setup_of_temporary_server(home: Path) -> bool:
    """Before Prefect's temporary server starts (``--no-server``): the same skip when ``home`` is set up as
    recorded; otherwise nothing changes (Prefect's memo still saves its block registration).

    The temporary server is a subprocess started at the first API call; it inherits this environment.
    Settings already in the environment win.

    Returns:
        True when the set-up steps were turned off.
    """
    if not set_up_as_recorded(home):
        return False
    _turn_off_setup()
    return True


def record_setup(home: Path) -> None:
    """Record the state a full start left behind (call once the server answers)."""
    current = _current(home)
    path = home / RECORD_NAME
    if current is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current))
    os.replace(tmp, path)
