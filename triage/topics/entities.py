"""Places, estates, roads, schools and companies named in a petition, found by their form.

Petitions name the place of a problem in a fixed way ("A市A5区劳动东路魅力之城小区", "XX小学",
"XX有限公司", "XX 3栋"), so a name is recognised by its suffix or by the building/phase number
that follows it, and delimited on the left by an administrative unit, punctuation or a function
word. Nothing is looked up in a gazetteer: only names written in the text come out, so a topic's
place is always one a citizen wrote. Word segmenters split such names unpredictably
("区楚府 / 东路"), which is why this works on characters rather than jieba tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triage.text import normalize

KINDS = ("place", "estate", "road", "school", "company")
# Most specific first: a topic's place is its most specific entity.
SPECIFICITY = {"estate": 0, "school": 1, "company": 2, "road": 3, "place": 4}


@dataclass(frozen=True, order=True)
class Entity:
    kind: str
    name: str


# Administrative units: anonymised codes ("A市", "A3区", "C3县") and written names. They are
# entities (kind place) and also left boundaries of the names that follow them.
_ADMIN_CODE = r"[A-Z]\d{0,2}[省市区县]"
_ADMIN = re.compile(
    rf"{_ADMIN_CODE}|[\u4e00-\u9fa5]{{2,3}}(?:省|自治区)|[\u4e00-\u9fa5]{{2,4}}(?:街道|镇|乡|社区|村)"
    r"|[\u4e00-\u9fa5]{2,3}(?<![小社园校厂景片商辖矿山城新老郊湾营民住车务站])区"
    r"|[\u4e00-\u9fa5]{2,3}(?<![超菜城门夜股楼街闹本全该鲜])市(?![场民])|[\u4e00-\u9fa5]{2,3}县"
)
# Words that end a name on the left: a name never spans one of them.
_BOUNDARY_WORDS = (
    "我们",
    "我是",
    "我家",
    "来自",
    "位于",
    "地处",
    "座落在",
    "坐落在",
    "坐落于",
    "住在",
    "家住",
    "居住在",
    "居住",
    "关于",
    "反映",
    "投诉",
    "举报",
    "请问",
    "咨询",
    "建议",
    "要求",
    "请求",
    "强烈",
    "希望",
    "为什么",
    "何时",
    "什么时候",
    "附近",
    "旁边",
    "门口",
    "对面",
    "周边",
    "以及",
    "还有",
    "一个",
    "一家",
    "名叫",
    "叫做",
    "请",
    "在",
    "的",
    "是",
    "了",
    "把",
    "被",
    "我",
    "该",
    "这",
    "那",
    "距离",
    "多次",
    "其间",
    "找",
    "去",
    "做",
    "到",
    "领导",
    "他们",
    "对",
    "距",
    "全市",
    "会对",
    "现",
    "由于",
    "对于",
    "位于",
    "导致",
    "造成",
    "没有",
    "存在",
    "进行",
)
_BOUNDARY = re.compile("|".join(sorted(map(re.escape, _BOUNDARY_WORDS), key=len, reverse=True)))
_NAME = r"[\u4e00-\u9fa5A-Za-z0-9]"

_SUFFIXES: list[tuple[str, tuple[str, ...]]] = [
    ("school", ("幼儿园", "小学", "中学", "大学", "学院", "学校", "附中", "实验学校", "职校", "技校")),
    (
        "company",
        (
            "有限责任公司",
            "有限公司",
            "分公司",
            "公司",
            "集团",
            "银行",
            "医院",
            "物业",
            "超市",
            "酒店",
            "饭店",
            "宾馆",
            "会所",
            "工厂",
            "厂",
            "搅拌站",
            "加油站",
            "市场",
            "门诊",
            "药房",
            "4S店",
        ),
    ),
    (
        "estate",
        (
            "小区",
            "花园",
            "家园",
            "公寓",
            "新村",
            "新城",
            "山庄",
            "大厦",
            "广场",
            "宿舍",
            "楼盘",
            "嘉园",
            "华庭",
            "雅苑",
            "花苑",
            "名苑",
            "庄园",
            "国际城",
            "商业街",
        ),
    ),
    (
        "road",
        (
            "大道",
            "路",
            "街",
            "巷",
            "大桥",
            "立交桥",
            "立交",
            "高架",
            "隧道",
            "高速",
            "国道",
            "省道",
            "县道",
            "号线",
        ),
    ),
]
_SUFFIX_KIND = {s: kind for kind, group in _SUFFIXES for s in group}
_SUFFIX = re.compile(
    rf"({_NAME}{{2,10}}?)({'|'.join(sorted(map(re.escape, _SUFFIX_KIND), key=len, reverse=True))})"
)
# "魅力之城4.1期65栋": a name followed by a phase/building/unit number is an estate.
_NUMBERED = re.compile(rf"({_NAME}{{2,10}}?)(?:[一二三四五六七八九十\d.]+期|[A-Za-z]?\d+(?:[栋幢]|号楼))")
# Name parts that are words, not names.
_GENERIC = frozenset(
    "本 该 此 各 某 整个 所在 周边 附近 我们 这个 那个 其他 其它 相关 有关 一些 多个 几个 部分 所有 全市 全区 城区 老旧 新建 "
    "马路 道路 公路 铁路 街道 社区 小区 学校 公司 医院 物业 市场 银行 工厂 一 二 三 几 多 长期 目前 现在 有限 股份 "
    "责任 开发 物业管理 建设 投资 集团 该小区 本小区 我们小区 整个小区".split()
)
_DIGITS = re.compile(r"^[\dA-Za-z.]+$")
# A word joining two names written back to back ("A路和B路", "A小区与B小区").
_JOINING = frozenset("和与及跟同")
_ROAD_OK = re.compile(r"^[\u4e00-\u9fa5A-Za-z0-9]{2,5}$")
# Longest believable name before the suffix; longer means the left boundary was missed.
_MAX_STEM = {"road": 5, "estate": 8, "school": 6, "company": 10}


_LEADING_DATE = re.compile(r"^(?:\d+年)?(?:\d+月)?(?:\d+[日号])?")


def _clean(name: str) -> str | None:
    name = _LEADING_DATE.sub("", name.strip())
    if len(name) < 2 or name in _GENERIC or _DIGITS.match(name):
        return None
    for generic in ("一", "个", "某", "各"):
        if name.startswith(generic) and len(name) > 2:
            name = name[1:]
    return name if name not in _GENERIC else None


def _chunks(text: str) -> list[tuple[str, list[Entity]]]:
    """Split on punctuation, administrative units and function words; collect the units."""
    places: list[Entity] = []
    out = []
    pieces = re.split(r"[^\u4e00-\u9fa5A-Za-z0-9.]+", text)
    for piece in (p for whole in pieces for p in _BOUNDARY.split(whole) if p):
        last = 0
        for m in _ADMIN.finditer(piece):
            if m.start() - last >= 2:
                out.append((piece[last : m.start()], []))
            unit = m.group()
            if unit[:-1] not in _GENERIC and unit not in _GENERIC:
                places.append(Entity("place", unit))
            last = m.end()
        if len(piece) - last >= 2:
            out.append((piece[last:], []))
    return [("", places), *out]


def extract_entities(text: str, *, normalized: bool = False) -> list[Entity]:
    """Entities in order of first mention, without repeats."""
    text = text if normalized else normalize(text)
    found: list[Entity] = []
    chunks = _chunks(text)
    found.extend(chunks[0][1])
    for chunk, _ in chunks[1:]:
        pos = 0
        while pos < len(chunk):
            m = _SUFFIX.search(chunk, pos)
            n = _NUMBERED.search(chunk, pos)
            if n and (not m or n.start() < m.start() or (n.start() == m.start() and n.end() < m.end())):
                name = _clean(n.group(1))
                if name and len(name) <= _MAX_STEM["estate"]:
                    found.append(Entity("estate", name))
                pos = n.end()
                continue
            if not m:
                break
            stem, suffix = m.group(1), m.group(2)
            kind = _SUFFIX_KIND[suffix]
            if m.start() == pos > 0 and len(stem) >= 3 and stem[0] in _JOINING:
                stem = stem[1:]  # "滨江路和人民路口": the second road is 人民路 (a 2-character 和平路 stays)
            name = _clean(stem + suffix) if _clean(stem) else None
            if name and len(stem) <= _MAX_STEM[kind] and (kind != "road" or _ROAD_OK.match(stem)):
                found.append(Entity(kind, name))
            pos = m.end()
    seen: set[Entity] = set()
    unique = []
    for e in found:
        if e not in seen:
            seen.add(e)
            unique.append(e)
    return unique
