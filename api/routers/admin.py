"""Admin: retrain from the case store in the background, follow the job, promote, roll back.

`POST /admin/retrain` answers at once with a job id (202); the job trains on the store's final
routings (plus an optional uploaded labelled CSV) and compares the new model with the live one
on the same held-out split. Nothing becomes live unless asked (`promote=true`) or until an admin
promotes the version; every promotion and rollback is recorded in the audit trail. A version
whose labels the routing table does not route is refused (409, naming them) unless `force`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Form, HTTPException, Request, UploadFile, status
from pydantic import BaseModel, Field

from api.auth import actor
from training.balance import DEFAULT_MERGE_LABEL
from training.bundles import BundleError, UnknownVersion
from training.data import load_labelled_csv
from training.promotion import promote_checked
from triage.csvio import DataError
from triage.routing.table import RoutingTable
from triage.store.repository import record_event

router = APIRouter(prefix="/admin", tags=["admin"])


def _save_upload(upload: UploadFile, limit: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="triage-retrain-"))
    target = folder / (Path(upload.filename or "upload.csv").name or "upload.csv")
    with target.open("wb") as fh:
        shutil.copyfileobj(upload.file, fh)
    if target.stat().st_size > limit:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"file has {target.stat().st_size} bytes; the limit is {limit}"
        )
    return target


@router.post(
    "/retrain",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start retraining from the case store (+ optional CSV)",
)
def retrain(
    request: Request,
    file: Annotated[
        UploadFile | None, File(description="optional labelled CSV added to the store's cases")
    ] = None,
    text_col: Annotated[str, Form()] = "title,body",
    label_col: Annotated[str, Form()] = "department",
    test_size: Annotated[float, Form(gt=0, lt=0.9)] = 0.2,
    seed: Annotated[int, Form()] = 0,
    promote: Annotated[bool, Form()] = False,
    only_upload: Annotated[
        bool, Form(description="train on the uploaded CSV alone, not merged with the store's cases")
    ] = False,
    force: Annotated[
        bool, Form(description="with promote: go live even if the routing table does not route every label")
    ] = False,
    min_examples: Annotated[
        int | None,
        Form(ge=1, description="labels with fewer rows are dropped or merged (rare) instead of refused"),
    ] = None,
    rare: Annotated[Literal["drop", "merge"], Form()] = "drop",
    merge_into: Annotated[str, Form(min_length=1, max_length=100)] = DEFAULT_MERGE_LABEL,
) -> dict[str, Any]:
    state = request.app.state
    if only_upload and (file is None or not file.filename):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "only_upload=true needs a file: the labelled CSV to train on",
        )
    csv_path = None
    if file is not None and file.filename:
        csv_path = _save_upload(file, state.settings.max_request_bytes * 20)
        try:  # a broken file is the caller's error now, not a failed job later
            load_labelled_csv(csv_path, text_col, label_col)
        except DataError as exc:
            shutil.rmtree(csv_path.parent, ignore_errors=True)
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc).replace(str(csv_path), file.filename)
            ) from None
    upload_name = file.filename if csv_path else ""
    params = {
        "csv": upload_name or None,
        "text_col": text_col,
        "label_col": label_col,
        "test_size": test_size,
        "seed": seed,
        "promote": promote,
        "only_upload": only_upload,
        "force": force,
        "min_examples": min_examples,
        "rare": rare,
        "merge_into": merge_into,
    }
    params["actor"] = actor(request)
    upload = None
    if csv_path is not None:
        upload = (upload_name, csv_path.read_bytes())  # kept in the store: any worker may run the job
        shutil.rmtree(csv_path.parent, ignore_errors=True)
    job_id = state.jobs.submit("retrain", params, actor=actor(request), upload=upload)
    return {"job_id": job_id, "status": "queued", "url": f"/admin/jobs/{job_id}"}


@router.get("/jobs", summary="Recent background jobs")
def jobs(request: Request) -> dict[str, Any]:
    return {"jobs": request.app.state.jobs.list()}


@router.get("/jobs/{job_id}", summary="A job's progress, and when done, the new-versus-live comparison")
def job_status(job_id: str, request: Request) -> dict[str, Any]:
    return request.app.state.jobs.get(job_id)


def _pointer_change(request: Request, kind: str, change, extra=lambda: {}) -> dict[str, Any]:
    registry = request.app.state.registry
    before = registry.live_version()
    try:
        version = change()
    except BundleError as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND if isinstance(exc, UnknownVersion) else status.HTTP_409_CONFLICT,
            str(exc),
        ) from None
    request.app.state.live_model.refresh()
    with request.app.state.store.session(write=True) as s:
        record_event(s, kind, actor(request), {"from": before, "to": version, **extra()}, version)
    return {"live": version, "previous": before}


def _routing_table(state: Any) -> RoutingTable | None:
    """The routing table in use, for the promotion check; None when routing is not set up."""
    routing = getattr(state, "routing", None)
    return routing.table if routing is not None else None


class PromoteIn(BaseModel):
    force: bool = Field(
        default=False,
        description="make it live even if the routing table does not route all its labels; "
        "/health then reports degraded until the table routes them",
    )


@router.post(
    "/models/{version}/promote",
    summary="Make a model version live (409 naming the labels the routing table does not route, unless force)",
)
def promote(
    version: str, request: Request, payload: Annotated[PromoteIn | None, Body()] = None
) -> dict[str, Any]:
    force = bool(payload and payload.force)
    state = request.app.state
    checked: dict[str, Any] = {}

    def change() -> str:
        checked.update(
            promote_checked(state.registry, version, _routing_table(state), force=force, actor=actor(request))
        )
        return checked["live"]

    result = _pointer_change(
        request, "model_promoted", change, extra=lambda: {"forced": checked.get("forced")}
    )
    if checked.get("forced"):
        result |= {"forced": True, "unrouted_labels": checked["unrouted_labels"]}
    return result


@router.post("/models/rollback", summary="Return to the previous live model")
def rollback(request: Request) -> dict[str, Any]:
    return _pointer_change(
        request, "model_rolled_back", lambda: request.app.state.registry.rollback(actor=actor(request))
    )


router.add_api_route("/rollback", rollback, methods=["POST"], summary="Alias of /admin/models/rollback")
