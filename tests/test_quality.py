"""The reply quality checker: every flag raised by a reply that deserves it and not by one that
does not, the elements checklist, Traditional = Simplified, and every kind of bad input."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from triage.quality import (
    ELEMENTS,
    FLAG_CODES,
    QualityChecker,
    QualityInputError,
    ReplyTooLong,
    RulesError,
    load_rules,
    parse_when,
)
from triage.text import to_simplified
from triage.workdays import WorkCalendar

LAMP = {
    "title": "锦绣花园小区北门路灯不亮",
    "body": "城南区锦绣花园小区北门外的三盏路灯坏了一个多月，晚上很黑，老人出门不安全。请问什么时候能修好？",
}
GOOD = (
    "网友您好：您反映的锦绣花园北门路灯问题已收悉。经核实，北门外三盏路灯因地下电缆老化损坏。"
    "我局已于3月5日更换电缆，路灯已恢复照明。根据《临江市城市照明管理办法》第十二条，路灯故障应在"
    "7个工作日内修复，此次维修超时，我们已责令养护单位整改。如再有问题，可拨打城管热线0571-86512345。"
    "临江市城市管理局 2025年3月6日"
)
WAGES = {
    "title": "公司拖欠工资三个月",
    "body": "我们在城北区恒达建材公司打工，公司拖欠十二名工人三个月工资共九万元，老板不接电话。请问该向哪里投诉？",
}


@pytest.fixture(scope="module")
def checker() -> QualityChecker:
    return QualityChecker()


def codes(result) -> list[str]:
    return [f["code"] for f in result.to_dict()["flags"]]


def flag(result, code: str) -> dict:
    return next(f for f in result.to_dict()["flags"] if f["code"] == code)


# --- a good reply ------------------------------------------------------------------------------


def test_good_reply_is_ok_with_every_element(checker):
    result = checker.check(LAMP, GOOD, replied_at="2025-03-06 10:00", received_at="2025-03-03 09:00")
    data = result.to_dict()
    assert data["verdict"] == "ok" and data["score"] == 100 and data["flags"] == []
    assert list(data["elements"]) == list(ELEMENTS)
    assert all(data["elements"].values()), data["elements"]


def test_result_shape_is_the_contract(checker):
    data = checker.check(LAMP, "已收悉。").to_dict()
    assert set(data) == {"score", "verdict", "flags", "elements", "checklist"}
    assert isinstance(data["score"], int) and 0 <= data["score"] <= 100
    assert data["verdict"] in {"ok", "revise"}
    assert all(set(f) == {"code", "message", "evidence"} for f in data["flags"])
    assert all(f["code"] in FLAG_CODES and f["message"] and f["evidence"] for f in data["flags"])


# --- one test per flag: a reply that must raise it and one that must not -----------------------


def test_empty_reply_is_a_flag_not_a_crash(checker):
    for reply in ("", "   \n  "):
        result = checker.check(LAMP, reply)
        assert codes(result) == ["empty_reply"] and result.verdict == "revise" and result.score == 0
    assert "empty_reply" not in codes(checker.check(LAMP, GOOD))


def test_ack_only(checker):
    result = checker.check(LAMP, "网友：您好！您的留言已收悉，感谢您对我们工作的关心和支持！")
    assert "ack_only" in codes(result) and result.verdict == "revise"
    assert "留言已收悉" in flag(result, "ack_only")["evidence"]
    # the same opening followed by an answer is not acknowledgement only
    assert "ack_only" not in codes(checker.check(LAMP, "网友：您好！您的留言已收悉。" + GOOD))


def test_forwarded_only(checker):
    result = checker.check(LAMP, "您的留言已收悉。关于您反映的问题，已转城南区调查处理，处理结果将及时反馈。")
    assert "forwarded_only" in codes(result) and result.verdict == "revise"
    assert "已转城南区调查处理" in flag(result, "forwarded_only")["evidence"]
    assert "0 个字" in flag(result, "forwarded_only")["evidence"]
    forwarded_with_result = "您反映的问题已转城南区城管局核实。经核实，北门外三盏路灯因电缆老化损坏，已于3月5日更换电缆并恢复照明。"
    assert "forwarded_only" not in codes(checker.check(LAMP, forwarded_with_result))


def test_forwarded_with_a_number_to_call_is_a_next_step(checker):
    reply = "您咨询的事项已转交城南区城管局，可与该局直接联系，电话：0571-86512345。"
    assert "forwarded_only" not in codes(checker.check(LAMP, reply))


def test_generic_promise(checker):
    result = checker.check(
        LAMP, "您好，留言收悉。我局高度重视，将进一步加强管理，加大巡查力度，不断提升服务水平。"
    )
    assert "generic_promise" in codes(result) and result.verdict == "revise"
    assert "高度重视" in flag(result, "generic_promise")["evidence"]
    # the same stock phrase beside concrete facts is fine
    concrete = "我局高度重视。经核实，北门外三盏路灯因电缆老化损坏，已于3月5日更换电缆，路灯已恢复照明。"
    assert "generic_promise" not in codes(checker.check(LAMP, concrete))


def test_generic_phrase_inside_a_cited_document_title_is_a_basis(checker):
    reply = (
        "根据《关于进一步加强城市照明管理的通知》第五条，路灯故障应在7个工作日内修复，城南区已于3月5日修复。"
    )
    assert "generic_promise" not in codes(checker.check(LAMP, reply))


def test_buck_passing(checker):
    result = checker.check(WAGES, "建议您向相关部门咨询。")
    assert "buck_passing" in codes(result) and result.verdict == "revise"
    assert "相关部门" in flag(result, "buck_passing")["evidence"]
    named = "您反映的欠薪问题属劳动保障监察职责，请携带劳动合同、工资条到城北区人社局劳动监察大队投诉，电话0571-86500000。"
    assert "buck_passing" not in codes(checker.check(WAGES, named))


def test_complaint_answered_only_with_a_referral_is_buck_passing(checker):
    reply = "您好，建议您与商家协商解决，协商不成可拨打12315。"
    result = checker.check(
        {"title": "酒店江景房看不到江", "body": "宣传的江景房根本看不到江"}, reply, request_type="投诉"
    )
    assert "buck_passing" in codes(result)
    consultation = checker.check(
        {"title": "江景房问题咨询", "body": "看不到江怎么办"}, reply, request_type="咨询"
    )
    assert "buck_passing" not in codes(consultation)


def test_referral_back_to_the_office_is_not_buck_passing(checker):
    reply = GOOD.replace("可拨打城管热线0571-86512345", "请直接与我们联系")
    assert "buck_passing" not in codes(checker.check(LAMP, reply))


def test_too_short(checker):
    result = checker.check(LAMP, "你好！2019年10月10日")
    assert "too_short" in codes(result) and result.verdict == "revise"
    assert "too_short" not in codes(checker.check(LAMP, "经核实，北门路灯已于3月5日修复，恢复照明。"))


def test_off_topic(checker):
    wrong_case = (
        "经查，该工地是龙湖春江项目工地，目前已进入渣土回填、基底施工阶段，办理了渣土回填许可证，"
        "夜间施工属于合法施工，施工单位已承诺控制噪音。"
    )
    school = {
        "title": "外国语学校国庆节强制补课",
        "body": "市外国语学校国庆节期间组织初三学生补课，每人收费八百元，家长意见很大。",
    }
    result = checker.check(school, wrong_case)
    assert "off_topic" in codes(result)
    assert "补课" in flag(result, "off_topic")["evidence"]
    assert "off_topic" not in codes(checker.check(LAMP, GOOD))


def test_unanswered_question(checker):
    petition = {
        "title": "居住证办理咨询",
        "body": "我在高新区租房住，请问办理居住证需要带什么材料？要去哪个窗口？",
    }
    result = checker.check(petition, "您好，感谢您对我们工作的支持，我们会认真对待每一位网友的留言。")
    assert "unanswered_question" in codes(result)
    assert "居住证" in flag(result, "unanswered_question")["evidence"]
    answer = "您好，办理居住证需携带身份证、租房合同到高新区派出所户政窗口办理，当场受理。"
    assert "unanswered_question" not in codes(checker.check(petition, answer))


def test_no_basis(checker):
    petition = {
        "title": "申请廉租房被拒",
        "body": "我家三口人月收入不到三千元，申请廉租房被街道拒绝，请说明理由。",
    }
    result = checker.check(petition, "经审核，您家不符合廉租房申请条件，不予受理。")
    assert "no_basis" in codes(result)
    assert "不符合" in flag(result, "no_basis")["evidence"]
    with_basis = "经审核，根据《临江市廉租住房保障办法》第八条，家庭人均月收入须低于800元，您家人均1000元，不符合申请条件。"
    assert "no_basis" not in codes(checker.check(petition, with_basis))


def test_no_contact(checker):
    reply = "经核实，北门路灯电缆损坏，城南区城管局已安排更换电缆，更换完成后将及时告知您。"
    result = checker.check(LAMP, reply)
    assert "no_contact" in codes(result)
    assert "no_contact" not in codes(checker.check(LAMP, reply + "联系电话0571-86512345。"))
    assert "no_contact" not in codes(checker.check(LAMP, GOOD))


def test_late_uses_working_days_and_the_request_type(checker):
    # Fri 2024-09-27 → Thu 2024-10-10 spans National Day (1-7 Oct off, Sun 29 Sep a 调休 workday):
    # 29 Sep, 30 Sep, 8, 9 and 10 Oct are 5 working days, against 9 on a plain Monday-Friday count.
    received, replied = "2024-09-27 10:00", "2024-10-10 10:00"
    consultation = checker.check(LAMP, GOOD, received_at=received, replied_at=replied, request_type="咨询")
    assert "late" in codes(consultation) and consultation.verdict == "ok"
    evidence = flag(consultation, "late")["evidence"]
    assert "5 个工作日" in evidence and "时限 3" in evidence and "咨询" in evidence
    complaint = checker.check(LAMP, GOOD, received_at=received, replied_at=replied, request_type="complaint")
    assert "late" not in codes(complaint)
    assert "late" not in codes(checker.check(LAMP, GOOD))  # no dates, no judgement


def test_late_counts_holidays_as_days_off():
    """A calendar in which 2 Jan is a holiday stretches the same dates from 4 to 3 working days."""
    args = {"received_at": "2030-01-01 09:00", "replied_at": "2030-01-07 09:00", "request_type": "咨询"}
    plain = QualityChecker(calendar=WorkCalendar()).check(LAMP, GOOD, **args)
    holiday = QualityChecker(calendar=WorkCalendar(extra_holidays=[date(2030, 1, 2)])).check(
        LAMP, GOOD, **args
    )
    assert "late" in codes(plain) and "late" not in codes(holiday)


def test_request_type_from_petition_and_title(checker):
    args = {"received_at": "2025-03-03 09:00", "replied_at": "2025-03-07 09:00"}  # 4 working days
    typed = checker.check({**LAMP, "request_type": "咨询"}, GOOD, **args)
    assert "late" in codes(typed)
    by_title = checker.check({"title": "咨询居住证办理", "body": LAMP["body"]}, GOOD, **args)
    assert "late" in codes(by_title) and "按标题推断" in flag(by_title, "late")["evidence"]
    assert "late" not in codes(checker.check(LAMP, GOOD, **args))  # default deadline 13


def test_near_duplicate():
    template = "您的留言已收悉。关于您反映的问题，已转{}调查处理。"
    places = [
        "城南区",
        "城北区",
        "城东区",
        "城西区",
        "高新区",
        "滨江区",
        "江北区",
        "开发区",
        "新城区",
        "老城区",
    ]
    corpus = [template.format(p) for p in places] + [GOOD]
    checker = QualityChecker().fit_reply_corpus(corpus)
    result = checker.check(LAMP, template.format("临江区"))
    assert "near_duplicate" in codes(result)
    evidence = flag(result, "near_duplicate")["evidence"]
    assert "11 条答复中另有 10 条" in evidence
    # a reply in the reference set is not its own copy: GOOD appears once, so no flag
    assert "near_duplicate" not in codes(checker.check(LAMP, GOOD))
    # fewer copies than min_others: no flag
    few = QualityChecker().fit_reply_corpus([template.format(p) for p in places[:3]])
    assert "near_duplicate" not in codes(few.check(LAMP, template.format("临江区")))


def test_near_duplicate_is_lazy_and_fitted_once():
    calls = []

    def loader():
        calls.append(1)
        return ["您的留言已收悉。关于您反映的问题，已转城南区调查处理。"] * 20

    checker = QualityChecker().fit_reply_corpus_later(loader)
    assert calls == []
    first = checker.check(LAMP, "您的留言已收悉。关于您反映的问题，已转城北区调查处理。")
    checker.check(LAMP, GOOD)
    assert calls == [1] and "near_duplicate" in codes(first)


# --- verdict and score ----------------------------------------------------------------------


def test_score_is_100_minus_weights(checker):
    rules = checker.rules
    result = checker.check(LAMP, "网友：您好！您的留言已收悉。")
    expected = max(0, 100 - sum(rules.flags[c].weight for c in codes(result)))
    assert result.score == expected
    assert (result.verdict == "revise") == (result.score < rules.revise_below)


def test_minor_flags_alone_do_not_force_revise(checker):
    result = checker.check(
        {**LAMP, "request_type": "咨询"}, GOOD, received_at="2025-03-03 09:00", replied_at="2025-03-14 09:00"
    )
    assert (
        codes(result) == ["late"]
        and result.verdict == "ok"
        and result.score == 100 - checker.rules.flags["late"].weight
    )


# --- Traditional Chinese --------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "網友：您好！您的留言已收悉，已轉相關部門調查處理。",
        "建議您向相關部門諮詢。",
        "我局高度重視，將進一步加強管理。",
        "網友您好：您反映的錦繡花園北門路燈問題已收悉。經核實，北門外三盞路燈因地下電纜老化損壞。我局已於3月5日更換電纜。",
    ],
)
def test_traditional_gives_the_same_result_as_simplified(checker, reply):
    petition_t = {"title": "錦繡花園小區北門路燈不亮", "body": "請問什麼時候能修好？"}
    petition_s = {k: to_simplified(v) for k, v in petition_t.items()}
    traditional = checker.check(petition_t, reply, received_at="2025/3/3 9:00:00", replied_at="2025-03-20")
    simplified = checker.check(
        petition_s, to_simplified(reply), received_at="2025/3/3 9:00:00", replied_at="2025-03-20"
    )
    assert traditional.to_dict() == simplified.to_dict()


def test_full_width_and_html_are_normalised(checker):
    plain = checker.check(LAMP, "您的留言已收悉，已转相关部门调查处理。")
    wrapped = checker.check(LAMP, "<p>您的留言已收悉，已转相关部门调查处理。</p>&nbsp;")
    assert plain.to_dict() == wrapped.to_dict()


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/4/25 9:32:09", datetime(2019, 4, 25, 9, 32, 9)),
        ("2019-04-25T09:32:09", datetime(2019, 4, 25, 9, 32, 9)),
        ("2019-04-25T09:32:09+08:00", datetime(2019, 4, 25, 9, 32, 9)),
        ("2019-04-25", datetime(2019, 4, 25)),
        ("2019/4/25", datetime(2019, 4, 25)),
        ("2019年4月25日", datetime(2019, 4, 25)),
        (date(2019, 4, 25), datetime(2019, 4, 25)),
        ("", None),
        (None, None),
    ],
)
def test_dates_in_the_shapes_exports_use(value, expected):
    assert parse_when(value, "received_at") == expected


@pytest.mark.parametrize("value", ["yesterday", "2019/13/45", "25.4.2019 9:32", "2019/2/30"])
def test_unparseable_dates_name_the_field(checker, value):
    with pytest.raises(QualityInputError) as err:
        checker.check(LAMP, GOOD, replied_at=value)
    assert err.value.field == "replied_at" and "replied_at" in str(err.value)
    with pytest.raises(QualityInputError) as err:
        checker.check({**LAMP, "received_at": value}, GOOD)
    assert err.value.field == "received_at"


def test_reply_before_receipt_is_refused(checker):
    with pytest.raises(QualityInputError) as err:
        checker.check(LAMP, GOOD, received_at="2025-03-06", replied_at="2025-03-01")
    assert err.value.field == "replied_at" and "before" in str(err.value)


# --- other bad input ---------------------------------------------------------------------------


def test_reply_over_the_limit_is_too_long(checker):
    with pytest.raises(ReplyTooLong) as err:
        checker.check(LAMP, "好" * 20_001)
    assert err.value.field == "reply" and "20000" in str(err.value)
    assert checker.check(LAMP, "经核实，路灯已修复。" * 2000).verdict in {
        "ok",
        "revise",
    }  # exactly 20,000 is fine


@pytest.mark.parametrize("petition", [None, "路灯不亮", {}, {"title": "", "body": "  "}])
def test_missing_petition_is_refused(checker, petition):
    with pytest.raises(QualityInputError) as err:
        checker.check(petition, GOOD)
    assert err.value.field == "petition"


def test_non_text_fields_are_refused(checker):
    with pytest.raises(QualityInputError) as err:
        checker.check({"title": 5, "body": "x"}, GOOD)
    assert err.value.field == "petition.title"
    with pytest.raises(QualityInputError) as err:
        checker.check(LAMP, None)
    assert err.value.field == "reply"


def test_unknown_request_type_is_refused(checker):
    with pytest.raises(QualityInputError) as err:
        checker.check(LAMP, GOOD, request_type="抱怨")
    assert err.value.field == "request_type" and "咨询" in str(err.value)


def test_check_many_names_the_bad_item(checker):
    items = [
        {"petition": LAMP, "reply": GOOD},
        {"petition": LAMP, "reply": "已收悉", "replied_at": "not a date"},
    ]
    with pytest.raises(QualityInputError) as err:
        checker.check_many(items)
    assert err.value.field == "items[1].replied_at"
    results = checker.check_many(items[:1] * 3)
    assert [r.verdict for r in results] == ["ok"] * 3


# --- the rules file --------------------------------------------------------------------------


def test_bundled_rules_cover_every_flag():
    rules = load_rules()
    assert set(rules.flags) == set(FLAG_CODES)
    assert rules.deadline_for("咨询") == 3 and rules.deadline_for("投诉") == 13
    assert rules.deadline_for("建议") == 13 and rules.deadline_for("求助") == 5
    assert rules.canonical_type("consultation") == "咨询" and rules.canonical_type("Complaint") == "投诉"


def test_an_admin_can_extend_a_phrase_list(tmp_path, checker):
    reply = "您好，您的诉求本单位已登记在册，请静候佳音。"
    assert "ack_only" not in codes(checker.check(LAMP, reply))
    text = load_rules().source  # the bundled file's name; read its text through the loader's package
    from importlib import resources

    data = resources.files("triage.resources").joinpath(text).read_text(encoding="utf-8")
    data = data.replace(
        "  acknowledgement:\n", "  acknowledgement:\n    - '已登记在册'\n    - '请静候佳音'\n", 1
    )
    custom = tmp_path / "rules.yaml"
    custom.write_text(data, encoding="utf-8")
    assert "ack_only" in codes(QualityChecker(rules_path=custom).check(LAMP, reply))


def test_an_admin_can_change_a_deadline(tmp_path):
    from importlib import resources

    data = resources.files("triage.resources").joinpath("quality_rules.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "rules.yaml"
    custom.write_text(data.replace("  咨询: 3\n", "  咨询: 10\n", 1), encoding="utf-8")
    args = {"received_at": "2025-03-03 09:00", "replied_at": "2025-03-07 09:00", "request_type": "咨询"}
    assert "late" not in codes(QualityChecker(rules_path=custom).check(LAMP, GOOD, **args))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.replace("  - '(?:您|你)好|^好(?=[!。,:])'", "  - '(unclosed'"), "phrases.greeting"),
        (lambda d: d.replace("  late:\n    weight: 5", "  late:\n    weight: -3"), "flags.late.weight"),
        (lambda d: d.replace("  late:\n", "  lately:\n", 1), "flags"),
        (lambda d: d.replace("  default: 13\n", ""), "deadlines"),
        (lambda d: d + "\n  : : :\n", "YAML"),
    ],
)
def test_a_broken_rules_file_names_the_key(tmp_path, edit, message):
    from importlib import resources

    data = resources.files("triage.resources").joinpath("quality_rules.yaml").read_text(encoding="utf-8")
    broken = edit(data)
    assert broken != data
    path = tmp_path / "rules.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RulesError) as err:
        QualityChecker(rules_path=path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_rules_file(tmp_path):
    with pytest.raises(RulesError, match="not found"):
        QualityChecker(rules_path=tmp_path / "nope.yaml")


def test_the_same_moment_in_two_offsets_is_not_a_reply_before_receipt():
    from triage.quality.dates import parse_when

    local = parse_when("2026-11-22T13:54:12+08:00", "received_at")
    utc = parse_when("2026-11-22T05:54:17Z", "replied_at")
    assert utc > local
    assert (utc - local).total_seconds() == 5


def test_an_unfilled_skeleton_gets_no_credit_for_its_slots(checker):
    """Found in a trial: the drafter's skeleton, slots unfilled, was checked "ok 90" with 核实情况,
    依据 and 实质内容 ticked, because "经核实，【核查结果】" and "以上处理依据【依据】的有关规定" read as a
    finding and a basis. A sentence with a blank states nothing yet."""
    skeleton = (
        "网友您好！关于您反映的“路灯不亮”的问题，现将有关情况回复如下：经核实，【核查结果】。目前，【办理情况】。"
        "下一步，【后续措施及时限】。以上处理依据【依据】的有关规定。如有疑问，请拨打【联系电话】咨询。"
    )
    data = checker.check(LAMP, skeleton).to_dict()
    assert data["verdict"] == "revise" and "no_decision" in codes(checker.check(LAMP, skeleton))
    ticked = {c["item"] for c in data["checklist"] if c["present"]}
    assert not ticked & {"核实情况", "依据", "联系方式", "实质内容"}, ticked
    assert "buck_passing" not in codes(
        checker.check(LAMP, skeleton)
    )  # 请拨打【联系电话】 sends nobody anywhere yet
    filled = skeleton.replace("【核查结果】", "滨江路12盏路灯因电缆被盗不亮").replace(
        "以上处理依据【依据】的有关规定。", "依据《城市照明管理规定》，路灯由区城管局养护。"
    )
    ticked = {c["item"] for c in checker.check(LAMP, filled).to_dict()["checklist"] if c["present"]}
    assert {"核实情况", "依据"} <= ticked  # filled in, they count
