"""The automatic source: past petitions with their final replies, searchable as the history grows.

Records live in one SQLite file (transactional, so an interrupted add never leaves half a case),
with the jieba tokens kept beside each so that merging segments never re-tokenises. The BM25
main segment is saved in a numbered directory and a manifest naming the current one is replaced
atomically; a crash mid-merge leaves the previous segment in force. Departments and dates are
held as arrays for filtering; texts are read from SQLite only for the hits shown.

Several processes (the workers of `triage serve --workers N`, the CLI) may open one directory.
Writes (adds, merges) take an exclusive `flock` on `history.lock` and first read the rows other
processes appended, so positions never collide and no addition is lost. Readers notice others'
additions through SQLite's `PRAGMA data_version` (it changes when another connection commits)
and a merge through the manifest's inode/mtime, checked at most every `check_seconds` when a
search runs; only the rows past those already in memory are read (the delta), never a rebuild.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    # how alike the two petitions are: the rarity-weighted share of words they have in common
    # (Dice over IDF mass, 0-1); 1 is the same petition, unrelated ones stay under ~0.1
    overlap: float = 0.0
    # the rarity-weighted share of the query's words that the past petition has (0-1)
    coverage: float = 0.0


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
    """Past cases under `directory`, loaded once; `add` appends without a full rebuild.

    Additions made by other processes over the same directory are picked up within
    `check_seconds` of the next search (0: on every search).
    """

    def __init__(
        self,
        directory: str | Path,
        encoder: Encoder | None = None,
        merge_min: int = 2000,
        check_seconds: float = 1.0,
    ):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.encoder = encoder
        self.check_seconds = check_seconds
        self._lock = threading.RLock()
        # flock (not lockf): locks belong to the open file, so two instances in one process exclude
        # each other too; the RLock above serialises this instance's threads.
        self._lock_fd = os.open(self.directory / "history.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._db = sqlite3.connect(self.directory / "history.sqlite", check_same_thread=False, timeout=30)
        with self._file_lock(exclusive=True):
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        self._sparse = SparseIndex(merge_min=merge_min)
        self._departments: dict[str, int] = {}
        self._dept = np.zeros(0, dtype=np.int32)
        self._day = np.zeros(0, dtype=np.int32)
        self._dense: np.ndarray | None = None
        self._data_version = -1
        self._manifest_stamp: tuple[int, int] | None = None
        self._checked_at = time.monotonic()
        with self._lock, self._file_lock(exclusive=True):
            self._load()
            self._remember_stamps()

    # --- sharing the directory with other processes ----------------------------------------

    @contextmanager
    def _file_lock(self, exclusive: bool, wait: bool = True) -> Iterator[bool]:
        """Exclusive for writers (adds, merges), shared for readers catching up on others' adds.

        With `wait=False` it yields False at once instead of waiting for a writer, so a search
        never waits for another process's (possibly long, bulk) import.
        """
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self._lock_fd, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _stamps(self) -> tuple[int, tuple[int, int] | None]:
        """(SQLite's data_version, the manifest's inode and mtime): cheap, checked every few seconds."""
        version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        try:
            st = os.stat(self.manifest_path)
            manifest = (st.st_ino, st.st_mtime_ns)
        except FileNotFoundError:
            manifest = None
        return version, manifest

    def _remember_stamps(self) -> None:
        self._data_version, self._manifest_stamp = self._stamps()
        self._checked_at = time.monotonic()

    def refresh(self, wait: bool = True) -> int:
        """Read what other processes added since the last look; returns how many cases were new.

        `wait=False` (searches) skips the refresh while another process is writing; the next
        check retries it.
        """
        with self._lock:
            self._checked_at = time.monotonic()
            if self._stamps() == (self._data_version, self._manifest_stamp):
                return 0
            before = len(self)
            with self._file_lock(exclusive=False, wait=wait) as locked:
                if locked:
                    self._catch_up()
                    self._remember_stamps()
            return len(self) - before

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._checked_at >= self.check_seconds:
            self.refresh(wait=False)

    def _catch_up(self) -> None:
        """Append the rows past those in memory; adopt a main segment another process merged.

        The caller holds `_lock` and a file lock, so no writer changes the store meanwhile.
        """
        old_n = len(self)
        rows = self._db.execute(
            "SELECT department, day, embedding FROM cases WHERE pos >= ? ORDER BY pos", (old_n,)
        ).fetchall()
        manifest = read_json(self.manifest_path) or {}
        main_size = int(manifest.get("main_size", 0))
        segment = self.directory / str(manifest.get("segment", ""))
        if main_size > self._sparse.main_size and main_size <= old_n + len(rows) and segment.is_dir():
            self._sparse.load_main(segment, manifest)  # mmap'd: cheap, and frees our own delta
            start = main_size
        else:
            start = old_n
        if not rows and start == old_n:
            return
        delta = self._db.execute("SELECT tokens FROM cases WHERE pos >= ? ORDER BY pos", (start,)).fetchall()
        self._sparse.add([t.split(" ") if t else [] for (t,) in delta])
        self._dept = np.concatenate([self._dept, [self._dept_code(d) for d, _, _ in rows]]).astype(np.int32)
        self._day = np.concatenate([self._day, [parse_day(d) for _, d, _ in rows]]).astype(np.int32)
        if self.encoder is None or not rows:
            return
        if self._dense is None:
            if old_n == 0:
                self._load_dense(manifest)
        elif any(e is None for _, _, e in rows):
            log.warning("another process added history cases without embeddings: dense history search is off")
            self._dense = None
        else:
            added = np.vstack([np.frombuffer(e, dtype=np.float32) for _, _, e in rows])
            self._dense = np.vstack([self._dense, added])

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
        with self._lock, self._file_lock(exclusive=True):
            self._catch_up()  # rows other processes added take their positions first
            try:
                self._add_fresh(items, report, defer_merge)
            finally:
                self._remember_stamps()

    def _add_fresh(self, items: list[HistoryItem], report: AddReport, defer_merge: bool) -> None:
        """Insert the new, non-empty items at the end (caller holds both locks and has caught up)."""
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

    def compact(self, only_if_large: bool = False) -> None:
        """Merge the delta into the main segment now (after a bulk import); with `only_if_large`,
        only when the delta has outgrown its bound (a few cases stay in the delta: merging a
        million-case main for them would take minutes)."""
        with self._lock, self._file_lock(exclusive=True):
            self._catch_up()
            wanted = (
                self._sparse.needs_merge() if only_if_large else len(self._sparse) > self._sparse.main_size
            )
            if wanted:
                self._merge()
            self._remember_stamps()

    # --- searching -----------------------------------------------------------------------

    def stored_items(self, exclude_prefix: str | None = None) -> list[HistoryItem]:
        """Every case held, with its tokens, in insertion order (optionally without ids that start
        with `exclude_prefix`): what an older installation had imported, for the store."""
        with self._lock:
            rows = self._db.execute("SELECT id, department, day, text, reply, tokens FROM cases ORDER BY pos")
            return [
                HistoryItem(
                    id=i, text=t, reply=r, department=d, date=day, tokens=tok.split(" ") if tok else []
                )
                for i, d, day, t, r, tok in rows.fetchall()
                if not (exclude_prefix and i.startswith(exclude_prefix))
            ]

    def recent_cases(self, department: str | None, limit: int) -> list[tuple[str, str]]:
        """The newest `limit` (petition, reply) pairs (of one department, or of all): what a house
        style is mined from."""
        with self._lock:
            if department is None:
                rows = self._db.execute("SELECT text, reply FROM cases ORDER BY pos DESC LIMIT ?", (limit,))
            else:
                rows = self._db.execute(
                    "SELECT text, reply FROM cases WHERE department = ? ORDER BY pos DESC LIMIT ?",
                    (department, limit),
                )
            return [(text, reply) for text, reply in rows.fetchall()]

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
            self._maybe_refresh()
            n = len(self)
            if not n:
                return []
            mask = self._mask(department, since, until)
            depth = max(k * 4, 20)
            query_tokens = tokens if tokens is not None else retrieval_tokens(text)
            sparse_scores = self._sparse.scores(query_tokens)
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
            for hit in hits:
                hit.overlap, hit.coverage = self._likeness(query_tokens, hit.tokens)
            return hits

    def _likeness(self, query: list[str], other: list[str]) -> tuple[float, float]:
        """(overlap, coverage) of two petitions' words, each word weighted by its rarity."""
        mine, theirs = set(query), set(other)
        idf = self._sparse.idf(mine | theirs)
        both = sum(idf[t] for t in mine & theirs)
        own = sum(idf[t] for t in mine)
        total = own + sum(idf[t] for t in theirs)
        return (2 * both / total if total else 0.0), (both / own if own else 0.0)

    def close(self) -> None:
        self._db.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
