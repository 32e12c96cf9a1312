"""`GET /stats`: per department volume, overdue, time to reply and how often staff changed things.

`unchanged_share` is live routing accuracy: of the closed cases, the share whose final
department is the one the model suggested. `revise_share` is the share of closed cases whose
reply the quality check flagged (sent after revision or with a confirmed reason).
`GET /stats/flagged-replies` lists the replies sent despite the flags with the clerk's reason, so a
supervisor can judge each of those calls.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from triage.store.clock import iso, now
from triage.store.repository import department_stats, sent_despite_flags

router = APIRouter(tags=["cases"])


@router.get(
    "/stats", summary="Per department: volume, overdue, median hours to reply, unchanged and revise shares"
)
def stats(request: Request) -> dict[str, Any]:
    at = now()
    with request.app.state.store.session() as s:
        rows = department_stats(s, at)
    return {"at": iso(at), "departments": rows}


@router.get(
    "/stats/flagged-replies",
    summary="Replies sent despite quality flags, newest first: case, department, flags, reason, actor, time",
)
def flagged_replies(request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    with request.app.state.store.session() as s:
        items, total = sent_despite_flags(s, limit=limit)
    for item in items:
        item["at"] = iso(item["at"])
    return {"items": items, "total": total, "limit": limit}
