"""A second city's water-affairs history, written for the drafting benchmark (not from any corpus).

江北's water company answers in a house style unlike the public board's: "关于您的问题我司回复如下：",
numbered points, "经现场核查", a service-centre sign-off and an ISO date, no greeting or thanks.
Petitions are told the way callers tell them (several wordings per matter, places, floors, days);
each reply states the facts of its own case (what was found, what was done, when), so a draft can
only get the house's fixed parts and the matter right, never the facts. `cases(n, seed)` gives
the rows oldest first, like an export: the benchmark drafts for the newest 20 % from the rest.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

ESTATES = [
    "江北新村", "滨河花园", "龙湾小区", "凤凰苑", "青石巷", "梅林公寓", "东湖家园", "金桥小区",
    "柳岸名居", "城南新苑", "南门社区", "沿江一村", "北站小区", "百花里", "新华坊", "白鹭湾",
]  # fmt: skip
ROADS = ["江北大道", "沿江路", "人民路", "建设路", "解放路", "长江路"]

# (matter, ways a caller tells it, what the company found, what it did, advice)
MATTERS = [
    (
        "水压低",
        [
            "{e}{b}栋{f}楼水压特别低，热水器都打不着火",
            "{e}最近一到晚上水就很小，高层基本没水",
            "我家住{e}{f}楼，水龙头出水像细线一样",
        ],
        ["片区用水高峰管网压力不足", "小区二次供水泵组一台故障"],
        ["调整了{r}加压站的出水压力", "更换了二次供水泵组的变频器"],
        "高峰时段如水压仍偏低，可先错峰用水",
    ),
    (
        "水质发黄",
        [
            "{e}的自来水放出来是黄的，还有一股铁锈味",
            "{e}{b}栋早上放水发黄，烧开有沉淀",
            "最近{e}的水浑浊，不敢给孩子喝",
        ],
        ["{r}管网施工后水流方向改变冲起管壁锈垢", "小区老旧铸铁管内壁锈蚀"],
        ["对小区管网进行了冲洗并取水样检测，各项指标合格", "对{e}的楼道立管进行了排放冲洗"],
        "如再出现浑水，可先放水数分钟",
    ),
    (
        "停水无通知",
        [
            "{e}今天突然停水，事先一点通知都没有",
            "{r}附近停水一整天，也不说什么时候来水",
            "{e}停水没有任何公告，老人做饭都成问题",
        ],
        ["{r}抢修爆管临时关阀", "计划停水公告未在小区张贴"],
        ["在小区补贴了停水公告，并开通了短信通知", "安排送水车到{e}临时供水"],
        "计划停水会提前在小区公告栏及微信公众号公布",
    ),
    (
        "水表异常",
        [
            "我家水表走得飞快，这个月水费翻了一倍",
            "{e}{b}栋的水表不用水也在转",
            "{e}抄表数字和实际对不上，多收了水费",
        ],
        ["户内管道存在暗漏", "水表计量偏差超出允许范围"],
        ["上门对水表进行了校验并更换新表，多收水费将在下期退还", "协助用户查找并封堵了户内漏点"],
        "可定期关闭户内所有用水点查看水表是否走动",
    ),
    (
        "管道漏水",
        [
            "{r}{e}门口的路面一直在冒水，好几天了",
            "{e}{b}栋楼下的管道漏水，地面全是水",
            "{r}人行道上有个地方一直往外渗水",
        ],
        ["{r}DN300供水管接口老化渗漏", "小区支管阀门井内管件破损"],
        ["组织抢修更换了破损管段，路面已恢复", "更换了阀门井内的破损管件"],
        "发现路面冒水可随时拨打报修热线",
    ),
    (
        "排水堵塞",
        ["{e}下水道堵了，污水漫到路面上", "{r}一下雨就积水，排水口全堵着", "{e}{b}栋化粪池满了，臭气熏天"],
        ["{r}雨水口被落叶和垃圾堵塞", "小区排污管道淤积"],
        ["对雨水口和检查井进行了清掏疏通", "安排吸污车对化粪池进行了清掏"],
        "请居民不要向下水道倾倒垃圾和油污",
    ),
]


def _petition(rng: random.Random, matter: tuple, estate: str, road: str) -> tuple[str, str]:
    name, tellings, *_ = matter
    body = rng.choice(tellings).format(e=estate, b=rng.randint(1, 30), f=rng.randint(2, 33), r=road)
    extra = rng.choice(
        ["希望尽快解决。", "打了几次电话都没人处理。", "请相关部门管一管。", "", "麻烦尽快派人来看看！"]
    )
    title = rng.choice(
        [f"{estate}{name}", f"反映{estate}{name}问题", f"{road}附近{name}", f"{name}，请尽快处理"]
    )
    return title, body + "，" + extra if extra else body


def _reply(rng: random.Random, matter: tuple, estate: str, road: str, day: date) -> str:
    _, _, found, done, advice = matter
    fill = {"e": estate, "r": road}
    points = [
        f"经现场核查，{estate}{matter[0]}系{rng.choice(found).format(**fill)}所致。",
        f"{day.month}月{day.day - 1 or 1}日我司{rng.choice(done).format(**fill)}。",
        f"{advice}，如有问题可拨打供水服务热线9618{rng.randint(100, 999)}。",
    ]
    numbered = "".join(f"{i}、{p}" for i, p in enumerate(points, start=1))
    return f"关于您的问题我司回复如下：{numbered}江北水务集团客户服务中心 {day.isoformat()}"


def cases(n: int = 400, seed: int = 11) -> list[dict[str, str]]:
    """`n` answered petitions, oldest first: id, title, body, reply, department, created_at, replied_at."""
    rng = random.Random(seed)
    start = date(2025, 1, 6)
    rows = []
    for i in range(n):
        matter = rng.choice(MATTERS)
        estate, road = rng.choice(ESTATES), rng.choice(ROADS)
        received = start + timedelta(days=i * 300 // n)
        replied = received + timedelta(days=rng.randint(1, 5))
        title, body = _petition(rng, matter, estate, road)
        rows.append(
            {
                "id": f"jb-{i:04d}",
                "title": title,
                "body": body,
                "reply": _reply(rng, matter, estate, road, replied),
                "department": "江北水务集团",
                "created_at": received.isoformat(),
                "replied_at": replied.isoformat(),
            }
        )
    return rows
