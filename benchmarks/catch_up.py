"""Catch-up lag between hosts (issue 17): a write on host A until host B serves it.

Two `triage serve` processes on two ports stand in for two hosts: one database (PostgreSQL at
TRIAGE_TEST_POSTGRES_URL, else a shared SQLite file), each its own models/cache folder, default
settings (`TRIAGE_MODEL_CHECK_SECONDS=1`). For each kind of write, the time from A's answer until
B's first answer that shows it, polled every 20 ms, over several rounds: a curated answer (listed
on B), a routing-table edit (B routes by it), a petition (B links a repeat of it as a duplicate), a
sent reply (B's /draft cites it), a model promotion (B serves the new version, fetched from the
shared artifact location and loaded). Prints p50/p99 and writes the section "catch-up" of
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.screenshots import free_port, store_key
from benchmarks.server import group_rss_mb, running_server
from training.bench import percentiles, table, write_section
from training.bundles import METADATA_FILE, POINTER_FILE

COMMAND = "python -m benchmarks.catch_up"
ROUNDS = 10
ROOT = Path(__file__).resolve().parent.parent


def database(folder: Path) -> tuple[str, Callable[[], None]]:
    base = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
    if not base:
        return f"sqlite:///{folder / 'shared.db'}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    from urllib.parse import quote

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", drop


def lag(write: Callable[[int], None], seen: Callable[[int], bool], rounds: int = ROUNDS) -> list[float]:
    out = []
    for n in range(rounds):
        write(n)
        started = time.perf_counter()
        while not seen(n):
            if time.perf_counter() - started > 30:
                raise RuntimeError("not served within 30 s")
            time.sleep(0.02)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    models = Path(os.environ.get("TRIAGE_MODELS_DIR", ROOT / "models")).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, drop = database(folder)
        try:
            hosts = []
            for name in ("a", "b"):
                copy = folder / f"models-{name}"
                shutil.copytree(models, copy, ignore=shutil.ignore_patterns("topics", "retrieval"))
                hosts.append(copy)
            second_bundle(hosts[0])
            admin = store_key(url, "admin", "bench")
            headers = {"Authorization": f"Bearer {admin}"}
            env = {"TRIAGE_ANSWERS_ENCODER": "none", "TRIAGE_ARTIFACTS": str(folder / "artifacts")}
            with (
                running_server(hosts[0], free_port(), extra_env=env, database_url=url) as (base_a, proc_a),
                running_server(hosts[1], free_port(), extra_env=env, database_url=url) as (base_b, proc_b),
            ):
                a = httpx.Client(base_url=base_a, headers=headers, timeout=30)
                b = httpx.Client(base_url=base_b, headers=headers, timeout=30)
                results = measure(a, b)
                memory = {"A": group_rss_mb(proc_a), "B": group_rss_mb(proc_b)}
        finally:
            drop()
    rows = [[what, ROUNDS, f"{p['p50']:.0f} ms", f"{p['p99']:.0f} ms"] for what, p in results.items()]
    body = table(["write on host A, served by host B", "rounds", "p50", "p99"], rows)
    body += (
        f"\n\nMemory per host after the rounds (resident, the server process with its listener, "
        f"`triage serve` defaults, no dense encoder): A {memory['A']:.0f} MB, B {memory['B']:.0f} MB."
    )
    pg = "postgresql" in url
    body += (
        "\n\nOn PostgreSQL every commit announces the tables it wrote (LISTEN/NOTIFY, "
        "`triage/store/changes.py`) and B's caches look again at their next use: the lag is the "
        "work of applying the change (for a promotion: fetching the bundle from the shared artifact "
        "location, checking its sha256, loading and warming it). The answers' p99 is their first round "
        "(B indexes its first answer); before the service loaded the word segmenter at start that round "
        "took 0.85-1.27 s. Without a notification the caches still poll every "
        "`TRIAGE_MODEL_CHECK_SECONDS` (default 1 s), the only way on SQLite; before the "
        "notifications the same run gave 792 / 1,002 / 974 ms p50 for a promotion, an answer and a "
        f"routing-table edit. Database: {'PostgreSQL' if pg else 'SQLite'}."
    )
    print(body)
    write_section("catch-up", "Catch-up lag between hosts (issue 17)", COMMAND, body)


def second_bundle(models: Path) -> None:
    """A second department bundle beside the live one (a copy under another version name), so the
    benchmark can promote back and forth; host A registers it in the store at start."""
    live = json.loads((models / POINTER_FILE).read_text(encoding="utf-8"))["live"]
    copy = models / f"{live}-copy"
    shutil.copytree(models / live, copy)
    metadata = json.loads((copy / METADATA_FILE).read_text(encoding="utf-8"))
    (copy / METADATA_FILE).write_text(json.dumps({**metadata, "version": copy.name}), encoding="utf-8")


def measure(a: httpx.Client, b: httpx.Client) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    listed = a.get("/models").json()
    versions = [next(m["version"] for m in listed["models"] if not m["live"]), listed["live"]]

    def promote(n: int) -> None:
        a.post(f"/admin/models/{versions[n % 2]}/promote", json={"force": True}).raise_for_status()

    def promotion_served(n: int) -> bool:
        return b.get("/health").json()["model"].get("version") == versions[n % 2]

    results["model promotion (served)"] = percentiles(lag(promote, promotion_served))

    def add_answer(n: int) -> None:
        r = a.post(
            "/answers",
            json={
                "id": f"bench-{n}",
                "department": "住建局",
                "question": f"测试问题{n}",
                "answer": f"答复内容第{n}条，详见规定。",
            },
        )
        r.raise_for_status()

    def answer_listed(n: int) -> bool:
        return b.get(f"/answers/bench-{n}").status_code == 200

    results["curated answer (listed)"] = percentiles(lag(add_answer, answer_listed))

    table_text = a.get("/admin/routing").json()["text"]

    def edit_table(n: int) -> None:
        days = 3 + (n % 2 + 1)
        r = a.put("/admin/routing", content=table_text.replace("  咨询: 3\n", f"  咨询: {days}\n").encode())
        r.raise_for_status()

    def table_served(n: int) -> bool:
        days = 3 + (n % 2 + 1)
        summary = b.get("/admin/routing").json()
        return summary["table"]["deadlines"].get("咨询") == days

    results["routing-table edit (served)"] = percentiles(lag(edit_table, table_served))

    def post_case(n: int) -> None:
        body = f"第{n}号楼下的垃圾已经堆了一个多星期没人清运，臭气熏天，蚊蝇成群，请环卫部门尽快处理。编号{n}"
        a.post(
            "/cases", json={"external_id": f"bench-a-{n}", "title": "垃圾堆积", "body": body}
        ).raise_for_status()

    def repeat_linked(n: int) -> bool:
        body = f"第{n}号楼下的垃圾已经堆了一个多星期没人清运，臭气熏天，蚊蝇成群，请环卫部门尽快处理。编号{n}"
        r = b.post("/duplicates/check", json={"title": "垃圾堆积", "body": body})
        return r.status_code == 200 and bool(r.json().get("matches"))

    results["petition (repeat linked)"] = percentiles(lag(post_case, repeat_linked))
    return results


if __name__ == "__main__":
    main()
