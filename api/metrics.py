"""`GET /metrics` in Prometheus text format: traffic, latency, the live model and answer quality.

Each app gets its own CollectorRegistry (tests build many apps in one process). With several
workers (`triage serve --workers N`), `PROMETHEUS_MULTIPROC_DIR` is set before the workers start
and prometheus_client's multiprocess mode keeps every worker's counters and histograms in mmap'd
files there; a scrape, whichever worker answers it, sums them over all workers (past and
present), and the abstain and revise ratios are computed from those sums. What only the
answering worker can tell (`triage_worker_info{pid}`, `triage_model_info`, `triage_model_loaded`,
the `process_*` figures) is read at scrape time and describes that worker.

The abstain and QC-revise figures are counted from the JSON the service sends back (the
`"abstain":true` / `"verdict":"revise"` fields of the few routes that carry them), so no router
has to remember to report them and the count is exactly what clients were told.
"""

from __future__ import annotations

import glob
import os
import struct
import time
from collections.abc import Iterable, Iterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from api.live_model import NoLiveModel

# `*_created` series double the output and no dashboard of ours reads them.
disable_created_metrics()

# Latency buckets around the targets: /classify p99 ≤ 25 ms, the load knee at 100 ms.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# (method, route template) whose responses carry classifier answers / quality verdicts.
ABSTAIN_ROUTES = {("POST", "/classify"), ("POST", "/classify/batch"), ("POST", "/cases")}
ABSTAIN_TRUE, ABSTAIN_FALSE = b'"abstain":true', b'"abstain":false'
VERDICT_REVISE, VERDICT_OK = b'"verdict":"revise"', b'"verdict":"ok"'


def _is_quality_route(method: str, route: str) -> bool:
    return method == "POST" and (route in ("/check", "/check/batch") or route.endswith("/reply"))


def multiprocess_dir() -> str | None:
    """The shared metrics folder when prometheus_client runs in multiprocess mode, else None.

    prometheus_client picks its value store once, at import, from `PROMETHEUS_MULTIPROC_DIR`;
    asking it (not only the environment) keeps a variable set after import from half-enabling it.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path or values.ValueClass is values.MutexValue:
        return None
    return path


class Metrics:
    """The app's metrics; the request middleware calls `observe_*` once per request."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.registry = CollectorRegistry(auto_describe=True)
        shared = multiprocess_dir()
        # In multiprocess mode the metrics write to the shared files and are read back, summed over
        # workers, by the collector; registering them as well would export this worker's twice.
        own = None if shared else self.registry
        self.aggregate = _WorkerFiles(shared) if shared else None
        self.requests = Counter(
            "triage_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "triage_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=own,
        )
        self.answers = Counter(
            "triage_classifier_answers",
            "Petitions classified, by route",
            ["route"],
            registry=own,
        )
        self.abstained = Counter(
            "triage_classifier_abstained",
            "Petitions the classifier abstained on (left to manual routing), by route",
            ["route"],
            registry=own,
        )
        self.checks = Counter(
            "triage_quality_checks", "Replies quality-checked, by route", ["route"], registry=own
        )
        self.revise = Counter(
            "triage_quality_revise",
            "Quality checks whose verdict was 'revise', by route",
            ["route"],
            registry=own,
        )
        self.registry.register(_StateCollector(self))
        ProcessCollector(registry=self.registry)
        self._wants: dict[tuple[str, str], str | None] = {}

    # -- called by api.middleware.RequestMiddleware ---------------------------------------------

    def wants_body(self, method: str, route: str | None) -> bool:
        key = (method, route or "")
        kind = self._wants.get(key, "?")
        if kind == "?":
            if key in ABSTAIN_ROUTES:
                kind = "abstain"
            elif _is_quality_route(*key):
                kind = "quality"
            else:
                kind = None
            self._wants[key] = kind
        return kind is not None

    def observe_body(self, method: str, route: str, chunk: bytes) -> None:
        kind = self._wants.get((method, route))
        if kind == "abstain":
            yes, no = chunk.count(ABSTAIN_TRUE), chunk.count(ABSTAIN_FALSE)
            if yes or no:
                self.answers.labels(route).inc(yes + no)
                if yes:
                    self.abstained.labels(route).inc(yes)
        elif kind == "quality":
            revise, ok = chunk.count(VERDICT_REVISE), chunk.count(VERDICT_OK)
            if revise or ok:
                self.checks.labels(route).inc(revise + ok)
                if revise:
                    self.revise.labels(route).inc(revise)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"  # a client may send any token as method
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _per_route(families: Iterable[Metric]) -> dict[str, float]:
    return {s.labels["route"]: s.value for m in families for s in m.samples if s.name.endswith("_total")}


