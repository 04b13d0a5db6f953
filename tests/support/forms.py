"""What a Prefect run form shows for a flow's parameter schema."""

from __future__ import annotations

from typing import Any


def nullable_fields(schema: dict[str, Any]) -> list[str]:
    """Properties whose schema lets null in (an anyOf/oneOf branch or a type list with null)."""

    def nullable(prop: dict[str, Any]) -> bool:
        branches = prop.get("anyOf", []) + prop.get("oneOf", [])
        types = prop.get("type")
        return (any(b.get("type") == "null" for b in branches) or types == "null"
                or (isinstance(types, list) and "null" in types))

    return sorted(name for name, prop in schema.get("properties", {}).items() if nullable(prop))
