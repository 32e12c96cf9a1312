"""petition triage: the domain library (text, classifier, routing, drafting, quality, store)."""

__version__ = "0.1.0"
