"""The departments a clerk may route a case to: those of the routing table in force.

One home for the rule, used by the case routes (an override or a return naming a department the
table does not know is refused with 422) and by the staff page's department list. Without a
loaded routing table (none configured, or a broken one) there is nothing to check against and
any name is accepted, as before the table existed.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status

HINT_LIMIT = 20


def _table(state: Any) -> Any | None:
    """The live routing table; None when none loaded (a broken file is reported by /admin/routing)."""
    routing = getattr(state, "routing", None)
    return getattr(routing, "table", None) if routing is not None else None


def routable_departments(state: Any) -> list[str] | None:
    """The table's departments a case can be sent to (renamed ones excluded), or None without a table."""
    table = _table(state)
    if table is None:
        return None
    return sorted(name for name, d in table.departments.items() if not d.forward_to)


def checked_department(state: Any, name: str | None, field: str) -> str | None:
    """`name` as the table's current department (a former name follows `forward_to`); 422 if unknown."""
    if name is None or not name.strip():
        return name
    name = name.strip()
    table = _table(state)
    if table is None:
        return name
    if name in table.departments:
        return table.resolve(name)
    known = routable_departments(state) or []
    shown = "、".join(known[:HINT_LIMIT]) + (" …" if len(known) > HINT_LIMIT else "")
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        f"{field}: unknown department {name!r}, not in the routing table; use one of: {shown}",
    )
