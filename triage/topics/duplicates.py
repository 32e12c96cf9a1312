"""Near-duplicate petitions: MinHash signatures in an LSH index, checked on arrival.

A repost is the same text give or take a greeting, some punctuation or an added sentence, so
the Jaccard similarity of character 3-gram sets is what decides; LSH finds the few candidates
worth comparing without scanning the store, which keeps a check in milliseconds at 100,000
petitions. Signatures (not texts) are kept, so the index holds no personal data beyond ids.
"""

from __future__ import annotations

import gc
import io
import json
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from datasketch import MinHashLSH

from triage.atomic import write_atomic
from triage.localtime import now as local_now
from triage.topics import shingles
from triage.topics.times import to_local

DEFAULT_THRESHOLD = 0.5
# LSH finds candidates down to about this Jaccard similarity. Banded for 0.5 itself, it handed over
# a repost at a true 0.55 only 72 % of the time (25 bands of 5 rows); banded for 0.3 (37 bands of 3)
# it hands over 97 % at 0.45 and 99.9 % at 0.55, and the decision below is made on the estimate.
CANDIDATE_THRESHOLD = 0.3
# A shortened repost (a sentence or two dropped) has a low Jaccard similarity for being short, yet
# nearly all of its 3-grams are in the original: it counts when this share of the shorter text's
# 3-grams is estimated to be in the other, the shorter has at least MIN_CONTAINED 3-grams (a line
# such as "小区停车难" is inside many petitions without repeating any), and Jaccard is at least
# CONTAINED_FLOOR.
CONTAINMENT = 0.85
MIN_CONTAINED = 30
CONTAINED_FLOOR = 0.3
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Match:
    case_id: str
    similarity: float
    received_at: datetime | None = None


