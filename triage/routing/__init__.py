"""Routing: from a classified petition to who handles it, by when, and whether it is in scope."""

from triage.routing.deadlines import ReceivedAtError, is_overdue, parse_received_at, time_left
from triage.routing.engine import Routing, RoutingEngine
from triage.routing.out_of_scope import OutOfScope, OutOfScopeDetector
from triage.routing.places import Place, PlaceExtractor
from triage.routing.table import RoutingTable, RoutingTableError, load_table, parse_table
from triage.routing.urgent import Urgent, UrgentRules

__all__ = [
    "OutOfScope",
    "OutOfScopeDetector",
    "Place",
    "PlaceExtractor",
    "ReceivedAtError",
    "Routing",
    "RoutingEngine",
    "RoutingTable",
    "RoutingTableError",
    "Urgent",
    "UrgentRules",
    "is_overdue",
    "load_table",
    "parse_received_at",
    "parse_table",
    "time_left",
]
