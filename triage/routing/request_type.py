"""Request type (咨询 / 投诉 / 求助 / 建议 / 举报 / 表扬) when no model says it.

The request-type model (a `PetitionClassifier` trained on a request_type column) is preferred;
these cue words are the fallback when it is absent or abstains, because a deadline must be set
for every petition and the type of a petition is usually stated in so many words.
"""

from __future__ import annotations

import re

# Order matters: the first type whose cue appears wins.
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "表扬",
        re.compile(
            r"表扬|点赞|感谢[^，,。！!？?；;]{0,12}(帮助|耐心|及时|负责)|送锦旗|为[^，,。！!？?；;]{0,8}点赞"
        ),
    ),
    ("举报", re.compile(r"举报|揭发")),
    ("求助", re.compile(r"求助|求求|帮帮|救救|走投无路|没办法了|请帮忙|急需帮助")),
    ("建议", re.compile(r"建议|提议|希望(能|可以)?(增设|增加|开通|设置|修建|安装)|能否(增设|增加|开通)")),
    (
        "咨询",
        re.compile(
            r"请问|咨询|想问|想了解|怎么办理|如何办理|需要什么(条件|材料|手续)|去哪里?办|在哪里?(办|申请|看)|能不能|可不可以|是否可以|吗[？?]"
        ),
    ),
)
DEFAULT_TYPE = "投诉"


def guess_request_type(text: str) -> str:
    for name, cue in _CUES:
        if cue.search(text):
            return name
    return DEFAULT_TYPE
