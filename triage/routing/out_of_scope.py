"""Detects petitions the hotline must not accept, with the reason and the words that show it.

Rules, not a model: there is no labelled public data for this, each reason has a small and
stable vocabulary (诉讼, 仲裁, 复议 …), and an admin must be able to read and fix why a petition was
set aside. A detected petition is never dropped: the engine sends it to the manual queue with a
suggested reply that tells the citizen where to go.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from triage.text import normalize

_CLAUSE = re.compile(r"[^，,。！？；!?;\n]+")


# What makes a match depend on the text around it: anchors, word boundaries, lookarounds, and a
# caret that does not open a negated character class.
_CONTEXT = re.compile(r"\(\?<?[=!]|\\[bBAZ]|\$|(?<!\[)\^")


@functools.cache
def _context_free(pattern: re.Pattern[str]) -> bool:
    """Whether a match inside a clause is also a match in the whole text (see `detect`)."""
    return _CONTEXT.search(pattern.pattern) is None


_CAPTURE = re.compile(r"(?<!\\)\((?!\?)")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def search_only(pattern: str) -> re.Pattern[str] | None:
    """`pattern` compiled with its capturing groups made non-capturing, for a yes/no search; None
    when it refers back to a group. Without groups the regex engine skips the positions where no
    alternative can start: the urgent rules' whole-text searches run several times faster.
    (A "(" inside a character class becomes "(?:" too: the class only grows, so such a search
    still finds every text the original finds.)"""
    if _BACKREFERENCE.search(pattern):
        return None
    try:
        return re.compile(_CAPTURE.sub("(?:", pattern))
    except re.error:
        return None


class OutOfScopeConfigError(ValueError):
    pass


@dataclass(frozen=True)
class OutOfScope:
    reason: str
    evidence: str
    template: str

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "evidence": self.evidence, "template": self.template}


@dataclass(frozen=True)
class _Category:
    reason: str
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    template: str


class OutOfScopeDetector:
    def __init__(self, categories: list[dict[str, Any]]) -> None:
        self.categories = [self._compile(i, c) for i, c in enumerate(categories)]
        patterns = [p for c in self.categories for p in c.patterns]
        # searched over the whole text once, all categories' in one pass (see `detect`) …
        self._whole_text = tuple(p for p in patterns if _context_free(p))
        # … except those with anchors or lookarounds, always tried clause by clause
        self._per_clause = frozenset(p for p in patterns if not _context_free(p))

    @staticmethod
    def _compile(index: int, spec: dict[str, Any]) -> _Category:
        try:
            reason = str(spec["reason"])
            template = "".join(str(spec["template"]).split())  # folded YAML lines: no spaces in Chinese
            patterns = tuple(re.compile(p) for p in spec.get("patterns") or ())
            exclude = tuple(re.compile(p) for p in spec.get("exclude") or ())
        except (KeyError, TypeError) as exc:
            raise OutOfScopeConfigError(f"category {index + 1}: missing or malformed {exc}") from None
        except re.error as exc:
            raise OutOfScopeConfigError(f"category {index + 1}: bad pattern: {exc}") from None
        if not patterns:
            raise OutOfScopeConfigError(f"category {index + 1} ({reason}) has no patterns")
        return _Category(reason, patterns, exclude, template)

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> OutOfScopeDetector:
        """The given YAML file, or the bundled triage/resources/out_of_scope.yaml."""
        if path is None:
            text = (
                resources.files("triage.resources").joinpath("out_of_scope.yaml").read_text(encoding="utf-8")
            )
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        return cls(list(data.get("categories") or []))

    def detect(self, text: str, *, normalized: bool = False) -> OutOfScope | None:
        """The first category whose pattern matches a clause that no exclusion vetoes.

        A pattern that finds nothing in the whole text can find nothing in one of its clauses, so
        only the patterns that match the whole text are tried clause by clause: a few dozen
        searches a petition instead of hundreds (this runs on every /classify), and most
        petitions stop after them. Patterns with anchors or lookarounds, where that reasoning
        fails, are always tried clause by clause. `normalized`: the caller already normalised
        `text` (the routing engine has), so it is not normalised again.
        """
        clean = text if normalized else normalize(text)
        found = {p for p in self._whole_text if p.search(clean)} | self._per_clause
        if not found:
            return None
        clauses: list[str] | None = None
        for category in self.categories:
            patterns = [p for p in category.patterns if p in found]
            if not patterns:
                continue
            if clauses is None:
                clauses = _CLAUSE.findall(clean)
            for clause in clauses:
                if any(ex.search(clause) for ex in category.exclude):
                    continue
                for pattern in patterns:
                    if pattern.search(clause):
                        return OutOfScope(category.reason, clause.strip()[:120], category.template)
        return None
