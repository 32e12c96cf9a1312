"""Loading and validating the reply quality rules file.

The rules live in YAML so an admin can add a phrase their hotline's staff overuse without touching
code. A typo in that file must not silently switch a check off, so loading validates every section
and names the offending key (and the pattern) in the error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

FLAG_CODES = (
    "empty_reply",
    "ack_only",
    "forwarded_only",
    "generic_promise",
    "buck_passing",
    "too_short",
    "off_topic",
    "unanswered_question",
    "no_basis",
    "no_contact",
    "late",
    "near_duplicate",
    "no_decision",
)
# Added after rules files were in use: an admin's older copy without them gets the bundled entries.
LATER_FLAGS = ("no_decision",)

SUBSTANCE_GROUPS = (
    "stock",
    "fact",
    "result",
    "planned",
    "who",
    "when",
    "decision",
    "reason",
    "deferral",
    "info_request",
    "next_step",
)

PHRASE_GROUPS = (
    "greeting",
    "acknowledgement",
    "forwarding",
    "pending",
    "courtesy",
    "generic_promise",
    "referral",
    "self_referral",
    "procedure",
    "named_body",
    "generic_body",
    "contact",
    "finding",
    "action",
    "basis",
    "refusal",
    "deadline_words",
    "question",
    "signature",
)

DEFAULT_RULES = "quality_rules.yaml"


class RulesError(ValueError):
    """The rules file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class FlagRule:
    weight: int
    message: str


@dataclass(frozen=True)
class SubstanceRules:
    """What makes a reply say something (a finding, a result, an action with who/when, a decision
    with its reason) and which request types must; see the `substance` section of the rules file."""

    required_for: frozenset[str]
    required_when_unknown: bool
    echo_chars: int
    own_words_enough: int
    fact_chars: int
    patterns: dict[str, re.Pattern[str]]

    def required(self, request_type: str | None) -> bool:
        """Whether a reply to this request type must carry substance (None: type unknown)."""
        return self.required_when_unknown if request_type is None else request_type in self.required_for


@dataclass(frozen=True)
class QualityRules:
    source: str
    revise_below: int
    flags: dict[str, FlagRule]
    min_substance_chars: int
    min_reply_chars: int
    buck_passing_max_substance: int
    generic_promise_max_substance: int
    unanswered_max_substance: int
    duplicate_min_others: int
    duplicate_similarity: float
    off_topic_min_terms: int
    off_topic_min_substance: int
    off_topic_max_share: float
    max_key_terms: int
    deadlines: dict[str, int]
    aliases: dict[str, str]
    type_from_title: list[tuple[str, tuple[str, ...]]]
    patterns: dict[str, re.Pattern[str]]
    generic_terms: frozenset[str] = field(default_factory=frozenset)
    must_handle: frozenset[str] = field(default_factory=frozenset)
    substance: SubstanceRules | None = None

    def canonical_type(self, request_type: str | None) -> str | None:
        """The deadlines-table name of a request type, or None when unknown."""
        if not request_type or not request_type.strip():
            return None
        key = request_type.strip().lower()
        return self.aliases.get(key)

    def deadline_for(self, request_type: str | None) -> int:
        return self.deadlines.get(request_type or "default", self.deadlines["default"])


def _error(source: str, key: str, message: str) -> RulesError:
    return RulesError(f"{source}: {key}: {message}")


def _int(data: dict, key: str, source: str, where: str = "") -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _error(source, where + key, f"must be a non-negative integer, got {value!r}")
    return value


