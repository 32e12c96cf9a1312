import pickle

import numpy as np
import pytest

from tests.conftest import requires_shared
from triage.classifier import (
    BUNDLE_HEADER,
    KeywordFeatures,
    PetitionClassifier,
    fit_thresholds,
    function_words,
    keywords_from_taxonomy,
    prepare,
)
from triage.served import SERVED_HEADER
from triage.text import normalize, to_simplified


def test_predicts_departments_of_held_out_sample(registry):
    meta = registry.metadata(registry.live_version())
    # the sample's own held-out split: a real measurement, far above chance (1/10)
    assert meta["macro_f1"] >= 0.6
    assert meta["counts"]["test"] >= 10 * 3


def test_top_k_is_sorted_probabilities_over_known_labels(live_model):
    [p] = live_model.predict_top_k(["小区楼下烧烤店油烟太大，晚上噪音扰民"], k=3)
    probs = [item["probability"] for item in p.top_k]
    assert probs == sorted(probs, reverse=True)
    assert all(0.0 <= x <= 1.0 for x in probs)
    assert p.top_k[0]["label"] == p.label and p.confidence == probs[0]
    assert {item["label"] for item in p.top_k} <= set(live_model.classes_)
    assert np.isclose(live_model.predict_proba(["任何文本"]).sum(), 1.0)


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("公司拖欠我们三个月工资，老板跑路了，劳动监察能不能管", "人社局"),
        ("孩子明年上小学，我们小区划在哪个学区？入学报名要什么材料", "教育局"),
        ("超市卖过期食品，买的牛奶已经过期一周了", "市场监管局"),
    ],
)
def test_clear_petitions_get_the_obvious_department(live_model, text, department):
    assert live_model.predict([text]) == [department]


def test_traditional_input_gets_the_same_label_as_simplified(live_model, sample):
    traditional = [
        "公司拖欠我們三個月工資，老闆跑路了，勞動監察能不能管",
        "社區垃圾桶滿了好幾天沒人清運，臭氣熏天",
        "醫院掛號太難了，排隊三個小時",
    ]
    simplified = [to_simplified(t) for t in traditional]
    assert live_model.predict(traditional) == live_model.predict(simplified)
    a = live_model.predict_proba(traditional)
    b = live_model.predict_proba(simplified)
    assert np.allclose(a, b)


def test_reasons_are_terms_from_the_petition(live_model):
    text = "公司拖欠工资三个月，劳动合同也没签"
    [p] = live_model.predict_top_k([text])
    assert p.reasons, "a prediction must come with reasons"
    assert all(r.weight > 0 for r in p.reasons)
    assert not any(ch in r.term for r in p.reasons for ch in ",，。 "), p.reasons
    assert all(r.term.replace(" ", "") in normalize(text) for r in p.reasons), p.reasons
    assert live_model.explain(text, n=6) == p.reasons


def test_explain_for_an_unknown_label_fails(live_model):
    with pytest.raises(ValueError, match="unknown label"):
        live_model.explain("随便", label="不存在的部门")


def test_abstains_on_text_with_no_signal(live_model):
    [p] = live_model.predict_top_k(["你好"])
    assert p.abstain is True


def test_thresholds_meet_target_precision_on_their_data():
    rng = np.random.default_rng(0)
    labels = np.array(["a", "b"])
    conf = rng.uniform(0.5, 1.0, 400)
    correct = rng.uniform(0, 1, 400) < conf  # more confident, more often right
    y = np.where(correct, "a", "b")
    proba = np.column_stack([conf, 1 - conf])
    t = fit_thresholds(proba, y, labels, 0.9)
    kept = conf >= t[0]
    assert kept.any() and (y[kept] == "a").mean() >= 0.9
    assert t[1] > 1.0  # "b" is never predicted: always abstain


def test_get_params_round_trip():
    model = PetitionClassifier(C=2.0, min_margin=0.2)
    params = model.get_params()
    assert params["C"] == 2.0 and params["min_margin"] == 0.2
    clone = PetitionClassifier(**params)
    assert clone.get_params() == params
    with pytest.raises(ValueError):
        model.set_params(nonsense=1)


