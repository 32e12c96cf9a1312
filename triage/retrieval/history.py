"""The automatic source: past petitions with their final replies, searchable as the history grows.

Records live in one SQLite file (transactional, so an interrupted add never leaves half a case),
with the jieba tokens kept beside each so that merging segments never re-tokenises. The BM25
main segment is saved in a numbered directory and a manifest naming the current one is replaced
atomically; a crash mid-merge leaves the previous segment in force. Departments and dates are
held as arrays for filtering; texts are read from SQLite only for the hits shown.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from triage.retrieval.encoders import Encoder
from triage.retrieval.fusion import reciprocal_rank_fusion
from triage.retrieval.sparse import SparseIndex, retrieval_tokens, top_k
from triage.retrieval.store import atomic_write_json, read_json

log = logging.getLogger(__name__)

_DATE = re.compile(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})")
NO_DATE = -1


def parse_day(value: str | date | None) -> int:
    """Days since 1970-01-01 of a date or timestamp string; NO_DATE when it has none."""
    if value is None or value == "":
        return NO_DATE
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days
    match = _DATE.search(str(value))
    if not match:
        return NO_DATE
    try:
        return (date(*(int(g) for g in match.groups())) - date(1970, 1, 1)).days
    except ValueError:
        return NO_DATE


@dataclass
class HistoryItem:
    """One answered petition to learn from."""

    id: str
    text: str
    reply: str
    department: str = ""
    date: str = ""
    tokens: list[str] | None = None  # pre-tokenised (by `retrieval_tokens`) when the caller has them


@dataclass
class HistoryHit:
    id: str
    score: float
    department: str
    date: str
    text: str
    reply: str
    position: int
    bm25: float = 0.0
    dense: float | None = None
    tokens: list[str] = field(default_factory=list)


@dataclass
class AddReport:
    added: int = 0
    duplicates: list[str] = field(default_factory=list)
    empty: int = 0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    pos INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    department TEXT NOT NULL,
    day TEXT NOT NULL,
    text TEXT NOT NULL,
    reply TEXT NOT NULL,
    tokens TEXT NOT NULL,
    embedding BLOB
)
"""


