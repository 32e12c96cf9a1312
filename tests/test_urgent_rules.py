"""Emergencies first (issue 16): the routing table's urgent rules, without a model or a server."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from triage.classifier import Prediction
from triage.routing import RoutingEngine, RoutingTableError, parse_table
from triage.text import normalize

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "config" / "routing.yaml"
DATA = ROOT / "tests" / "data"
CST = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=CST)
GAS = "楼道里闻到很浓的煤气味，好几户都闻到了，怕出事，请尽快派人来看看！"


def pred(label: str) -> Prediction:
    return Prediction(
        label=label, confidence=0.8, abstain=False, top_k=[{"label": label, "probability": 0.8}]
    )


def table_text() -> str:
    return TABLE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def engine() -> RoutingEngine:
    return RoutingEngine.from_file(TABLE, clock=lambda: NOW)


def with_urgent(section: str) -> RoutingEngine:
    """The bundled table with its urgent section replaced by `section`."""
    text = table_text()
    start, end = text.index("\nurgent:"), text.index("\n# Working calendars")
    return RoutingEngine(parse_table(text[:start] + "\n" + section + text[end:]), clock=lambda: NOW)


def test_the_gas_smell_of_the_issue_is_urgent_with_the_gas_line_and_due_in_an_hour(engine):
    r = engine.route("", GAS, pred("住建局"), received_at="2026-11-20 09:00", request_type="求助")
    assert r.urgent is not None
    assert r.urgent.to_dict() == {
        "reason": "燃气泄漏或燃气味",
        "evidence": "楼道里闻到很浓的煤气味",
        "transfer": "燃气抢修 96777",
    }
    assert r.due_at == datetime(2026, 11, 20, 10, 0, tzinfo=CST)  # one hour, not five working days
    assert r.lead == "住建局"  # the department still gets the case after the emergency line
    assert r.to_dict()["urgent"]["transfer"] == "燃气抢修 96777"


def test_hours_count_through_nights_and_holidays(engine):
    # received at 23:30 on the National Day holiday: due half past midnight, not after the holiday
    r = engine.route("", "对面楼三层在冒黑烟，好像屋里着火了", pred("住建局"), received_at="2025-10-03 23:30")
    assert r.urgent.transfer == "119"
    assert r.due_at == datetime(2025, 10, 4, 0, 30, tzinfo=CST)


def test_a_traditional_chinese_emergency_is_caught(engine):
    r = engine.route("", "樓道裡聞到很濃的煤氣味，請馬上派人來", pred("住建局"))
    assert r.urgent is not None and r.urgent.reason == "燃气泄漏或燃气味"
    assert r.urgent.evidence == "楼道里闻到很浓的煤气味"  # shown normalised


@pytest.mark.parametrize(
    "text",
    [
        # a trial on a fresh `make run` (2026-12-07): 瓦斯 is gas in Taiwan and Hong Kong usage
        "我家樓下的餐廳一直飄出很重的瓦斯味，已經好幾個小時了，整棟樓都聞得到，很擔心會爆炸",
        "廚房的瓦斯爐一直在漏氣，關了開關還有味道",
    ],
)
def test_a_gas_smell_called_wasi_is_urgent(engine, text):
    r = engine.route("", text, pred("住建局"))
    assert r.urgent is not None and r.urgent.transfer == "燃气抢修 96777"


@pytest.mark.parametrize("text", ["請問瓦斯費怎麼繳？", "瓦斯桶要去哪裡換"])
def test_a_gas_bill_or_cylinder_question_is_not(engine, text):
    assert engine.route("", text, pred("住建局")).urgent is None


@pytest.mark.parametrize(
    ("text", "transfer"),
    [
        ("我家厨房燃气管子接口一直在漏气，阀门关不上", "燃气抢修 96777"),
        ("小区地下车库有电动车烧起来了，烟很大", "119"),
        ("我们被困在电梯里了，电梯停在两层之间", "119"),
        ("路边有根电线掉在地上，还在冒火花", "供电抢修 95598（有人受伤同时转 120）"),
        ("学校门口马路突然塌陷了一个大坑", "119"),
        ("暴雨积水已经漫进一楼住户家里，水还在涨", "119"),
        ("解放路上自来水管爆了，水往外喷了一米多高", "供水抢修 96390"),
        ("我朋友刚给我发消息说不想活了，现在联系不上他", "110"),
        ("我家孩子六岁，下午在公园玩走丢了", "110"),
        ("楼上邻居又在家暴，女的一直在喊", "110"),
        ("菜市场门口有人拿刀砍人", "110"),
        ("隔壁邻居家的老人摔倒了起不来，门锁着", "120"),
    ],
)
def test_each_kind_of_emergency_names_its_line(engine, text, transfer):
    r = engine.route("", text, pred("住建局"))
    assert r.urgent is not None, text
    assert r.urgent.transfer == transfer


@pytest.mark.parametrize(
    "text",
    [
        "煤气费太贵了，一个月要三百多",
        "消防通道被私家车占用",
        "消防通道被占用，万一着火消防车进不来",
        "去年着火的那栋楼现在还没修",
        "小区存在安全隐患，请派人检查",
        "没有闻到煤气味，但是燃气表走得特别快",
        "我被困扰很久了，楼上每天晚上都有噪音",
        "商场搞跳楼价促销，商品质量很差",
        "我家的狗昨天走丢了",
        "下雨天路口积水严重，每次都要绕路",
        "电梯经常坏，有时被困电梯物业都不管",
        "我们小区水压太低了，五楼以上经常没水",
    ],
)
def test_non_emergencies_that_use_the_same_words_are_not_urgent(engine, text):
    r = engine.route("", text, pred("住建局"), received_at="2026-11-20 09:00", request_type="求助")
    assert r.urgent is None, r.urgent
    assert r.due_at.date() > NOW.date()  # working days, as before


def test_category_hours_default_and_override_come_from_the_table():
    eng = with_urgent(
        "urgent:\n  hours: 4\n  categories:\n"
        "    - {reason: 燃气, transfer: 燃气抢修, patterns: ['闻到…煤气']}\n"
        "    - {reason: 火情, transfer: '119', hours: 0.5, patterns: [着火]}\n"
    )
    gas = eng.route("", "闻到一股很浓的煤气", pred("住建局"), received_at="2026-11-20 09:00")
    fire = eng.route("", "厨房着火了", pred("住建局"), received_at="2026-11-20 09:00")
    assert gas.urgent.reason == "燃气" and gas.due_at == datetime(2026, 11, 20, 13, 0, tzinfo=CST)
    assert fire.due_at == datetime(2026, 11, 20, 9, 30, tzinfo=CST)
    # `…` allows at most a few characters between the words, within one clause
    far = eng.route("", "闻到了楼下饭店里传来的一阵阵很香的煤气", pred("住建局"))
    other_clause = eng.route("", "闻到一股味，不知道是不是煤气", pred("住建局"))
    assert far.urgent is None and other_clause.urgent is None


def test_plain_keywords_with_categories_keep_the_same_day_and_no_line():
    eng = with_urgent(
        "urgent:\n  days: 0\n  keywords: [井盖丢失]\n  categories:\n"
        "    - {reason: 火情, transfer: '119', patterns: [着火]}\n"
    )
    r = eng.route("", "路口井盖丢失了", pred("城管局"), received_at="2026-11-20 09:00", request_type="投诉")
    assert r.urgent.to_dict() == {"reason": "紧急事项", "evidence": "路口井盖丢失了", "transfer": None}
    assert r.due_at == datetime(2026, 11, 20, 23, 59, 59, tzinfo=CST)


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ("urgent:\n  colour: red\n", "unknown urgent field 'colour'"),
        ("urgent:\n  categories:\n    - {reason: x, patterns: ['(']}\n", "bad pattern '('"),
        ("urgent:\n  categories:\n    - {reason: x}\n", "urgent category 'x' has no patterns"),
        ("urgent:\n  categories:\n    - {patterns: [着火]}\n", "needs a reason"),
        ("urgent:\n  hours: 0\n", "must be a number of hours"),
        ("urgent:\n  categories:\n    - {reason: x, patterns: [a], hours: 100}\n", "at most 72"),
        (
            "urgent:\n  categories:\n    - {reason: x, patterns: [a], when: now}\n",
            "unknown urgent category field",
        ),
        ("urgent:\n  categories: {reason: x}\n", "urgent.categories must be a list"),
    ],
)
def test_a_bad_urgent_section_is_refused_with_its_line(section, needle):
    with pytest.raises(RoutingTableError, match="line") as err:
        with_urgent(section)
    assert needle in str(err.value)


def test_the_bundled_table_has_every_kind_the_issue_names(engine):
    reasons = " ".join(c.reason for c in engine.table.urgent_rules.categories)
    for word in ("燃气", "火", "被困", "触电", "坍塌", "淹", "供水", "轻生", "走失", "暴力"):
        assert word in reasons, word


def read_set(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("name", "min_positives", "min_negatives", "min_recall"),
    [
        ("urgent_labelled.csv", 25, 35, 0.95),
        ("urgent_holdout.csv", 10, 10, 0.9),
        ("urgent_blind.csv", 10, 10, 0.85),
    ],
)
def test_precision_and_recall_on_the_labelled_sets(engine, name, min_positives, min_negatives, min_recall):
    rows = read_set(name)
    truth = [r["urgent"] == "1" for r in rows]
    found = [engine.table.urgent_rules.detect(normalize(r["text"])) is not None for r in rows]
    assert sum(truth) >= min_positives and len(truth) - sum(truth) >= min_negatives
    tp = sum(t and f for t, f in zip(truth, found, strict=True))
    false_alarms = [r["text"] for r, t, f in zip(rows, truth, found, strict=True) if f and not t]
    assert false_alarms == []  # precision 100 % on every set
    assert tp / sum(truth) >= min_recall


def test_a_due_in_hours_is_a_timedelta_from_receipt_in_the_receipt_zone(engine):
    received = datetime(2026, 11, 20, 1, 0, tzinfo=ZoneInfo("UTC"))
    r = engine.route("", GAS, pred("住建局"), received_at=received)
    assert r.due_at - received == timedelta(hours=1)


def test_the_whole_text_prefilter_changes_no_decision(engine):
    """The prefilter (a search of each pattern over the whole petition before any clause is
    looked at) only saves time: with it and without it, every written petition gets the same
    answer."""
    import copy

    rules = engine.table.urgent_rules
    assert rules._prefilter and all(p.groups == 0 for p in rules._prefilter)  # yes/no searches
    unfiltered = copy.copy(rules)
    unfiltered.__dict__["_prefilter"] = None
    texts = [
        normalize(row["text"])
        for name in ("urgent_labelled.csv", "urgent_holdout.csv", "urgent_blind.csv")
        for row in read_set(name)
    ]
    assert sum(rules.detect(t) is not None for t in texts) >= 40
    assert [rules.detect(t) for t in texts] == [unfiltered.detect(t) for t in texts]
