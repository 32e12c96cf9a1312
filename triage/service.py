"""The application object: the workflows the API and the CLI share, each written once.

`TriageService` is handed the parts a deployment runs with (the department model, the
request-type model, the routing table, the drafter) and carries two workflows:

- classify, then route: `POST /classify`, `POST /classify/batch`, `POST /cases` (the case's
  routing suggestion) and `triage route`;
- draft: `POST /draft`, `triage draft`, and the draft a case gets at intake and on re-routing.
  An emergency's draft says where it was transferred and a matter the hotline must not accept
  gets the table's template, whichever of these asks (before, `/draft` gave a gas leak the
  plain skeleton and a court case a reply citing past cases).

With a store attached (`attach_cases`), `service.cases` carries the case workflow on these
parts (triage/casework.py: intake, routing decisions, replies, returns, merges), which the
`/cases` routes only call.

The API builds one per app from its live parts (each follows the store), a command builds one
from the versions it loaded; either way the same code decides, so the callers cannot drift.

Errors name the petition and the field: a `PetitionError` carries its index in the call and the
field at fault, which the API turns into a 422 and the CLI into a CSV error with row and column.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from triage.classifier import Prediction
from triage.drafting import Draft, Drafter, missing_slots
from triage.loaded_model import LoadedModel, ModelSource, NoLiveModel
from triage.routing import ReceivedAtError
from triage.routing.engine import Routing, RoutingEngine
from triage.routing.live import LiveRoutingEngine
from triage.store import repository
from triage.store.intake import OUT_OF_SCOPE_TIER, stored_draft, suggestion_from, unrouted_suggestion
from triage.store.repository import Suggestion
from triage.text import petition_text

if TYPE_CHECKING:  # the case workflow is built on this service; these only name types
    from triage.casework import CaseDesk
    from triage.quality import QualityChecker
    from triage.store.engine import Store
    from triage.topics.case_duplicates import CaseDuplicates
    from triage.webhook import WebhookSender

log = logging.getLogger("triage.service")
intake_log = logging.getLogger("triage.cases")  # what happened to a new case, under the cases' logger


@dataclass(frozen=True)
class PetitionInput:
    """One petition as a workflow takes it: what the citizen wrote and what the platform knows.

    `text` is what the models read; by default the title and body joined as everywhere else.
    `received_at` is a time (or an ISO text) that sets the deadline; `request_type` a known type.
    """

    title: str | None
    body: str | None
    received_at: datetime | str | None = None
    request_type: str | None = None
    text: str | None = None

    @property
    def model_text(self) -> str:
        return self.text if self.text is not None else petition_text(self.title, self.body)

    @property
    def given_type(self) -> str | None:
        return self.request_type if self.request_type and self.request_type.strip() else None


@dataclass(frozen=True)
class Classified:
    """A petition's label (with top-k, confidence, reasons) and, when a table is in force, its routing."""

    prediction: Prediction
    routing: Routing | None


