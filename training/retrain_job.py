"""The retrain job as a worker runs it: the store's cases (and an uploaded CSV) to a new bundle.

Everything the job needs comes from the store (the parameters, the uploaded file, the routing
table in force) and the settings of the worker's host (where bundles go), so any worker on any
host can run a retrain submitted through any server.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from training.balance import DEFAULT_MERGE_LABEL
from training.from_store import retrain_from_store
from training.jobs import ClaimedJob, Handler, Progress
from training.model_store import open_registry
from triage.csvio import DataError
from triage.routing.live import LiveRoutingEngine
from triage.settings import Settings
from triage.store.engine import Store
from triage.store.repository import record_event


def retrain_handler(store: Store, settings: Settings) -> Handler:
    def run(job: ClaimedJob, progress: Progress) -> dict[str, Any]:
        params = job.params
        routing = LiveRoutingEngine(settings.routing_table, store=store).table
        with tempfile.TemporaryDirectory(prefix="triage-retrain-") as tmp:
            csv_path = None
            if job.upload is not None:
                csv_path = Path(tmp) / "upload.csv"
                csv_path.write_bytes(job.upload[1])
            try:
                result = retrain_from_store(
                    store,
                    open_registry(settings, store),
                    csv_path=csv_path,
                    text_cols=params.get("text_col", "title,body"),
                    label_col=params.get("label_col", "department"),
                    test_size=params.get("test_size", 0.2),
                    seed=params.get("seed", 0),
                    promote=bool(params.get("promote")),
                    progress=progress,
                    only_csv=bool(params.get("only_upload")),
                    routing_table=routing,
                    force=bool(params.get("force")),
                    min_examples=params.get("min_examples"),
                    rare=params.get("rare", "drop"),
                    merge_into=params.get("merge_into") or DEFAULT_MERGE_LABEL,
                )
            except DataError as exc:  # name the uploaded file, not the worker's temporary copy
                if csv_path is None:
                    raise
                raise DataError(
                    job.upload[0], str(exc).replace(str(csv_path), job.upload[0]).split(": ", 1)[-1]
                ) from None
        with store.session(write=True) as s:
            record_event(
                s,
                "model_trained",
                job.actor,
                {"version": result["version"], "promoted": result["promoted"], "job": job.id},
                result["version"],
            )
        return result

    return run


def handlers(store: Store, settings: Settings) -> dict[str, Handler]:
    """Every kind of job a worker knows how to run."""
    return {"retrain": retrain_handler(store, settings)}
