"""`triage bootstrap`: what `make run` does before serving on a fresh machine.

Trains the default model on the bundled sample when no model is live, so a fresh clone serves
real routings without any other data. It never replaces a live model.
"""

from __future__ import annotations

import argparse

from cli.common import print_json, registry
from datasets import load_sample
from training.data import LabelledData
from training.model_store import REQUEST_TYPE
from training.train import train_bundle
from triage.csvio import petition_text_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bootstrap", help="train the default model on the bundled sample if none is live")
    p.set_defaults(func=run)


def sample_data() -> LabelledData:
    rows = load_sample()
    return LabelledData(
        texts=[petition_text_of(r) for r in rows],
        labels=[r["department"] for r in rows],
        source="datasets/sample",
        rows=list(range(2, len(rows) + 2)),
    )


def run(args: argparse.Namespace) -> int:
    reg = registry()
    reg.clean_temporary()
    live = reg.live_version()
    if live and reg.is_complete(live):
        print(f"model {live} is live")
    else:
        from cli.train import deployment_keywords  # the routing table's department keywords, if any

        data = sample_data()
        bundle = train_bundle(
            data,
            reg,
            label_col="department",
            text_cols=["title", "body"],
            promote=True,
            keywords=deployment_keywords(sorted(set(data.labels)), None),
        )
        print_json({"trained": bundle.version, "macro_f1": bundle.metadata["macro_f1"], "live": True})
    from training.request_type import ensure_request_type_model  # the second classifier (routing)

    if (rt := ensure_request_type_model(registry(REQUEST_TYPE))) is not None:
        print_json({"trained_request_type": rt.version, "macro_f1": rt.metadata["macro_f1"]})
    from cli.drafting import bootstrap_drafting  # sample replies as history, sample answers as library

    if drafted := bootstrap_drafting():
        print_json(drafted)
    from cli.keys import ensure_first_key

    ensure_first_key()
    return 0
