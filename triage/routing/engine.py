"""Label → routing: lead and assisting departments, request type, due time, place, out-of-scope.

The classifier says what a petition is about; the engine turns that into what the hotline does
with it. Everything it decides comes from the admin's table, so a reorganisation or a new
holiday is a config edit, not a release. Petitions the engine cannot route with confidence (the
classifier abstained, the label has no route, the matter is out of scope) still get every field
it can fill, and `manual_queue` tells staff to look.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.classifier import Prediction
from triage.routing.cohandling import assistant_labels
from triage.routing.deadlines import check_not_future, due_at, due_within_hours, parse_received_at
from triage.routing.out_of_scope import OutOfScope, OutOfScopeDetector
from triage.routing.places import Place, PlaceExtractor
from triage.routing.request_type import DEFAULT_TYPE, guess_request_type
from triage.routing.table import RoutingTable, load_table
from triage.routing.urgent import Urgent
from triage.text import normalize, petition_text
from triage.workdays import WorkCalendar


@dataclass
class Routing:
    label: str
    lead: str | None
    assist: list[str]
    request_type: str
    due_at: datetime
    place: Place | None
    out_of_scope: OutOfScope | None
    manual_queue: bool
    urgent: Urgent | None = None
    rule: str | None = None
    received_at: datetime | None = None
    contacts: dict[str, str] = field(default_factory=dict)

    @property
    def department(self) -> str | None:
        return self.lead

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "department": self.lead,
            "departments": {"lead": self.lead, "assist": list(self.assist)},
            "request_type": self.request_type,
            "due_at": self.due_at.isoformat(),
            "place": self.place.to_dict() if self.place else None,
            "out_of_scope": self.out_of_scope.to_dict() if self.out_of_scope else None,
            "manual_queue": self.manual_queue,
            "urgent": self.urgent.to_dict() if self.urgent else None,
        }


class RoutingEngine:
    """Routes classified petitions with one validated table; swap `table` to change the rules.

    `calendar`, when given, replaces the table's `default` working calendar (for instance one
    with a local closure); departments on other named calendars keep theirs.
    """

    def __init__(
        self,
        table: RoutingTable,
        calendar: WorkCalendar | None = None,
        *,
        out_of_scope: OutOfScopeDetector | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if calendar is not None:
            table = replace(table, calendars={**table.calendars, "default": calendar})
        self.table = table
        self.detector = out_of_scope or OutOfScopeDetector.from_file()
        self.places = PlaceExtractor(table.known_districts())
        self.clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        calendar: WorkCalendar | None = None,
        *,
        out_of_scope_path: str | Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> RoutingEngine:
        detector = OutOfScopeDetector.from_file(out_of_scope_path)
        return cls(load_table(path), calendar, out_of_scope=detector, clock=clock)

    def route(
        self,
        title: str | None,
        body: str | None,
        prediction: Prediction,
        *,
        received_at: datetime | str | None = None,
        request_type: str | None = None,
        request_type_prediction: Prediction | None = None,
        second_opinion: Prediction | None = None,
    ) -> Routing:
        """Raises ValueError (ReceivedAtError for times) on an unknown request type or a bad time."""
        table = self.table
        text = normalize(petition_text(title, body))
        rtype = self._request_type(text, request_type, request_type_prediction)
        received = self._received(received_at)

        label = prediction.label
        route = table.labels.get(label)
        lead: str | None = None
        assist: list[str] = []
        rule_name = None
        place = self.places.extract(text)
        if route is not None:
            lead, assist = route.lead, list(route.assist)
            if place and place.district and place.district in route.by_district:
                lead = route.by_district[place.district]
        for rule in table.rules:
            if rule.matches(label, text):
                lead, assist, rule_name = rule.lead, list(rule.assist), rule.name
                break
        if lead is not None:
            for other in self._co_labels(prediction, second_opinion):
                if other in table.labels:
                    assist.append(table.labels[other].lead)
            lead = table.resolve(lead)
            assist = _unique(table.resolve(a) for a in assist if table.resolve(a) != lead)

        urgent, found = self._findings(text)
        due = self._due(received, urgent, lead) or due_at(
            received, table.deadline_days(rtype, lead), table.calendar_of(lead)
        )
        contacts = {
            d: table.departments[d].contact or ""
            for d in [lead, *assist]
            if d is not None and table.departments[d].contact
        }
        return Routing(
            label=label,
            lead=lead,
            assist=assist,
            request_type=rtype,
            due_at=due,
            place=place,
            out_of_scope=found,
            manual_queue=bool(prediction.abstain or found is not None or lead is None),
            urgent=urgent,
            rule=rule_name,
            received_at=received,
            contacts=contacts,
        )

    def urgency(
        self, title: str | None, body: str | None, *, received_at: datetime | str | None = None
    ) -> tuple[Urgent | None, datetime | None]:
        """The emergency rule alone, with its due time: for a petition no model could classify
        (none is live), which must still jump the queue. (None, None) when it is not urgent."""
        urgent, _ = self.findings(title, body)
        return urgent, self._due(self._received(received_at), urgent)

    def findings(self, title: str | None, body: str | None) -> tuple[Urgent | None, OutOfScope | None]:
        """What the petition's words alone show, whatever its label: an emergency, and a matter
        the hotline must not accept. Routing and a draft asked for without a routing (`/draft`,
        `triage draft`) both read them here, so an emergency's draft is the same either way."""
        return self._findings(normalize(petition_text(title, body)))

    def _findings(self, text: str) -> tuple[Urgent | None, OutOfScope | None]:
        return self.table.urgent_rules.detect(text), self.detector.detect(text, normalized=True)

    # -- parts --------------------------------------------------------------------------------

    def _due(self, received: datetime, urgent: Urgent | None, lead: str | None = None) -> datetime | None:
        """An urgent matter's due time: its category's hours, or the plain keywords' working days."""
        if urgent is None:
            return None
        if urgent.hours is not None:
            return due_within_hours(received, urgent.hours)
        return due_at(received, self.table.urgent_days, self.table.calendar_of(lead))

    def _request_type(self, text: str, given: str | None, predicted: Prediction | None) -> str:
        table = self.table
        if given is not None and str(given).strip():
            return table.request_type(given)
        if predicted is not None and not predicted.abstain:
            try:
                return table.request_type(predicted.label)
            except ValueError:
                pass  # a model trained on types this table does not list: fall back to cue words
        guess = guess_request_type(text)
        return guess if guess in table.deadlines else DEFAULT_TYPE

    def _received(self, value: datetime | str | None) -> datetime:
        now = self.clock()
        if value is None:
            return now.astimezone(self.table.timezone)
        received = parse_received_at(value, self.table.timezone)
        check_not_future(received, now)
        return received

    def _co_labels(self, prediction: Prediction, second_opinion: Prediction | None) -> list[str]:
        config = self.table.cohandling
        labels = assistant_labels(prediction.top_k, config.min_probability, config.max_assist)
        if (
            second_opinion is not None
            and second_opinion.label != prediction.label
            and second_opinion.confidence >= config.min_probability
            and second_opinion.label not in labels
            and len(labels) < config.max_assist
        ):
            labels.append(second_opinion.label)
        return labels


def _unique(items: Sequence[str] | Any) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
