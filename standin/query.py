"""Read queries: which fields may be asked for, and whether a stored row matches.

Like B-Fabric: fields are combined with AND and a list of values with OR; a ``%`` in a text value
is a wildcard (SQL ``LIKE``: ``%`` any text, ``_`` one character); ``createdafter``/``createdbefore``
and ``modifiedafter``/``modifiedbefore`` compare timestamps; ``status`` and ``parentclassname`` ignore
case; a field the endpoint does not have is an error, not an empty answer.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from standin.errors import ServiceError
from standin.schema import CASE_INSENSITIVE, EntityType

#: Date filters: query key -> (row field, whether the row must be later than the value).
DATE_FILTERS: dict[str, tuple[str, bool]] = {
    "createdafter": ("created", True),
    "createdbefore": ("created", False),
    "modifiedafter": ("modified", True),
    "modifiedbefore": ("modified", False),
}
#: Query keys the client adds to every read; they select nothing.
IGNORED = frozenset({"includedeletableupdateable"})

Predicate = Callable[[dict[str, Any]], bool]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_timestamp(text: str) -> datetime.datetime:
    """``text`` (ISO 8601: a date, or a date and time, with or without zone) as an aware datetime.

    A time without a zone is the server's local time, as B-Fabric reads it.

    Raises:
        ValueError: ``text`` is not such a timestamp.
    """
    stamp = datetime.datetime.fromisoformat(str(text).strip())
    return stamp if stamp.tzinfo is not None else stamp.astimezone()


def _text(value: Any, fold: bool) -> str:
    text = str(value)
    if text.lower() in ("true", "false"):
        return text.lower()
    return text.casefold() if fold else text


def like(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the SQL ``LIKE`` ``pattern`` (``%`` any text, ``_`` one character).

    Two pointers, going back only to the last ``%``: at most len(pattern) * len(text) steps, where a
    regular expression could backtrack exponentially on a pattern like ``%a%a%a%a%b``.
    """
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] != "%" and (pattern[p] == "_" or pattern[p] == text[t]):
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "%":
            star, mark = p, t
            p += 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    return all(c == "%" for c in pattern[p:])


def _value_test(wanted: Any, fold: bool, wildcards: bool) -> Callable[[str], bool]:
    text = _text(wanted, fold)
    if wildcards and "%" in text:
        return lambda value: like(text, value)
    return lambda value: value == text


def _ref_value(value: Any) -> str:
    return str(value.get("id")) if isinstance(value, dict) else str(value)


def _field_predicate(etype: EntityType, key: str, wanted: list[Any]) -> Predicate:
    """Whether a row's ``key`` equals (or is ``LIKE``) any of ``wanted``."""
    if key == "id":
        ids = {_ref_value(w) for w in wanted}
        return lambda row: str(row["id"]) in ids
    ref_field = etype.ref_field_for(key)
    if ref_field is not None:
        ids = {_ref_value(w) for w in wanted}
        name = ref_field.name
        return lambda row: any(str(r.get("id")) in ids for r in _as_list(row.get(name)) if isinstance(r, dict))
    f = etype.get(key)
    fold = key in CASE_INSENSITIVE
    wildcards = f is not None and f.kind in ("string", "strings")
    tests = [_value_test(w, fold, wildcards) for w in wanted]

    def test(row: dict[str, Any]) -> bool:
        values = [_text(v, fold) for v in _as_list(row.get(key)) if not isinstance(v, dict)]
        return any(t(v) for t in tests for v in values)

    return test


def _date_predicate(key: str, wanted: list[Any]) -> Predicate:
    field, after = DATE_FILTERS[key]
    try:
        bounds = [parse_timestamp(w) for w in wanted]
    except (TypeError, ValueError):
        shown = ", ".join(map(str, wanted))
        raise ServiceError(f"Invalid date for {key}: {shown!r} (expected e.g. 2024-05-01).") from None

    def test(row: dict[str, Any]) -> bool:
        try:
            stamp = parse_timestamp(row.get(field) or "")
        except ValueError:
            return False
        return any(stamp > b if after else stamp < b for b in bounds)

    return test


def _known(etype: EntityType, key: str) -> bool:
    return key == "id" or key in DATE_FILTERS or etype.get(key) is not None or etype.ref_field_for(key) is not None


def compile_query(etype: EntityType, query: dict[str, Any]) -> Predicate:
    """A test of stored rows for ``query``.

    Raises:
        ServiceError: a field ``etype`` does not have, or a date filter that is not a date.
    """
    unknown = sorted(k for k in query if k not in IGNORED and not _known(etype, k))
    if unknown:
        raise ServiceError(f"Unknown query field(s) for {etype.endpoint}: {', '.join(unknown)}.")
    predicates: list[Predicate] = []
    for key, value in query.items():
        if key in IGNORED:
            continue
        wanted = _as_list(value)
        if not wanted:
            return lambda row: False  # an empty list of values matches nothing
        maker = _date_predicate if key in DATE_FILTERS else lambda k, w: _field_predicate(etype, k, w)
        predicates.append(maker(key, wanted))
    return lambda row: all(p(row) for p in predicates)
