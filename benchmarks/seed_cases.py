"""Fill a case store with N realistic cases for the case benchmarks.

    python -m benchmarks.seed_cases --url sqlite:///data/bench.db --n 100000

Texts are the real petitions of ../shared/datasets when present (else the bundled sample), each
reused with a varied opening (district, date) so the store holds N distinct petitions. Statuses,
overrides, returns, abstentions and reply times follow a plausible mix: about 65 % closed, 15 %
of confirmed routings overridden, 3 % returned (with the return recorded as a hard negative).
Rows go in with bulk inserts in batches; the database must be empty (a fresh file or schema).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta

from sqlalchemy import insert

from triage.store.clock import now
from triage.store.engine import Store
from triage.store.intake import default_due
from triage.store.models import Case, Reply, Routing

DISTRICTS = ["城南区", "城北区", "高新区", "临江新区", "东湖区", "西山县", "北岸镇", "开发区"]
TYPES = ["咨询", "求助", "投诉", "建议"]


def source_petitions() -> list[tuple[str, str, str]]:
    """(title, body, label) of real petitions when the shared data is there, else the sample."""
    from datasets import load_sample, shared_datasets_dir

    if shared_datasets_dir() is not None:
        from datasets import load_category_test, load_category_train

        rows = [(r["title"], r["body"], r["label"]) for r in load_category_test()]
        rows += [("", r["text"].replace(" ", ""), r["label"]) for r in load_category_train()]
        return rows
    return [(r["title"], r["body"], r["department"]) for r in load_sample()]


def source_replies() -> list[str]:
    """Official replies to reuse as closed cases' final replies (the bundled sample's)."""
    from datasets import load_sample

    return [r["reply"] for r in load_sample() if r.get("reply")]


def seed(url: str, n: int, seed_value: int = 0, batch: int = 5000, replies: bool = False) -> dict:
    """Insert `n` cases; with `replies`, each closed case also gets its sent reply (quality
    check ok), as the drafting history learns from them."""
    rng = random.Random(seed_value)
    reply_texts = source_replies() if replies else []
    petitions = source_petitions()
    labels = sorted({p[2] for p in petitions})
    store = Store(url)
    store.ensure_schema()
    start = time.perf_counter()
    today = now()
    counts = {"closed": 0, "assigned": 0, "new": 0, "returned": 0, "overridden": 0}
    cases: list[dict] = []
    routings: list[dict] = []  # the clerks' decisions: accept, override, return
    finals: list[dict] = []

    due_cache: dict = {}

    def due(received, request_type):
        key = (received.date(), request_type)  # the deadline depends on the day only
        if key not in due_cache:
            due_cache[key] = default_due(received, request_type)
        return due_cache[key]

    def flush() -> None:
        with store.session(write=True) as s:
            if cases:
                s.execute(insert(Case), cases)
            if routings:
                s.execute(insert(Routing), routings)
            if finals:
                s.execute(insert(Reply), finals)
        cases.clear()
        routings.clear()
        finals.clear()

    for i in range(n):
        title, body, label = petitions[i % len(petitions)]
        received = today - timedelta(minutes=rng.randint(0, 90 * 24 * 60))
        opening = f"{rng.choice(DISTRICTS)}居民，{received.month}月{received.day}日反映："
        request_type = rng.choice(TYPES)
        roll = rng.random()
        status = (
            "closed" if roll < 0.65 else "assigned" if roll < 0.85 else "new" if roll < 0.97 else "returned"
        )
        counts[status] += 1
        abstain = rng.random() < 0.1
        department, suggested, state, manual = label, label, "suggested", abstain
        if status in ("closed", "assigned"):
            state = "accepted"
            if rng.random() < 0.15:
                state = "overridden"
                suggested = rng.choice([x for x in labels if x != label] or labels)
                counts["overridden"] += 1
            # the explicit decision retraining learns from (a bare state is no label)
            routings.append(
                {
                    "case_id": i + 1,
                    "kind": "accept" if state == "accepted" else "override",
                    "label": label,
                    "department": label,
                    "details": {},
                    "reason": None if state == "accepted" else "职责归属",
                    "actor": "seed",
                    "created_at": received + timedelta(hours=1),
                }
            )
        elif status == "returned":
            department, manual, suggested = (
                None,
                True,
                rng.choice([x for x in labels if x != label] or labels),
            )
            routings.append(
                {
                    "case_id": i + 1,
                    "kind": "return",
                    "label": suggested,
                    "department": suggested,
                    "details": {},
                    "reason": "不属于本单位职责",
                    "created_at": received + timedelta(hours=5),
                }
            )
        closed_at = received + timedelta(hours=rng.uniform(2, 300)) if status == "closed" else None
        if closed_at is not None and closed_at > today:
            closed_at = today
        cases.append(
            {
                "id": i + 1,
                "external_id": f"bench-{i + 1}",
                "title": title,
                "body": opening + body,
                "channel": rng.choice(["网站", "12345热线", "微信"]),
                "received_at": received,
                "request_type": request_type,
                "status": status,
                "due_at": due(received, request_type),
                "label": suggested,
                "department": department,
                "suggested_department": suggested,
                "confidence": round(rng.uniform(0.3, 0.99), 4),
                "abstain": abstain,
                "manual_queue": manual,
                "routing_state": state,
                "model_version": "seed",
                "returns": 1 if status == "returned" else 0,
                "created_at": received,
                "updated_at": closed_at or received,
                "closed_at": closed_at,
                "version": 1,
            }
        )
        if closed_at is not None and reply_texts:
            finals.append(
                {
                    "case_id": i + 1,
                    "kind": "final",
                    "text": f"关于您{received.month}月{received.day}日反映的问题，答复如下："
                    + rng.choice(reply_texts),
                    "sources": [],
                    "qc": {"verdict": "ok", "score": 100, "flags": []},
                    "flagged": False,
                    "actor": "seed",
                    "created_at": closed_at,
                }
            )
        if len(cases) >= batch:
            flush()
    flush()
    if not store.is_sqlite:  # explicit ids: move the sequence past them for later inserts
        with store.session(write=True) as s:
            s.connection().exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"
            )
    if store.is_sqlite:
        with store.session(write=True) as s:
            s.connection().exec_driver_sql("ANALYZE")
    else:  # VACUUM cannot run in a transaction; it sets the visibility map autovacuum would set
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE cases")
    store.dispose()
    return {"cases": n, "seconds": round(time.perf_counter() - start, 1), "labels": len(labels), **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="database URL (an empty database)")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replies", action="store_true", help="closed cases get their sent reply")
    args = parser.parse_args()
    print(seed(args.url, args.n, args.seed, replies=args.replies))


if __name__ == "__main__":
    main()
