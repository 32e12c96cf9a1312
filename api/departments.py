"""The departments the staff page offers a clerk: those of the routing table in force.

The rule that refuses an unknown department lives with the case workflow
(`triage.casework.CaseDesk.department`), which the case routes call.
"""

from __future__ import annotations

from typing import Any


def routable_departments(state: Any) -> list[str] | None:
    """The table's departments a case can be sent to, or None without a loaded table."""
    routing = getattr(state, "routing", None)
    table = getattr(routing, "table", None) if routing is not None else None
    return table.routable() if table is not None else None
