"""Why a prediction waits for staff (`abstain_reason`), through the function and `/classify/batch`.

A clerk reading "置信度 99%，需人工分派" cannot tell a sure model held back on a label it is never
trusted with alone from an unsure one; the reason says which.
"""

from __future__ import annotations

import numpy as np
import pytest

from triage.served import BELOW_THRESHOLD, CLOSE_RUNNER_UP, UNTRUSTED_LABEL, abstain_reason, abstains

THRESHOLDS = np.array([0.6, 1.01, 0.5])


@pytest.mark.parametrize(
    "p,reason",
    [
        ([0.9, 0.05, 0.05], None),  # sure, well clear of the runner-up
        ([0.01, 0.99, 0.0], UNTRUSTED_LABEL),  # 99 %, yet the label is never routed alone
        ([0.55, 0.2, 0.25], BELOW_THRESHOLD),
        ([0.2, 0.25, 0.55], None),
        ([0.0, 0.45, 0.55], CLOSE_RUNNER_UP),  # above its threshold, 0.1 from the next
    ],
)
def test_each_reason(p, reason):
    assert abstain_reason(np.array(p), THRESHOLDS, min_margin=0.15) == reason
    assert abstains(np.array(p), THRESHOLDS, min_margin=0.15) is (reason is not None)


def test_classify_batch_says_why_each_abstained_petition_waits(client, sample, live_model):
    thresholds = dict(zip(live_model.classes_, live_model.thresholds_, strict=True))
    items = [{"title": "", "body": text} for text in sample.texts]
    r = client.post("/classify/batch", json={"items": items})
    assert r.status_code == 200, r.text
    results = r.json()["items"]
    reasons = [x["abstain_reason"] for x in results]
    for x in results:
        assert (x["abstain_reason"] is None) is (not x["abstain"]), x
        untrusted = bool(thresholds[x["label"]] > 1)
        assert (x["abstain_reason"] == UNTRUSTED_LABEL) is untrusted, x
    assert UNTRUSTED_LABEL in reasons and None in reasons  # the sample's model has both kinds
