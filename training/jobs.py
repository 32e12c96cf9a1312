"""Background jobs (retraining): queued in the store, run by `triage worker`, never by a server.

The API only writes a job row (and its uploaded file) in one transaction; a worker process, on
this host or another, claims the oldest queued job with a lease and renews the lease while it
works. A worker that dies (kill -9, its host gone) stops renewing: once the lease has run out,
whoever looks next (another worker, `GET /admin/jobs/{id}`) marks the job failed. At most one
retrain runs at a time, whatever the number of workers: claims are serialised (SQLite's single
writer; a transaction-scoped advisory lock on PostgreSQL). A job's function receives a
`progress(fraction, message)` callback and returns its result; an exception marks the job failed
and changes nothing else (bundles are written atomically and promoted only at the very end).

Why not a queue library: procrastinate and pgqueuer are PostgreSQL-only, and the default store is
SQLite; the claim is one UPDATE under the store's own transaction rules, with a lease column.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from triage.store.clock import iso, now
from triage.store.engine import Store
from triage.store.models import Job, JobUpload

log = logging.getLogger("triage.jobs")

Progress = Callable[[float, str], None]
LEASE_SECONDS = 30.0
WAITING_NOTE_AFTER = timedelta(seconds=30)
ONE_AT_A_TIME = ("retrain",)  # kinds of which at most one runs at once
_CLAIM_LOCK_KEY = 0x7472_6961  # PostgreSQL advisory lock id for claims ("tria")


class JobNotFound(LookupError):
    pass


def job_dict(job: Job) -> dict[str, Any]:
    out = {
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
        "worker": job.lease_owner,
    }
    if job.status == "queued" and now() - job.created_at > WAITING_NOTE_AFTER:
        out["note"] = "waiting for a worker: is `triage worker` running? (`make run` starts one)"
    return out


def expire_leases(session: Session) -> int:
    """Fail the running jobs whose worker stopped renewing its lease; how many there were."""
    result = session.execute(
        update(Job)
        .where(Job.status == "running", Job.lease_until < now())
        .values(
            status="failed",
            error="lease expired: the worker running it stopped (killed, or its host went away); "
            "nothing was promoted",
            finished_at=now(),
        )
    )
    return result.rowcount or 0


class JobQueue:
    """The jobs in the store, as the API sees them: submit, read, list."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        actor: str | None = None,
        upload: tuple[str, bytes] | None = None,
    ) -> str:
        job_id = f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"  # sorts in submission order
        with self.store.session(write=True) as s:
            s.add(
                Job(
                    id=job_id,
                    kind=kind,
                    status="queued",
                    progress=0.0,
                    params=params,
                    actor=actor,
                    created_at=now(),
                )
            )
            if upload is not None:
                s.flush()
                s.add(JobUpload(job_id=job_id, name=upload[0], content=upload[1]))
        return job_id

    def get(self, job_id: str) -> dict[str, Any]:
        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobNotFound(f"no job with id {job_id!r}")
            stale = job.status == "running" and job.lease_until is not None and job.lease_until < now()
            if not stale:
                return job_dict(job)
        with self.store.session(write=True) as s:
            expire_leases(s)
            return job_dict(s.get(Job, job_id))

    def list(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.store.session(write=True) as s:
            expire_leases(s)
        with self.store.session() as s:
            return [job_dict(j) for j in s.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit))]


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    kind: str
    params: dict[str, Any]
    actor: str | None
    upload: tuple[str, bytes] | None


Handler = Callable[[ClaimedJob, Progress], dict[str, Any]]


class Worker:
    """Claims queued jobs and runs them with `handlers[kind]`, renewing its lease meanwhile."""

    def __init__(
        self, store: Store, handlers: dict[str, Handler], lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def claim(self) -> ClaimedJob | None:
        """The oldest queued job this worker may run, now leased to it; None when there is none."""
        with self.store.session(write=True) as s:
            if not self.store.is_sqlite:
                s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK_KEY})
            expire_leases(s)
            busy = set(
                s.scalars(
                    select(Job.kind).where(Job.status == "running", Job.kind.in_(ONE_AT_A_TIME)).distinct()
                )
            )
            query = select(Job).where(Job.status == "queued", Job.kind.in_(list(self.handlers)))
            if busy:
                query = query.where(Job.kind.not_in(busy))
            job = s.scalars(query.order_by(Job.created_at, Job.id).limit(1)).first()
            if job is None:
                return None
            job.status, job.started_at, job.message = "running", now(), f"started by {self.owner}"
            job.lease_owner, job.lease_until = self.owner, now() + self.lease
            upload = s.get(JobUpload, job.id)
            return ClaimedJob(
                job.id,
                job.kind,
                dict(job.params or {}),
                job.actor,
                (upload.name, upload.content) if upload else None,
            )

    def _own(self, job_id: str, **fields: Any) -> bool:
        """Update the job if this worker still holds it (renewing the lease); False when it lost it."""
        with self.store.session(write=True) as s:
            result = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.lease_owner == self.owner, Job.status == "running")
                .values(lease_until=now() + self.lease, **fields)
            )
            return bool(result.rowcount)

    def run_once(self) -> str | None:
        """Claim and run one job; its id, or None when nothing was waiting."""
        job = self.claim()
        if job is None:
            return None
        stop = threading.Event()
        beat = threading.Thread(target=self._renew, args=(job.id, stop), daemon=True, name="job-lease")
        beat.start()
        try:
            result = self.handlers[job.kind](
                job, lambda f, m: self._own(job.id, progress=float(f), message=m)
            )
        except Exception as exc:
            log.exception("job %s failed", job.id)
            self._finish(job.id, status="failed", error=f"{type(exc).__name__}: {exc}")
        else:
            self._finish(job.id, status="succeeded", progress=1.0, result=result, message="done")
        finally:
            stop.set()
            beat.join()
        return job.id

    def _renew(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease.total_seconds() / 3):
            try:
                if not self._own(job_id):
                    log.error("job %s: lease lost (another process marked it failed)", job_id)
                    return
            except Exception:
                log.exception("job %s: renewing the lease failed", job_id)

    def _finish(self, job_id: str, **fields: Any) -> None:
        if not self._own(job_id, finished_at=now(), **fields):
            log.error("job %s finished after its lease was lost; its result is not recorded", job_id)
        with self.store.session(write=True) as s:
            s.execute(update(JobUpload.__table__).where(JobUpload.job_id == job_id).values(content=b""))

    def run_forever(self, poll_seconds: float = 1.0, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("worker %s waiting for jobs", self.owner)
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("claiming a job failed")
                ran = None
            if ran is None:
                stop.wait(poll_seconds)


def wait_for(queue: JobQueue, job_id: str, seconds: float = 300, poll: float = 0.2) -> dict[str, Any]:
    """Until the job has finished (a helper for scripts and tests)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = queue.get(job_id)
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(poll)
    raise TimeoutError(f"job {job_id} did not finish in {seconds} s")


__all__ = ["ClaimedJob", "JobNotFound", "JobQueue", "Worker", "expire_leases", "job_dict", "wait_for"]
