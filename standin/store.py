"""SQLite storage of the stand-in: one generic JSON row per entity, ids counted per endpoint."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


class Store:
    """Entities of every endpoint in one SQLite database (a file, or memory when ``db_path`` is None).

    All access goes through one connection guarded by a lock, so the threaded HTTP server can share it.
    Ids are never reused: each endpoint keeps a counter that only grows.
    """

    def __init__(self, db_path: str | Path | None = None) -> None:
        target = str(db_path) if db_path is not None else ":memory:"
        if db_path is not None:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self.transaction():
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS entity ("
                " endpoint TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL,"
                " PRIMARY KEY (endpoint, id))"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS sequence (endpoint TEXT PRIMARY KEY, next_id INTEGER NOT NULL)"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS extra_field ("
                " endpoint TEXT NOT NULL, name TEXT NOT NULL, many INTEGER NOT NULL, PRIMARY KEY (endpoint, name))"
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and run the enclosed statements as one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def rows(self, endpoint: str) -> list[dict[str, Any]]:
        """Every row of ``endpoint``, ordered by id (each dict includes ``id``)."""
        with self._lock:
            cur = self._conn.execute("SELECT id, data FROM entity WHERE endpoint = ? ORDER BY id", (endpoint,))
            return [{**json.loads(data), "id": id_} for id_, data in cur.fetchall()]

    def get(self, endpoint: str, id_: int) -> dict[str, Any] | None:
        """The row ``id_`` of ``endpoint``, or None."""
        with self._lock:
            cur = self._conn.execute("SELECT data FROM entity WHERE endpoint = ? AND id = ?", (endpoint, int(id_)))
            found = cur.fetchone()
        return {**json.loads(found[0]), "id": int(id_)} if found else None

    def put(self, endpoint: str, row: dict[str, Any]) -> None:
        """Insert or replace ``row`` (which must carry its ``id``); the id counter moves past it."""
        id_ = int(row["id"])
        data = json.dumps({k: v for k, v in row.items() if k != "id"}, sort_keys=True)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO entity (endpoint, id, data) VALUES (?, ?, ?)", (endpoint, id_, data)
            )
            self._conn.execute(
                "INSERT INTO sequence (endpoint, next_id) VALUES (?, ?) "
                "ON CONFLICT(endpoint) DO UPDATE SET next_id = MAX(next_id, excluded.next_id)",
                (endpoint, id_ + 1),
            )

    def new_id(self, endpoint: str) -> int:
        """A fresh id for ``endpoint`` (reserved: the counter moves on even if nothing is stored)."""
        with self._lock:
            cur = self._conn.execute("SELECT next_id FROM sequence WHERE endpoint = ?", (endpoint,))
            found = cur.fetchone()
            id_ = found[0] if found else 1
            self._conn.execute(
                "INSERT OR REPLACE INTO sequence (endpoint, next_id) VALUES (?, ?)", (endpoint, id_ + 1)
            )
        return id_

    def delete(self, endpoint: str, id_: int) -> bool:
        """Remove row ``id_``; whether it existed."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM entity WHERE endpoint = ? AND id = ?", (endpoint, int(id_)))
            return cur.rowcount > 0

    def extra_fields(self, endpoint: str) -> dict[str, bool]:
        """Undeclared fields introduced by seeding ``endpoint``: name -> whether it holds a list."""
        with self._lock:
            cur = self._conn.execute("SELECT name, many FROM extra_field WHERE endpoint = ?", (endpoint,))
            return {name: bool(many) for name, many in cur.fetchall()}

    def add_extra_field(self, endpoint: str, name: str, many: bool) -> None:
        """Declare ``name`` for ``endpoint`` from now on (a list field stays a list field)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO extra_field (endpoint, name, many) VALUES (?, ?, ?) "
                "ON CONFLICT(endpoint, name) DO UPDATE SET many = MAX(many, excluded.many)",
                (endpoint, name, int(many)),
            )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