class PetitionError(ValueError):
    """A petition the routing cannot use: `index` in the call, the `field` at fault, and why."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(message)
        self.index, self.field, self.message = index, field, message


@dataclass(frozen=True)
class Findings:
    """What the routing table's rules read in a petition's words, whatever its label: an
    emergency ({reason, evidence, transfer}) and a matter the hotline must not accept ({reason,
    evidence, template}); a case stores them with its routing."""

    urgent: dict[str, Any] | None = None
    out_of_scope: dict[str, Any] | None = None


class NoDrafter(RuntimeError):
    """This service was built without a drafter (a command that only routes)."""


RoutingSource = LiveRoutingEngine | RoutingEngine


class TriageService:
    """The deployment's classify-and-route workflow over the parts it is given.

    `department`: where the department model comes from (a live pointer or one loaded version;
    None for a command that only drafts); `request_types`: the request-type model, when one is
    trained; `routing`: the routing table (a live engine that follows the store, or an engine
    loaded from a file), None without one; `drafter`: None where nothing is drafted.
    """

    def __init__(
        self,
        department: ModelSource | None,
        *,
        request_types: ModelSource | None = None,
        routing: RoutingSource | None = None,
        drafter: Drafter | None = None,
    ) -> None:
        self.department = department
        self.request_types = request_types
        self.routing = routing
        self.drafter = drafter
        self.cases: CaseDesk | None = None  # the case workflow, once a store is attached

    def attach_cases(
        self,
        store: Store,
        *,
        checker: QualityChecker | None = None,
        duplicates: CaseDuplicates | None = None,
        webhook: WebhookSender | None = None,
    ) -> CaseDesk:
        """Carry the case workflow (intake, routing decisions, replies, returns, merges) over
        `store`, on this service's models and drafter: `self.cases`."""
        from triage.casework import CaseDesk

        self.cases = CaseDesk(store, self, checker=checker, duplicates=duplicates, webhook=webhook)
        return self.cases

    def model_version_in_force(self) -> str | None:
        """The department model version serving now, without loading one (None when none is)."""
        peek = getattr(self.department, "peek", None)
        loaded = peek() if peek is not None else None
        return loaded.version if loaded is not None else None

    def routing_engine(self) -> RoutingEngine | None:
        """The table in force now (a live engine may have caught up with a newer version)."""
        if isinstance(self.routing, LiveRoutingEngine):
            return self.routing.engine
        return self.routing

    def department_model(self) -> LoadedModel:
        """The department model to use now; raises NoLiveModel when none can be served."""
        if self.department is None:
            raise NoLiveModel("this command loads no department model")
        return self.department.get()

    def classify(
        self, petitions: Sequence[PetitionInput], *, k: int = 3, reasons: bool = True
    ) -> tuple[str, list[Classified]]:
        """The department model's predictions and each petition's routing, with the model version.

        Raises NoLiveModel without a department model and PetitionError for a petition whose
        received time or request type the table cannot use. A petition's answer never depends
        on the others in the call (the models score each on its own).
        """
        loaded = self.department_model()
        texts = [p.model_text for p in petitions]
        predictions = loaded.model.predict_top_k(texts, k=k, n_reasons=6 if reasons else 0)
        engine = self.routing_engine()
        if engine is None:
            return loaded.version, [Classified(p, None) for p in predictions]
        types = self._request_type_predictions(petitions, texts)
        classified = []
        for index, (petition, prediction, rtype) in enumerate(
            zip(petitions, predictions, types, strict=True)
        ):
            try:
                routing = engine.route(
                    petition.title,
                    petition.body,
                    prediction,
                    received_at=petition.received_at,
                    request_type=petition.given_type,
                    request_type_prediction=rtype,
                )
            except ReceivedAtError as exc:
                raise PetitionError(index, "received_at", str(exc)) from None
            except ValueError as exc:
                raise PetitionError(index, "request_type", str(exc)) from None
            classified.append(Classified(prediction, routing))
        return loaded.version, classified

    def suggest(
        self, petition: PetitionInput, received_at: datetime, *, case_ref: str | None = None
    ) -> Suggestion:
        """A new case's routing suggestion: classified and routed when a model is live; without
        one the case still stores and goes to the manual queue (an emergency still jumps it), and
        the log says which case (`case_ref`, the platform's id) and why.

        Raises PetitionError (index 0) for a request type or time the table cannot use.
        """
        petition = PetitionInput(
            petition.title, petition.body, received_at, petition.request_type, petition.text
        )
        try:
            version, [item] = self.classify([petition], k=3)
        except NoLiveModel as exc:
            intake_log.warning("no live model: case %s goes to the manual queue (%s)", case_ref, exc)
            return unrouted_suggestion(
                self.routing_engine(), petition.title, petition.body, received_at, petition.request_type
            )
        return suggestion_from(
            item.prediction,
            version,
            item.routing,
            received_at=received_at,
            request_type=petition.request_type,
        )

    # -- drafting -------------------------------------------------------------------------------

    def draft(
        self, petition: PetitionInput, *, department: str | None = None, request_type: str | None = None
    ) -> Draft:
        """The reply draft for a petition asked for on its own (no routing was stored with it):
        the routing table's emergency and out-of-scope rules read its words first.

        Raises ValueError (EmptyPetition) for a petition with no text, NoDrafter without a drafter.
        """
        findings = Findings()
        engine = self.routing_engine()
        if engine is not None:
            urgent, out_of_scope = engine.findings(petition.title, petition.body)
            findings = Findings(
                urgent.to_dict() if urgent else None, out_of_scope.to_dict() if out_of_scope else None
            )
        return self._draft(petition, department, request_type, findings)

    def case_draft(
        self, petition: PetitionInput, department: str | None, request_type: str | None, findings: Findings
    ) -> repository.Draft | None:
        """The draft a case stores, from the routing's own findings (at intake, and again when a
        clerk re-routes it); None without a drafter or when drafting fails: the case still stores."""
        try:
            return stored_draft(self._draft(petition, department, request_type, findings))
        except NoDrafter:
            return None
        except Exception:
            log.exception("drafter failed; storing the case without a draft")
            return None

    def _draft(
        self, petition: PetitionInput, department: str | None, request_type: str | None, findings: Findings
    ) -> Draft:
        """A matter the hotline must not accept: the template telling the citizen where to go;
        otherwise the drafter's proposal for the department (an emergency's reports the transfer)."""
        out_of_scope = findings.out_of_scope or {}
        if out_of_scope.get("template"):
            return Draft(
                draft=out_of_scope["template"],
                tier=OUT_OF_SCOPE_TIER,
                missing=missing_slots(out_of_scope["template"]),
                out_of_scope=out_of_scope.get("reason"),
            )
        if self.drafter is None:
            raise NoDrafter("no drafter in this service")
        return self.drafter.draft(
            petition.title or "",
            petition.body or "",
            department=department or None,
            request_type=(request_type or "").strip() or None,
            urgent=findings.urgent,
        )

    def _request_type_predictions(
        self, petitions: Sequence[PetitionInput], texts: Sequence[str]
    ) -> list[Prediction | None]:
        """The request-type model's prediction for each petition whose type is not given (None
        for the others, and for all when no such model is live)."""
        wanted = [i for i, p in enumerate(petitions) if p.given_type is None]
        found: list[Prediction | None] = [None] * len(petitions)
        if not wanted or self.request_types is None:
            return found
        try:
            model = self.request_types.get().model
        except NoLiveModel:
            return found
        predictions = model.predict_top_k([texts[i] for i in wanted], k=1, n_reasons=0)
        for i, prediction in zip(wanted, predictions, strict=True):
            found[i] = prediction
        return found
