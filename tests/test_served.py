"""The served form of a model (triage/served.py): what `triage classify --input` predicts with.

It must give the whole model's answers exactly (labels, abstentions, probabilities), load from a
bundle file without scikit-learn, and leave every older bundle loadable.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from triage.classifier import BUNDLE_HEADER, PetitionClassifier
from triage.served import ServedModel, load_served

PETITIONS = [
    "小区楼下烧烤店油烟太大，晚上噪音扰民",
    "公司拖欠我们三个月工资，老板电话也不接",
    "網約車繞路多收錢，投訴平台不理",  # Traditional
    "孩子学校强制购买教辅资料",
    "",  # nothing to read: the model's prior, as the whole model gives it
    "路灯不亮",
]


@pytest.fixture(scope="module")
def texts(sample) -> list[str]:
    """The sample's petitions (many, so the batch path is taken) and the few above."""
    return list(sample.texts) + PETITIONS


def test_the_served_form_answers_exactly_as_the_whole_model(live_model, texts):
    served = ServedModel.from_classifier(live_model)
    assert served is not None
    np.testing.assert_array_equal(served.predict_proba(texts), live_model.predict_proba(texts))
    assert [p.to_dict() for p in served.predict_top_k(texts, k=3)] == [
        p.to_dict() for p in live_model.predict_top_k(texts, k=3, n_reasons=0)
    ]
    # one petition at a time (the API's fast path) gives the same labels and decisions
    for text, batch in zip(PETITIONS, served.predict_top_k(PETITIONS), strict=True):
        [single] = live_model.predict_top_k([text], n_reasons=0)
        assert (single.label, single.abstain) == (batch.label, batch.abstain)
        assert single.confidence == pytest.approx(batch.confidence, abs=1e-12)


def test_keyword_features_and_temperature_calibration_are_served_too(sample):
    texts, labels = list(sample.texts[:200]), list(sample.labels[:200])
    model = PetitionClassifier(
        keywords={"人社局": ["欠薪", "工资"], "教育局": ["学校", "教辅"]},
        calibration="temperature",
        drop_function_words=True,
    ).fit(texts, labels)
    served = ServedModel.from_classifier(model)
    assert served is not None
    np.testing.assert_array_equal(
        served.predict_proba(texts + PETITIONS), model.predict_proba(texts + PETITIONS)
    )


def test_a_bundle_file_holds_the_served_form_first_and_loads_without_scikit_learn(live_model, tmp_path):
    path = tmp_path / "model.joblib"
    live_model.save(path)
    assert PetitionClassifier.load(path).predict_top_k(PETITIONS) == live_model.predict_top_k(PETITIONS)
    script = (
        "import sys\n"
        "from triage.served import load_served\n"
        f"m = load_served({str(path)!r})\n"
        f"print(type(m).__name__, m.predict_top_k({PETITIONS[:2]!r})[0].label, 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["ServedModel", live_model.predict_top_k(PETITIONS[:1])[0].label, "False"]


def test_older_bundles_and_models_without_a_served_form_load_whole(live_model, tmp_path, sample):
    import pickle
    import zlib

    older = tmp_path / "older.joblib"  # the format before the served form: header, then the model
    older.write_bytes(BUNDLE_HEADER + zlib.compress(pickle.dumps(live_model, protocol=5)))
    loaded = load_served(older)
    assert isinstance(loaded, PetitionClassifier)
    assert loaded.predict_top_k(PETITIONS) == live_model.predict_top_k(PETITIONS)

    # 4-character n-grams: counted by scikit-learn's analyzer only, so no served form
    unserved = PetitionClassifier(char_ngram_range=(1, 4)).fit(
        list(sample.texts[:80]), list(sample.labels[:80])
    )
    assert ServedModel.from_classifier(unserved) is None
    path = tmp_path / "unserved.joblib"
    unserved.save(path)
    assert path.read_bytes().startswith(BUNDLE_HEADER)
    assert isinstance(load_served(path), PetitionClassifier)