class DuplicateIndex:
    """Incremental add / query / remove over petitions, persisted as one .npz file.

    `threshold` is the estimated Jaccard similarity of 3-gram sets at and above which two
    petitions count as the same text; 0.5 keeps reposts with a changed title or an added
    paragraph and rejects two people describing one problem in their own words (that is a
    topic, see `TopicModel`). A shortened repost counts too (`CONTAINMENT`), which needs each
    petition's number of 3-grams: the index keeps it beside the signature.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, num_perm: int = shingles.NUM_PERM):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.candidates = min(threshold, CANDIDATE_THRESHOLD)
        self._lsh = MinHashLSH(threshold=self.candidates, num_perm=num_perm)
        self._row: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._hv: list[np.ndarray | None] = []
        self._sizes: list[int] = []  # 3-grams of each petition; 0: unknown (an index saved before)
        self._times: list[datetime | None] = []

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._row

    def add(self, case_id: str, text: str, received_at: datetime | None = None) -> None:
        """Index a petition; adding an id again replaces its text (an edited case)."""
        case_id = str(case_id)
        m, size = self._signature(text)
        if case_id in self._row:
            self.remove(case_id)
        self._insert(case_id, m.hashvalues, size, None if received_at is None else to_local(received_at), m)

    def query(
        self, text: str, received_at: datetime | None = None, within_days: int | None = None
    ) -> list[Match]:
        """Indexed petitions at or above the threshold, most similar first (earliest on ties).

        With `within_days`, only petitions received at most that many days before or after
        `received_at` (default: now) count; petitions indexed without a time always count,
        since nothing says they are old.
        """
        try:
            m, size = self._signature(text)
        except ValueError:
            return []
        hv = m.hashvalues
        if within_days is not None:
            centre = to_local(received_at) if received_at is not None else local_now()
            window = timedelta(days=within_days)
        out = []
        for case_id in self._lsh.query(m):
            row = self._row[case_id]
            when = self._times[row]
            if within_days is not None and when is not None and abs(when - centre) > window:
                continue
            similarity = float(np.count_nonzero(self._hv[row] == hv)) / len(hv)
            if similarity >= self.threshold or self._shortened_repost(similarity, size, self._sizes[row]):
                out.append(Match(case_id, round(similarity, 4), when))
        out.sort(key=lambda x: (-x.similarity, x.received_at or datetime.max, x.case_id))
        return out

    def _shortened_repost(self, similarity: float, size: int, other: int) -> bool:
        """Whether one text is (estimated) nearly all inside the other: |A∩B| = J·(|A|+|B|)/(1+J)."""
        shorter = min(size, other)
        if similarity < CONTAINED_FLOOR or shorter < MIN_CONTAINED:  # unknown sizes are 0
            return False
        shared = similarity * (size + other) / (1.0 + similarity)
        return shared / shorter >= CONTAINMENT

    def remove(self, case_id: str) -> None:
        """Forget a petition (withdrawn, merged, deleted); KeyError if it was never added."""
        case_id = str(case_id)
        row = self._row.pop(case_id)
        self._lsh.remove(case_id)
        self._ids[row] = self._hv[row] = self._times[row] = None
        self._sizes[row] = 0

    # --- persistence -------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """One .npz: signatures, ids, times, and the LSH tables pickled.

        The tables could be rebuilt from the signatures, but that takes minutes at 100,000
        petitions on a busy machine against seconds to unpickle; the pickle is only ever read
        from our own models directory (as the model bundles are), and if it cannot be read the
        tables are rebuilt from the signatures.
        """
        rows = [r for r in range(len(self._ids)) if self._ids[r] is not None]
        hv = np.stack([self._hv[r] for r in rows]) if rows else np.zeros((0, self.num_perm), np.uint32)
        sizes = np.array([self._sizes[r] for r in rows], dtype=np.int32)
        times = np.array(
            [np.datetime64(self._times[r], "s") if self._times[r] else np.datetime64("NaT") for r in rows],
            dtype="datetime64[s]",
        )
        meta = {
            "format": FORMAT_VERSION,
            "threshold": self.threshold,
            "candidates": self.candidates,
            "num_perm": self.num_perm,
            "seed": shingles.SEED,
        }
        ids = np.array([self._ids[r] for r in rows], dtype=str)

        with _no_gc():
            lsh = np.frombuffer(pickle.dumps(self._lsh, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)

        def write(fh):
            buf = io.BytesIO()
            np.savez(
                buf,
                hashvalues=hv,
                sizes=sizes,
                ids=ids,
                times=times,
                meta=np.array(json.dumps(meta)),
                lsh=lsh,
            )
            fh.write(buf.getvalue())

        write_atomic(path, write)

    @classmethod
    def load(cls, path: str | Path) -> DuplicateIndex:
        with np.load(Path(path), allow_pickle=False) as data, _no_gc():
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT_VERSION or meta.get("seed") != shingles.SEED:
                raise ValueError(f"{path}: duplicate index written by an incompatible version ({meta})")
            index = cls(threshold=meta["threshold"], num_perm=meta["num_perm"])
            hv, ids, times = data["hashvalues"], data["ids"].tolist(), data["times"]
            # an index saved before sizes were kept knows no sizes (0): its cases are matched by
            # Jaccard alone (intake looks 30 days back, so within a month every case it compares
            # with was added since, with its size; deleting the folder rebuilds all from the store)
            sizes = data["sizes"] if "sizes" in data.files else np.zeros(len(ids), dtype=np.int32)
            # tables banded for other candidates (an index saved before) are rebuilt, not used
            same_bands = meta.get("candidates", meta["threshold"]) == index.candidates
            lsh = _unpickle_lsh(data["lsh"].tobytes()) if "lsh" in data.files and same_bands else None
            if lsh is not None and len(lsh.keys) == len(ids):
                index._lsh = lsh
                for case_id, values, size, when in zip(ids, hv, sizes, times, strict=True):
                    index._append(
                        case_id, values, int(size), None if np.isnat(when) else when.astype(datetime)
                    )
                return index
            with index._lsh.insertion_session() as session:
                for case_id, values, size, when in zip(ids, hv, sizes, times, strict=True):
                    when = None if np.isnat(when) else when.astype(datetime)
                    m = shingles.from_hashvalues(values)
                    index._insert(case_id, m.hashvalues, int(size), when, m, session)
        return index

    # --- internals ---------------------------------------------------------------------------

    def _signature(self, text: str):
        """The text's MinHash and its number of distinct 3-grams."""
        grams = shingles.shingles(text or "")
        if not grams:
            raise ValueError("petition text is empty: nothing to compare")
        return shingles.minhash_of(grams, num_perm=self.num_perm), len(grams)

    def _insert(self, case_id, hv, size, when, m, session=None) -> None:
        (session or self._lsh).insert(case_id, m, check_duplication=False)
        self._append(case_id, hv, size, when)

    def _append(self, case_id, hv, size, when) -> None:
        self._row[case_id] = len(self._ids)
        self._ids.append(case_id)
        self._hv.append(np.asarray(hv, dtype=np.uint32))
        self._sizes.append(size)
        self._times.append(when)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic collector while millions of small containers are built or dumped: it
    would otherwise re-scan all of them again and again (10× slower loads), and none of them
    can be garbage."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _unpickle_lsh(data: bytes) -> MinHashLSH | None:
    try:
        lsh = pickle.loads(data)  # our own file, see DuplicateIndex.save
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError, ValueError):
        return None
    return lsh if isinstance(lsh, MinHashLSH) else None
