"""The classifier's word segmenter: jieba (Python) or rjieba (jieba-rs), kept with the model.

A model's words must come from the segmenter it was trained with, so the choice is a parameter
saved in the bundle; bundles saved before it existed were trained with jieba and must load and
predict as they always did.
"""

from __future__ import annotations

import importlib.metadata
import pickle

import numpy as np
import pytest

from triage.classifier import PetitionClassifier
from triage.text import SEGMENTERS, _domain_words, segment, tokenize

# the first two are split differently by the two segmenters (jieba cuts at the hyphen)
TEXTS = ["小区3栋20-7号楼下油烟扰民", "编号2019-0815的投诉没有回复", "加装电梯的补贴什么时候发放"]


@pytest.fixture(scope="module")
def models(sample) -> dict[str, PetitionClassifier]:
    return {s: PetitionClassifier(segmenter=s, cv=2).fit(sample.texts, sample.labels) for s in SEGMENTERS}


@pytest.mark.parametrize("segmenter", SEGMENTERS)
def test_a_model_round_trips_with_its_segmenter(models, segmenter, tmp_path, sample):
    model = models[segmenter]
    path = tmp_path / "m.joblib"
    model.save(path)
    loaded = PetitionClassifier.load(path)
    assert loaded.segmenter == loaded.get_params()["segmenter"] == segmenter
    texts = sample.texts[:40] + TEXTS
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    assert [p.to_dict() for p in loaded.predict_top_k(texts)] == [
        p.to_dict() for p in model.predict_top_k(texts)
    ]


def test_the_model_reads_the_words_of_its_own_segmenter(models):
    """jieba splits "20-7" at the hyphen, jieba-rs keeps it: each model's words are its own."""
    text = "小区3栋20-7号楼下油烟扰民"
    words = {s: models[s]._prepare([text])[0][1].split() for s in SEGMENTERS}
    assert "20-7" in words["rjieba"] and "20-7" not in words["jieba"]
    for s in SEGMENTERS:
        assert words[s] == tokenize(text, segmenter=s)


def test_an_old_bundle_without_the_parameter_loads_as_jieba(models, tmp_path, sample):
    old = pickle.loads(pickle.dumps(models["jieba"]))
    del old.__dict__["segmenter"]  # what a bundle pickled before the parameter existed holds
    path = tmp_path / "old.joblib"
    old.save(path)
    loaded = PetitionClassifier.load(path)
    assert loaded.segmenter == "jieba" and loaded.get_params()["segmenter"] == "jieba"
    texts = sample.texts[:40] + TEXTS
    np.testing.assert_array_equal(loaded.predict_proba(texts), models["jieba"].predict_proba(texts))


def test_the_fast_path_matches_the_pipeline_with_rjieba(models, sample):
    model = models["rjieba"]
    texts = sample.texts[:60] + TEXTS
    pipeline = model._proba_from_features(model._features(model._prepare(texts)))
    fast = np.vstack([model.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(fast, pipeline, rtol=0, atol=1e-9)


@pytest.mark.parametrize("segmenter", SEGMENTERS)
def test_domain_words_stay_whole(segmenter):
    """Both segmenters load triage/resources/domain_dict.txt: its words are kept whole even where
    the general dictionary alone splits them (业主委员会 → 业主 / 委员会, 加装电梯 → 加装 / 电梯)."""
    for word in ("业主委员会", "加装电梯", "老旧小区改造", "12345热线"):
        assert word in dict(_domain_words())
        assert word in segment(f"关于{word}的问题", segmenter)


def test_an_unknown_segmenter_is_refused(sample):
    with pytest.raises(ValueError, match="segmenter"):
        PetitionClassifier(segmenter="thulac").fit(sample.texts, sample.labels)
    with pytest.raises(ValueError, match="segmenter"):
        tokenize("路灯不亮", segmenter="thulac")


def test_new_bundles_use_jieba_rs_and_record_it(tmp_path, sample):
    """`triage train`, `triage bootstrap` and retraining all go through train_bundle: a new
    bundle is segmented by rjieba, and its metadata says so with the library's version."""
    from training.bundles import ModelRegistry
    from training.train import train_bundle

    registry = ModelRegistry(tmp_path / "models")
    bundle = train_bundle(sample, registry, label_col="department", text_cols=["title", "body"])
    assert bundle.metadata["params"]["segmenter"] == "rjieba"
    assert bundle.metadata["libraries"]["rjieba"] == importlib.metadata.version("rjieba")
    assert PetitionClassifier.load(registry.model_path(bundle.version)).segmenter == "rjieba"


def test_rjieba_segments_from_many_threads_as_from_one(sample):
    """The API classifies in a thread pool: one shared jieba-rs segmenter must give every thread
    the split it gives serially (the caches are bypassed so each call really segments)."""
    from concurrent.futures import ThreadPoolExecutor

    from triage.text import _get_rjieba

    seg = _get_rjieba()
    texts = sample.texts[:200]
    serial = [seg.cut(t, True) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda t: seg.cut(t, True), texts * 4)) == serial * 4
