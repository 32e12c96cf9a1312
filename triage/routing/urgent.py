"""Matters that cannot wait (gas, fire, people trapped, self-harm …): which, why, and whom to call.

Rules, not a model: an emergency is rare in hotline data (no labelled set to learn from), a
missed one costs far more than a false alarm, and the admin must be able to read and change why
a petition jumped the queue. The rules live in the routing table's `urgent:` section; this module
only compiles and applies them.

A petition is split into clauses (at ，。！？；) and each clause is judged on its own, so that
"去年着火的那栋楼现在还没修" (a past fire) or "消防通道被占用，万一着火怎么办" (a hypothetical one)
are vetoed by words in the same clause, while "闻到很浓的煤气味，怕出事" still counts: the worry
sits in another clause than the smell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from triage.routing.out_of_scope import _context_free, search_only

# "闻到…煤气": a few characters of the same clause may stand between the words.
GAP = "…"
GAP_CHARS = 8
_CLAUSE = re.compile(r"[^，,。！？；!?;\n]+")


@dataclass(frozen=True)
class Urgent:
    """A detected emergency: the category's reason, the clause that shows it, the line to call.

    `hours` is the category's reply limit in wall-clock hours; None for the table's plain
    `keywords`, which keep their working-day limit (`urgent.days`).
    """

    reason: str
    evidence: str
    transfer: str | None
    hours: float | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"reason": self.reason, "evidence": self.evidence, "transfer": self.transfer}


@dataclass(frozen=True)
class UrgentCategory:
    """One kind of emergency: patterns that find it, words that veto it in the same clause
    (`exclude`) and words that veto it anywhere in the petition (`exclude_anywhere`: a medical
    dispute narrates a collapse at the hospital; that is a complaint, not an emergency)."""

    reason: str
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    exclude_anywhere: tuple[re.Pattern[str], ...] = ()
    transfer: str | None = None
    hours: float | None = None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A table pattern → regex: a regular expression where `…` stands for a short gap."""
    parts = pattern.split(GAP)
    return re.compile(f".{{0,{GAP_CHARS}}}".join(f"(?:{p})" for p in parts))


def keyword_pattern(word: str) -> re.Pattern[str]:
    return re.compile(re.escape(word))


_NEGATIVE_LOOKAROUND = re.compile(r"\(\?<?![^()]*\)")


@dataclass(frozen=True)
class UrgentRules:
    """Every category, the table's plain keywords, and the vetoes all of them share.

    `not_urgent` vetoes a clause (a past event, a hypothetical, a hazard rather than an event);
    `negations` veto a match they stand right before (没有闻到煤气味).
    """

    categories: tuple[UrgentCategory, ...] = ()
    keywords: tuple[str, ...] = ()
    not_urgent: tuple[re.Pattern[str], ...] = ()
    negations: tuple[str, ...] = ()
    negation_window: int = 4

    def detect(self, text: str) -> Urgent | None:
        """The first category (in table order, then the plain keywords) matching a clause of
        `text` (already normalised) that no veto cancels; None when nothing matches.

        The evidence is the longest clause that shows it: a title such as 煤气味 says less to the
        clerk than the body's 楼道里闻到很浓的煤气味.
        """
        if not text or not (self.categories or self.keywords):
            return None
        prefilter = self._prefilter
        if prefilter is not None and not any(p.search(text) for p in prefilter):
            return None  # no category's words anywhere: most petitions stop here, after a few searches
        clauses = [c.strip() for c in _CLAUSE.findall(text) if c.strip()]
        for category in self._all_categories():
            if any(p.search(text) for p in category.exclude_anywhere):
                continue
            # a pattern that finds nothing in the whole text finds nothing in one of its clauses
            # (unless anchors or lookarounds make it depend on the clause's edges): most petitions
            # cost one search per pattern, not one per pattern and clause
            if not any(p.search(text) or not _context_free(p) for p in category.patterns):
                continue
            shown = [clause for clause in clauses if self._shows(category, clause)]
            if shown:
                evidence = max(shown, key=len)
                return Urgent(category.reason, evidence[:120], category.transfer, category.hours)
        return None

    @cached_property
    def _prefilter(self) -> tuple[re.Pattern[str], ...] | None:
        """Every category's patterns as yes/no searches of the whole text, or None when one of
        them depends on a clause's edges (then a whole-text search proves nothing).

        Searched one by one, not as one alternation: each pattern alone keeps the regex
        engine's shortcut of skipping positions where it cannot start (a literal prefix or a set
        of first characters), which a two-thousand-character alternation of nested groups loses;
        on the public messages the separate searches take half the time of the alternation.
        """
        # a negative lookaround only narrows a pattern: without it the search finds a superset
        loose = [
            re.compile(_NEGATIVE_LOOKAROUND.sub("", p.pattern))
            for category in self._all_categories()
            for p in category.patterns
        ]
        if not loose or not all(_context_free(p) for p in loose):
            return None
        return tuple(search_only(p.pattern) or p for p in loose)

    def _shows(self, category: UrgentCategory, clause: str) -> bool:
        if any(p.search(clause) for p in category.exclude) or any(p.search(clause) for p in self.not_urgent):
            return False
        return any(self._affirmed(clause, m) for p in category.patterns for m in p.finditer(clause))

    def _affirmed(self, clause: str, match: re.Match[str]) -> bool:
        before = clause[max(0, match.start() - self.negation_window) : match.start()]
        return not any(word in before for word in self.negations)

    def _all_categories(self) -> Iterable[UrgentCategory]:
        yield from self.categories
        if self.keywords:
            yield UrgentCategory(reason="紧急事项", patterns=tuple(keyword_pattern(w) for w in self.keywords))
