"""Department names from an export mapped onto the routing table's departments.

History exports name departments their own way (承办单位: 顺义区分中心, 区住建委 …); drafts filter
past cases by the routed department, so a case stored under a name the table does not use is
never a source for anything routed. Names resolve, in order: an admin's mapping file
(`--department-map`), a department of the table (its `forward_to` followed), a department's
`aliases`. What matches nothing is kept as written and reported with its count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from triage.csvio import DataError, numbered, read_csv
from triage.routing.table import RoutingTable


def load_department_map(path: str | Path, table: RoutingTable | None) -> dict[str, str]:
    """name → department from a YAML mapping or a two-column CSV (name, department).

    Every target must be a department of the table (or resolve to one): a typo in the map would
    otherwise file history under a department nothing is ever routed to.
    """
    path = Path(path)
    pairs: list[tuple[Any, str, str]] = []  # (where, name, department)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise DataError(str(path), f"not a readable YAML mapping: {exc}") from None
        if not isinstance(data, dict):
            raise DataError(str(path), "must be a mapping of export name: department")
        pairs = [(None, str(k).strip(), str(v or "").strip()) for k, v in data.items()]
    else:
        header, rows = read_csv(path)
        if len(header) < 2:
            raise DataError(str(path), "needs two columns: the export's name, then the department")
        pairs = [
            (n, (r.get(header[0]) or "").strip(), (r.get(header[1]) or "").strip()) for n, r in numbered(rows)
        ]
    out: dict[str, str] = {}
    for where, name, dept in pairs:
        if not name or not dept:
            raise DataError(str(path), "empty name or department", row=where)
        target = table.department_named(dept) if table is not None else dept
        if target is None:
            known = ", ".join(sorted(table.departments)) if table is not None else ""
            raise DataError(
                str(path),
                f"{dept!r} (for {name!r}) is not a department of the routing table; known: {known}",
                row=where,
            )
        out[name] = target
    return out


@dataclass
class NameReport:
    """What an import did with the department names it read."""

    mapped: int = 0  # rows whose name was changed to a table department
    matched: int = 0  # rows already naming a table department
    unmatched: Counter = field(default_factory=Counter)  # name → rows kept under it
    how: Counter = field(default_factory=Counter)  # "map file" / "alias" / "forward_to" → rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_mapped": self.mapped,
            "rows_already_table_names": self.matched,
            "rows_unmatched": sum(self.unmatched.values()),
            "unmatched_names": dict(self.unmatched.most_common()),
            "mapped_by": dict(self.how),
        }


class DepartmentNames:
    """Maps export names to departments, counting what it did in `report`."""

    def __init__(self, table: RoutingTable | None, mapping: dict[str, str] | None = None) -> None:
        self.table = table
        self.mapping = mapping or {}
        self.report = NameReport()

    def __call__(self, name: str) -> str:
        name = name.strip()
        if not name:
            return name
        if name in self.mapping:
            return self._mapped(name, self.mapping[name], "map file")
        found = self.table.department_named(name) if self.table is not None else None
        if found is None:
            self.report.unmatched[name] += 1
            return name
        if found == name:
            self.report.matched += 1
            return name
        return self._mapped(name, found, "forward_to" if name in self.table.departments else "alias")

    def _mapped(self, name: str, department: str, how: str) -> str:
        if department == name:
            self.report.matched += 1
        else:
            self.report.mapped += 1
            self.report.how[how] += 1
        return department