def test_save_and_load_give_identical_predictions(live_model, tmp_path):
    path = tmp_path / "m.joblib"
    live_model.save(path)
    again = PetitionClassifier.load(path)
    texts = ["路灯不亮好几天了", "网约车绕路多收钱"]
    assert np.allclose(again.predict_proba(texts), live_model.predict_proba(texts))


def test_a_model_saved_with_joblib_by_an_earlier_version_still_loads(live_model, tmp_path):
    """Bundles already in a registry or an artifact folder were written by joblib: they keep
    loading; a new save is the faster format (header, pickle, zlib) and predicts the same."""
    import joblib

    old, new = tmp_path / "old.joblib", tmp_path / "new.joblib"
    joblib.dump(live_model, old, compress=3)
    live_model.save(new)
    written = new.read_bytes()
    assert written.startswith(SERVED_HEADER) and BUNDLE_HEADER in written[:200_000_000]
    assert not old.read_bytes().startswith((BUNDLE_HEADER, SERVED_HEADER))
    texts = ["路灯不亮好几天了", "網約車繞路多收錢"]
    expected = [p.to_dict() for p in live_model.predict_top_k(texts)]
    for path in (old, new):
        assert [p.to_dict() for p in PetitionClassifier.load(path).predict_top_k(texts)] == expected


def test_fit_refuses_a_single_example_label():
    with pytest.raises(ValueError, match="孤例"):
        PetitionClassifier().fit(["甲", "乙", "丙", "丁", "戊"], ["常见", "常见", "常见", "常见", "孤例"])


def test_predict_before_fit_fails():
    with pytest.raises(RuntimeError, match="not fitted"):
        PetitionClassifier().predict(["文本"])


# --- levers for the segmented public split (drop_function_words, keywords, calibration, self-training)

KEYWORDS = {
    "劳动": ["拖欠工资", "劳动合同", "社会保险"],
    "环境": ["噪音污染", "油烟扰民"],
}


def test_default_preparation_keeps_every_character():
    text = normalize("我们小区的垃圾，没有人清运了！")
    chars, words = prepare(text)
    assert chars == text.replace(" ", "")
    assert "垃圾" in words.split()


def test_dropping_function_words_makes_raw_text_look_like_a_segmented_row():
    raw = normalize("我们小区的垃圾已经三天没有人清运了，为什么没有人管？")
    chars, words = prepare(raw, drop_function_words=True)
    assert not set(words.split()) & function_words()
    assert "的" not in chars and "？" not in chars and "为什么" not in chars
    assert "垃圾" in chars and "清运" in chars
    # the segmented, stop-word-free form of the same petition yields the same character view
    segmented = "小区 垃圾 已经 三天 没有人 清运 没有人 管"
    assert prepare(normalize(segmented), drop_function_words=True)[0] == chars


def test_keywords_from_taxonomy_splits_names_and_skips_other():
    rows = [
        ("劳动和社会保障", "劳动关系和劳动争议", "拖欠工资、劳动合同"),
        ("劳动和社会保障", "其他", "其他"),
        ("环境保护", "噪音污染", "油烟扰民（餐饮）"),
    ]
    groups = keywords_from_taxonomy(rows)
    assert set(groups) == {"劳动和社会保障", "环境保护"}
    assert groups["劳动和社会保障"] == ["劳动关系", "劳动争议", "拖欠工资", "劳动合同"]
    assert "其他" not in groups["劳动和社会保障"]
    assert groups["环境保护"] == ["噪音污染", "油烟扰民", "餐饮"]


def test_keyword_features_count_hits_per_group():
    kf = KeywordFeatures(KEYWORDS)
    docs = [prepare(normalize(t)) for t in ["公司拖欠工资，也没签劳动合同", "今天天气很好", "楼下油烟扰民"]]
    groups, terms = kf.transform(docs)
    labour, environment = kf.groups_.index("劳动"), kf.groups_.index("环境")
    assert groups[0, labour] > 0 and groups[0, environment] == 0
    assert groups[1].nnz == 0 and terms[1].nnz == 0
    assert groups[2, environment] > 0 and groups[2, labour] == 0
    names = kf.feature_names()
    hit_terms = {names[kf.n_group_features + j] for j in terms[0].indices}
    assert {"拖欠工资", "劳动合同"} <= hit_terms
    assert np.isclose(np.linalg.norm(terms[0].toarray()), 1.0)


