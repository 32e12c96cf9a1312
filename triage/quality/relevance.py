"""What the petition is about (key terms, character pairs, numbers) and what it asks (questions).

Both checks compare characters, not meanings. Officials rarely echo the citizen's words (a
petition about "修水泥路" is answered with "农村公路硬化计划"), so matching whole words flags
good replies; character pairs (bigrams) are looser, and the flags only fire when *almost nothing*
of the petition is echoed. Synonyms stay the blind spot, so these flags weigh little on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from triage.quality.rules import QualityRules
from triage.text import tokenize

MAX_PETITION_CHARS = 600
MAX_QUESTIONS = 3
BODY_WORDS_CHARS = 60
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_NOT_CJK = re.compile(r"[^\u4e00-\u9fff]")
# Characters of question words and particles: a pair containing one says nothing about the matter.
_QUESTION_CHARS = set("请问能否可是不吗呢么什怎哪为何多少几谁要有没会的了这那我你他们")
_NUMBER = re.compile(r"\d{3,}(?:\.\d+)?")


def bigrams(text: str) -> set[str]:
    """Pairs of adjacent Chinese characters; built with map/zip because this runs on every check."""
    marked = _NOT_CJK.sub("\0", text)
    pairs = set(map(str.__add__, marked, marked[1:]))
    return {p for p in pairs if "\0" not in p}


@dataclass
class PetitionTerms:
    """Character pairs and questions up front (cheap); key words only when a flag needs them."""

    title: str
    body: str
    rules: QualityRules
    title_pairs: set[str] = field(default_factory=set)
    pairs: set[str] = field(default_factory=set)
    questions: list[tuple[str, set[str]]] = field(default_factory=list)

    @cached_property
    def terms(self) -> list[str]:
        """Key words: the title's (the citizen's own summary), the body's opening when the title
        says nothing, and the body's numbers. jieba is the slow part of a check, so this runs only
        for the evidence of a flag that needs words."""
        generic = self.rules.generic_terms

        def useful(word: str) -> bool:
            return len(word) >= 2 and word not in generic and bool(_CJK_RUN.search(word))

        words = [w for w in tokenize(self.title) if useful(w)]
        if len(words) < 2 and self.body:
            words += [w for w in tokenize(self.body[:BODY_WORDS_CHARS]) if useful(w)]
        terms: list[str] = []
        for word in words:
            if word not in terms:
                terms.append(word)
            if len(terms) >= self.rules.max_key_terms:
                break
        return terms + [n for n in dict.fromkeys(_NUMBER.findall(self.body)) if n not in terms][:5]


def petition_terms(title: str, body: str, rules: QualityRules) -> PetitionTerms:
    """What the petition is about and what it asks, from its title and the body's opening."""
    body = body[:MAX_PETITION_CHARS]
    generic = rules.generic_terms
    terms = PetitionTerms(title, body, rules, bigrams(title) - generic, bigrams(f"{title}。{body}") - generic)
    seen: set[frozenset[str]] = set()
    for m in rules.patterns["question"].finditer(f"{title}。{body}"):
        question = m.group().strip(" ,")
        qpairs = {p for p in bigrams(question) - generic if not (set(p) & _QUESTION_CHARS)}
        if len(qpairs) < 2 or frozenset(qpairs) in seen:
            continue
        seen.add(frozenset(qpairs))
        terms.questions.append((question, qpairs))
        if len(terms.questions) >= MAX_QUESTIONS:
            break
    return terms


def present(terms: list[str], reply: str) -> list[str]:
    return [t for t in terms if t in reply]


def echoed_share(pairs: set[str], reply_pairs: set[str]) -> float:
    """Share of the petition's character pairs that the reply repeats."""
    return len(pairs & reply_pairs) / len(pairs) if pairs else 1.0


def unanswered(questions: list[tuple[str, set[str]]], reply_pairs: set[str]) -> list[str]:
    """Questions not one character pair of which appears in the reply."""
    return [q for q, pairs in questions if not pairs & reply_pairs]


_NOT_WORD = re.compile(r"[\s,.:;!?。、()“”\"'\-—《》<>]")


def echo_spans(reply: str, petition: str, n: int) -> list[tuple[int, int]]:
    """Stretches of the reply made of `n`-character runs copied from the petition, merged.

    "您反映的城南区幸福里小区3号楼后消防通道被私家车占用的问题" restates the petition: those
    characters tell the citizen nothing new and must not count as what the reply found or did.
    Runs holding punctuation or spaces are skipped, so "，我们" never links two echoes.
    """
    if not petition or len(reply) < n:
        return []
    grams = {petition[i : i + n] for i in range(len(petition) - n + 1)}
    spans: list[tuple[int, int]] = []
    for i in range(len(reply) - n + 1):
        gram = reply[i : i + n]
        if gram in grams and not _NOT_WORD.search(gram):
            if spans and i <= spans[-1][1]:
                spans[-1] = (spans[-1][0], i + n)
            else:
                spans.append((i, i + n))
    return spans