class HistoryIndex:
    """Past cases under `directory`, loaded once; `add` appends without a full rebuild."""

    def __init__(self, directory: str | Path, encoder: Encoder | None = None, merge_min: int = 2000):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.encoder = encoder
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.directory / "history.sqlite", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()
        self._sparse = SparseIndex(merge_min=merge_min)
        self._departments: dict[str, int] = {}
        self._dept = np.zeros(0, dtype=np.int32)
        self._day = np.zeros(0, dtype=np.int32)
        self._dense: np.ndarray | None = None
        self._load()

    # --- loading -------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.directory / "manifest.json"

    def _load(self) -> None:
        manifest = read_json(self.manifest_path) or {}
        rows = self._db.execute("SELECT department, day FROM cases ORDER BY pos").fetchall()
        self._dept = np.fromiter((self._dept_code(d) for d, _ in rows), dtype=np.int32, count=len(rows))
        self._day = np.fromiter((parse_day(d) for _, d in rows), dtype=np.int32, count=len(rows))
        main_size = int(manifest.get("main_size", 0))
        segment = self.directory / str(manifest.get("segment", ""))
        if main_size and segment.is_dir() and main_size <= len(rows):
            self._sparse.load_main(segment, manifest)
        else:
            main_size = 0
            self._sparse.build([])
        delta = self._db.execute(
            "SELECT tokens FROM cases WHERE pos >= ? ORDER BY pos", (main_size,)
        ).fetchall()
        self._sparse.add([t.split(" ") if t else [] for (t,) in delta])
        if self._sparse.needs_merge():
            self._merge()
        self._load_dense(manifest)

    def _load_dense(self, manifest: dict) -> None:
        self._dense = None
        if self.encoder is None:
            return
        stored = manifest.get("encoder")
        if stored and stored != self.encoder.name:
            log.warning(
                "history embeddings were made with %s, not %s: dense history search is off "
                "(re-index the history into an empty store to embed it with the new model)",
                stored,
                self.encoder.name,
            )
            return
        rows = self._db.execute("SELECT embedding FROM cases ORDER BY pos").fetchall()
        if rows and any(e is None for (e,) in rows):
            log.warning(
                "some history cases have no embedding (indexed with dense history off): dense history "
                "search stays off; re-index into an empty store to embed them"
            )
            return
        self._dense = np.vstack([np.frombuffer(e, dtype=np.float32) for (e,) in rows]) if rows else None

    def _dept_code(self, name: str) -> int:
        return self._departments.setdefault(name, len(self._departments))

    # --- adding --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._sparse)

    def add_history(
        self, items: Iterable[HistoryItem], batch: int = 5000, defer_merge: bool = False
    ) -> AddReport:
        """Append answered cases (duplicates by id and cases without text or reply are counted, not added).

        A bulk import passes `defer_merge=True` and calls `compact()` once at the end, instead of
        rebuilding the main segment every time the delta outgrows its bound.
        """
        report = AddReport()
        chunk: list[HistoryItem] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= batch:
                self._add_chunk(chunk, report, defer_merge)
                chunk = []
        if chunk:
            self._add_chunk(chunk, report, defer_merge)
        return report

    def _add_chunk(self, items: list[HistoryItem], report: AddReport, defer_merge: bool = False) -> None:
        with self._lock:
            known = {
                r[0]
                for r in self._db.execute(
                    f"SELECT id FROM cases WHERE id IN ({','.join('?' * len(items))})", [i.id for i in items]
                )
            }
            fresh: list[HistoryItem] = []
            for item in items:
                if not item.text.strip() or not item.reply.strip():
                    report.empty += 1
                elif item.id in known:
                    report.duplicates.append(item.id)
                else:
                    known.add(item.id)
                    fresh.append(item)
            if not fresh:
                return
            tokens = [i.tokens if i.tokens is not None else retrieval_tokens(i.text) for i in fresh]
            vectors = self.encoder.encode_passages([i.text for i in fresh]) if self._dense_on() else None
            start = len(self)
            self._db.executemany(
                "INSERT INTO cases (pos, id, department, day, text, reply, tokens, embedding) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        start + n,
                        i.id,
                        i.department,
                        i.date,
                        i.text,
                        i.reply,
                        " ".join(t),
                        None if vectors is None else vectors[n].astype(np.float32).tobytes(),
                    )
                    for n, (i, t) in enumerate(zip(fresh, tokens, strict=True))
                ],
            )
            self._db.commit()
            self._sparse.add(tokens)
            self._dept = np.concatenate([self._dept, [self._dept_code(i.department) for i in fresh]]).astype(
                np.int32
            )
            self._day = np.concatenate([self._day, [parse_day(i.date) for i in fresh]]).astype(np.int32)
            if vectors is not None:
                self._dense = vectors if self._dense is None else np.vstack([self._dense, vectors])
                if not (read_json(self.manifest_path) or {}).get("encoder"):
                    self._write_manifest(read_json(self.manifest_path) or {})
            report.added += len(fresh)
            if not defer_merge and self._sparse.needs_merge():
                self._merge()

    def _dense_on(self) -> bool:
        """Dense history needs an encoder and every stored case embedded by that same encoder."""
        return self.encoder is not None and (self._dense is not None or len(self) == 0)

    def _merge(self) -> None:
        """Rebuild the main segment from the stored tokens and switch to it atomically."""
        tokens = [
            t.split(" ") if t else [] for (t,) in self._db.execute("SELECT tokens FROM cases ORDER BY pos")
        ]
        self._sparse.build(tokens)
        old = read_json(self.manifest_path) or {}
        generation = int(old.get("generation", 0)) + 1
        segment = f"bm25-{generation:06d}"
        tmp = self.directory / f".{segment}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        info = self._sparse.save_main(tmp)
        tmp.rename(self.directory / segment)
        self._write_manifest({**old, **info, "generation": generation, "segment": segment})
        for stale in self.directory.glob("bm25-*"):
            if stale.name != segment:
                shutil.rmtree(stale, ignore_errors=True)

    def _write_manifest(self, manifest: dict) -> None:
        if self._dense is not None and self.encoder is not None:
            manifest["encoder"] = self.encoder.name
        atomic_write_json(self.manifest_path, manifest)

    def compact(self) -> None:
        """Merge the delta into the main segment now (after a bulk import)."""
        with self._lock:
            if len(self._sparse) > self._sparse.main_size:
                self._merge()

    # --- searching -----------------------------------------------------------------------

    def _mask(self, department: str | None, since: date | None, until: date | None) -> np.ndarray | None:
        if department is None and since is None and until is None:
            return None
        mask = np.ones(len(self), dtype=bool)
        if department is not None:
            code = self._departments.get(department)
            if code is None:
                return np.zeros(len(self), dtype=bool)
            mask &= self._dept[: len(mask)] == code
        if since is not None:
            mask &= self._day[: len(mask)] >= parse_day(since)
        if until is not None:
            mask &= (self._day[: len(mask)] <= parse_day(until)) & (self._day[: len(mask)] != NO_DATE)
        return mask

    def search(
        self,
        text: str,
        k: int = 5,
        department: str | None = None,
        since: date | None = None,
        until: date | None = None,
        exclude_ids: set[str] | None = None,
        tokens: list[str] | None = None,
    ) -> list[HistoryHit]:
        """The `k` most similar past cases: BM25, fused with dense similarity when embeddings exist.

        `tokens` are the query's `retrieval_tokens` when the caller has them already.
        """
        with self._lock:
            n = len(self)
            if not n:
                return []
            mask = self._mask(department, since, until)
            depth = max(k * 4, 20)
            sparse_scores = self._sparse.scores(tokens if tokens is not None else retrieval_tokens(text))
            if mask is not None:
                sparse_scores = np.where(mask, sparse_scores, 0.0)
            sparse_top = top_k(sparse_scores, depth)
            dense_scores = None
            rankings = [[p for p, _ in sparse_top]]
            if self._dense is not None and self.encoder is not None and len(self._dense) == n:
                q = self.encoder.encode_queries([text])[0]
                dense_scores = self._dense @ q
                masked = dense_scores if mask is None else np.where(mask, dense_scores, -np.inf)
                order = np.argsort(-masked)[:depth]
                rankings.append([int(p) for p in order if np.isfinite(masked[p])])
            fused = reciprocal_rank_fusion(rankings) if len(rankings) > 1 else [(p, s) for p, s in sparse_top]
            hits = []
            for position, score in fused:
                if len(hits) >= k:
                    break
                row = self._db.execute(
                    "SELECT id, department, day, text, reply, tokens FROM cases WHERE pos = ?",
                    (int(position),),
                ).fetchone()
                if row is None or (exclude_ids and row[0] in exclude_ids):
                    continue
                hits.append(
                    HistoryHit(
                        id=row[0],
                        score=float(score),
                        department=row[1],
                        date=row[2],
                        text=row[3],
                        reply=row[4],
                        position=int(position),
                        bm25=float(sparse_scores[position]),
                        dense=None if dense_scores is None else float(dense_scores[position]),
                        tokens=row[5].split(" ") if row[5] else [],
                    )
                )
            return hits

    def close(self) -> None:
        self._db.close()
