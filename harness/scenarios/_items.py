"""The item-store workload several sample apps share: unique integer values in one
append-only list (table ``items``, key ``"items"``).

``POST /items {"value": v}`` appends v (201); with ``"reject": true`` the app
refuses the write (409) -- after flushing it or after its SELECT, depending on the
app -- so it must leave no trace; ``GET /items`` lists every value as
``{"values": [...]}``.
"""

from __future__ import annotations

from sqlalchemy import text

from ..driver import Op

KEY = "items"


def read_final_state(connection) -> dict[str, list[int]]:
    values = connection.execute(text("SELECT value FROM items ORDER BY id")).scalars().all()
    return {KEY: [int(v) for v in values]}


def values_of(body) -> list[int]:
    values = body["values"]
    if not isinstance(values, list):
        raise TypeError(f"values is {type(values).__name__}, not a list")
    return [int(v) for v in values]


def read() -> Op:
    return Op("read", "GET", "/items", key=KEY, observe=values_of)


def append(value: int) -> Op:
    return Op("append", "POST", "/items", json={"value": value}, key=KEY, value=value)


def reject(value: int) -> Op:
    """An append the app refuses (409): its value must never be seen nor persisted."""
    return Op("reject", "POST", "/items", json={"value": value, "reject": True}, key=KEY, value=value)
