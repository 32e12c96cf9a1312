import numpy as np
import pytest

from triage.classifier import PetitionClassifier, fit_thresholds
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


def test_fit_refuses_a_single_example_label():
    with pytest.raises(ValueError, match="孤例"):
        PetitionClassifier().fit(["甲", "乙", "丙", "丁", "戊"], ["常见", "常见", "常见", "常见", "孤例"])


def test_predict_before_fit_fails():
    with pytest.raises(RuntimeError, match="not fitted"):
        PetitionClassifier().predict(["文本"])
