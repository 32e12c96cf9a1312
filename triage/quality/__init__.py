"""Reply quality checking: flag vague boilerplate before it reaches the citizen.

`QualityChecker` is the entry point; the rules and phrase lists it applies live in
`triage/resources/quality_rules.yaml` (or an admin's copy).
"""

from triage.quality.checker import (
    CHECKLIST,
    ELEMENTS,
    ChecklistItem,
    Flag,
    QualityChecker,
    QualityResult,
    ReplyTooLong,
)
from triage.quality.dates import QualityInputError, parse_when
from triage.quality.rules import FLAG_CODES, QualityRules, RulesError, load_rules

__all__ = [
    "CHECKLIST",
    "ELEMENTS",
    "FLAG_CODES",
    "ChecklistItem",
    "Flag",
    "QualityChecker",
    "QualityInputError",
    "QualityResult",
    "QualityRules",
    "ReplyTooLong",
    "RulesError",
    "load_rules",
    "parse_when",
]
