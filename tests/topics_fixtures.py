"""Petitions written for the topic and duplicate tests: a few real problems in named places,
each told by several citizens in their own words, plus unrelated one-off petitions."""

from __future__ import annotations

from datetime import datetime, timedelta

BASE = datetime(2024, 5, 1, 9, 0)

# (problem key, place, titles, bodies): every title/body pair is a different wording.
PROBLEMS = [
    (
        "lift",
        "锦绣花园",
        [
            "锦绣花园小区电梯坏了两个月没人修",
            "城南区锦绣花园12栋电梯停运",
            "锦绣花园电梯故障无人维修",
            "锦绣花园小区电梯何时修好",
        ],
        [
            "我是城南区锦绣花园12栋的业主，电梯从三月起就坏了，物业一直说在等配件，老人上下楼非常困难。",
            "城南区锦绣花园小区12栋电梯停运快两个月，物业推给开发商，开发商推给物业，请有关部门督促维修。",
            "锦绣花园12栋电梯故障，楼里有八十多岁的老人，每天爬十几层楼，物业不作为，希望尽快修好电梯。",
            "请问锦绣花园小区的电梯到底什么时候能修好？12栋业主已经等了两个月，物业费照收，电梯不修。",
        ],
    ),
    (
        "smoke",
        "翠湖山庄",
        [
            "翠湖山庄楼下烧烤店油烟扰民",
            "投诉翠湖山庄临街烧烤油烟",
            "翠湖山庄小区底商油烟直排",
            "翠湖山庄烧烤摊油烟太大",
        ],
        [
            "河西区翠湖山庄3栋楼下开了一家烧烤店，油烟直接排到楼上，窗户都不敢开，晚上还很吵。",
            "翠湖山庄小区临街门面烧烤店每天营业到凌晨，油烟直排没有净化设备，居民苦不堪言，请城管查处。",
            "河西区翠湖山庄底商的烧烤店油烟直排，熏得业主家里全是油烟味，多次投诉没有结果。",
            "翠湖山庄3栋下面的烧烤摊油烟太大，没有油烟净化器，还占道经营，希望环保和城管部门管一管。",
        ],
    ),
    (
        "school",
        "实验小学",
        [
            "实验小学门口早晚高峰拥堵",
            "实验小学校门口交通混乱",
            "建议实验小学门口设置护学岗",
            "实验小学放学时段堵车严重",
        ],
        [
            "滨江路实验小学门口每天早上七点半和下午四点半都堵得水泄不通，家长车辆乱停，孩子过马路很危险。",
            "实验小学校门口上下学时段交通非常混乱，接送车辆占满滨江路，建议交警在实验小学门口加强疏导。",
            "建议在滨江路实验小学门口设置护学岗和临时停车区，现在接孩子的车乱停乱放，拥堵严重。",
            "滨江路实验小学放学时堵车严重，家长车辆双排停放，公交车都过不去，请交警部门加强管理。",
        ],
    ),
]

ONE_OFFS = [
    ("社保卡丢失如何补办", "我的社保卡丢了，请问在哪里补办，需要带什么材料，多久能拿到新卡？"),
    ("咨询新生儿落户流程", "孩子刚出生，想咨询一下新生儿落户需要准备哪些材料，在哪个派出所办理。"),
    ("公积金提取到账太慢", "上个月申请提取住房公积金，到现在还没有到账，打电话也没人接，请帮忙催办。"),
    ("建议增加公园健身器材", "人民公园的健身器材太少而且很多已经损坏，建议增加一些适合老人的健身器材。"),
]


def petitions(days: int = 8) -> list[dict]:
    """Problems spread over `days` days (one wording per day each), one-offs in between."""
    items = []
    for key, _place, titles, bodies in PROBLEMS:
        for i, (title, body) in enumerate(zip(titles, bodies, strict=True)):
            day = (i * days) // len(titles)
            items.append(
                {
                    "id": f"{key}-{i}",
                    "title": title,
                    "body": body,
                    "received_at": BASE + timedelta(days=day, hours=i),
                    "likes": i,
                }
            )
    for j, (title, body) in enumerate(ONE_OFFS):
        items.append(
            {"id": f"one-{j}", "title": title, "body": body, "received_at": BASE + timedelta(days=j)}
        )
    return items
