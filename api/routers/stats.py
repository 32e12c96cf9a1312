"""`GET /stats`: per department volume, overdue, time to reply and how often staff changed things.

`unchanged_share` is live routing accuracy: of the closed cases, the share whose final
department is the one the model suggested. `draft_retention` is the drafting's accuracy as staff
use it: the mean, over the replies sent, of how much of the suggested draft each kept (character
ROUGE-L of the sent reply against the draft, 0-1; null before any reply with a draft was sent). `revise_share` is the share of closed cases whose
reply went out flagged (sent with a confirmed reason); refused attempts do not count.
`unassigned` is the row of cases with no department yet (null when there are none) and `total`
the row of every case: the departments plus `unassigned` add up to it.
`GET /stats/flagged-replies` lists the replies sent despite the flags with the clerk's reason, so a
supervisor can judge each of those calls.
`merged` counts the petitions merged (并单) into the department's cases; `petitions` totals the cases
received, merged and answered (a merged petition answered by its main case's reply is one reply sent).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from triage.store.clock import iso, now
from triage.store.repository import case_stats, petition_totals, sent_despite_flags

router = APIRouter(tags=["cases"])


@router.get(
    "/stats", summary="Per department: volume, overdue, median hours to reply, unchanged and revise shares"
)
def stats(request: Request) -> dict[str, Any]:
    at = now()
    with request.app.state.store.session() as s:
        figures = case_stats(s, at)
        totals = petition_totals(s)
    rows = figures["rows"]
    unassigned = next((r for r in rows if r["department"] is None), None)
    return {
        "at": iso(at),
        "departments": [r for r in rows if r["department"] is not None],
        "unassigned": unassigned,
        "total": figures["total"],
        "petitions": totals,
    }


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
