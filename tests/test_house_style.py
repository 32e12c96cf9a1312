"""A draft is written in the house style of the department that will send it (issue 18, item 1).

What staff notice: a draft for the water company opens the way the water company's replies open
and numbers its points; a draft for 住建局 opens and closes like 住建局's replies; neither carries
the other's formulas, another citizen's nickname, a phone number or a date from another case; the
date is the day they send it, in the house's format; and each fixed sentence says where it came from.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.house_style_fixtures import HOUSING, WATER
from triage.drafting import Drafter
from triage.house_style import MIN_REPLIES, StyleBook, mine_style, neutral_style, redated
from triage.retrieval.history import HistoryIndex, HistoryItem

TODAY = date(2026, 12, 6)


@pytest.fixture
def history(tmp_path):
    index = HistoryIndex(tmp_path / "h")
    index.add_history([*HOUSING, *WATER])
    yield index
    index.close()


def drafter(history) -> Drafter:
    return Drafter(None, history, today=lambda: TODAY)


def test_each_department_drafts_in_its_own_house_style(history):
    housing = drafter(history).draft(
        "电梯又停了", "桂花里3栋电梯这周停了两次，老人上下楼很困难", department="住建局"
    )
    water = drafter(history).draft("水压太低", "滨江苑6楼以上水压太低，洗澡都困难", department="江北水务集团")

    assert housing.draft.startswith(
        "网友您好！您的留言已收悉。关于您反映的“电梯又停了”的问题，现将有关情况回复如下：经核实，【核查结果】。"
    )
    assert housing.draft.endswith("感谢您对我们工作的支持！\n临江市住房和城乡建设局\n2026年12月6日")

    assert water.draft.startswith(
        "关于您的问题我司回复如下：1、经现场核查，【核查结果】。2、目前，【办理情况】。3、下一步，"
    )
    assert water.draft.endswith("咨询。\n江北水务集团客服中心\n2026-12-06")
    # nothing of the other house
    for formula in ("网友", "收悉", "感谢", "临江市住房和城乡建设局", "年"):
        assert formula not in water.draft
    assert "我司" not in housing.draft and "江北水务" not in housing.draft


def test_fixed_sentences_never_carry_another_cases_facts(history):
    d = drafter(history).draft("楼道灯坏了", "望湖小区楼道的声控灯坏了一个月没人修", department="住建局")
    assert "【核查结果】" in d.draft  # the skeleton (no past case is the same matter)
    text = d.draft
    for nickname in ("临江老李", "UU0081", "望湖居民"):
        assert nickname not in text  # the greeting's quoted nickname belongs to another citizen
    assert "0571" not in text and "2025" not in text  # their phone and their reply date
    assert "【联系电话】" in text  # the contact stays a slot for staff


def test_each_fixed_sentence_says_where_it_came_from(history):
    style = drafter(history).draft("水表走得快", "水表走字异常", department="江北水务集团").to_dict()["style"]
    by_part = {p["part"]: p for p in style}
    assert by_part["开头"] == {
        "part": "开头",
        "text": "关于您的问题我司回复如下：",
        "count": len(WATER),
        "of": len(WATER),
        "scope": "department",
        "department": "江北水务集团",
    }
    assert by_part["日期"]["text"] == "YYYY-MM-DD" and by_part["分条"]["count"] == len(WATER)
    assert by_part["核实用语"]["text"] == "经现场核查"


def test_a_department_with_few_replies_uses_the_deployments_style_without_another_offices_name(history):
    few = [
        HistoryItem(
            id=f"jt-{i}", text="公交晚点", reply=f"已责成公交公司整改。第{i}次", department="交通运输局"
        )
        for i in range(MIN_REPLIES - 1)
    ]
    history.add_history(few)
    d = drafter(history).draft("公交晚点", "12路公交经常晚点半小时", department="交通运输局")
    assert {p["scope"] for p in d.style} == {"deployment"}
    assert d.draft.startswith("网友您好！")  # the commonest opening over all replies
    assert "临江市住房和城乡建设局" not in d.draft and "江北水务集团客服中心" not in d.draft


def test_no_history_gives_the_neutral_skeleton_and_todays_date():
    d = Drafter(None, None, today=lambda: TODAY).draft("路灯不亮", "滨江路路灯一周不亮")
    assert d.draft.startswith("您好！关于您反映的“路灯不亮”的问题，现将有关情况回复如下：")
    assert d.draft.endswith("咨询。\n2026年12月6日")
    assert "网友" not in d.draft and "感谢" not in d.draft
    assert [p["scope"] for p in d.style] == ["neutral"] * len(neutral_style().parts)


def test_a_sentence_with_a_number_is_never_a_formula():
    replies = [f"您好！已处理。咨询电话：0571-88888888。第{i}号工单。" for i in range(MIN_REPLIES)]
    style = mine_style(replies, "department", "城管局")
    assert style is not None and style.opening == ("您好！", "已处理。")
    assert style.closing == ()  # the phone line recurs verbatim, yet is a fact, not a formula


def test_too_few_or_empty_replies_give_no_style():
    assert mine_style([], "department") is None
    assert mine_style(["", "  ", "\n"] * MIN_REPLIES, "department") is None
    assert mine_style(["您好！已处理。"] * (MIN_REPLIES - 1), "department") is None


def test_the_style_follows_the_history_as_it_grows(tmp_path):
    index = HistoryIndex(tmp_path / "h")
    book = StyleBook(index, ttl=0)
    assert book.style_for("江北水务集团").scope == "neutral"
    index.add_history(WATER)
    assert book.style_for("江北水务集团").opening == ("关于您的问题我司回复如下：",)
    index.close()


def test_a_close_past_case_is_the_start_with_its_facts_marked_for_staff(history):
    """Nearly the same petition as a past one: its reply is the draft, every fact of that case
    (place, day, phone) marked 【…】 and listed in `missing`, dated the day staff send."""
    past = HistoryItem(
        id="sw-past",
        text="东城家园5栋的自来水放出来是黄的，还有一股铁锈味，烧开以后壶底有很多沉淀，已经持续一个星期了",
        reply="关于您的问题我司回复如下：1、经现场核查，东城家园水质发黄系管网施工后冲起管壁锈垢所致。"
        "2、3月12日我司对东城家园的楼道立管进行了排放冲洗，取样检测合格。"
        "3、如再出现浑水，可拨打供水服务热线9618001。江北水务集团客服中心 2025-03-13",
        department="江北水务集团",
    )
    history.add_history([past])
    petition = "梧桐公寓的自来水放出来是黄的，还有一股铁锈味，烧开以后有沉淀，持续好几天了"
    d = drafter(history).draft("自来水发黄", petition, department="江北水务集团")
    assert d.sources[0].id == past.id
    # that case's finding, now about this citizen's estate: marked, so staff confirm it there
    assert d.draft.startswith("关于您的问题我司回复如下：1、经现场核查，【梧桐公寓】水质发黄")
    assert "2、【3月12日】我司对【梧桐公寓】的楼道立管" in d.draft and "3、" in d.draft
    assert "东城家园" not in d.draft  # the other citizen's estate
    assert d.draft.endswith("\n2026-12-06") and "2025-" not in d.draft
    assert "【9618001】" in d.draft
    assert set(d.missing) == {"核实：梧桐公寓", "核实：3月12日", "核实：9618001"}
    # its wording is that reply's own: of the house style only the date format is claimed
    assert [p["part"] for p in d.style] == ["日期"]


def test_a_close_past_case_without_a_place_in_the_petition_leaves_the_place_to_staff(history):
    past = HistoryItem(
        id="sw-north",
        text="北站小区今天突然停水，事先一点通知都没有，小区里也没贴公告，老人做饭都成问题",
        reply="关于您的问题我司回复如下：1、经现场核查，北站小区停水系计划停水公告未在小区张贴所致。"
        "2、5月29日我司在小区补贴了停水公告，并对江北大道DN300供水管完成检修。江北水务集团客服中心 2025-05-30",
        department="江北水务集团",
    )
    history.add_history([past])
    d = drafter(history).draft(
        "停水没通知",
        "今天突然停水，事先一点通知都没有，也没贴公告，老人做饭都成问题",
        department="江北水务集团",
    )
    assert d.sources[0].id == past.id
    assert (
        d.draft.startswith("关于您的问题我司回复如下：1、经现场核查，【地点】停水系")
        and "北站" not in d.draft
    )
    # "小区" alone names no estate: staff read it as written, not as a fact to check
    assert "在小区补贴了停水公告" in d.draft and "【小区】" not in d.draft and "核实：小区" not in d.missing
    assert "【DN300】供水管" in d.draft  # a pipe's size is one fact, not "DN" and a number
    assert "地点" in d.missing and "核实：5月29日" in d.missing


def add_civil_case(history: HistoryIndex, case_id: str, text: str, reply: str) -> None:
    """One answered petition of 民政局 in the history."""
    history.add_history([HistoryItem(id=case_id, text=text, reply=reply, department="民政局")])


def test_a_close_past_case_about_another_relative_names_this_citizens_relative_for_staff(history):
    """“您母亲的低保申请” answered another citizen; this one writes about a father."""
    add_civil_case(
        history,
        "mz-low",
        "低保申请一直没批。我母亲今年七十岁，独居，三月份在社区递交了低保申请，到现在三个月了还没有消息",
        "您好！经了解，您母亲的低保申请已由社区受理，目前正在进行家庭经济状况核对。岭南市民政局",
    )
    d = drafter(history).draft(
        "低保申请一直没批", "我父亲七十五岁，独居，四月份在社区递交了低保申请，到现在两个月了还没有消息"
    )
    assert d.sources[0].id == "mz-low"
    assert "您【父亲】的低保申请" in d.draft and "母亲" not in d.draft
    assert "核实：父亲" in d.missing


def test_a_close_past_case_is_found_below_a_loosely_related_first_hit(tmp_path):
    """The past petition about the same estate ranks first but tells another story; the one two
    places down tells this story word for word at another estate: its reply is the start."""
    same_estate = HistoryItem(
        id="bh-1",
        text="滨河花园水质发黄。最近滨河花园的水浑浊，不敢给孩子喝",
        reply="关于您的问题我司回复如下：1、经现场核查，滨河花园水质浑浊系管网冲洗所致。江北水务集团客服中心 2025-03-02",
        department="江北水务集团",
    )
    same_story = HistoryItem(
        id="dh-1",
        text="东湖家园水质发黄。东湖家园23栋早上放水发黄，烧开有沉淀，请相关部门管一管。",
        reply="关于您的问题我司回复如下：1、经现场核查，东湖家园水质发黄系老旧铸铁管内壁锈蚀所致。"
        "2、6月19日我司对东湖家园的楼道立管进行了排放冲洗。江北水务集团客服中心 2025-06-20",
        department="江北水务集团",
    )
    index = HistoryIndex(tmp_path / "h")
    index.add_history([*WATER, same_estate, same_story])
    title, body = "滨河花园水质发黄", "滨河花园23栋早上放水发黄，烧开有沉淀"
    assert index.search(f"{title}。{body}", 3, department="江北水务集团")[0].id == "bh-1"
    d = drafter(index).draft(title, body, department="江北水务集团")
    assert d.sources[0].id == "dh-1"
    assert "【滨河花园】水质发黄系老旧铸铁管内壁锈蚀所致" in d.draft
    index.close()


def test_a_loosely_related_past_case_only_informs_the_skeleton(history):
    d = drafter(history).draft(
        "水费", "想问一下阶梯水价怎么计算，家里五口人能不能申请多一档", department="江北水务集团"
    )
    assert not any(m.startswith("核实：") for m in d.missing) and "9618" not in d.draft


# (title, body, whether the sample library has the matter)
PETITIONS_FOR_THE_LIBRARY = [
    ("物业费涨价", "我们小区物业公司贴通知说物业费要从每平方1.5元涨到2元，没开业主大会", True),
    ("公司欠工资", "在工地干了四个月，包工头一直拖着不给工资", True),
    ("烧烤油烟", "楼下烧烤店每晚油烟很大，窗户都不能开", True),
    ("电动车充电", "楼道里有人给电动车充电，电线从窗户拉下来", True),
    ("今天天气", "今天天气不错，出去走走", False),
]


@pytest.mark.parametrize("title,body,covered", PETITIONS_FOR_THE_LIBRARY)
def test_the_drafts_curated_answers_keep_the_librarys_order(tmp_path, title, body, covered):
    """What staff see first among the curated answers is what the library ranks first (issue 18, 3)."""
    from datasets import SAMPLE_DIR
    from triage.answers import AnswerLibrary

    library = AnswerLibrary(tmp_path / "lib")
    library.import_csv(
        SAMPLE_DIR / "answers.csv",
        question_col="question",
        answer_col="answer",
        department_col="department",
        id_col="id",
    )
    d = Drafter(library, None, today=lambda: TODAY).draft(title, body)
    shown = [s.id for s in d.sources if s.kind == "manual"]
    ranked = [h.answer.id for h in library.search(f"{title}\n{body}", k=5, on=TODAY)]
    assert shown == [i for i in ranked if i in shown]  # same order, nothing from outside the top 5
    # a matter the library answers: its best answer is the first one staff see; else none at all
    assert shown[:1] == (ranked[:1] if covered else [])


def test_a_formula_for_one_kind_of_petition_opens_only_that_kind(tmp_path):
    """Many replies to suggestions open "网友您好：感谢您的建议。"; a fire or a wage claim must not."""
    index = HistoryIndex(tmp_path / "h")
    replies = [f"网友您好：感谢您的建议。经研究，第{i}条建议已转规划部门。" for i in range(12)]
    replies += [f"网友您好：经核实，第{i}号工单所述情况属实，已处理。" for i in range(12)]
    index.add_history(
        [
            HistoryItem(id=f"r{i}", text=f"留言{i}", reply=r, department="住建局")
            for i, r in enumerate(replies)
        ]
    )
    book = drafter(index)
    complaint = book.draft("楼道堆物", "楼道里堆满杂物", department="住建局", request_type="投诉")
    suggestion = book.draft("增设座椅", "建议在公园增设座椅", department="住建局", request_type="建议")
    assert complaint.draft.startswith("网友您好：关于您反映的") and "建议" not in complaint.draft
    assert "感谢您的建议" not in [p["text"] for p in complaint.style]
    assert suggestion.draft.startswith("网友您好：感谢您的建议。")
    index.close()


def test_a_short_retelling_of_a_long_past_petition_is_drafted_from_its_reply(tmp_path):
    """The same workers write again, briefly: the earlier petition told it at length, so the two
    share few words relative to its length, yet it holds nearly all of what the new one says."""
    past = HistoryItem(
        id="wage-1",
        text=(
            "工地干了半年工资一分没拿到。我们十几个人在高新区科创路云谷二期工地干木工，从去年六月干到十二月，"
            "说好每天三百五十元，到现在一分钱没结。找项目部，项目部说钱早就拨给劳务公司了；找劳务公司，电话"
            "一直打不通，办公室也锁了门。快过年了，家里老人孩子都等着这笔钱，请政府帮我们讨回血汗钱。"
        ),
        reply="您好！经核查，云谷二期项目总包单位已于1月15日代付拖欠的木工班组工资41.6万元，劳务公司已被立案查处。",
        department="人社局",
    )
    index = HistoryIndex(tmp_path / "h")
    index.add_history([past])
    d = drafter(index).draft(
        "科创路工地工资还没结",
        "我们十几个人在高新区科创路云谷二期工地干木工，干了半年工资一分钱都没结，项目部说钱拨给劳务公司了，"
        "劳务公司电话打不通。",
        department="人社局",
    )
    assert d.sources[0].id == "wage-1" and d.draft.startswith("您好！经核查，云谷二期项目")
    assert "【1月15日】" in d.draft and "【41.6万元】" in d.draft
    index.close()


def test_an_import_changes_the_style_at_once_single_replies_wait_for_the_next_mining(tmp_path):
    index = HistoryIndex(tmp_path / "h")
    book = StyleBook(index)  # the shipped interval: ten minutes
    assert book.style_for("江北水务集团").scope == "neutral"
    index.add_history(WATER)  # an import: shows at once
    assert book.style_for("江北水务集团").opening == ("关于您的问题我司回复如下：",)
    index.add_history(
        [HistoryItem(id="one-more", text="停水", reply="网友您好！已恢复供水。", department="江北水务集团")]
    )
    assert book._cache["江北水务集团"][0] == len(WATER)  # not mined again for one reply
    book.style_for("江北水务集团")
    assert book._cache["江北水务集团"][0] == len(WATER)
    index.close()


# 民政局 answers each citizen in the script they wrote in: five Traditional petitions of 24 got
# replies in Traditional characters (written here by hand, not converted).
_CIVIL_SIMPLIFIED = "网友您好！您的留言已收悉。经核实，{n}号殡仪服务收费已按物价部门核定的标准公示。感谢您的关注！临江市民政局"
_CIVIL_TRADITIONAL = "網友您好！您的留言已收悉。經核實，{n}號殯儀服務收費已按物價部門核定的標準公示。感謝您的關注！臨江市民政局"


def _civil_history(traditional_replies: bool) -> list[HistoryItem]:
    items = []
    for i in range(24):
        traditional = i % 5 == 0  # 0, 5, 10, 15, 20
        text = f"殯儀館收費項目太多，第{i}次反映" if traditional else f"殡仪馆收费项目太多，第{i}次反映"
        reply = (_CIVIL_TRADITIONAL if traditional and traditional_replies else _CIVIL_SIMPLIFIED).format(n=i)
        items.append(HistoryItem(id=f"mz-{i}", text=text, reply=reply, department="民政局"))
    return items


def test_a_traditional_petition_gets_a_traditional_draft_where_the_house_answers_so(tmp_path):
    index = HistoryIndex(tmp_path / "h")
    index.add_history(_civil_history(traditional_replies=True))
    d = drafter(index).draft("墓地價格", "公墓的墓地價格一年漲了一倍，請問有沒有人管", department="民政局")
    assert d.draft.startswith("網友您好！您的留言已收悉。")
    assert "【核查結果】" in d.draft and "核查結果" in d.missing  # slots as the draft shows them
    assert "网友" not in d.draft
    by_part = {p["part"]: p for p in d.to_dict()["style"]}
    assert by_part["字体"] == {
        "part": "字体",
        "text": "繁体来信以繁体答复",
        "count": 5,
        "of": 5,
        "scope": "department",
        "department": "民政局",
    }
    # one formula whichever script a reply used: the opening counts all 24 replies
    assert by_part["开头"]["count"] == 24
    simplified = drafter(index).draft(
        "墓地价格", "公墓的墓地价格一年涨了一倍，请问有没有人管", department="民政局"
    )
    assert simplified.draft.startswith("网友您好！您的留言已收悉。") and "【核查结果】" in simplified.draft
    index.close()


def test_a_house_that_answers_in_simplified_keeps_doing_so(tmp_path):
    index = HistoryIndex(tmp_path / "h")
    index.add_history(_civil_history(traditional_replies=False))
    d = drafter(index).draft("墓地價格", "公墓的墓地價格一年漲了一倍，請問有沒有人管", department="民政局")
    assert d.draft.startswith("网友您好！您的留言已收悉。") and "【核查结果】" in d.draft
    assert "字体" not in {p["part"] for p in d.style}
    index.close()


@pytest.mark.parametrize(
    "text,traditional",
    [
        ("餐廳排煙口對住我家，油煙好大", True),
        ("餐厅排烟口对住我家，油烟好大", False),
        ("廳", False),  # one character says too little
        ("小区门口的乾洗店晚上很吵", False),  # a character OpenCC would change, in Simplified text
        ("", False),
    ],
)
def test_which_petitions_are_written_in_traditional(text, traditional):
    from triage.text import is_traditional

    assert is_traditional(text) is traditional


def test_a_traditional_close_match_keeps_the_facts_to_check_named_as_the_api_names_them(history):
    history.add_history(_civil_history(traditional_replies=True))
    add_civil_case(
        history,
        "mz-urn",
        "殯儀館強制消費。我母親上週在城北殯儀館過世，殯儀館說骨灰盒必須在館內買，最便宜的也要三千多",
        "網友您好！經核實，城北殯儀館確有要求在館內購買骨灰盒的情況，已責令其退還您母親喪事多收的1800元。",
    )
    d = drafter(history).draft(
        "殯儀館強制消費",
        "我父親上週在城北殯儀館過世，殯儀館說骨灰盒必須在館內買，最便宜的也要三千多",
        department="民政局",
    )
    assert d.sources[0].id == "mz-urn"
    assert "【父親】" in d.draft and "【1800元】" in d.draft
    assert {"核实：父親", "核实：1800元"} <= set(d.missing)  # the API's word, the draft's script


@pytest.mark.parametrize(
    ("draft", "used"),
    [
        ("您好。\n2026年12月7日", "您好。\n2026年12月9日"),
        (
            "关于您的问题我司回复如下：1、【核查结果】。\n2026-12-07",
            "关于您的问题我司回复如下：1、【核查结果】。\n2026-12-09",
        ),
        ("您好。2026/12/7。", "您好。2026/12/9。"),
        ("您好。2026年12月7", "您好。2026年12月9日"),  # written without 日: the house's form has it
        ("您好。\n2026年12月6日", "您好。\n2026年12月6日"),  # not the drafting day: somebody wrote it
        ("網友您好：【核查結果】。", "網友您好：【核查結果】。"),  # a house that does not date its replies
    ],
)
def test_a_draft_is_redated_in_its_own_format_when_used_later(draft, used):
    assert redated(draft, date(2026, 12, 7), date(2026, 12, 9)) == used
