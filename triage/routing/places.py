"""The place a petition is about: city, district/county, street/town and 小区, when it names them.

`cpca` (the usual PyPI choice) installs here and runs offline, but it only knows real
administrative divisions, needs pandas, and returns nothing for the anonymised public data
("A市A1区") or a city it does not list; what routing needs is the district named in the text, to
match against the district offices of the routing table (属地管理). So this is a small parser:
the districts the table knows first, then the anonymised codes, then name+suffix patterns that
require a boundary before the name so that "我住在城南区" yields 城南区 and not 我住在城南区.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from triage.text import normalize

# What may stand right before a place name: punctuation, the suffix of a larger place, or the
# verbs and particles petitions put before an address.
_BOUNDARY_CHARS = frozenset(' ，。、；：:,.!?！？（(“"《市省区县镇乡道路街村在住于到是的家从往近离靠')
# Characters that never occur inside the place names petitions use: a candidate containing one
# started too far to the left ("请问老小区", "我们村").
_NOT_IN_NAME = frozenset(
    "的了在我你他她们这那个问从月现面有是或也都就还很要去来说看到被把让给对向想能会可以请每天年号楼栋幢单元室第组"
)

_ANON_CITY = re.compile(r"(?<![A-Za-z0-9])([A-Z])市")
_ANON_DISTRICT = re.compile(r"(?<![A-Za-z0-9])([A-Z]\d{1,2})(区|县)")
_CITY = re.compile(r"市(?![场民区内里中面值价容貌委])")
_DISTRICT = re.compile(r"区|县")
_STREET = re.compile(r"街道|镇|乡")
_COMMUNITY = re.compile(r"小区|花园|家园|新村|新城|公寓|华庭|嘉园|名苑|雅苑|府邸|社区|村")

# Words that end like a place name but are not one.
_NOT_DISTRICT = frozenset(
    "小区 社区 园区 城区 市区 辖区 片区 景区 校区 郊区 山区 老区 新区 厂区 库区 矿区 林区 牧区 街区 商区 学区 "
    "住宅区 生活区 居住区 开发区 工业区 保护区 服务区 示范区 禁区 盲区 误区 地区 该区 本区 全区 各区 此区 我区 "
    "各县 全县 本县 该县 我县 郡县 市县 区县".split()
)
# A name ending so is a 小区, campus or zone, never a district ("双溪苑小区电梯坏了" names no district).
_NOT_DISTRICT_ENDINGS = tuple(
    "小区 社区 园区 校区 景区 厂区 街区 学区 片区 辖区 住宅区 生活区 居住区 工业区 服务区 保护区 示范区".split()
)
_NOT_CITY = frozenset(
    "城市 都市 超市 菜市 夜市 股市 楼市 上市 全市 本市 该市 我市 各市 门市 早市 集市 花市 车市".split()
)
_NOT_STREET = frozenset(
    "城镇 乡镇 城乡 村镇 家乡 老乡 下乡 返乡 回乡 本镇 该镇 我镇 全镇 各乡 各镇 本乡".split()
)
_NOT_COMMUNITY = frozenset(
    "小区 社区 新村 农村 乡村 村 本小区 该小区 我们小区 我们村 本村 该村 全村 我村 各村 本社区 该社区 整个小区 "
    "老小区 新小区 老旧小区 城中村 高档小区 新建小区 这个小区 那个小区 附近小区 周边小区 各小区 隔壁小区".split()
)


@dataclass(frozen=True)
class Place:
    city: str | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


class PlaceExtractor:
    """`extract(text)` → Place or None. `known_districts` (from the routing table) win ties."""

    def __init__(self, known_districts: Iterable[str] = ()) -> None:
        self.known_districts = tuple(sorted(set(known_districts), key=len, reverse=True))

    def extract(self, text: str) -> Place | None:
        clean = normalize(text)
        if not clean:
            return None
        district = (
            self._known_district(clean)
            or self._anon_district(clean)
            or self._first(_DISTRICT, clean, _NOT_DISTRICT, 4, _NOT_DISTRICT_ENDINGS)
        )
        city = self._anon_city(clean) or self._first(_CITY, clean, _NOT_CITY, 4)
        street = self._first(_STREET, clean, _NOT_STREET, 4)
        community = self._first(_COMMUNITY, clean, _NOT_COMMUNITY, 6)
        if district and city and district.startswith(city):  # "A市A1区" read as a district of A市
            district = district[len(city) :] or None
        if community and street and community.startswith(street):
            community = community[len(street) :] or None
        place = Place(city=city, district=district, street=street, community=community)
        return place if any((city, district, street, community)) else None

    def _known_district(self, text: str) -> str | None:
        hits = [(text.find(name), name) for name in self.known_districts if name in text]
        return min(hits)[1] if hits else None

    @staticmethod
    def _anon_city(text: str) -> str | None:
        m = _ANON_CITY.search(text)
        return m.group(0) if m else None

    @staticmethod
    def _anon_district(text: str) -> str | None:
        m = _ANON_DISTRICT.search(text)
        return m.group(0) if m else None

    @staticmethod
    def _first(
        suffix: re.Pattern[str],
        text: str,
        stop: frozenset[str],
        longest: int = 5,
        never_ends: tuple[str, ...] = (),
    ) -> str | None:
        """The first suffix occurrence with the shortest Han name before it that starts at a boundary
        (and does not end like another kind of place: `never_ends`)."""
        for match in suffix.finditer(text):
            end = match.start()
            for length in range(2, longest + 1):
                begin = end - length
                if begin < 0:
                    break
                name = text[begin:end]
                if not all("\u4e00" <= ch <= "\u9fff" for ch in name) or any(
                    ch in _NOT_IN_NAME for ch in name
                ):
                    break
                if begin == 0 or text[begin - 1] in _BOUNDARY_CHARS:
                    full = name + match.group(0)
                    if full not in stop and name not in stop and not full.endswith(never_ends):
                        return full
                    break
        return None
