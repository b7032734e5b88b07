"""The demo's accounts and timeline entries, and small helpers every part of it uses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np

from pipeline.demo.dice import _Dice
from pipeline.demo.persona import DAY
from pipeline.demo.text import (
    people,
    spam,
)
from pipeline.demo.writing import _Style

# --------------------------------------------------------------------------------------------
# Accounts


class _Item(NamedTuple):
    """One entry of an account's timeline, with what the generator knows about it."""

    when: int
    kind: str             # post | reply | repost | like
    text: str
    lang: str             # language it is written in
    topic: str | None     # a main or other topic, "foreign", or None (spam, growth posts)
    toxic: bool = False


@dataclass(eq=False)  # identity, not field-by-field equality: accounts are compared often
class _Account:
    archetype: str
    lang: str = "en"
    topics: list[str] = field(default_factory=list)  # weighted topic list for posts
    topic_weights: list[float] = field(default_factory=list)
    account_id: str = ""
    handle: str = ""
    display_name: str | None = None
    bio: str | None = None
    bio_kind: str = "meaningful"  # meaningful | empty | emoji | hashtag | link
    bio_on_topic: bool = False
    followers_count: int = 0
    following_count: int = 0
    posts_count: int = 0
    created_at: int = 0
    last_post_at: int | None = None
    is_private: bool = False
    is_verified: bool = False
    is_bot_flagged: bool = False
    has_default_avatar: bool = False
    url: str | None = None
    location: str | None = None
    club: str | None = None          # the topic of an organisation account
    f4f_topic: str | None = None     # follow-for-follow accounts that pose as a hobby account
    own_language_topic: str | None = None  # a main topic written about in a language she can't read
    bot_kind: str | None = None
    style: _Style = field(default_factory=_Style)
    follower: bool = True            # False: an account she follows that never followed her
    follows: list[list[int | None]] = field(default_factory=list)   # [start, end) intervals
    followed: list[list[int | None]] = field(default_factory=list)  # she follows it
    posts: list[_Item] = field(default_factory=list)
    latent: dict[str, float] = field(default_factory=dict)
    utility: float = 0.0
    decision: tuple[bool, int, str | None] | None = None  # (follow_back, decided_at, note)
    exception: str | None = None     # "friend" or "no_exception"
    trickster_cycles: list[dict[str, int | None]] = field(default_factory=list)
    churn_role: str | None = None    # refollower | unfollower (never followed back)

    @property
    def first_follow(self) -> int:
        return int(self.follows[0][0]) if self.follows else 0


# --------------------------------------------------------------------------------------------
# Small helpers

_HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.5, 2, 4, 5, 5, 4, 4, 5, 4, 4, 4, 5, 6, 7, 8, 8, 7, 5, 3]


def _monday(ts: int) -> int:
    """Midnight UTC of the Monday of the week of ``ts`` (1970-01-05 was a Monday)."""
    monday = 4 * DAY
    return ts - (ts - monday) % (7 * DAY)


# Mastodon statuses carry the language the author's client set. Many clients tag each post
# with the language it is written in; some tag nothing; some are stuck on their interface
# language whatever the post says. Which kind an account's client is follows from a hash of
# its id, not from the generator's dice, so adding tags changed no other draw of the demo.
TAGGING_SHARE = 0.55      # accounts whose client tags posts with their language
STUCK_ON_ENGLISH = 0.08   # accounts whose client tags every post "en"


def demo_language_tag(account_id: str, kind: str, lang: str) -> str | None:
    """The Mastodon ``language`` tag of a demo post: its language, "en", or None."""
    import zlib

    if kind == "like":
        return None  # a favourite is someone else's status: no tag of the account's own
    u = (zlib.crc32(str(account_id).encode("utf-8")) % 10_000) / 10_000
    if u < STUCK_ON_ENGLISH:
        return "en"
    if u < STUCK_ON_ENGLISH + TAGGING_SHARE:
        return lang
    return None


def _add_months(start: datetime, k: int) -> datetime:
    month = start.month - 1 + k
    return start.replace(year=start.year + month // 12, month=month % 12 + 1)


def _midnight(ts: int) -> int:
    return int(ts) - int(ts) % DAY


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), tz=UTC).isoformat().replace("+00:00", "Z")


def _inside(intervals: list[list[int | None]], when: int) -> bool:
    return any(start <= when and (end is None or when < end) for start, end in intervals)


def _bare(handle: str) -> str:
    return handle.split("@")[0]


def _instance(d: _Dice, lang: str, topic: str | None = None) -> str:
    if topic == "software" and d.chance(0.6):
        return d.pick(people.INSTANCES["software"])
    return d.pick(people.INSTANCES.get(lang, people.INSTANCES["en"]))


def _short_link(d: _Dice) -> str:
    chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    code = "".join(d.pick(chars) for _ in range(d.integer(6, 8)))
    return f"https://{d.pick(spam.SPAM_BOT['link_domains'])}/{code}"


def _largest_remainder(shares: dict[str, float], n: int) -> dict[str, int]:
    """Whole counts per key proportional to ``shares``, summing exactly to ``n``."""
    raw = {k: v * n for k, v in shares.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    order = sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)
    for k in order[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def _corr(a: list[float], b: list[float]) -> float | None:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return round(float(np.corrcoef(a, b)[0, 1]), 3)
