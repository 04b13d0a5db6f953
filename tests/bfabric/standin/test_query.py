"""Query semantics of the stand-in on rows directly: what no request of the bfabric client can reach.

suds leaves an empty list out of a request, so ``id: []`` only arrives from other SOAP clients; and
wildcard patterns are checked here against text full of regular-expression characters.
"""

from __future__ import annotations

import pytest

from standin.errors import ServiceError
from standin.query import compile_query, like, parse_timestamp
from standin.schema import entity_type

RESOURCE = entity_type("resource")
ROWS = [
    {"id": 1, "name": "a+b (1).txt", "status": "available", "workunit": {"classname": "workunit", "id": 5}},
    {"id": 2, "name": "a+b (2).txt", "status": "pending", "workunit": {"classname": "workunit", "id": 6}},
    {"id": 3, "name": "axb 1.txt", "status": "available", "created": "2024-01-01T00:00:00+00:00"},
]


def _ids(query: dict) -> list[int]:
    test = compile_query(RESOURCE, query)
    return [row["id"] for row in ROWS if test(row)]


def test_an_empty_list_matches_nothing() -> None:
    assert _ids({"id": []}) == []
    assert _ids({"name": [], "status": "available"}) == []
    assert _ids({}) == [1, 2, 3]


def test_wildcards_leave_other_characters_literal() -> None:
    assert _ids({"name": "a+b (%).txt"}) == [1, 2]
    assert _ids({"name": "a+b (_)%"}) == [1, 2]  # with a % in it, _ is one character (SQL LIKE)
    assert _ids({"name": "a+b (_).txt"}) == []  # without, the value is compared as it is
    assert _ids({"name": "a%b%1%"}) == [1, 3]
    assert _ids({"name": "a.b%"}) == []
    assert _ids({"name": "a+b (1).txt"}) == [1]


def test_references_and_case_insensitive_status() -> None:
    assert _ids({"workunitid": [6, 7]}) == [2]
    assert _ids({"workunit": {"id": 5}, "status": "Available"}) == [1]


def test_date_filters_skip_rows_without_timestamps() -> None:
    assert _ids({"createdbefore": "2024-06-01"}) == [3]
    assert _ids({"createdafter": "2023-06-01"}) == [3]


def test_unknown_fields_and_bad_dates_are_refused() -> None:
    with pytest.raises(ServiceError, match=r"Unknown query field\(s\) for resource: colour, size2"):
        compile_query(RESOURCE, {"colour": "red", "size2": 1, "name": "x"})
    with pytest.raises(ServiceError, match="Invalid date for modifiedafter"):
        compile_query(RESOURCE, {"modifiedafter": "yesterday"})


def test_timestamps_without_zone_are_local() -> None:
    assert parse_timestamp("2024-05-01").tzinfo is not None
    assert parse_timestamp("2024-05-01 10:00:00+02:00") == parse_timestamp("2024-05-01T08:00:00+00:00")


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [("%", "", True), ("a%", "abc", True), ("%c", "abc", True), ("a_c", "abc", True), ("a_c", "ac", False),
     ("%b%", "abc", True), ("%x%", "abc", False), ("a%%c", "ac", True), ("%a%b", "aaab", True), ("%a%b", "aaa", False)],
)
def test_like(pattern: str, text: str, expected: bool) -> None:
    assert like(pattern, text) is expected


@pytest.mark.timeout(10)
def test_like_takes_bounded_time_on_backtracking_patterns() -> None:
    test = compile_query(RESOURCE, {"name": "%a" * 30 + "%b"})
    assert not test({"id": 9, "name": "a" * 5000})  # a regular expression would backtrack for ages here
