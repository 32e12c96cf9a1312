"""Background jobs (retraining) run in a worker thread, with their state in the database.

The state lives in the `jobs` table so any server process can answer `GET /admin/jobs/{id}`.
A job's function receives a `progress(fraction, message)` callback and returns its result; an
exception marks the job failed with the message and changes nothing else (the training code
writes bundles atomically and promotes only at the very end). Serving continues meanwhile:
requests keep using the live model, which only changes if the job promotes.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from triage.store.clock import iso, now
from triage.store.engine import Store
from triage.store.models import Job

log = logging.getLogger("triage.jobs")

JobFunction = Callable[[Callable[[float, str], None]], dict[str, Any]]


class JobNotFound(LookupError):
    pass


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress or 0.0, 3),
        "message": job.message,
        "params": {k: v for k, v in (job.params or {}).items() if not k.startswith("_")},
        "result": job.result,
        "error": job.error,
        "actor": job.actor,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobRunner:
    """One worker thread: jobs run one at a time, in the order they were submitted."""

    def __init__(self, store: Store, workers: int = 1) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="triage-job")
        self.futures: dict[str, Future] = {}

    def fail_interrupted(self) -> int:
        """Mark jobs whose process died (a restart mid-training) as failed; they will never finish."""
        count = 0
        with self.store.session(write=True) as s:
            for job in s.scalars(select(Job).where(Job.status.in_(("queued", "running")))):
                if not _alive((job.params or {}).get("_pid")):
                    job.status, job.error, job.finished_at = (
                        "failed",
                        "interrupted: the server process stopped",
                        now(),
                    )
                    count += 1
        return count

    def submit(self, kind: str, params: dict[str, Any], fn: JobFunction, actor: str | None = None) -> str:
        job_id = uuid.uuid4().hex
        with self.store.session(write=True) as s:
            s.add(
                Job(
                    id=job_id,
                    kind=kind,
                    status="queued",
                    progress=0.0,
                    params={**params, "_pid": os.getpid()},
                    actor=actor,
                    created_at=now(),
                )
            )
        self.futures[job_id] = self._pool.submit(self._run, job_id, fn)
        return job_id

    def _update(self, job_id: str, **fields: Any) -> None:
        with self.store.session(write=True) as s:
            job = s.get(Job, job_id)
            for key, value in fields.items():
                setattr(job, key, value)

    def _run(self, job_id: str, fn: JobFunction) -> None:
        self._update(job_id, status="running", started_at=now(), message="started")
        try:
            result = fn(
                lambda fraction, message: self._update(job_id, progress=float(fraction), message=message)
            )
        except Exception as exc:
            log.exception("job %s failed", job_id)
            self._update(job_id, status="failed", error=f"{type(exc).__name__}: {exc}", finished_at=now())
            return
        self._update(
            job_id, status="succeeded", progress=1.0, result=result, message="done", finished_at=now()
        )

    def get(self, job_id: str) -> dict[str, Any]:
        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobNotFound(f"no job with id {job_id!r}")
            return job_dict(job)

    def list(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.store.session() as s:
            return [job_dict(j) for j in s.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit))]

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
