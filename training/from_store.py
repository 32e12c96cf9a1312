"""Training data from the case store: final routings as labels, returns (退单) as hard negatives.

A case counts as labelled once a clerk explicitly accepted or overrode its department; the label
is that final department. Sending a reply on a confident case accepts its department implicitly
(recorded with `implicit: true`): that is the model's own guess, never checked by anyone, so it
is left out, like cases whose suggestion nobody touched - training on them would only teach the
model what it already believes. A case a department returned and nobody re-routed yet has no
label and is left out - its only certain fact is where it does *not*
belong, which is kept as a hard negative: the retrain report shows how often the new and the
live model would still send such petitions to the department that returned them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, select

from training.balance import DEFAULT_MERGE_LABEL, handle_rare
from training.bundles import BundleError, ModelRegistry
from training.data import LabelledData, load_labelled_csv
from training.deployment_keywords import KeywordGroups, from_table
from training.evaluate import evaluate
from training.promotion import promote_checked
from training.train import split, train_bundle
from triage.classifier import PetitionClassifier
from triage.csvio import DataError
from triage.routing.table import RoutingTable, RoutingTableError, load_table
from triage.store.engine import Store
from triage.store.models import ACCEPTED, OVERRIDDEN, SUGGESTED, Case, Routing
from triage.text import petition_text

Progress = Callable[[float, str], None]


@dataclass
class StoreData:
    data: LabelledData
    hard_negatives: list[tuple[str, str]] = field(default_factory=list)  # (text, department that returned it)
    counts: dict[str, int] = field(default_factory=dict)


def load_store_data(
    store: Store,
    csv_path: str | Path | None = None,
    text_cols: str | Sequence[str] = "title,body",
    label_col: str = "department",
    only_csv: bool = False,
) -> StoreData:
    """Labelled petitions from the store's final routings, plus an optional labelled CSV.

    `only_csv` trains on the CSV alone (a clean export replacing the history, say); the store's
    returns are still read as hard negatives, since they describe the same departments.
    """
    if only_csv and csv_path is None:
        raise DataError("case store", "training on the uploaded CSV alone needs a CSV")
    texts: list[str] = []
    labels: list[str] = []
    rows: list[int] = []
    negatives: list[tuple[str, str]] = []
    decided = {"accept": 0, "override": 0}
    implicit = 0
    with store.session() as session:
        for case_id, title, body, department, kind, details in (
            [] if only_csv else session.execute(_last_decisions())
        ):
            if kind == "accept" and (details or {}).get("implicit"):
                implicit += 1
                continue
            text = petition_text(title, body)
            if text.strip():
                texts.append(text)
                labels.append(department)
                rows.append(case_id)
                decided[kind] += 1
        undecided = session.scalar(
            select(func.count()).select_from(Case).where(Case.routing_state == SUGGESTED)
        )
        returns = (
            select(Case.title, Case.body, Routing.department)
            .join(Routing, Routing.case_id == Case.id)
            .where(Routing.kind == "return")
        )
        for title, body, department in session.execute(returns):
            negatives.append((petition_text(title, body), department))
    from_store = len(texts)
    from_csv = 0
    if csv_path is not None:
        extra = load_labelled_csv(csv_path, text_cols, label_col)
        texts += extra.texts
        labels += extra.labels
        rows += [-n for n in extra.rows]  # negative numbers: CSV rows, positive: case ids
        from_csv = len(extra)
    source = str(csv_path) if only_csv else "case store" + (f" + {csv_path}" if csv_path else "")
    if not texts:
        raise DataError(
            source,
            "no labelled cases: accept or override some routings first (replies sent without an"
            f" explicit routing decision do not count: {implicit} left out), or upload a labelled CSV",
        )
    return StoreData(
        data=LabelledData(texts=texts, labels=labels, source=source, rows=rows),
        hard_negatives=negatives,
        counts={
            "store": from_store,
            "explicit_accept": decided["accept"],
            "explicit_override": decided["override"],
            "left_out_implicit": implicit,
            "left_out_undecided": int(undecided or 0),
            "csv": from_csv,
            "total": len(texts),
            "hard_negatives": len(negatives),
        },
    )


def _last_decisions():
    """Per case with a department, its latest clerk decision (accept or override) when that is
    the latest routing step (a later return undoes it): (id, title, body, department, kind, details)."""
    latest = (
        select(Routing.case_id, func.max(Routing.id).label("routing_id"))
        .where(Routing.kind.in_(("accept", "override", "return")))
        .group_by(Routing.case_id)
        .subquery()
    )
    return (
        select(Case.id, Case.title, Case.body, Case.department, Routing.kind, Routing.details)
        .join(latest, latest.c.case_id == Case.id)
        .join(Routing, Routing.id == latest.c.routing_id)
        .where(
            Routing.kind.in_(("accept", "override")),
            Case.routing_state.in_((ACCEPTED, OVERRIDDEN)),
            Case.department.is_not(None),
        )
        .order_by(Case.id)
        .execution_options(yield_per=5000)
    )


def _hard_negative_rate(model: PetitionClassifier, negatives: list[tuple[str, str]]) -> float | None:
    """Share of returned petitions the model would still send to the department that returned them."""
    if not negatives:
        return None
    predicted = model.predict([t for t, _ in negatives])
    return round(float(np.mean([p == wrong for p, (_, wrong) in zip(predicted, negatives, strict=True)])), 4)


def _summary(quality: dict[str, Any]) -> dict[str, Any]:
    return {k: quality[k] for k in ("n", "macro_f1", "accuracy", "top3_accuracy") if k in quality} | {
        "abstain": quality.get("abstain")
    }


def _table_keywords(table: RoutingTable | Path | str | None, labels: Sequence[str]) -> KeywordGroups:
    """The routing table's keyword groups for these labels (none when the table cannot be read:
    the promotion check reports that)."""
    if table is not None and not isinstance(table, RoutingTable):
        try:
            table = load_table(table)
        except (OSError, RoutingTableError):
            table = None
    return from_table(table, sorted(set(labels))) if table is not None else KeywordGroups()


def retrain_from_store(
    store: Store,
    registry: ModelRegistry,
    *,
    csv_path: str | Path | None = None,
    text_cols: str | Sequence[str] = "title,body",
    label_col: str = "department",
    test_size: float = 0.2,
    seed: int = 0,
    promote: bool = False,
    progress: Progress | None = None,
    only_csv: bool = False,
    routing_table: RoutingTable | Path | str | None = None,
    force: bool = False,
    min_examples: int | None = None,
    rare: Literal["drop", "merge"] = "drop",
    merge_into: str = DEFAULT_MERGE_LABEL,
) -> dict[str, Any]:
    """Train a new bundle and compare it with the live model on the same held-out split.

    The bundle is written atomically and only promoted when asked, after everything succeeded;
    any failure leaves the models directory and the live pointer as they were. Promotion goes
    through the routing-table check (training.promotion): a bundle whose labels the table does
    not route is kept but not made live (`promoted: false` and `promotion_refused` say why)
    unless `force`.
    """
    report = progress or (lambda _f, _m: None)
    started = time.perf_counter()
    report(0.05, "loading labelled cases")
    loaded = load_store_data(store, csv_path, text_cols, label_col, only_csv=only_csv)
    rare_report = None
    if min_examples is not None:  # labels too rare to hold out: dropped or merged, and reported
        loaded.data, handled = handle_rare(loaded.data, min_examples, rare, merge_into)
        rare_report = handled.to_dict()
    loaded.data.validate()
    _, x_test, _, y_test = split(loaded.data, test_size, seed)
    n = loaded.counts
    report(
        0.2,
        f"training on {len(loaded.data)} petitions ({n['explicit_accept']} accepted and"
        f" {n['explicit_override']} overridden by staff, {n['csv']} from the CSV;"
        f" {n['left_out_implicit']} implicit accepts left out)",
    )
    bundle = train_bundle(
        loaded.data,
        registry,
        label_col="department",
        text_cols=["title", "body"],
        test_size=test_size,
        seed=seed,
        rare=rare_report,
        keywords=_table_keywords(routing_table, loaded.data.labels),
    )
    report(0.8, "evaluating the new and the live model on the same held-out split")
    new_model = PetitionClassifier.load(registry.model_path(bundle.version))
    meta = bundle.metadata
    # the served model was refitted on every row, the held-out ones included: its figures are the
    # evaluation fit's on this same split (train_bundle splits alike), not a re-scoring of rows it saw
    new_quality = {
        "n": len(y_test),
        **{k: meta[k] for k in ("macro_f1", "accuracy", "top3_accuracy")},
        "abstain": meta["abstain"]["test"],
    }
    comparison: dict[str, Any] = {
        "new": {
            "version": bundle.version,
            **_summary(new_quality),
            "hard_negative_rate": _hard_negative_rate(new_model, loaded.hard_negatives),
        }
    }
    live_version = registry.live_version()
    if live_version and registry.is_complete(live_version):
        live_model = PetitionClassifier.load(registry.model_path(live_version))
        comparison["live"] = {
            "version": live_version,
            **_summary(evaluate(live_model, x_test, y_test)),
            "hard_negative_rate": _hard_negative_rate(live_model, loaded.hard_negatives),
        }
        comparison["macro_f1_change"] = round(
            comparison["new"]["macro_f1"] - comparison["live"]["macro_f1"], 4
        )
    else:
        comparison["live"] = None
    promotion: dict[str, Any] = {}
    if promote:
        try:
            promotion = promote_checked(registry, bundle.version, routing_table, force=force)
        except BundleError as exc:
            promotion = {"refused": str(exc)}
    report(1.0, "done")
    return {
        "version": bundle.version,
        "promoted": "live" in promotion,
        **({"promotion_refused": promotion["refused"]} if "refused" in promotion else {}),
        **(
            {"forced": True, "unrouted_labels": promotion["unrouted_labels"]}
            if promotion.get("forced")
            else {}
        ),
        "data": loaded.counts,
        "labels": bundle.metadata["labels"],
        "warnings": bundle.metadata["warnings"],
        **({"rare_labels": rare_report} if rare_report else {}),
        "held_out": len(y_test),
        **comparison,
        "seconds": round(time.perf_counter() - started, 1),
    }