def _ratio(num: Iterable[Metric], den: Iterable[Metric]) -> dict[str, float]:
    """Per-route num/den from two labelled counters' collected families."""
    numerators, denominators = _per_route(num), _per_route(den)
    return {route: numerators.get(route, 0.0) / total for route, total in denominators.items() if total}


class _WorkerFiles:
    """Every worker's metric files in the shared folder, summed.

    prometheus_client's own MultiProcessCollector reads every file it finds, and a worker that
    is just creating its file leaves it empty for a moment: reading that raised `struct.error`
    and /metrics answered 500 (seen with two workers under load). A file too short to hold its
    header has no values yet, so it is skipped; one that changes size while being read is read
    again.
    """

    HEADER = 8  # the used-bytes integer and padding that start every mmap'ed file

    def __init__(self, path: str) -> None:
        self.path = path

    def _ready(self) -> list[str]:
        ready = []
        for name in glob.glob(os.path.join(self.path, "*.db")):
            try:
                if os.path.getsize(name) >= self.HEADER:
                    ready.append(name)
            except FileNotFoundError:  # a dead worker's file removed meanwhile
                continue
        return ready

    def collect(self) -> Iterable[Metric]:
        for attempt in range(3):
            try:
                return MultiProcessCollector.merge(self._ready(), accumulate=True)
            except (struct.error, ValueError, FileNotFoundError):
                if attempt == 2:
                    raise
                time.sleep(0.005)
        return []


class _StateCollector(Collector):
    """Figures read at scrape time: the live model, the worker, and the derived rates."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        if metrics.aggregate is not None:  # every worker's counters and histograms, summed
            families = {m.name: m for m in metrics.aggregate.collect()}
            yield from families.values()

            def collected(counter: Counter) -> list[Metric]:
                family = families.get(counter.describe()[0].name)
                return [family] if family is not None else []
        else:

            def collected(counter: Counter) -> list[Metric]:
                return list(counter.collect())

        yield from self._worker()
        for name, documentation, part, whole in (
            (
                "triage_classifier_abstain_ratio",
                "Share of classified petitions abstained on since the service started, by route",
                metrics.abstained,
                metrics.answers,
            ),
            (
                "triage_quality_revise_ratio",
                "Share of quality-checked replies with verdict 'revise' since the service started, by route",
                metrics.revise,
                metrics.checks,
            ),
        ):
            ratio = GaugeMetricFamily(name, documentation, labels=["route"])
            for route, value in _ratio(collected(part), collected(whole)).items():
                ratio.add_metric([route], value)
            yield ratio

    def _worker(self) -> Iterator[GaugeMetricFamily]:
        """What only the worker answering the scrape knows: its pid and the model it serves."""
        state = self.metrics.app.state
        live = getattr(state, "live_model", None)
        loaded = None
        if live is not None:
            try:  # get(), not peek(): report what a request would be served now (checks the pointer)
                loaded = live.get()
            except NoLiveModel:
                loaded = None
        info = GaugeMetricFamily(
            "triage_model_info", "The model version this worker serves (value 1)", labels=["version"]
        )
        if loaded is not None:
            info.add_metric([loaded.version], 1.0)
        yield info
        yield GaugeMetricFamily(
            "triage_model_loaded", "1 when this worker has a live model loaded", value=1.0 if loaded else 0.0
        )
        worker = GaugeMetricFamily("triage_worker_info", "This worker process (value 1)", labels=["pid"])
        worker.add_metric([str(os.getpid())], 1.0)
        yield worker


router = APIRouter(tags=["system"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of the service (all workers)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format 0.0.4"}},
)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> Metrics:
    """Create the app's metrics, add `GET /metrics` (open like /health: no PII, no secrets)."""
    app.state.metrics = Metrics(app)
    app.include_router(router)
    app.state.public_paths = set(getattr(app.state, "public_paths", set())) | {"/metrics"}
    return app.state.metrics
