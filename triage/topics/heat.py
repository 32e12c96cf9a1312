"""The heat score of a topic: how many people raise it, how many support it, how lately.

    heat = Σ_i (1 + ln(1 + likes_i)) · 2^(−age_i / H)

over the topic's petitions i inside the window, where likes_i is the petition's 点赞 count
(0 where the data has none), age_i is the number of days between petition i and the end of
the window, and H is the half-life in days (default 30).

Why this shape: every petition counts once, so a problem raised by forty people outranks one
raised by two; supporters add logarithmically, so a post with 2,000 likes weighs about as much
as nine fresh petitions instead of drowning everything else; and each petition's weight halves
every H days, so a problem that is still arriving (growing) outranks one of equal size that
stopped a season ago. Growth is also reported on its own: petitions in the last 7 days of the
window minus those in the 7 days before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

DEFAULT_HALF_LIFE_DAYS = 30.0
GROWTH_DAYS = 7


def petition_weight(likes: int, received_at: datetime, until: datetime, half_life_days: float) -> float:
    age_days = max(0.0, (until - received_at).total_seconds() / 86400.0)
    return (1.0 + math.log1p(max(0, likes))) * 0.5 ** (age_days / half_life_days)


def heat(
    members: Iterable[tuple[datetime, int]], until: datetime, half_life_days: float = DEFAULT_HALF_LIFE_DAYS
) -> float:
    """`members` are (received_at, likes) pairs already restricted to the window."""
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    return sum(petition_weight(likes, when, until, half_life_days) for when, likes in members)


def growth(times: Iterable[datetime], until: datetime, days: int = GROWTH_DAYS) -> int:
    recent = previous = 0
    for when in times:
        age = (until - when).total_seconds() / 86400.0
        if 0 <= age < days:
            recent += 1
        elif days <= age < 2 * days:
            previous += 1
    return recent - previous
