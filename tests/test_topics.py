"""Hot-topic grouping, entity extraction, heat and persistence, on petitions written for the tests."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from tests.topics_fixtures import BASE, PROBLEMS, petitions
from triage.topics import TopicModel, TopicState, extract_entities, heat
from triage.topics.heat import growth
from triage.topics.times import parse_time


def names(text: str, kind: str | None = None) -> list[str]:
    return [e.name for e in extract_entities(text) if kind is None or e.kind == kind]


# --- entities ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("我是来自A市A5区楚府东路长房半岛蓝湾小区的一名业主", "estate", "长房半岛蓝湾小区"),
        ("我是来自A市A5区楚府东路长房半岛蓝湾小区的一名业主", "road", "楚府东路"),
        ("我是来自A市A5区楚府东路长房半岛蓝湾小区的一名业主", "place", "A5区"),
        ("我是万科魅力之城4.1期65栋1003房的业主", "estate", "万科魅力之城"),
        ("A2区向家坡小学拆除新建耽搁几年", "school", "向家坡小学"),
        ("楼盘的开发商是西地省诚楚壹佰置地有限公司", "company", "诚楚壹佰置地有限公司"),
        ("A1区马坡岭街道新安社区八组", "place", "马坡岭街道"),
        ("我是城南区锦绣花园12幢的业主", "estate", "锦绣花园"),
        ("A7县泉塘街道泉星生鲜市场装修工程没有公开招标", "company", "泉星生鲜市场"),
        # a trial (2026-12-07): the hot topic's place read "和人民路"
        ("滨江路和人民路口的工地每天晚上施工", "road", "人民路"),
        ("滨江路和平路口的工地", "road", "和平路"),
    ],
)
def test_entities_are_the_names_written_in_the_text(text, kind, expected):
    assert expected in names(text, kind)


def test_entities_never_invent_a_name_that_is_not_in_the_text():
    for _key, _place, titles, bodies in PROBLEMS:
        for text in titles + bodies:
            for name in names(text):
                assert name in text


def test_generic_words_are_not_entities():
    assert names("城管局不作为，市民很无奈，超市门口乱停车，该小区物业不管") == []


def test_traditional_text_gives_the_simplified_names():
    assert "锦绣花园" in names("我是城南區錦繡花園12幢的業主", "estate")


# --- grouping ----------------------------------------------------------------------------------


def test_each_real_problem_becomes_one_topic_and_one_offs_stay_alone():
    model = TopicModel()
    model.add(petitions())
    groups = {frozenset(t.members) for t in model.topics(min_count=2)}
    expected = {frozenset(f"{key}-{i}" for i in range(4)) for key, *_ in PROBLEMS}
    assert groups == expected
    singles = [t for t in model.topics(min_count=1) if t.count == 1]
    assert sorted(m for t in singles for m in t.members) == [f"one-{j}" for j in range(4)]


def test_topic_carries_place_title_span_supporters_and_daily_counts():
    model = TopicModel()
    model.add(petitions(days=8))
    lift = next(t for t in model.topics() if "lift-0" in t.members)
    assert "锦绣花园" in lift.place
    assert lift.title in PROBLEMS[0][2]
    assert lift.count == 4 and lift.supporters == 0 + 1 + 2 + 3
    assert lift.first_time == BASE and lift.last_time == BASE + timedelta(days=6, hours=3)
    assert [d["count"] for d in lift.daily] == [1, 0, 1, 0, 1, 0, 1]
    assert lift.daily[0]["date"] == "2024-05-01" and len(lift.daily) == 7
    assert sum(d["count"] for d in lift.daily) == lift.count


def test_same_complaint_about_another_estate_is_another_topic():
    model = TopicModel()
    a = {
        "title": "锦绣花园小区电梯坏了没人修",
        "body": "城南区锦绣花园12栋电梯坏了两个月，物业不修，老人上下楼困难。",
    }
    b = {
        "title": "阳光家园小区电梯坏了没人修",
        "body": "城北区阳光家园8栋电梯坏了两个月，物业不修，老人上下楼困难。",
    }
    ids = model.add(
        [
            {**a, "id": "a", "received_at": BASE},
            {**b, "id": "b", "received_at": BASE + timedelta(hours=1)},
        ]
    )
    assert ids[0] != ids[1]


def test_adding_a_day_only_processes_that_day_and_keeps_topic_ids():
    items = petitions(days=8)
    cut = BASE + timedelta(days=4)
    first = [i for i in items if i["received_at"] < cut]
    second = [i for i in items if i["received_at"] >= cut]
    model = TopicModel()
    before = dict(zip([i["id"] for i in first], model.add(first), strict=True))
    n_docs = model.stats.n_docs
    model.add(second)
    assert model.stats.n_docs == n_docs + len(second)  # the history was not re-read
    for case_id, topic_id in before.items():
        assert model.topic_of(case_id) == topic_id
    whole = TopicModel()
    whole.add(items)
    as_groups = lambda m: {frozenset(t.members) for t in m.topics(min_count=1)}  # noqa: E731
    assert as_groups(model) == as_groups(whole)


def test_adding_the_same_petitions_again_changes_nothing():
    model = TopicModel()
    items = petitions()
    ids = model.add(items)
    n_docs, n_topics = model.stats.n_docs, len(model)
    assert model.add(items) == ids
    assert (model.stats.n_docs, len(model)) == (n_docs, n_topics)


def test_items_may_arrive_in_any_order():
    items = petitions()
    a, b = TopicModel(), TopicModel()
    a.add(items)
    b.add(list(reversed(items)))
    assert {frozenset(t.members) for t in a.topics(min_count=1)} == {
        frozenset(t.members) for t in b.topics(min_count=1)
    }


def test_window_restricts_members_counts_and_heat():
    model = TopicModel()
    model.add(petitions(days=8))
    window = model.topics(since="2024-05-03", until="2024-05-05", min_count=1)
    lift = next(t for t in window if t.id == model.topic_of("lift-1"))
    assert lift.members == ["lift-1", "lift-2"]  # days 2 and 4 of 0, 2, 4, 6
    assert lift.count == 2 and lift.supporters == 1 + 2
    assert all(date(2024, 5, 3) <= t.first_time.date() <= date(2024, 5, 5) for t in window)


def test_until_as_a_date_includes_that_whole_day():
    model = TopicModel()
    model.add(petitions(days=8))
    got = {m for t in model.topics(until="2024-05-01", min_count=1) for m in t.members}
    assert "lift-0" in got  # received 2024-05-01 09:00


def test_since_after_until_is_an_error():
    with pytest.raises(ValueError, match="after"):
        TopicModel().topics(since="2024-05-05", until="2024-05-01")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"id": "", "title": "t", "body": "b", "received_at": BASE}, "id is empty"),
        ({"id": "x", "title": "t", "body": "b"}, "received_at is missing"),
        ({"id": "x", "title": "t", "body": "b", "received_at": "yesterday"}, "received_at"),
        ({"id": "x", "title": " ", "body": "", "received_at": BASE}, "empty"),
        ({"id": "x", "title": "t", "body": "b", "received_at": BASE, "likes": "many"}, "likes"),
    ],
)
def test_bad_items_are_rejected_with_the_reason(item, message):
    model = TopicModel()
    with pytest.raises(ValueError, match=message):
        model.add([item])
    assert len(model) == 0


def test_one_bad_item_in_a_batch_adds_nothing(tmp_path):
    good = petitions()[:3]
    bad = {"id": "bad", "title": "", "body": "<p> </p>", "received_at": BASE}
    model = TopicModel()
    with pytest.raises(ValueError, match="bad"):
        model.add([*good, bad])
    assert len(model) == 0 and model.stats.n_docs == 0
    state = TopicState.open(tmp_path / "topics")
    with pytest.raises(ValueError, match="punct"):
        state.add([*good, {"id": "p", "title": "？？", "body": "！", "received_at": BASE}])
    assert len(state.topics) == 0 and len(state.duplicates) == 0


def test_ranking_puts_the_bigger_recent_topic_first():
    model = TopicModel()
    items = petitions(days=8)
    extra = [
        {
            "id": f"smoke-x{i}",
            "title": "翠湖山庄烧烤店油烟扰民",
            "body": PROBLEMS[1][3][i % 4],
            "received_at": BASE + timedelta(days=7),
        }
        for i in range(3)
    ]
    model.add(items + extra)
    ranked = model.topics()
    assert ranked[0].id == model.topic_of("smoke-0")
    assert [t.heat for t in ranked] == sorted((t.heat for t in ranked), reverse=True)


# --- heat --------------------------------------------------------------------------------------


def test_heat_formula_by_hand():
    now = datetime(2024, 6, 1)
    assert heat([(now, 0)], now) == pytest.approx(1.0)
    assert heat([(now - timedelta(days=30), 0)], now, half_life_days=30) == pytest.approx(0.5)
    assert heat([(now, round(math.e**2 - 1))], now) == pytest.approx(1 + math.log(round(math.e**2)))
    assert heat([(now, 0), (now - timedelta(days=10), 5)], now, half_life_days=10) == pytest.approx(
        1.0 + (1 + math.log(6)) * 0.5
    )
    with pytest.raises(ValueError):
        heat([(now, 0)], now, half_life_days=0)


def test_growth_compares_the_last_week_with_the_week_before():
    now = datetime(2024, 6, 15)
    times = [now - timedelta(days=d) for d in (0, 1, 2, 8)]
    assert growth(times, now) == 3 - 1


# --- times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/2/28 11:25:05", datetime(2019, 2, 28, 11, 25, 5)),
        ("2019-08-28 09:30:20", datetime(2019, 8, 28, 9, 30, 20)),
        ("2019-08-28", datetime(2019, 8, 28)),
        ("2024-05-01T01:00:00Z", datetime(2024, 5, 1, 9, 0)),  # UTC → China Standard Time
        ("", None),
    ],
)
def test_times_in_export_formats(value, expected):
    assert parse_time(value) == expected


def test_impossible_date_is_an_error():
    with pytest.raises(ValueError, match="2019/2/30"):
        parse_time("2019/2/30")


# --- persistence -------------------------------------------------------------------------------


def test_save_and_load_give_the_same_topics_and_keep_growing(tmp_path):
    items = petitions(days=8)
    model = TopicModel()
    model.add(items[:8])
    path = tmp_path / "topics.json.gz"
    model.save(path)
    loaded = TopicModel.load(path)
    assert [t.to_dict() for t in loaded.topics(min_count=1)] == [
        t.to_dict() for t in model.topics(min_count=1)
    ]
    assert loaded.add(items[8:]) == model.add(items[8:])


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = TopicModel()
    model.add(petitions()[:3])
    path = tmp_path / "topics.json.gz"
    model.save(path)
    before = path.read_bytes()
    model.add(petitions()[3:])

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("triage.topics.clustering.gzip.compress", boom)
    with pytest.raises(OSError):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["topics.json.gz"]


def test_topic_state_adds_to_both_and_reopens(tmp_path):
    state = TopicState.open(tmp_path / "topics")
    assert len(state.duplicates) == 0 and len(state.topics) == 0
    items = petitions()
    state.add(items)
    state.save()
    again = TopicState.open(tmp_path / "topics")
    assert len(again.duplicates) == len(items)
    assert again.topics.topic_of("lift-2") == state.topics.topic_of("lift-2")
    text = items[0]["title"] + "。" + items[0]["body"]
    assert again.duplicates.query(text)[0].case_id == items[0]["id"]


def test_runs_on_the_bundled_sample():
    from datasets import load_sample

    rows = load_sample()
    model = TopicModel()
    ids = model.add(
        [
            {"id": r["id"], "title": r["title"], "body": r["body"], "received_at": r["received_at"]}
            for r in rows
        ]
    )
    assert len(ids) == len(rows)
    listed = model.topics(min_count=1)
    assert sum(t.count for t in listed) == len(rows)
