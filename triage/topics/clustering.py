"""Hot topics: petitions about one problem in one place, grouped as they arrive.

Single-pass (leader) clustering: each petition joins the most similar topic that is still
active (a member within `active_days` before it), or starts a new topic. Petitions already
grouped are not revisited, so adding a day of petitions costs that day's petitions only. Leader
clustering splits a problem whose first petitions happen to be worded apart, so after each batch
the topics it touched are compared with their neighbours and merged when their centroids agree;
the older id survives and the other resolves to it (`resolve`), so links stay valid. The price
of working online is order dependence: petitions are added in time order (a batch is sorted
first), the order in which staff would have seen them.

Similarity is the cosine between the petition's TF-IDF vector (see `terms`) and the topic's
centroid. Named places count as features, and a petition that names a specific estate,
school, company or road which the topic never mentions needs a much higher similarity to
join: the same complaint about a different estate is a different problem.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from triage.atomic import write_atomic
from triage.localtime import now as local_now
from triage.text import normalize
from triage.topics import heat as heat_mod
from triage.topics.entities import SPECIFICITY, Entity, extract_entities
from triage.topics.terms import TermStats, grams
from triage.topics.times import parse_time

FORMAT_VERSION = 1
SPECIFIC_KINDS = ("estate", "school", "company", "road")
BODY_CHARS = 400
MERGE_MIN_SHARED = 3
BEST_MIN_SHARED = 2  # the place and the problem are stated early; long tails add noise and time


@dataclass
class Topic:
    """One topic as shown to staff, restricted to the requested window."""

    id: str
    title: str
    place: str
    entities: list[str]
    first_time: datetime
    last_time: datetime
    count: int
    supporters: int
    heat: float
    growth: int
    daily: list[dict]
    members: list[str]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["first_time"] = self.first_time.isoformat(sep=" ")
        out["last_time"] = self.last_time.isoformat(sep=" ")
        return out


@dataclass
class _Member:
    id: str
    time: datetime
    likes: int
    title: str


@dataclass
class _State:
    id: str
    centroid: dict[str, float] = field(default_factory=dict)
    norm: float = 0.0
    members: list[_Member] = field(default_factory=list)
    entities: Counter = field(default_factory=Counter)  # "kind:name" → members naming it

    @property
    def last_time(self) -> datetime:
        return self.members[-1].time


class TopicModel:
    """Incremental topic grouping; `add` new petitions, ask `topics(since, until)`.

    Items are mappings with id, title, body, received_at and optionally likes (点赞).
    """

    def __init__(
        self,
        threshold: float = 0.25,
        strict_threshold: float = 0.8,
        merge_threshold: float = 0.4,
        active_days: int = 30,
        max_centroid_terms: int = 200,
    ):
        self.threshold = threshold
        self.merge_threshold = merge_threshold
        self.strict_threshold = strict_threshold
        self.active_days = active_days
        self.max_centroid_terms = max_centroid_terms
        self.stats = TermStats()
        self._topics: dict[str, _State] = {}
        self._topic_of: dict[str, str] = {}
        self._postings: dict[str, list[str]] = defaultdict(list)
        self._alias: dict[str, str] = {}
        self._next = 1

    def __len__(self) -> int:
        return len(self._topics)

    def case_count(self) -> int:
        """How many petitions the model has grouped."""
        return len(self._topic_of)

    def topic_of(self, case_id: str) -> str | None:
        return self._topic_of.get(str(case_id))

    def resolve(self, topic_id: str) -> str | None:
        """The current id of a topic, following merges; None for an unknown id."""
        seen = 0
        while topic_id in self._alias and seen < 1000:
            topic_id, seen = self._alias[topic_id], seen + 1
        return topic_id if topic_id in self._topics else None

    # --- adding ------------------------------------------------------------------------------

    def add(self, items: Iterable[Mapping]) -> list[str]:
        """Group new petitions; returns each item's topic id in input order.

        An id already grouped keeps its topic (re-sending a day is harmless). Items are
        processed in time order whatever order they come in. Every item is checked before any
        is added, so a bad item leaves the model as it was.
        """
        prepared = []
        for pos, item in enumerate(items):
            case_id = str(item.get("id", "")).strip()
            if not case_id:
                raise ValueError(f"item {pos}: id is empty")
            try:
                when = parse_time(item.get("received_at"))
            except ValueError as exc:
                raise ValueError(f"item {case_id}: received_at: {exc}") from None
            if when is None:
                raise ValueError(f"item {case_id}: received_at is missing; topics need a time")
            likes = item.get("likes")
            try:
                likes = int(float(likes)) if likes not in (None, "") else 0
            except (TypeError, ValueError):
                raise ValueError(f"item {case_id}: likes is not a number: {likes!r}") from None
            title_n, body_n = normalize(item.get("title") or ""), normalize(item.get("body") or "")
            if not (title_n or body_n):
                raise ValueError(f"item {case_id}: title and body are both empty")
            prepared.append((when, pos, case_id, (title_n, body_n, (item.get("title") or "").strip()), likes))
        prepared.sort(key=lambda x: (x[0], x[1]))
        result: dict[int, str] = {}
        touched: set[str] = set()
        for when, pos, case_id, item, likes in prepared:
            if case_id not in self._topic_of:
                touched.add(self._add_one(case_id, when, likes, *item))
            result[pos] = case_id
        for topic_id in sorted(touched):
            self._merge_similar(topic_id)
        return [self._topic_of[result[i]] for i in range(len(prepared))]

    def _add_one(
        self, case_id: str, when: datetime, likes: int, title_n: str, body_n: str, title: str
    ) -> str:
        body_n = body_n[:BODY_CHARS]
        entities = extract_entities(f"{title_n}。{body_n}", normalized=True)
        title_grams, body_grams = grams(title_n), grams(body_n)
        features = set(title_grams) | set(body_grams) | {"@" + e.name for e in entities}
        self.stats.observe(features)
        vec = self.stats.vector(title_grams, body_grams, entities)
        specific = {e.name for e in entities if e.kind in SPECIFIC_KINDS}
        topic = self._best_topic(vec, specific, when)
        if topic is None:
            topic = _State(id=f"T{self._next:06d}")
            self._next += 1
            self._topics[topic.id] = topic
        self._join(topic, vec, entities, _Member(case_id, when, likes, title or body_n[:40]))
        self._topic_of[case_id] = topic.id
        return topic.id

    def _best_topic(self, vec: dict[str, float], specific: set[str], when: datetime) -> _State | None:
        horizon = when - timedelta(days=self.active_days)
        probes = sorted(vec, key=vec.get, reverse=True)[:12]
        hits = Counter(t for f in probes for t in set(self._postings.get(f, ())[-300:]))
        # a topic about the same problem shares several of the petition's heaviest terms; the
        # exact cosine is computed only for those (it was 80 % of the time of grouping)
        best, best_score = None, 0.0
        items = list(vec.items())
        for topic_id, n in sorted(hits.items()):  # sorted: ties never depend on hash order
            if n < BEST_MIN_SHARED or topic_id not in self._topics:
                continue
            topic = self._topics[topic_id]
            if topic.last_time < horizon:
                continue
            centroid = topic.centroid
            score = sum(w * centroid.get(f, 0.0) for f, w in items) / (topic.norm or 1.0)
            if score < self.threshold or score <= best_score:
                continue
            if score < self.strict_threshold and not _same_place(specific, _specific(topic.entities)):
                continue
            best, best_score = topic, score
        return best

    def _join(self, topic: _State, vec: dict[str, float], entities: list[Entity], member: _Member) -> None:
        for f, w in vec.items():
            topic.centroid[f] = topic.centroid.get(f, 0.0) + w
        if len(topic.centroid) > self.max_centroid_terms:
            keep = sorted(topic.centroid.items(), key=lambda kv: kv[1], reverse=True)[
                : self.max_centroid_terms
            ]
            topic.centroid = dict(keep)
        topic.norm = math.sqrt(sum(v * v for v in topic.centroid.values()))
        topic.entities.update({f"{e.kind}:{e.name}" for e in entities})
        # keep members in time order even when a late item arrives out of order
        if topic.members and member.time < topic.members[-1].time:
            topic.members.append(member)
            topic.members.sort(key=lambda m: m.time)
        else:
            topic.members.append(member)
        for feature in sorted(vec, key=vec.get, reverse=True)[:12]:
            posting = self._postings[feature]
            if not posting or posting[-1] != topic.id:
                posting.append(topic.id)

    def _merge_similar(self, topic_id: str) -> None:
        """Fold together topics that grew into one problem (leader clustering splits early).

        Two centroids are compared, which averages away each petition's own wording, so the
        bar is a cosine of `merge_threshold`. Only topics touched by this batch are checked:
        the cost follows the new petitions, not the history. The older id survives.
        """
        topic_id = self.resolve(topic_id)
        if topic_id is None:
            return
        topic = self._topics[topic_id]
        horizon = topic.members[0].time - timedelta(days=self.active_days)
        probes = sorted(topic.centroid, key=topic.centroid.get, reverse=True)[:12]
        hits = Counter(
            other for f in probes for other in set(self._postings.get(f, ())[-300:]) if other != topic_id
        )
        # two topics about one problem share several of their heaviest terms; this cheap count
        # keeps the exact comparison to a handful of candidates
        for other_id in sorted(o for o, n in hits.items() if n >= MERGE_MIN_SHARED):
            other = self._topics.get(other_id)
            if other is None or other.last_time < horizon or topic_id not in self._topics:
                continue
            small, large = sorted((topic.centroid, other.centroid), key=len)
            dot = sum(w * large.get(f, 0.0) for f, w in small.items())
            cosine = dot / ((topic.norm * other.norm) or 1.0)
            if cosine >= self.merge_threshold and (
                cosine >= self.strict_threshold
                or _same_place(_specific(topic.entities), _specific(other.entities))
            ):
                keep, gone = (topic, other) if topic.id < other.id else (other, topic)
                self._absorb(keep, gone)
                topic = keep
                topic_id = keep.id

    def _absorb(self, keep: _State, gone: _State) -> None:
        for f, w in gone.centroid.items():
            keep.centroid[f] = keep.centroid.get(f, 0.0) + w
        if len(keep.centroid) > self.max_centroid_terms:
            top = sorted(keep.centroid.items(), key=lambda kv: kv[1], reverse=True)[: self.max_centroid_terms]
            keep.centroid = dict(top)
        keep.norm = math.sqrt(sum(v * v for v in keep.centroid.values()))
        keep.entities.update(gone.entities)
        keep.members = sorted(keep.members + gone.members, key=lambda m: m.time)
        for m in gone.members:
            self._topic_of[m.id] = keep.id
        del self._topics[gone.id]
        self._alias[gone.id] = keep.id
        for feature in sorted(keep.centroid, key=keep.centroid.get, reverse=True)[:12]:
            posting = self._postings[feature]
            if not posting or posting[-1] != keep.id:
                posting.append(keep.id)

    # --- reading -----------------------------------------------------------------------------

    def topics(
        self,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
        *,
        min_count: int = 2,
        limit: int | None = None,
        half_life_days: float = heat_mod.DEFAULT_HALF_LIFE_DAYS,
    ) -> list[Topic]:
        """Topics with at least `min_count` petitions in [since, until], hottest first.

        A date-only `until` includes that whole day. Without `until` the window ends at the
        latest petition, so the heat of an imported history is measured at its own end.
        """
        start, end = _window(since, until)
        if end is None:
            end = max((t.last_time for t in self._topics.values()), default=local_now())
        out = []
        for topic in self._topics.values():
            if topic.last_time < (start or datetime.min):
                continue
            inside = [m for m in topic.members if (start is None or m.time >= start) and m.time <= end]
            if len(inside) < max(1, min_count):
                continue
            out.append(self._describe(topic, inside, end, half_life_days))
        out.sort(key=lambda t: (-t.heat, -t.count, t.id))
        return out[:limit] if limit else out

    def topic(self, topic_id: str, half_life_days: float = heat_mod.DEFAULT_HALF_LIFE_DAYS) -> Topic | None:
        """One topic over its whole history (following merges); None for an unknown id."""
        current = self.resolve(topic_id)
        if current is None:
            return None
        state = self._topics[current]
        return self._describe(state, state.members, state.last_time, half_life_days)

    def _describe(self, topic: _State, inside: list[_Member], end: datetime, half_life: float) -> Topic:
        days = Counter(m.time.date() for m in inside)
        first, last = inside[0].time.date(), inside[-1].time.date()
        daily = (
            [
                {
                    "date": (first + timedelta(days=i)).isoformat(),
                    "count": days.get(first + timedelta(days=i), 0),
                }
                for i in range((last - first).days + 1)
            ]
            if (last - first).days <= 366
            else [{"date": d.isoformat(), "count": c} for d, c in sorted(days.items())]
        )
        return Topic(
            id=topic.id,
            title=self._title(topic, inside),
            place=_place(topic.entities, len(topic.members)),
            entities=_shown_entities(topic.entities),
            first_time=inside[0].time,
            last_time=inside[-1].time,
            count=len(inside),
            supporters=sum(m.likes for m in inside),
            heat=round(heat_mod.heat(((m.time, m.likes) for m in inside), end, half_life), 3),
            growth=heat_mod.growth((m.time for m in inside), end),
            daily=daily,
            members=[m.id for m in inside],
        )

    def _title(self, topic: _State, inside: list[_Member]) -> str:
        """The member title that best covers the topic's heaviest terms: a citizen's own words."""
        top = dict(sorted(topic.centroid.items(), key=lambda kv: kv[1], reverse=True)[:15])
        best, best_score = inside[0].title, -1.0
        for m in inside[:50]:
            text = normalize(m.title)
            score = sum(w for f, w in top.items() if (f[1:] if f.startswith("@") else f) in text)
            score /= math.sqrt(max(len(text), 8))
            if score > best_score:
                best, best_score = m.title, score
        return best[:60]

    # --- persistence -------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """gzip JSON, written atomically: readable, diffable, no pickle to trust on load."""
        data = self.to_bytes()
        write_atomic(path, lambda fh: fh.write(data))

    @classmethod
    def load(cls, path: str | Path) -> TopicModel:
        try:
            return cls.from_bytes(Path(path).read_bytes())
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def to_bytes(self) -> bytes:
        """The whole model as gzip JSON (what `save` writes and the store's snapshots hold)."""
        state = {
            "format": FORMAT_VERSION,
            "params": {
                "threshold": self.threshold,
                "strict_threshold": self.strict_threshold,
                "merge_threshold": self.merge_threshold,
                "active_days": self.active_days,
                "max_centroid_terms": self.max_centroid_terms,
            },
            "next": self._next,
            "alias": self._alias,
            "n_docs": self.stats.n_docs,
            "df": self.stats.df,
            "topics": [
                {
                    "id": t.id,
                    "centroid": {f: round(w, 5) for f, w in t.centroid.items()},
                    "entities": t.entities,
                    "members": [[m.id, m.time.isoformat(), m.likes, m.title] for m in t.members],
                }
                for t in self._topics.values()
            ],
        }
        return gzip.compress(json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicModel:
        state = json.loads(gzip.decompress(data))
        if state.get("format") != FORMAT_VERSION:
            raise ValueError("topic state written by an incompatible version")
        model = cls(**state["params"])
        model._next = state["next"]
        model._alias = dict(state.get("alias", {}))
        model.stats = TermStats(state["n_docs"], Counter(state["df"]))
        for raw in state["topics"]:
            topic = _State(id=raw["id"], centroid=raw["centroid"], entities=Counter(raw["entities"]))
            topic.norm = math.sqrt(sum(v * v for v in topic.centroid.values()))
            topic.members = [
                _Member(i, datetime.fromisoformat(t), likes, title) for i, t, likes, title in raw["members"]
            ]
            model._topics[topic.id] = topic
            for m in topic.members:
                model._topic_of[m.id] = topic.id
        # postings in order of each topic's last activity, as `_join` would have left them
        for topic in sorted(model._topics.values(), key=lambda t: t.last_time):
            for feature in sorted(topic.centroid, key=topic.centroid.get, reverse=True)[:40]:
                model._postings[feature].append(topic.id)
        return model


def _specific(entities: Counter) -> set[str]:
    """Names of the estates, schools, companies and roads a topic's petitions mention most."""
    ranked = [k for k, _ in sorted(entities.items(), key=lambda kv: (-kv[1], kv[0]))]
    ranked = [k for k in ranked if k.split(":", 1)[0] in SPECIFIC_KINDS]
    return {k.split(":", 1)[1] for k in ranked[:20]}


def _bigrams(name: str) -> set[str]:
    return {name[i : i + 2] for i in range(len(name) - 1)} or {name}


def _same_place(a: set[str], b: set[str]) -> bool:
    """False only when both name specific places and no name of one matches one of the other.

    Names match when one contains the other ("魅力之城" / "万科魅力之城小区") or they share
    half their bigrams: citizens write the same estate with and without its developer or suffix.
    """
    if not a or not b:
        return True
    for x in a:
        for y in b:
            if x in y or y in x:
                return True
            bx, by = _bigrams(x), _bigrams(y)
            if len(bx & by) * 2 >= min(len(bx), len(by)):
                return True
    return False


def _window(since, until) -> tuple[datetime | None, datetime | None]:
    start = parse_time(since) if since not in (None, "") else None
    end = None
    if until not in (None, ""):
        end = parse_time(until)
        date_only = isinstance(until, date) and not isinstance(until, datetime)
        date_only = date_only or (isinstance(until, str) and len(until.strip()) <= 10)
        if date_only:
            end = end + timedelta(days=1) - timedelta(microseconds=1)
    if start and end and start > end:
        raise ValueError(f"since ({start}) is after until ({end})")
    return start, end


def _ranked_entities(entities: Counter) -> list[tuple[str, int]]:
    return sorted(entities.items(), key=lambda kv: (-kv[1], SPECIFICITY[kv[0].split(":", 1)[0]], kv[0]))


def _shown_entities(entities: Counter, n: int = 5) -> list[str]:
    """The most-named entities, without a name that is a more-often-named one with words stuck
    in front ("其间多次找星沙八医院" beside "星沙八医院"): a missed left boundary, not a new place."""
    counts: Counter = Counter()
    for key, c in entities.items():
        counts[key.split(":", 1)[1]] += c
    kept = [
        x for x, c in counts.items() if not any(y != x and x.endswith(y) and counts[y] >= c for y in counts)
    ]
    kept.sort(key=lambda x: (-counts[x], x))
    return kept[:n]


def _place(entities: Counter, n_members: int) -> str:
    """The district named most often plus the most-named specific place (estate, school …)."""
    places = [(k, c) for k, c in _ranked_entities(entities) if k.startswith("place:")]
    specific = [(k, c) for k, c in _ranked_entities(entities) if not k.startswith("place:")]
    parts = []
    if places:
        # prefer the finer unit (district over city) when it is named about as often
        top_count = places[0][1]
        fine = [k for k, c in places if c >= 0.5 * top_count and not k.endswith(("市", "省"))]
        parts.append((fine[0] if fine else places[0][0]).split(":", 1)[1])
    if specific and specific[0][1] >= max(1, 0.3 * n_members):
        parts.append(specific[0][0].split(":", 1)[1])
    return " ".join(parts)
