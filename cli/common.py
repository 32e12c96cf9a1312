"""Helpers shared by command modules: settings, JSON output, CSV output, progress bars."""

from __future__ import annotations

import csv
import functools
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from training.bundles import ModelRegistry
from triage.settings import Settings, get_settings

if TYPE_CHECKING:
    from triage.routing.live import LiveRoutingEngine
    from triage.routing.table import RoutingTable
    from triage.store.engine import Store


def settings() -> Settings:
    return get_settings()


@functools.lru_cache(maxsize=4)
def _store(url: str) -> Store:
    from triage.store.engine import Store  # the store's imports: only for commands that use it

    return Store(url)


def store() -> Store:
    """The case store of this command: one per database URL, so the routing table and both model
    registries a command reads share one engine and one schema check."""
    return _store(settings().database_url)


def registry(kind: str = "department") -> ModelRegistry:
    """The model registry of one kind in the case store (the models folder holds this host's copies)."""
    from training.model_store import open_registry

    return open_registry(settings(), store(), kind)


def live_routing() -> LiveRoutingEngine:
    """The routing table the service routes by: the store's newest version (an empty store is
    seeded from TRIAGE_ROUTING_TABLE, as the service does)."""
    from triage.routing.live import LiveRoutingEngine  # the store's imports: only for commands that route

    return LiveRoutingEngine(settings().routing_table, store=store())


def table_in_force() -> RoutingTable | Path:
    """The routing table promotion and imports check against: the store's version in force, else
    the seed file (read, and its errors reported, by whoever uses it)."""
    return live_routing().table or settings().routing_table


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def progress(iterable: Iterable, total: int, desc: str) -> Iterable:
    """A progress bar on stderr for files long enough to wait on; silent when not a terminal."""
    return tqdm(iterable, total=total, desc=desc, unit="row", disable=total < 200 or not sys.stderr.isatty())


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Write through a temporary file so a failed run never leaves half an output file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(header), extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
