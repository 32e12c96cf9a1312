"""Promotion that keeps the model and the routing table in agreement.

A model whose labels the routing table does not route would go live and give every new case
`department: null` while `/health` said ok. Every way of making a bundle live (`triage models
promote`, `triage train --promote`, `triage retrain --promote`, the admin API) goes through
`promote_checked`: it refuses such a bundle, naming the labels without a route, unless the admin
forces it - after which `/health` reports the service degraded for the same reason
(`routing_gaps`), and the staff page shows a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from training.bundles import BundleError, ModelRegistry
from triage.routing.table import RoutingTable, RoutingTableError, load_table

FORCE_HINT = "add them under label_sets: (triage train --write-routing-stub writes the entries to fill in)"


class UnroutedLabels(BundleError):
    """The bundle's labels include some that no label set of the routing table routes."""

    def __init__(self, version: str, missing: list[str], source: str) -> None:
        self.version = version
        self.missing = missing
        super().__init__(
            f"model {version} was not made live: the routing table {source} has no route for its "
            f"label(s) {', '.join(missing)}, so its cases would get no department; {FORCE_HINT}, "
            "or force the promotion (--force; API: force: true)"
        )


class TableUnavailable(BundleError):
    """The routing table could not be read, so the bundle's labels could not be checked."""


def unrouted_labels(labels: Iterable[str], table: RoutingTable) -> list[str]:
    """The labels the table routes to no department (what the routing engine would leave null)."""
    return sorted({str(label) for label in labels} - set(table.labels))


def routing_gaps(labels: Iterable[str] | None, table: RoutingTable | None) -> dict[str, Any] | None:
    """The reason the live model and table disagree, for `/health` and the page; None when they agree."""
    if labels is None or table is None:
        return None
    missing = unrouted_labels(labels, table)
    if not missing:
        return None
    return {
        "missing_labels": missing,
        "error": f"the live model's label(s) {', '.join(missing)} have no route in the routing table: "
        "new cases under them get no department",
    }


def read_table(path: str | Path) -> RoutingTable:
    try:
        return load_table(path)
    except (OSError, RoutingTableError) as exc:
        raise TableUnavailable(f"cannot check the model's labels against the routing table: {exc}") from None


def promote_checked(
    registry: ModelRegistry,
    version: str,
    table: RoutingTable | Path | str | None,
    *,
    force: bool = False,
    actor: str | None = None,
) -> dict[str, Any]:
    """Make `version` live if the table routes all its labels (or when forced); raises otherwise.

    Returns `{"live", "forced", "unrouted_labels"}`; `forced` is true only when a check failed
    and `force` overrode it.
    """
    labels = registry.metadata(version).get("labels", [])
    missing: list[str] = []
    try:
        loaded = table if isinstance(table, RoutingTable) or table is None else read_table(table)
        if loaded is not None:
            missing = unrouted_labels(labels, loaded)
            if missing and not force:
                raise UnroutedLabels(version, missing, loaded.source)
    except TableUnavailable:
        if not force:
            raise
    live = registry.promote(version, actor=actor)
    return {"live": live, "forced": bool(force and missing), "unrouted_labels": missing}


def routing_stub(labels: Iterable[str], table: RoutingTable | None, set_name: str) -> str:
    """A `label_sets:` YAML fragment with one entry per label the table does not route yet.

    Each lead is `TODO`, which the table refuses until an admin names a real department: a
    stub pasted unfilled cannot quietly route anything.
    """
    missing = unrouted_labels(labels, table) if table is not None else sorted({str(x) for x in labels})
    taken = set(table.label_sets) if table is not None else set()
    name, n = set_name, 2
    while name in taken:
        name, n = f"{set_name}_{n}", n + 1
    lines = [
        "# Routing-table stub: paste under label_sets: in the routing table and replace each TODO",
        "# with the department that leads (optionally assist: [...] and by_district: {...}).",
        "label_sets:",
        f"  {name}:",
    ]
    lines += [f"    {_yaml_key(label)}: {{lead: TODO}}   # TODO department" for label in missing]
    return "\n".join(lines) + "\n"


def _yaml_key(label: str) -> str:
    plain = label and not any(ch in label for ch in ":#{}[],&*?|<>=!%@`'\"") and label.strip() == label
    return label if plain else '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'
