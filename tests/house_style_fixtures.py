"""Two houses that answer in different styles, written for these tests (not from any corpus).

住建局 of 临江 answers the way many message boards do: a greeting that names the citizen's
nickname, an acknowledgement, "现将有关情况回复如下：", prose, a thanks formula, the office's name
and a 年月日 date. 江北水务集团 answers like a utility: "关于您的问题我司回复如下：", numbered points,
no thanks, the service centre's name and an ISO date. Each reply carries facts of its own case
(places, dates, phone numbers) that must never reach another citizen's draft.
"""

from __future__ import annotations

from datetime import date, timedelta

from triage.retrieval.history import HistoryItem

ESTATES = ["锦绣花园", "滨江苑", "桂花里", "望湖小区", "东城家园", "梧桐公寓", "南山新村", "翠微苑"]
NICKNAMES = ["临江老李", "UU0081", "望湖居民", "小区业主", "热心市民", "老张", "阿梅", "UU5532"]
HOUSING_MATTERS = [
    ("电梯经常停运", "物业已更换电梯主板并恢复运行"),
    ("楼顶漏水", "物业已对楼顶防水层进行修补"),
    ("外墙瓷砖脱落", "街道已组织对外墙进行排查并设置警示"),
    ("违章搭建阳光房", "执法中队已下达限期拆除通知书"),
    ("物业费上调", "物业公司已暂停调价并召开业主大会"),
]
WATER_MATTERS = [
    ("水压偏低", "加压泵站调整了出水压力"),
    ("自来水发黄", "对小区管网进行了冲洗并取样检测合格"),
    ("水表走字异常", "上门校验水表并更换了新表"),
    ("停水没有通知", "补发了停水公告并调整了通知方式"),
    ("管道漏水", "抢修人员更换了破损管段"),
]


def housing_reply(i: int) -> str:
    estate, nick = ESTATES[i % len(ESTATES)], NICKNAMES[i % len(NICKNAMES)]
    matter, done = HOUSING_MATTERS[i % len(HOUSING_MATTERS)]
    day = date(2025, 3, 1) + timedelta(days=3 * i)
    return (
        f"网友“{nick}”您好！您的留言已收悉。现将有关情况回复如下：经核实，{estate}{i % 9 + 1}栋{matter}情况属实，"
        f"{day.month}月{day.day}日{done}。我局将督促物业加强日常巡查。"
        f"如有疑问，请拨打0571-8765{4300 + i}咨询。感谢您对我们工作的支持！临江市住房和城乡建设局 "
        f"{day.year}年{day.month}月{day.day}日"
    )


def water_reply(i: int) -> str:
    estate = ESTATES[(i + 3) % len(ESTATES)]
    matter, done = WATER_MATTERS[i % len(WATER_MATTERS)]
    day = date(2025, 4, 2) + timedelta(days=2 * i)
    return (
        f"关于您的问题我司回复如下：1、经现场核查，{estate}{matter}系片区管网施工所致。"
        f"2、{day.month}月{day.day}日我司{done}。3、后续如再出现类似情况，可拨打9618{i:03d}报修。"
        f"江北水务集团客服中心 {day.isoformat()}"
    )


def _items(prefix: str, department: str, texts: list[str], replies: list[str]) -> list[HistoryItem]:
    return [
        HistoryItem(id=f"{prefix}-{i}", text=text, reply=reply, department=department)
        for i, (text, reply) in enumerate(zip(texts, replies, strict=True))
    ]


HOUSING = _items(
    "zj",
    "住建局",
    [f"{ESTATES[i % len(ESTATES)]}{HOUSING_MATTERS[i % len(HOUSING_MATTERS)][0]}" for i in range(24)],
    [housing_reply(i) for i in range(24)],
)
WATER = _items(
    "sw",
    "江北水务集团",
    [f"{ESTATES[(i + 3) % len(ESTATES)]}{WATER_MATTERS[i % len(WATER_MATTERS)][0]}" for i in range(22)],
    [water_reply(i) for i in range(22)],
)
