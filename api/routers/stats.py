"""`GET /stats`: per department volume, overdue, time to reply and how often staff changed things.

`unchanged_share` is live routing accuracy: of the closed cases, the share whose final
department is the one the model suggested. `revise_share` is the share of closed cases whose
reply the quality check flagged (sent after revision or with a confirmed reason). `merged` counts
the petitions merged (并单) into the department's cases; `petitions` totals the cases received,
merged and answered (a merged petition answered by its main case's reply is one reply sent).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from triage.store.clock import iso, now
from triage.store.repository import department_stats, petition_totals

router = APIRouter(tags=["cases"])


@router.get(
    "/stats", summary="Per department: volume, overdue, median hours to reply, unchanged and revise shares"
)
def stats(request: Request) -> dict[str, Any]:
    at = now()
    with request.app.state.store.session() as s:
        rows = department_stats(s, at)
        totals = petition_totals(s)
    return {"at": iso(at), "departments": rows, "petitions": totals}
