"""The three web-service operations (read, save, delete) over the store, with credential checks."""

from __future__ import annotations

import datetime
import hmac
import math
from typing import Any

from standin.checks import canonical_status, check_fields, check_row
from standin.entities import Renderer, normalize
from standin.errors import ServiceError
from standin.query import compile_query
from standin.schema import ENDPOINTS, VIEWS, EntityType, entity_type
from standin.soap import render_response
from standin.store import Store

PAGE_SIZE = 100
LOGIN_ERROR = "Invalid login or password. Could not login."

__all__ = ["PAGE_SIZE", "Service", "ServiceError", "is_endpoint"]


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


class Service:
    """Answers SOAP operations for every endpoint of one stand-in instance."""

    def __init__(self, store: Store, login: str, password: str) -> None:
        self.store = store
        self._login = login
        self._password = password

    # ---- entry point ----------------------------------------------------------------------
    def handle(self, endpoint: str, operation: str, params: dict[str, Any]) -> bytes:
        """The SOAP answer to ``operation`` on ``endpoint`` with the request ``params``."""
        etype = self.entity_type(endpoint)
        if not self._authorized(params):
            # the client reads delete answers per entry, everything else from the top-level report
            entries = [{"errorreport": LOGIN_ERROR}] if operation == "delete" else []
            return render_response(operation, etype, entries, errorreport=LOGIN_ERROR)
        if operation == "read":
            try:
                return self._read(etype, params)
            except ServiceError as exc:
                return render_response("read", etype, [], errorreport=str(exc))
        if endpoint in VIEWS and operation in ("save", "delete"):
            message = f"{endpoint} is read only here: save or delete a {' or '.join(VIEWS[endpoint])}."
            entries = [{"errorreport": message}] if operation == "delete" else []
            return render_response(operation, etype, entries, errorreport=message)
        if operation == "save":
            try:
                saved = self.save(etype, _as_list(params.get(endpoint)), str(params.get("login")))
            except ServiceError as exc:
                return render_response("save", etype, [], errorreport=str(exc))
            renderer = Renderer(self.store)
            return render_response("save", etype, [renderer.render(etype, row) for row in saved])
        if operation == "delete":
            return self._delete(etype, params)
        raise ValueError(f"unsupported operation {operation!r}")

    def entity_type(self, endpoint: str) -> EntityType:
        """The declared type of ``endpoint``, with the fields seeding added."""
        return entity_type(endpoint, self.store.extra_fields(endpoint))

    def _authorized(self, params: dict[str, Any]) -> bool:
        login = str(params.get("login") or "")
        password = str(params.get("password") or "")
        return hmac.compare_digest(login, self._login) and hmac.compare_digest(password, self._password)

    # ---- read -----------------------------------------------------------------------------
    def query(self, etype: EntityType, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Stored rows of ``etype`` matching ``query``, by id.

        Raises:
            ServiceError: the query asks for a field ``etype`` does not have, or is malformed.
        """
        test = compile_query(etype, query)
        return [row for row in self._rows(etype.endpoint) if test(row)]

    def _rows(self, endpoint: str) -> list[dict[str, Any]]:
        """The rows of ``endpoint``; a view's rows are those of its sources (the first source wins an id)."""
        if endpoint not in VIEWS:
            return self.store.rows(endpoint)
        by_id: dict[int, dict[str, Any]] = {}
        for source in VIEWS[endpoint]:
            for row in self.store.rows(source):
                by_id.setdefault(row["id"], {**row, "classname": source})
        return [by_id[i] for i in sorted(by_id)]

    def _read(self, etype: EntityType, params: dict[str, Any]) -> bytes:
        query = params.get("query")
        found = self.query(etype, query if isinstance(query, dict) else {})
        page = max(int(params.get("page") or 1), 1)
        pages = math.ceil(len(found) / PAGE_SIZE)
        chunk = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        id_only = str(params.get("idonly", "")).lower() == "true"
        renderer = Renderer(self.store)
        rendered = [renderer.render(etype, row, id_only=id_only) for row in chunk]
        return render_response("read", etype, rendered, page=page, numberofpages=pages)

    # ---- save -----------------------------------------------------------------------------
    def save(self, etype: EntityType, items: list[Any], login: str) -> list[dict[str, Any]]:
        """Create (no ``id``) or update (with ``id``) each item; all or nothing. Returns the stored rows."""
        if not items:
            raise ServiceError(f"Nothing to save: no {etype.endpoint} given.")
        with self.store.transaction():
            rows = [self._prepare(etype, item, login) for item in items]
            self._check_unique(etype, rows)
            for row in rows:
                self.store.put(etype.endpoint, row)
        return rows

    def _prepare(self, etype: EntityType, item: Any, login: str) -> dict[str, Any]:
        """The row to store for one saved ``item``, after B-Fabric's checks."""
        if not isinstance(item, dict):
            raise ServiceError(f"Malformed {etype.endpoint}: expected fields, got {item!r}")
        check_fields(etype, item)
        try:
            data = normalize(etype, item, self.store)
        except (TypeError, ValueError) as exc:
            raise ServiceError(f"Malformed {etype.endpoint}: {exc}") from exc
        if "status" in data:
            data["status"] = canonical_status(etype.endpoint, data["status"])
        check_row(etype, data, self.store, new="id" not in data)
        stamp = {"modified": _now(), "modifiedby": login}
        if "id" in data:
            existing = self.store.get(etype.endpoint, data["id"])
            if existing is None:
                raise ServiceError(f"{etype.endpoint.capitalize()} with id {data['id']} does not exist.")
            return {**existing, **data, **stamp}
        return {**data, "created": _now(), "createdby": login, **stamp, "id": self.store.new_id(etype.endpoint)}

    def _check_unique(self, etype: EntityType, rows: list[dict[str, Any]]) -> None:
        """Like B-Fabric, a resource name is unique within its workunit."""
        if etype.endpoint != "resource":
            return

        def key(row: dict[str, Any]) -> tuple[str, int] | None:
            workunit = row.get("workunit")
            if not row.get("name") or not isinstance(workunit, dict):
                return None
            return (str(row["name"]), int(workunit["id"]))

        taken = {key(r): r["id"] for r in self.store.rows("resource")}
        for row in rows:
            k = key(row)
            if k is not None and taken.get(k, row["id"]) != row["id"]:
                raise ServiceError(f"A resource named {k[0]!r} already exists in workunit {k[1]}.")
            taken[k] = row["id"]

    # ---- delete ---------------------------------------------------------------------------
    def _delete(self, etype: EntityType, params: dict[str, Any]) -> bytes:
        reports: list[dict[str, Any]] = []
        label = etype.endpoint.capitalize()
        if not _as_list(params.get("id")):
            return render_response("delete", etype, [{"errorreport": f"No {etype.endpoint} id to delete."}])
        with self.store.transaction():
            for id_ in _as_list(params.get("id")):
                if self.store.delete(etype.endpoint, int(id_)):
                    reports.append({"deletionreport": f"{label} {int(id_)} removed successfully."})
                else:
                    reports.append({"errorreport": f"{label} {int(id_)} could not be deleted: it does not exist."})
        return render_response("delete", etype, reports)


def is_endpoint(name: str) -> bool:
    """Whether the stand-in serves ``name``."""
    return name in ENDPOINTS