@pytest.fixture(scope="module")
def lever_model(sample):
    """A model with every lever on, fitted on the sample, with half the sample as 'unlabelled'."""
    half = len(sample.texts) // 2
    model = PetitionClassifier(
        drop_function_words=True,
        keywords=KEYWORDS,
        calibration="temperature",
        pseudo_label_share=0.5,
    )
    # min_df is 2: the made-up word must occur in two unlabelled texts to enter the vocabulary
    unlabelled = [*sample.texts[half:], "村里新开的独角兽养殖场臭气熏天", "独角兽养殖场的污水直接排进河里"]
    return model.fit(sample.texts[:half], sample.labels[:half], unlabelled=unlabelled), unlabelled


def test_self_training_adds_the_confident_share_of_the_unlabelled(lever_model):
    model, unlabelled = lever_model
    assert model.pseudo_labelled_ == round(0.5 * len(unlabelled))
    # the unlabelled texts are part of the vocabulary the model sees
    assert any("独角兽" in name for name in model.feature_names())


def test_no_unlabelled_means_no_pseudo_labels(sample):
    model = PetitionClassifier(word_features=False, cv=2).fit(sample.texts, sample.labels, unlabelled=None)
    assert model.pseudo_labelled_ == 0


def test_temperature_calibration_keeps_the_svm_label(lever_model, sample):
    model, _ = lever_model
    texts = sample.texts[:40]
    features = model._features(model._prepare(texts))
    svm_labels = model.svc_.classes_[model.svc_.decision_function(features).argmax(axis=1)]
    assert model.predict(texts) == [str(label) for label in svm_labels]
    assert np.allclose(model.predict_proba(texts).sum(axis=1), 1.0)
    assert model.calibrator_.temperature_ > 0


def test_unknown_calibration_is_refused(sample):
    with pytest.raises(ValueError, match="calibration"):
        PetitionClassifier(calibration="isotonic", cv=2).fit(sample.texts, sample.labels)


def test_levers_keep_reasons_terms_of_the_petition(lever_model):
    model, _ = lever_model
    text = "公司拖欠工资三个月，劳动合同也没签，我们该怎么办"
    [p] = model.predict_top_k([text])
    assert p.reasons
    assert all(r.term in text for r in p.reasons)  # never a keyword group's name


def test_lever_params_round_trip_and_the_model_pickles(lever_model, tmp_path):
    model, _ = lever_model
    params = model.get_params()
    assert params["keywords"] == KEYWORDS and params["drop_function_words"] is True
    assert PetitionClassifier(**params).get_params() == params
    path = tmp_path / "m.joblib"
    model.save(path)
    texts = ["楼下饭店油烟扰民", "拖欠工资"]
    assert np.allclose(PetitionClassifier.load(path).predict_proba(texts), model.predict_proba(texts))


def test_a_bundle_pickled_before_the_levers_existed_still_predicts(live_model):
    state = pickle.loads(pickle.dumps(live_model)).__dict__
    for name in PetitionClassifier._LEGACY_DEFAULTS:
        state.pop(name, None)
    old = PetitionClassifier.__new__(PetitionClassifier)
    old.__setstate__(state)
    texts = ["路灯不亮好几天了", "公司拖欠工资"]
    assert np.allclose(old.predict_proba(texts), live_model.predict_proba(texts))
    assert old.keyword_features_ is None and old.drop_function_words is False


@requires_shared
def test_self_training_pool_holds_nothing_of_the_test_set():
    from benchmarks.classify import _compact, unlabelled_texts
    from datasets import load_category_test
    from triage.text import petition_text

    test = load_category_test()
    pool, stats = unlabelled_texts(test)
    test_texts = {_compact(petition_text(r["title"], r["body"])) for r in test}
    assert stats["kept"] == len(pool) > 5000
    assert stats["test_id"] > 0 and stats["test_text"] > 0  # the raw files do contain test messages
    assert not {_compact(t) for t in pool} & test_texts
