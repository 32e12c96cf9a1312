"""The checker on the public taidi2020c replies (skipped without ../shared/datasets).

Guards the measured agreement with one team's labels against regressions from rule edits: the
figure in docs/benchmarks.md (python -m benchmarks.quality) is the reference, these bounds sit a
little under it and above the issue's 60-character baseline. Since issue 16 the gate is stricter
than these labels on purpose (a deferral such as “待下一轮…调整时，将认真予以考虑” or a referral naming
nobody is `no_decision`, which the labels often accept), so recall of the label-0 replies is the
guarded figure and F1 only has to stay above the baseline.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import requires_shared

pytestmark = [requires_shared, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def taidi():
    from benchmarks.quality import check_all, load
    from triage.quality import QualityChecker

    rows, vague, _ = load()
    checker = QualityChecker().fit_reply_corpus(r["答复意见"] for r in rows)
    return rows, vague, check_all(checker, rows)


def f1(pred, gold):
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    return 2 * tp / (2 * tp + fp + fn)


def test_revise_agrees_with_labels_better_than_the_length_rule(taidi):
    rows, vague, results = taidi
    gold = [vague[r["留言编号"]] for r in rows]
    checker = f1([r.verdict == "revise" for r in results], gold)
    baseline = f1([len(re.sub(r"\s", "", r["答复意见"])) < 60 for r in rows], gold)
    assert baseline == pytest.approx(0.823, abs=0.001)  # the figure, computed the same way
    assert checker >= 0.82 and checker > baseline
    caught = sum(r.verdict == "revise" for r, g in zip(results, gold, strict=True) if g) / sum(gold)
    assert caught >= 0.91  # 0.895 before the substance check


def test_no_long_reply_is_marked_revise_without_a_major_flag(taidi):
    rows, _, results = taidi
    long = [r for row, r in zip(rows, results, strict=True) if len(re.sub(r"\s", "", row["答复意见"])) > 300]
    assert len(long) > 1000
    assert sum(r.verdict == "revise" for r in long) / len(long) <= 0.05


def test_every_boilerplate_flag_occurs_on_real_replies(taidi):
    _, _, results = taidi
    seen = {c for r in results for c in r.codes}
    assert {
        "ack_only",
        "forwarded_only",
        "generic_promise",
        "buck_passing",
        "too_short",
        "near_duplicate",
        "late",
        "no_decision",
    } <= seen
