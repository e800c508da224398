"""Numbers from a ``google.protobuf.Struct``: it holds every number as a double.

A payload written with ``"vlan-id": 200`` comes back as 200.0; YANG integer
leaves, and people reading JSON, want 200.
"""

from __future__ import annotations

from typing import Any


def whole_numbers(value: Any) -> Any:
    """``value`` (JSON: dicts, lists, scalars) with integral floats as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value
