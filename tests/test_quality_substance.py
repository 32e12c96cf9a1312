"""The quality gate judges content (issue 16, finding 1): restating the petition and stock phrases are
not content; 投诉, 求助 and unknown-type replies need a finding, a result, an action with who/when or a
decision with its reason; bare deferrals, requests for more and one-line referrals are `no_decision`;
the checklist comes from the checker and the verdict agrees with it. The hand-written sets in
benchmarks/data are checked whole: every substantive reply passes, the boilerplate ones the gate is
known to catch stay caught."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from triage.quality import CHECKLIST, FLAG_CODES, QualityChecker, load_rules
from triage.quality.reasons import reason_problem

DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"
FIRE_LANE = {
    "title": "城南区幸福里小区3号楼后消防通道被私家车占用",
    "body": "城南区幸福里小区3号楼后面的消防通道长期被私家车占用，万一发生火灾消防车进不来，请相关部门尽快处理。",
}
BUS = {
    "title": "建议延长28路公交运营时间",
    "body": "28路公交晚上八点就收车了，下夜班的人没车坐，建议延长到晚上十点。",
}
ECHO = "网友您好：您反映的城南区幸福里小区3号楼后消防通道被私家车占用的问题已收悉。我们高度重视，将进一步加强管理。"
ISSUE_EXAMPLES = [
    ECHO,
    "将会同相关部门认真研究，妥善处理，争取早日解决",
    "已安排专人跟进，后续会加强管理，请耐心等待",
    "您的建议已收集，将认真考虑",
    "待下一轮调整时一并考虑",
]
SUBSTANTIVE = (
    "您好！经核实，幸福里小区3号楼后消防通道确有6辆私家车长期停放。城南区消防救援大队已于6月3日对车主"
    "逐一电话通知挪车，并在通道两端加装了隔离桩，6月5日复查时通道已畅通。"
)


@pytest.fixture(scope="module")
def checker() -> QualityChecker:
    return QualityChecker()


def no_decision(result) -> dict | None:
    return next((f.to_dict() for f in result.flags if f.code == "no_decision"), None)


def checklist(result) -> dict[str, dict]:
    return {c["item"]: c for c in result.to_dict()["checklist"]}


@pytest.mark.parametrize("reply", ISSUE_EXAMPLES)
@pytest.mark.parametrize("request_type", ["投诉", "求助", None])
def test_the_issues_boilerplate_replies_are_flagged_with_evidence(checker, reply, request_type):
    result = checker.check(FIRE_LANE, reply, request_type=request_type)
    assert result.verdict == "revise" and result.score < 60, result.to_dict()
    flag = no_decision(result)
    assert flag is not None and flag["evidence"], result.codes
    assert "去掉称呼、套话和复述后只剩" in flag["evidence"]
    items = checklist(result)
    assert items["实质内容"]["required"] is True and items["实质内容"]["present"] is False


@pytest.mark.parametrize("reply", ISSUE_EXAMPLES[3:])
def test_deferrals_are_flagged_on_a_suggestion_too(checker, reply):
    result = checker.check(BUS, reply, request_type="建议")
    flag = no_decision(result)
    assert result.verdict == "revise" and flag is not None
    assert "推后处理，但没有写明决定、时间或理由" in flag["evidence"]
    assert "考虑" in flag["evidence"]


def test_restating_the_petition_is_shown_as_evidence_not_counted(checker):
    flag = no_decision(checker.check(FIRE_LANE, ECHO, request_type="投诉"))
    assert "复述留言" in flag["evidence"] and "消防通道被私家车占用" in flag["evidence"]
    assert "高度重视" in flag["evidence"] and "进一步加强管理" in flag["evidence"]
    # the echo used to count as substance: the same reply scored 100
    assert checker.check(FIRE_LANE, ECHO, request_type="投诉").score <= 50


def test_stock_phrases_are_listed(checker):
    flag = no_decision(checker.check(FIRE_LANE, ISSUE_EXAMPLES[1], request_type="投诉"))
    for phrase in ("认真研究", "妥善处理", "争取早日解决"):
        assert phrase in flag["evidence"]
    flag = no_decision(checker.check(FIRE_LANE, ISSUE_EXAMPLES[2], request_type="求助"))
    assert "专人跟进" in flag["evidence"] and "耐心等待" in flag["evidence"]


def test_a_date_in_a_stock_promise_is_not_a_time_limit(checker):
    """“争取早日解决” used to count 早日 as a date: the 时限 and 措施 items were ✓."""
    items = checklist(checker.check(FIRE_LANE, ISSUE_EXAMPLES[1], request_type="投诉"))
    assert items["时限"]["present"] is False and items["处理结果/措施"]["present"] is False


def test_a_substantive_reply_to_the_same_petition_passes(checker):
    result = checker.check(FIRE_LANE, SUBSTANTIVE, request_type="投诉")
    assert result.verdict == "ok" and "no_decision" not in result.codes, result.to_dict()
    items = checklist(result)
    assert items["实质内容"]["present"] and items["核实情况"]["present"] and items["处理结果/措施"]["present"]
    assert "核实情况" in items["实质内容"]["evidence"]


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("您好，请您提供具体的小区名称和楼栋号。", "要求补充情况"),
        ("您好，此事请向相关部门反映。", "只让群众另找渠道"),
    ],
)
def test_an_info_request_without_a_next_step_and_a_bare_referral_are_no_decision(checker, reply, kind):
    flag = no_decision(checker.check(BUS, reply, request_type="咨询"))
    assert flag is not None and kind in flag["evidence"]


def test_an_info_request_with_a_next_step_and_a_named_referral_pass(checker):
    asks = "您好，请您提供具体的站点名称，提供后我们将在3个工作日内答复，电话0571-86001234。"
    assert "no_decision" not in checker.check(BUS, asks, request_type="咨询").codes
    named = "您好，28路由市公交集团运营，运营时间调整请联系市公交集团客服中心，电话0571-86002345。"
    assert "no_decision" not in checker.check(BUS, named, request_type="求助").codes
    # a 投诉 must be handled by the office itself: the same referral does not answer it
    assert "no_decision" in checker.check(BUS, named, request_type="投诉").codes


def test_a_dated_or_reasoned_deferral_on_a_suggestion_passes(checker):
    dated = "您好，28路延长运营至晚上10点已列入公交集团2025年线网调整计划，将于7月1日起执行。"
    assert "no_decision" not in checker.check(BUS, dated, request_type="建议").codes
    reasoned = "您好，因28路夜间客流每班不足5人，按照《市公交线网管理办法》暂不延长运营时间，可改乘夜班N2路。"
    assert "no_decision" not in checker.check(BUS, reasoned, request_type="建议").codes


def test_verdict_is_never_ok_while_a_required_item_is_missing(checker):
    for reply in [*ISSUE_EXAMPLES, SUBSTANTIVE, ""]:
        for kind in ("投诉", "求助", "建议", "咨询", None):
            result = checker.check(FIRE_LANE, reply, request_type=kind)
            if result.missing_required:
                assert result.verdict == "revise"
            assert ("no_decision" in result.codes) == ("实质内容" in result.missing_required) or not reply


def test_the_checklist_is_the_elements_plus_substance(checker):
    data = checker.check(FIRE_LANE, SUBSTANTIVE).to_dict()
    assert [c["item"] for c in data["checklist"]] == list(CHECKLIST)
    assert all(set(c) == {"item", "present", "required", "evidence"} for c in data["checklist"])
    by_item = {c["item"]: c["present"] for c in data["checklist"]}
    assert all(by_item[name] == present for name, present in data["elements"].items())


def test_no_decision_is_a_stable_code_with_a_rule():
    assert "no_decision" in FLAG_CODES and load_rules().flags["no_decision"].weight >= 41


def test_an_older_rules_file_without_the_new_sections_still_loads(tmp_path):
    from importlib import resources

    import yaml

    data = yaml.safe_load(
        resources.files("triage.resources").joinpath("quality_rules.yaml").read_text(encoding="utf-8")
    )
    del data["substance"], data["flags"]["no_decision"]
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    old = QualityChecker(rules_path=path)
    assert "no_decision" in old.check(FIRE_LANE, ECHO, request_type="投诉").codes


def _rows(name: str) -> list[dict[str, str]]:
    rows = []
    for part in ("short", "fresh"):
        with open(DATA / f"quality_{name}_{part}.csv", encoding="utf-8") as f:
            rows += list(csv.DictReader(f))
    return rows


def _verdicts(checker, name: str) -> dict[str, str]:
    return {
        r["id"]: checker.check(
            {"title": r["title"], "body": r["body"]}, r["reply"], request_type=r["request_type"] or None
        ).verdict
        for r in _rows(name)
    }


def test_every_hand_written_substantive_reply_passes(checker):
    verdicts = _verdicts(checker, "substantive")
    assert len(verdicts) >= 30
    assert [i for i, v in verdicts.items() if v != "ok"] == []


def test_hand_written_boilerplate_is_caught(checker):
    verdicts = _verdicts(checker, "boilerplate")
    assert len(verdicts) >= 30
    missed = sorted(i for i, v in verdicts.items() if v != "revise")
    # the figure is in docs/benchmarks.md: two 咨询 replies pointing at "the rules" are the known misses
    assert set(missed) <= {"b16", "g04"}, missed


@pytest.mark.parametrize(
    "token", ["1", "ok", "OK", "。。。", "好好好好好好好好", "同意", "   ", "asdf", "这个这个这个这个"]
)
def test_a_token_is_not_a_reason(token):
    assert reason_problem(token) is not None


@pytest.mark.parametrize(
    "reason",
    [
        "已电话答复，书面简短",
        "上级要求先答复",
        "已电话联系群众，转办单位当日已处理完毕",
        "called the citizen back today",
    ],
)
def test_a_sentence_is_a_reason(reason):
    assert reason_problem(reason) is None


def test_traditional_boilerplate_is_flagged_like_simplified(checker):
    petition = {
        "title": "城南區幸福裡小區3號樓後消防通道被私家車佔用",
        "body": "城南區幸福裡小區3號樓後面的消防通道長期被私家車佔用，萬一發生火災消防車進不來。",
    }
    reply = "網友您好：您反映的城南區幸福裡小區3號樓後消防通道被私家車佔用的問題已收悉。我們高度重視，將進一步加強管理。"
    result = checker.check(petition, reply, request_type="投诉")
    simplified = checker.check(FIRE_LANE, ECHO, request_type="投诉")
    assert result.verdict == "revise" and result.codes == simplified.codes
    assert "复述留言" in no_decision(result)["evidence"]


def test_a_broken_substance_pattern_names_its_key(tmp_path):
    from importlib import resources

    import yaml

    from triage.quality import RulesError

    data = yaml.safe_load(
        resources.files("triage.resources").joinpath("quality_rules.yaml").read_text(encoding="utf-8")
    )
    data["substance"]["phrases"]["stock"] = ["(认真"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError, match=r"substance\.phrases\.stock"):
        QualityChecker(rules_path=path)