def _compile_group(source: str, name: str, patterns: Any, section: str = "phrases") -> re.Pattern[str]:
    """One alternation per group: a single regex scan per reply is what keeps checks fast."""
    name = f"{section}.{name}"
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
        raise _error(source, name, "must be a non-empty list of strings")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _error(source, name, f"bad pattern {pattern!r}: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _share(data: dict, key: str, source: str) -> float:
    value = data.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise _error(source, f"off_topic.{key}", f"must be a number between 0 and 1, got {value!r}")
    return float(value)


def _must_handle(data: dict, deadlines: dict[str, int], source: str) -> frozenset[str]:
    kinds = data.get("must_handle") or []
    unknown = [k for k in kinds if k not in deadlines]
    if unknown:
        raise _error(source, "must_handle", f"unknown request type(s) {', '.join(map(str, unknown))}")
    return frozenset(kinds)


def parse_rules(data: Any, source: str = "<rules>") -> QualityRules:
    if not isinstance(data, dict):
        raise RulesError(f"{source}: the file must hold a mapping of sections")
    flags_data = data.get("flags")
    if not isinstance(flags_data, dict):
        raise _error(source, "flags", "missing or not a mapping")
    flags = {}
    for code in FLAG_CODES:
        entry = flags_data.get(code)
        if entry is None and code in LATER_FLAGS and source != DEFAULT_RULES:
            entry = _bundled()["flags"][code]
        if not isinstance(entry, dict):
            raise _error(source, f"flags.{code}", "missing (every flag needs a weight and a message)")
        message = entry.get("message")
        if not isinstance(message, str) or not message.strip():
            raise _error(source, f"flags.{code}.message", "must be a non-empty string")
        flags[code] = FlagRule(_int(entry, "weight", source, f"flags.{code}."), message.strip())
    unknown = sorted(set(flags_data) - set(FLAG_CODES))
    if unknown:
        raise _error(
            source, "flags", f"unknown flag code(s) {', '.join(unknown)}; known: {', '.join(FLAG_CODES)}"
        )

    phrases = data.get("phrases")
    if not isinstance(phrases, dict):
        raise _error(source, "phrases", "missing or not a mapping")
    missing = [g for g in PHRASE_GROUPS if g not in phrases]
    if missing:
        raise _error(source, "phrases", f"missing group(s) {', '.join(missing)}")
    patterns = {name: _compile_group(source, name, phrases[name]) for name in PHRASE_GROUPS}

    deadlines = data.get("deadlines")
    if not isinstance(deadlines, dict) or "default" not in deadlines:
        raise _error(source, "deadlines", "must be a mapping with a `default` entry")
    deadlines = {str(k): _int(deadlines, k, source, "deadlines.") for k in deadlines}
    aliases = {k.lower(): k for k in deadlines if k != "default"}
    for canonical, names in (data.get("request_type_aliases") or {}).items():
        if canonical not in deadlines:
            raise _error(source, f"request_type_aliases.{canonical}", "has no entry in deadlines")
        for name in names or []:
            aliases[str(name).strip().lower()] = canonical
    type_from_title = []
    for canonical, words in (data.get("request_type_from_title") or {}).items():
        if canonical not in deadlines:
            raise _error(source, f"request_type_from_title.{canonical}", "has no entry in deadlines")
        type_from_title.append((canonical, tuple(str(w) for w in words or [])))

    duplicate = data.get("near_duplicate") or {}
    similarity = duplicate.get("similarity", 0.8)
    if not isinstance(similarity, (int, float)) or not 0 < similarity <= 1:
        raise _error(source, "near_duplicate.similarity", f"must be in (0, 1], got {similarity!r}")
    off_topic = data.get("off_topic") or {}
    return QualityRules(
        source=source,
        revise_below=_int(data, "revise_below", source),
        flags=flags,
        min_substance_chars=_int(data, "min_substance_chars", source),
        min_reply_chars=_int(data, "min_reply_chars", source),
        buck_passing_max_substance=_int(data, "buck_passing_max_substance", source),
        generic_promise_max_substance=_int(data, "generic_promise_max_substance", source),
        unanswered_max_substance=_int(data, "unanswered_question_max_substance", source),
        duplicate_min_others=_int(duplicate, "min_others", source, "near_duplicate."),
        duplicate_similarity=float(similarity),
        off_topic_min_terms=_int(off_topic, "min_petition_terms", source, "off_topic."),
        off_topic_min_substance=_int(off_topic, "min_reply_substance", source, "off_topic."),
        max_key_terms=_int(off_topic, "max_key_terms", source, "off_topic."),
        off_topic_max_share=_share(off_topic, "max_echoed_share", source),
        deadlines=deadlines,
        aliases=aliases,
        type_from_title=type_from_title,
        patterns=patterns,
        generic_terms=frozenset(str(t) for t in data.get("generic_terms") or []),
        must_handle=_must_handle(data, deadlines, source),
        substance=_substance(data, deadlines, source),
    )


def _substance(data: dict, deadlines: dict[str, int], source: str) -> SubstanceRules:
    """The `substance` section; an admin's file written before it existed gets the bundled one."""
    section = data.get("substance")
    if section is None and source != DEFAULT_RULES:
        section = _bundled()["substance"]
    if not isinstance(section, dict):
        raise _error(source, "substance", "missing or not a mapping")
    kinds = section.get("required_for") or []
    unknown = [k for k in kinds if k not in deadlines]
    if unknown:
        raise _error(
            source, "substance.required_for", f"unknown request type(s) {', '.join(map(str, unknown))}"
        )
    when_unknown = section.get("required_when_unknown", True)
    if not isinstance(when_unknown, bool):
        raise _error(
            source, "substance.required_when_unknown", f"must be true or false, got {when_unknown!r}"
        )
    phrases = section.get("phrases")
    if not isinstance(phrases, dict):
        raise _error(source, "substance.phrases", "missing or not a mapping")
    missing = [g for g in SUBSTANCE_GROUPS if g not in phrases]
    if missing:
        raise _error(source, "substance.phrases", f"missing group(s) {', '.join(missing)}")
    echo = _int(section, "echo_chars", source, "substance.")
    if echo < 2:
        raise _error(source, "substance.echo_chars", f"must be at least 2, got {echo}")
    return SubstanceRules(
        required_for=frozenset(kinds),
        required_when_unknown=when_unknown,
        echo_chars=echo,
        own_words_enough=_int(section, "own_words_enough", source, "substance."),
        fact_chars=_int(section, "fact_chars", source, "substance."),
        patterns={g: _compile_group(source, g, phrases[g], "substance.phrases") for g in SUBSTANCE_GROUPS},
    )


_BUNDLED: dict | None = None


def _bundled() -> dict:
    """The bundled rules file as data, for sections an admin's older copy lacks."""
    global _BUNDLED
    if _BUNDLED is None:
        text = resources.files("triage.resources").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
        _BUNDLED = yaml.safe_load(text)
    return _BUNDLED


def load_rules(path: str | Path | None = None) -> QualityRules:
    """The bundled rules, or an admin's file; errors name the file and the key."""
    if path is None:
        text = resources.files("triage.resources").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
        source = DEFAULT_RULES
    else:
        path = Path(path)
        if not path.is_file():
            raise RulesError(f"{path}: rules file not found")
        text, source = path.read_text(encoding="utf-8"), str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{source}: not valid YAML: {exc}") from None
    return parse_rules(data, source)
