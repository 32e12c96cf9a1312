"""Keyword groups for one deployment: what its departments say they handle (issue 19, item 2).

The words that mark a matter as a department's are the deployment's, not the benchmark's: a city's
routing table may say, per department, what it is responsible for (三定 / 权责清单: `keywords` and a
`responsibilities` text) and, per label, terms of the label itself. Training turns them into one
keyword group per label the model learns (`PetitionClassifier(keywords=...)`): a label's group is
its own terms, its lead department's keywords and the distinctive words of that department's
responsibilities. An admin can add a file of such groups for one training (`triage train
--keywords FILE`): the public data's 3-level taxonomy is one, for the public labels.

The table lives in the case store, so every host and worker trains with the same groups; the file
is the admin's own input to one training and is recorded (by name and counts) in the bundle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from triage.classifier import keywords_from_taxonomy
from triage.csvio import DataError, read_csv
from triage.routing.table import RoutingTable
from triage.text import normalize, tokenize

# Words every 三定 text uses for every matter: they say how a department works, not what about.
DUTY_WORDS = frozenset(
    "负责 承担 组织 实施 拟订 拟定 制定 起草 指导 监督 管理 协调 参与 开展 推进 推动 落实 执行 完成 办理 "
    "相关 有关 工作 职责 事项 事务 领域 全市 本市 全区 本级 政策 规划 法规 规章 标准 体系 机制 制度 建设 "
    "依法 会同 承办 交办 其他 以及 等等 方面 情况 行业 指导监督 综合 统筹 研究 提出 建议 健全 完善 加强".split()
)
# A term longer than this (in characters) in a keywords file is read as responsibilities text
TEXT_CELL = 20


@dataclass(frozen=True)
class KeywordGroups:
    """label → terms, and where they came from (for the bundle's metadata and the CLI output)."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any(self.groups.values())

    def describe(self) -> dict[str, object]:
        return {
            "groups": sum(1 for terms in self.groups.values() if terms),
            "terms": sum(len(terms) for terms in self.groups.values()),
            "sources": list(self.sources),
        }

    def merged(self, other: KeywordGroups) -> KeywordGroups:
        groups = {label: list(terms) for label, terms in self.groups.items()}
        for label, terms in other.groups.items():
            known = groups.setdefault(label, [])
            known.extend(t for t in terms if t not in known)
        return KeywordGroups(groups, self.sources + other.sources)


def responsibility_terms(texts: Mapping[str, str]) -> dict[str, list[str]]:
    """The distinctive words of each responsibilities text (name → text).

    A word found in more than half of the texts (when there are at least three) is how
    departments work, not what they handle, and is left out with the fixed `DUTY_WORDS`.
    """
    words = {
        name: list(dict.fromkeys(w for w in tokenize(normalize(text)) if _content_word(w)))
        for name, text in texts.items()
    }
    spread = Counter(w for ws in words.values() for w in set(ws))
    common = {w for w, n in spread.items() if len(texts) >= 3 and n > len(texts) / 2}
    return {name: [w for w in ws if w not in common] for name, ws in words.items()}


def _content_word(word: str) -> bool:
    return len(word) >= 2 and word not in DUTY_WORDS and not word.isdigit()


def from_table(table: RoutingTable, labels: Iterable[str]) -> KeywordGroups:
    """The groups the routing table gives the labels a model learns.

    A label is either routed by one of the table's label sets (its own `keywords` and its lead
    department's) or a department itself (a model that learns departments).
    """
    duties = responsibility_terms(
        {name: d.responsibilities for name, d in table.departments.items() if d.responsibilities}
    )
    groups: dict[str, list[str]] = {}
    for label in labels:
        route = table.labels.get(label)
        department = route.lead if route is not None else table.department_named(label)
        terms = list(route.keywords) if route is not None else []
        if department is not None:
            dept = table.departments[department]
            terms += list(dept.keywords) + duties.get(department, [])
        terms = list(dict.fromkeys(terms))
        if terms:
            groups[label] = terms
    source = table.source if table.source.startswith("routing table") else f"routing table {table.source}"
    return KeywordGroups(groups, (source,) if groups else ())


def from_file(path: str | Path, labels: Sequence[str], table: RoutingTable | None = None) -> KeywordGroups:
    """Groups from a CSV an admin supplies: the first column names a label (or a department that
    leads it in the table), every other column holds terms (names such as "劳动关系和劳动争议"
    are split into their parts) or, when longer than `TEXT_CELL` characters, responsibilities text.

    The public taxonomy (一级分类, 二级分类, 三级分类) is such a file for the public labels. A row
    naming neither a label nor a department that leads one is refused with its row and column.
    """
    header, rows = read_csv(path)
    if len(header) < 2:
        raise DataError(
            path, "a keywords file needs a first column naming the label and at least one column of terms"
        )
    known = set(labels)
    by_department: dict[str, list[str]] = {}
    if table is not None:
        for label in labels:
            route = table.labels.get(label)
            if route is not None:
                by_department.setdefault(route.lead, []).append(label)
    short: list[tuple[str, ...]] = []
    texts: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        name = (row.get(header[0]) or "").strip()
        if not name:
            continue
        if name in known:
            targets = [name]
        else:
            department = table.department_named(name) if table is not None else None
            targets = by_department.get(department or "", [])
        if not targets:
            raise DataError(
                path,
                f"{name!r} is neither a label of the training data ({', '.join(sorted(known))}) "
                "nor a department the routing table leads one with",
                row=number,
                column=header[0],
            )
        cells = [(row.get(c) or "").strip() for c in header[1:]]
        for target in targets:
            short.append((target, *(c for c in cells if c and len(c) <= TEXT_CELL)))
            long = " ".join(c for c in cells if len(c) > TEXT_CELL)
            if long:
                texts[target] = (texts.get(target, "") + " " + long).strip()
    groups = KeywordGroups(keywords_from_taxonomy(short), (f"keywords file {Path(path).name}",))
    return groups.merged(KeywordGroups(responsibility_terms(texts), ()))
