"""The demo dataset: a year in the life of one Mastodon user and her followers.

``generate`` writes the five contract tables in the generic format (``accounts.csv``,
``posts.jsonl``, ``own_posts.csv``, ``decisions.csv``, ``snapshots.csv``) and, outside the source
folder, a truth file saying what was planted: each account's archetype and latent criteria, the
follow/unfollow tricksters with their dates, re-followers, the persona's exceptions and the
effect of her posting topics on follower gains and losses.

The persona (``maya.bakes``, reads English and German) posts about sourdough baking, cycling and
urban vegetable gardening. Her followers are a mix of archetypes (:data:`ARCHETYPES`); her past
decisions come from a latent utility over the six criteria with interactions, human noise and a
few personal exceptions, so a learned model has something to learn that a hand-written rule set
of the six criteria misses.

Texts are assembled from hand-written sentence parts (:mod:`pipeline.demo_text`): openers,
bodies, closers, questions, hashtags and emoji, combined in varying shapes and per-account
writing styles. Everything is drawn from ``numpy.random.default_rng(seed)``; the same seed gives
byte-identical files.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Annotated, Any, NamedTuple

import numpy as np
import pandas as pd
import typer

from pipeline import schema
from pipeline.config import Config, load_config
from pipeline.console import FollowbackError, ParamsOption, console
from pipeline.demo_text import (
    baking,
    cycling,
    foreign,
    gardening,
    other_topics,
    people,
    spam,
    toxic,
)
from pipeline.io import OutputSet, write_table, write_text

PLATFORM = "mastodon"
MAIN_TOPICS = ("baking", "cycling", "gardening")
TOPIC_POOLS = {"baking": baking, "cycling": cycling, "gardening": gardening}
FOREIGN_LANGUAGES = tuple(foreign.POOLS)

# Share of each archetype among the followers (sums to 1).
ARCHETYPES: dict[str, float] = {
    "related": 0.28,        # genuine people posting about baking, cycling or gardening
    "unrelated": 0.18,      # genuine people with other interests
    "foreign": 0.12,        # genuine people writing in a language the persona does not read
    "private": 0.06,        # locked accounts: no posts visible
    "blank_bio": 0.07,      # genuine people with an empty, emoji-, hashtag- or link-only bio
    "follow4follow": 0.08,  # growth hackers: many followers, few followed
    "spam_bot": 0.07,
    "fake_follower": 0.07,  # bought followers: young, default avatar, thousands followed
    "toxic": 0.05,          # otherwise relevant people with offensive posts
    "honest_bot": 0.02,     # self-declared bots (weather, tips, news feeds)
}
GENUINE = ("related", "unrelated", "foreign", "private", "blank_bio", "toxic")

# The year of snapshots starts here; a fixed date keeps the output independent of the clock.
FIRST_SNAPSHOT = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
# Mastodon opened to the public in autumn 2016: no demo account is created earlier (the account
# ids are snowflakes of the creation time, so they stay plausible too).
MASTODON_LAUNCH = datetime(2016, 10, 1, tzinfo=UTC)
DAY = 86_400

# The persona's decision rule (latent utility); recorded in the truth file.
UTILITY = {
    "relevance": 2.6,
    "readable": 1.2,
    "unreadable": 1.6,        # scaled down when the topic matches (she looks at the photos)
    "bio": 0.6,
    "no_bio": 1.1,            # scaled down when the topic matches (forgiven for bread)
    "bot": 3.0,
    "ratio": 1.3,             # per decade below a following/followers ratio of 10^-0.5
    "toxic_any": 2.2,
    "toxic_share": 4.0,
    "private": 1.4,           # 0.4 when the bio is about her topics
    "pickier_per_year": 0.3,  # she grows pickier over the year: a drift for time-ordered splits
    "noise_scale": 0.6,       # logistic noise
    "threshold": 2.4,
}

# How follower gains and losses respond to the persona's posting mix (when enabled).
GAIN_BASE, GAIN_SLOPE = 0.4, 2.6      # new genuine followers ~ GAIN_BASE + GAIN_SLOPE * cycling
LOSS_RATE = 0.03                      # monthly share of unrequited genuine followers who leave
LOSS_BASE, LOSS_SLOPE = 0.3, 2.8      # ... times LOSS_BASE + LOSS_SLOPE * gardening share
INITIAL_SHARE = 0.3                   # followers already there at the first snapshot


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate` wrote: row counts per table and followers per archetype."""

    out_dir: Path
    truth_path: Path
    seed: int
    tables: dict[str, int]
    archetypes: dict[str, int]
    decided: int
    followed_back: int
    tricksters: int
    repeat_offenders: int
    seconds: float


# --------------------------------------------------------------------------------------------
# Random draws


class _Dice:
    """Scalar draws from one numpy Generator, buffered.

    Texts need hundreds of thousands of small picks; a numpy call per pick costs more than the
    pick itself, so uniforms are drawn in blocks.
    """

    def __init__(self, rng: np.random.Generator, block: int = 8192) -> None:
        self.rng = rng
        self._block = block
        self._buf = rng.random(block)
        self._i = 0

    def random(self) -> float:
        if self._i == self._block:
            self._buf = self.rng.random(self._block)
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return float(value)

    def chance(self, p: float) -> bool:
        return self.random() < p

    def index(self, n: int) -> int:
        return min(int(self.random() * n), n - 1)

    def pick(self, seq):
        return seq[self.index(len(seq))]

    def integer(self, low: int, high: int) -> int:
        """A whole number in [low, high]."""
        return low + self.index(high - low + 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def sample(self, seq, k: int) -> list:
        """``k`` distinct items of ``seq`` (all of them when ``k`` >= len)."""
        items = list(seq)
        k = min(k, len(items))
        for i in range(k):
            j = i + self.index(len(items) - i)
            items[i], items[j] = items[j], items[i]
        return items[:k]

    def weighted(self, weights) -> int:
        total = float(sum(weights))
        target = self.random() * total
        for i, w in enumerate(weights):
            target -= w
            if target < 0:
                return i
        return len(weights) - 1

    def lognormal(self, median: float, sigma: float) -> float:
        # Box-Muller from two buffered uniforms.
        u1, u2 = max(self.random(), 1e-12), self.random()
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        return median * math.exp(sigma * z)

    def exponential(self, mean: float) -> float:
        return -mean * math.log(max(1.0 - self.random(), 1e-12))


# --------------------------------------------------------------------------------------------
# Texts


@dataclass(frozen=True)
class _Style:
    """How one person writes: the same sentence parts read differently from different people."""

    emoji: float = 0.3
    hashtags: float = 0.3
    link: float = 0.03
    lowercase: bool = False
    exclaim: bool = False
    max_tags: int = 3


# (weight, parts) of a genuine post; no single shape dominates.
SHAPES: list[tuple[int, tuple[str, ...]]] = [
    (6, ("bodies",)),
    (5, ("bodies", "bodies")),
    (3, ("openers", "bodies")),
    (2, ("openers", "bodies", "bodies")),
    (3, ("bodies", "closers")),
    (3, ("bodies", "questions")),
    (2, ("openers", "bodies", "questions")),
    (2, ("bodies", "bodies", "closers")),
    (1, ("questions",)),
    (1, ("openers", "bodies", "closers")),
    (1, ("bodies", "bodies", "questions")),
]
_SHAPE_WEIGHTS = [w for w, _ in SHAPES]
_SLOT = re.compile(r"\{(\w+)\}")


class _Writer:
    """Assembles posts, replies and bios from the text pools."""

    def __init__(self, dice: _Dice) -> None:
        self.dice = dice

    def fill(self, sentence: str, fills: dict[str, list[str]]) -> str:
        return _SLOT.sub(lambda m: self.dice.pick(fills[m.group(1)]), sentence)

    def style(self, emoji_heavy: bool = False) -> _Style:
        d = self.dice
        return _Style(
            emoji=d.uniform(0.4, 0.9) if emoji_heavy else d.uniform(0.0, 0.45),
            hashtags=d.pick([0.0, 0.1, 0.3, 0.5, 0.8]),
            link=d.pick([0.0, 0.0, 0.02, 0.06]),
            lowercase=d.chance(0.08),
            exclaim=d.chance(0.12),
            max_tags=d.integer(1, 4),
        )

    def post(self, pool: dict, style: _Style, lang: str = "en") -> str:
        """One post: sentence parts in a random shape, then emoji, link and hashtags."""
        d = self.dice
        parts = SHAPES[d.weighted(_SHAPE_WEIGHTS)][1]
        fills = pool.get("fills", {})
        used: set[str] = set()
        sentences = []
        for part in parts:
            options = pool.get(part) or pool["bodies"]
            for _ in range(4):
                sentence = d.pick(options)
                if sentence not in used:
                    break
            used.add(sentence)
            sentences.append(self.fill(sentence, fills))
        if style.exclaim and lang in ("en", "de") and sentences[-1].endswith("."):
            sentences[-1] = sentences[-1][:-1] + "!"
        text = ("" if lang == "ja" else " ").join(sentences)
        return self.decorate(text, pool, style)

    def decorate(self, text: str, pool: dict, style: _Style) -> str:
        d = self.dice
        if style.lowercase:
            text = text.lower()
        if pool.get("emoji") and d.chance(style.emoji):
            emoji = "".join(d.sample(pool["emoji"], d.integer(1, 2)))
            text = f"{text} {emoji}"
        if pool.get("links") and d.chance(style.link):
            lead = d.pick(["", "", "More here: ", "Details: ", "👉 "])
            text = f"{text} {lead}{d.pick(pool['links'])}"
        if pool.get("hashtags") and style.max_tags and d.chance(style.hashtags):
            tags = d.sample(pool["hashtags"], d.integer(1, style.max_tags))
            text = text + d.pick([" ", "\n\n"]) + " ".join(tags)
        return text

    def reply(self, pool: dict, style: _Style, mention: str, lang: str = "en") -> str:
        d = self.dice
        options = pool.get("replies") or pool.get("closers") or pool["bodies"]
        text = self.fill(d.pick(options), pool.get("fills", {}))
        if d.chance(0.35):
            extra = pool.get("questions") or pool["bodies"]
            text = f"{text} {self.fill(d.pick(extra), pool.get('fills', {}))}"
        if style.lowercase:
            text = text.lower()
        if pool.get("emoji") and d.chance(style.emoji * 0.6):
            text = f"{text} {d.pick(pool['emoji'])}"
        return f"@{mention} {text}"


def _topic_pool(topic: str, lang: str) -> dict:
    """The pool of a main or other topic in English or German (falls back to English)."""
    if topic in TOPIC_POOLS:
        module = TOPIC_POOLS[topic]
        return module.DE if lang == "de" else module.EN
    if lang == "de" and topic in other_topics.DE:
        return other_topics.DE[topic]
    return other_topics.EN[topic]


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ı", "i").replace("'", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]", "", text.lower())


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


class _World:
    """Builds the whole dataset in memory; :meth:`frames` and :meth:`truth` read it out."""

    def __init__(self, seed: int, cfg: Config) -> None:
        self.seed = seed
        self.demo = cfg.demo
        self.persona = cfg.user.handle
        self.languages = [lang.lower() for lang in cfg.user.languages]
        streams = np.random.SeedSequence(seed).spawn(6)
        self.rng_time = np.random.default_rng(streams[0])
        self.dice_people = _Dice(np.random.default_rng(streams[1]))
        self.dice_text = _Dice(np.random.default_rng(streams[2]))
        self.dice_decide = _Dice(np.random.default_rng(streams[3]))
        self.dice_churn = _Dice(np.random.default_rng(streams[4]))
        self.dice_ids = _Dice(np.random.default_rng(streams[5]))
        self.writer = _Writer(self.dice_text)
        months = self.demo.months
        self.snapshots = [_add_months(FIRST_SNAPSHOT, k) for k in range(months + 1)]
        self.t = [int(s.timestamp()) for s in self.snapshots]
        self.end = self.t[-1]
        self.accounts: list[_Account] = []
        self.own_posts: list[tuple[int, str, str, str]] = []  # (time, topic, lang, text)
        self.month_mix: list[dict[str, int]] = []
        self.planted_gains: list[int] = [0] * (months + 1)
        self.planted_losses: list[int] = [0] * (months + 1)
        self._ids: set[int] = set()
        self._handles: set[str] = set()
        self._texts: set[str] = set()

    # ---- the persona's own posts -------------------------------------------------------------

    def build_own_posts(self) -> None:
        """Each month a different volume and a different dominant topic."""
        rng, months, n = self.rng_time, self.demo.months, self.demo.n_own_posts
        floor = min(5, n // months)
        volume = rng.gamma(1.2, size=months) + 0.05
        counts = rng.multinomial(n - floor * months, volume / volume.sum()) + floor
        style = _Style(emoji=0.3, hashtags=0.5, link=0.04, max_tags=3)
        for m in range(1, months + 1):
            mix = rng.dirichlet([0.6, 0.6, 0.6])
            per_topic = rng.multinomial(int(counts[m - 1]), mix)
            self.month_mix.append(dict(zip(MAIN_TOPICS, map(int, per_topic), strict=True)))
            for topic, k in zip(MAIN_TOPICS, per_topic, strict=True):
                for _ in range(int(k)):
                    lang = "de" if self.dice_text.chance(0.2) else "en"
                    when = self._human_time(self.dice_text.uniform(self.t[m - 1], self.t[m]),
                                            within=(self.t[m - 1], self.t[m]))
                    text = self._unique(lambda t=topic, lg=lang: self.writer.post(
                        _topic_pool(t, lg), style, lg))
                    self.own_posts.append((when, topic, lang, text))
        self.own_posts.sort()

    def share(self, m: int, topic: str) -> float:
        """The share of ``topic`` among the persona's posts in month ``m`` (1-based)."""
        mix = self.month_mix[m - 1]
        total = sum(mix.values())
        return mix[topic] / total if total else 1 / len(MAIN_TOPICS)

    # ---- followers ---------------------------------------------------------------------------

    def build_followers(self) -> None:
        counts = _largest_remainder(ARCHETYPES, self.demo.n_followers)
        for archetype, k in counts.items():
            for _ in range(k):
                self.accounts.append(_Account(archetype=archetype))
        self._schedule_joins()
        for acc in self.accounts:
            getattr(self, f"_profile_{acc.archetype}")(acc)
        # Accounts she follows that never followed her: fewer for a small demo.
        n_followees = max(3, round(len(people.FOLLOWEES) * min(1.0, self.demo.n_followers / 1000)))
        for row in people.FOLLOWEES[:n_followees]:
            self.accounts.append(self._followee(*row))
        self._plant_groups()
        for acc in self.accounts:
            self._finish_profile(acc)

    def _schedule_joins(self) -> None:
        """When each follower first followed: some before the first snapshot, the rest over the
        year; genuine people arrive more in months where the persona posted about cycling."""
        rng, months, t = self.rng_time, self.demo.months, self.t
        month_ids = np.arange(1, months + 1)
        if self.demo.topic_effect:
            gain_weight = np.array([GAIN_BASE + GAIN_SLOPE * self.share(m, "cycling")
                                    for m in month_ids])
        else:
            gain_weight = np.ones(months)
        flat = np.ones(months)
        burst = np.full(months, 0.2)
        burst[rng.choice(months, size=min(3, months), replace=False)] = 3.0
        for archetype in ARCHETYPES:
            group = [a for a in self.accounts if a.archetype == archetype]
            if not group:
                continue
            initial = rng.random(len(group)) < INITIAL_SHARE
            weights = gain_weight if archetype in GENUINE else (
                burst if archetype == "fake_follower" else flat)
            joining = int((~initial).sum())
            per_month = rng.multinomial(joining, weights / weights.sum())
            join_months = np.repeat(month_ids, per_month)
            rng.shuffle(join_months)
            it = iter(join_months)
            for acc, was_there in zip(group, initial, strict=True):
                if was_there:
                    start = t[0] - int(rng.uniform(2, 365) * DAY)
                else:
                    m = int(next(it))
                    start = int(rng.uniform(t[m - 1] + 600, t[m] - 600))
                    if archetype in GENUINE:
                        self.planted_gains[m] += 1
                acc.follows = [[start, None]]

    # One ``_profile_<archetype>`` per archetype: language, topics, bio, counts, flags.

    def _person(self, acc: _Account, lang: str, topic: str | None = None) -> None:
        """Name, handle, display name and home server of a genuine person."""
        d = self.dice_people
        acc.lang = lang
        first = d.pick(people.FIRST_NAMES[lang])
        last = d.pick(people.LAST_NAMES[lang])
        if lang in people.ROMAN_NAMES:
            roman_first = people.ROMAN_NAMES[lang][people.FIRST_NAMES[lang].index(first)]
            roman_last = ""
        else:
            roman_first, roman_last = _ascii(first), _ascii(last)
        word = d.pick(people.HANDLE_WORDS[topic]) if topic in people.HANDLE_WORDS else ""
        candidates = [
            f"{roman_first}_{roman_last}", f"{roman_first}{roman_last}",
            f"{roman_first[:1]}{roman_last}", f"{roman_first}{d.integer(1970, 2004)}",
            f"{roman_last}{roman_first[:1]}", f"{roman_first}_{d.integer(1, 99)}",
        ]
        if word:
            candidates += [f"{roman_first}_{word}", f"{roman_first}{word}", f"{word}_{roman_first}"]
        base = d.pick([c for c in candidates if len(c) > 2 and not c.endswith("_")] or
                      [roman_first or "user"])
        instance = _instance(d, lang, topic)
        acc.handle = self._unique_handle(base, instance)
        pattern = d.random()
        if lang in ("ja",):
            acc.display_name = d.pick([f"{last}{first}", first, f"{first} ☕"])
        elif pattern < 0.35:
            acc.display_name = f"{first} {last}"
        elif pattern < 0.55:
            acc.display_name = first
        elif pattern < 0.65 and topic in TOPIC_POOLS:
            acc.display_name = f"{first} {d.pick(_topic_pool(topic, 'en')['emoji'])}"
        elif pattern < 0.72:
            acc.display_name = f"{first} {last[:1]}."
        elif pattern < 0.78:
            acc.display_name = f"{first.lower()} {last.lower()}"
        elif pattern < 0.88:
            acc.display_name = None  # Mastodon shows the username instead
        else:
            acc.display_name = f"{first} {last}"
        acc.has_default_avatar = d.chance(0.05)
        if d.chance(0.45):
            acc.location = d.pick(people.LOCATIONS[lang])
        if d.chance(0.2):
            acc.url = d.pick(people.URLS).format(handle=_bare(acc.handle))
            acc.is_verified = d.chance(0.12)
        acc.style = self.writer.style(emoji_heavy=d.chance(0.15))
        self._genuine_counts(acc)

    def _genuine_counts(self, acc: _Account, scale: float = 1.0) -> None:
        d = self.dice_people
        acc.followers_count = int(d.lognormal(110 * scale, 1.1))
        ratio = d.lognormal(1.3, 0.55)
        acc.following_count = int(max(3, acc.followers_count * ratio + d.integer(0, 40)))
        acc.posts_count = int(d.lognormal(450, 1.2))
        years = min(d.lognormal(2.5, 0.6), 7.5)
        acc.created_at = _midnight(min(acc.first_follow - 20 * DAY,
                                       self.end - int(years * 365 * DAY)))

    def _bio(self, acc: _Account, topic: str, lang: str) -> None:
        d = self.dice_people
        pool = _topic_pool(topic, lang) if lang in ("en", "de") else None
        if pool is None:
            on = foreign.ON_TOPIC[lang].get(topic)
            acc.bio = d.pick((on or foreign.OFF_TOPIC[lang])["bio"])
        else:
            parts = [d.pick(pool["bio"])]
            life = people.LIFE["de" if lang == "de" else "en"]
            if d.chance(0.6):
                parts.append(d.pick(life))
            if acc.location and d.chance(0.3):
                lead = ["Aus ", "Lebt in ", ""] if lang == "de" else ["Based in ", "📍", ""]
                parts.append(d.pick(lead) + acc.location)
            secondary = [t for t in acc.topics if t != topic and t in TOPIC_POOLS]
            if secondary and d.chance(0.5):
                parts.append(d.pick(_topic_pool(secondary[0], lang)["bio"]))
            sep = d.pick([". ", " | ", " · ", ", ", ". "])
            bio = sep.join(parts)
            if d.chance(0.4):
                bio += " " + d.pick(pool.get("emoji") or ["✨"])
            elif sep == ". " and d.chance(0.6):
                bio += "."
            acc.bio = bio
        acc.bio_kind = "meaningful"
        acc.bio_on_topic = topic in TOPIC_POOLS

    def _blank(self, acc: _Account) -> None:
        d = self.dice_people
        kind = d.pick(["empty", "empty", "emoji", "emoji", "hashtag", "link"])
        acc.bio_kind = kind
        acc.bio_on_topic = False
        if kind == "empty":
            acc.bio = d.pick(people.EMPTY_BIOS) or None
        elif kind == "emoji":
            acc.bio = d.pick(people.EMOJI_BIOS)
        elif kind == "hashtag":
            acc.bio = d.pick(people.HASHTAG_BIOS)
        else:
            acc.bio = d.pick(people.LINK_BIOS).format(handle=_bare(acc.handle))

    def _main_topics(self, acc: _Account) -> str:
        """A related person's topics: one main topic, sometimes a second one."""
        d = self.dice_people
        primary = MAIN_TOPICS[d.weighted([0.4, 0.35, 0.25])]
        acc.topics, acc.topic_weights = [primary], [1.0]
        roll = d.random()
        if roll < 0.3:
            acc.topics.append(d.pick([t for t in MAIN_TOPICS if t != primary]))
            acc.topic_weights = [0.7, 0.3]
        elif roll < 0.42:
            acc.topics.append(d.pick(list(other_topics.EN)))
            acc.topic_weights = [0.75, 0.25]
        return primary

    def _profile_related(self, acc: _Account) -> None:
        d = self.dice_people
        primary = self._main_topics(acc)
        if d.chance(0.1):
            self._club(acc, primary)
            return
        lang = "de" if d.chance(0.25) else "en"
        self._person(acc, lang, primary)
        if d.chance(0.06):
            self._blank(acc)  # a few related people say nothing in their bio either
        else:
            self._bio(acc, primary, lang)

    def _club(self, acc: _Account, topic: str) -> None:
        d = self.dice_people
        name, lang = d.pick(people.CLUBS[topic])
        acc.club, acc.lang = topic, lang
        acc.topics, acc.topic_weights = [topic], [1.0]
        acc.display_name = name
        acc.handle = self._unique_handle(_ascii(name.replace(" ", "_"))[:24].strip("_"),
                                         _instance(d, lang, topic))
        acc.bio = people.CLUB_BIOS[topic][lang]
        acc.bio_on_topic = True
        acc.followers_count = int(d.lognormal(2500, 0.7))
        acc.following_count = int(d.lognormal(120, 0.6))
        acc.posts_count = int(d.lognormal(1500, 0.7))
        acc.created_at = _midnight(min(acc.first_follow - 60 * DAY,
                                       self.end - int(d.uniform(2, 7) * 365 * DAY)))
        domain = "de" if lang == "de" else "org"
        acc.url = f"https://www.{_bare(acc.handle).replace('_', '-')}.{domain}"
        acc.is_verified = d.chance(0.3)
        acc.location = d.pick(people.LOCATIONS[lang])
        acc.style = _Style(emoji=0.3, hashtags=0.6, link=0.1, max_tags=3)

    def _profile_unrelated(self, acc: _Account) -> None:
        d = self.dice_people
        lang = "de" if d.chance(0.25) else "en"
        options = list(other_topics.DE if lang == "de" else other_topics.EN)
        primary = d.pick(options)
        acc.topics, acc.topic_weights = [primary], [1.0]
        if d.chance(0.2):
            acc.topics.append(d.pick(MAIN_TOPICS))  # a football fan who also bakes
            acc.topic_weights = [0.8, 0.2]
        elif d.chance(0.25):
            acc.topics.append(d.pick([t for t in other_topics.EN if t != primary]))
            acc.topic_weights = [0.7, 0.3]
        self._person(acc, lang, primary)
        self._bio(acc, primary, lang)

    def _profile_foreign(self, acc: _Account) -> None:
        d = self.dice_people
        lang = d.pick(FOREIGN_LANGUAGES)
        acc.topics, acc.topic_weights = ["foreign"], [1.0]
        bio_topic = "foreign"
        if d.chance(0.15):
            # Bilingual: a few posts in English on a main topic.
            acc.topics.append(d.pick(MAIN_TOPICS))
            acc.topic_weights = [0.8, 0.2]
        elif d.chance(0.3):
            # A baker, cyclist or gardener who writes about it in their own language: relevant,
            # but she cannot read it (relevance across languages and readability part ways).
            acc.own_language_topic = d.pick(MAIN_TOPICS)
            acc.topics = ["foreign", acc.own_language_topic]
            acc.topic_weights = [0.35, 0.65]
            bio_topic = acc.own_language_topic if d.chance(0.5) else "foreign"
        self._person(acc, lang)
        self._bio(acc, bio_topic, lang)

    def _profile_private(self, acc: _Account) -> None:
        d = self.dice_people
        lang = d.pick(["en", "en", "en", "de", "de", *FOREIGN_LANGUAGES[:2]])
        on_topic = lang in ("en", "de") and d.chance(0.4)
        topic = d.pick(MAIN_TOPICS) if on_topic else d.pick(list(other_topics.EN))
        acc.topics, acc.topic_weights = [topic], [1.0]
        self._person(acc, lang, topic if lang in ("en", "de") else None)
        acc.is_private = True
        acc.has_default_avatar = d.chance(0.15)
        if d.chance(0.35):
            self._blank(acc)
        elif lang in ("en", "de"):
            self._bio(acc, topic, lang)
        else:
            self._bio(acc, "foreign", lang)
        acc.followers_count = int(d.lognormal(40, 1.0))
        acc.following_count = int(acc.followers_count * d.lognormal(1.5, 0.5)) + 2

    def _profile_blank_bio(self, acc: _Account) -> None:
        d = self.dice_people
        lang = "de" if d.chance(0.25) else "en"
        if d.chance(0.5):
            primary = self._main_topics(acc)
        else:
            primary = d.pick(list(other_topics.DE if lang == "de" else other_topics.EN))
            acc.topics, acc.topic_weights = [primary], [1.0]
        self._person(acc, lang, primary)
        acc.has_default_avatar = d.chance(0.35)
        self._blank(acc)

    def _profile_toxic(self, acc: _Account) -> None:
        d = self.dice_people
        lang = "de" if d.chance(0.2) else "en"
        if d.chance(0.7):
            primary = self._main_topics(acc)
        else:
            primary = d.pick(["football", "politics"])
            acc.topics, acc.topic_weights = [primary], [1.0]
        self._person(acc, lang, primary)
        self._bio(acc, primary, lang)

    def _profile_follow4follow(self, acc: _Account) -> None:
        d = self.dice_people
        acc.lang = "en"
        if d.chance(0.45):
            acc.f4f_topic = d.pick(MAIN_TOPICS)
            acc.topics = [acc.f4f_topic]
        first = d.pick(people.FIRST_NAMES["en"])
        word = d.pick(["official", "vibes", "daily", "world", "life", "hub", "growth", "xo"])
        base = d.pick([f"{_ascii(first)}_{word}", f"{word}{_ascii(first)}",
                       f"the{_ascii(first)}{word}", f"{_ascii(first)}.{word}".replace(".", "")])
        if acc.f4f_topic:
            base = f"{d.pick(people.HANDLE_WORDS[acc.f4f_topic])}_{word}"
        acc.handle = self._unique_handle(base, _instance(d, "bot"))
        emoji = "" if not acc.f4f_topic else " " + TOPIC_POOLS[acc.f4f_topic].EN["emoji"][0]
        acc.display_name = d.pick([f"{first} ✨", f"{first}{emoji} | Follow back",
                                   f"{first.upper()} 💯", f"{first}{emoji}"])
        k = d.integer(5, 80)
        acc.bio = d.pick(spam.FOLLOW4FOLLOW["bio"]).format(k=k)
        acc.bio_kind = "meaningful" if "|" in acc.bio else "hashtag"
        acc.followers_count = int(d.lognormal(12000, 0.8))
        acc.following_count = int(d.lognormal(250, 0.6))
        acc.posts_count = int(d.lognormal(3000, 0.8))
        acc.created_at = _midnight(acc.first_follow - int(d.uniform(60, 900) * DAY))
        acc.has_default_avatar = d.chance(0.05)
        acc.url = f"https://linktr.ee/{_bare(acc.handle)}" if d.chance(0.6) else None
        acc.style = _Style(emoji=0.7, hashtags=0.7, link=0.0, max_tags=3)

    def _profile_spam_bot(self, acc: _Account) -> None:
        d = self.dice_people
        acc.lang = "en"
        letters = "abcdefghijklmnopqrstuvwxyz"
        pattern = d.random()
        if pattern < 0.4:
            base = "".join(d.pick(letters) for _ in range(d.integer(5, 9)))
            base += str(d.integer(10, 99999))
            acc.display_name = d.pick([None, base, "Crypto Signals 🚀", "💰 Money Maker 💰"])
        elif pattern < 0.7:
            first = d.pick(people.FIRST_NAMES["en"])
            base = f"{_ascii(first)}_{d.pick(letters)}{d.integer(1000, 99999)}"
            acc.display_name = d.pick([f"{first} 💋", f"{first} ❤️", first])
        else:
            base = f"{d.pick(['crypto', 'btc', 'nft', 'promo', 'deals'])}_" \
                   f"{d.pick(['king', 'queen', 'master', 'guru', 'signals'])}{d.integer(10, 9999)}"
            acc.display_name = d.pick(["Crypto Signals 🚀", "NFT Drops", "Deals Daily 🔥",
                                       "Promo Bot", base])
        acc.handle = self._unique_handle(base, _instance(d, "bot"))
        acc.bio = d.pick(spam.SPAM_BOT["bio"]) if d.chance(0.7) else None
        acc.bio_kind = "meaningful" if acc.bio else "empty"
        acc.followers_count = d.integer(0, 80)
        acc.following_count = d.integer(1500, 7500)
        acc.posts_count = int(d.lognormal(1500, 1.0))
        acc.created_at = _midnight(acc.first_follow - int(d.uniform(2, 120) * DAY))
        acc.has_default_avatar = d.chance(0.7)
        acc.url = _short_link(d) if d.chance(0.6) else None
        acc.location = d.pick(people.LOCATIONS["bot"]) if d.chance(0.15) else None

    def _profile_fake_follower(self, acc: _Account) -> None:
        d = self.dice_people
        acc.lang = "en"
        first = d.pick(people.FIRST_NAMES["en"])
        last = d.pick(people.LAST_NAMES["en"])
        acc.handle = self._unique_handle(
            d.pick([f"{_ascii(first)}{_ascii(last)}{d.integer(100, 99999)}",
                    f"{_ascii(first)}{d.integer(10000, 9999999)}",
                    f"{_ascii(first[:1])}{_ascii(last)}_{d.integer(10, 999)}"]),
            _instance(d, "bot"))
        acc.display_name = d.pick([f"{first} {last}", first, None])
        bio = d.pick(spam.FAKE_FOLLOWER["bio"])
        acc.bio = bio or None
        acc.bio_kind = "empty" if not bio else ("emoji" if len(bio) <= 2 else "meaningful")
        acc.followers_count = d.integer(0, 25)
        acc.following_count = d.integer(300, 5000)
        acc.posts_count = d.integer(0, 12)
        acc.created_at = _midnight(acc.first_follow - int(d.uniform(1, 90) * DAY))
        acc.has_default_avatar = d.chance(0.85)

    def _profile_honest_bot(self, acc: _Account) -> None:
        d = self.dice_people
        acc.lang = "en"
        kind = d.pick(list(spam.HONEST_BOT["kinds"]))
        acc.bot_kind = kind
        city = d.pick(spam.HONEST_BOT["fills"]["city"])
        name, bio, _ = spam.HONEST_BOT["kinds"][kind]
        acc.display_name = name.format(city=city)
        acc.bio = bio.format(city=city)
        acc.bio_on_topic = kind in ("bread_tips", "frost", "bike_news", "garden_rss")
        acc.topics = {"bread_tips": ["baking"], "frost": ["gardening"], "bike_news": ["cycling"],
                      "garden_rss": ["gardening"]}.get(kind, [])
        acc.handle = self._unique_handle(f"{kind}_{_ascii(city)}" if kind == "weather" else
                                         f"{kind}bot", _instance(d, "en"))
        acc.is_bot_flagged = True
        acc.followers_count = int(d.lognormal(600, 0.9))
        acc.following_count = d.integer(0, 8)
        acc.posts_count = int(d.lognormal(8000, 0.8))
        acc.created_at = _midnight(acc.first_follow - int(d.uniform(200, 2000) * DAY))
        acc.has_default_avatar = d.chance(0.2)
        acc.url = d.pick([None, "https://github.com/" + _bare(acc.handle)])

    def _followee(self, name: str, handle: str, lang: str, topic: str) -> _Account:
        d = self.dice_people
        acc = _Account(archetype="followee", lang=lang, topics=[topic], topic_weights=[1.0],
                       follower=False)
        acc.handle = self._unique_handle(handle, d.pick(people.INSTANCES[lang]))
        acc.display_name = name
        pool = _topic_pool(topic, lang)
        acc.bio = f"{d.pick(pool['bio'])}. {name}."
        acc.bio_on_topic = True
        acc.followers_count = int(d.lognormal(15000, 1.0))
        acc.following_count = int(d.lognormal(300, 0.8))
        acc.posts_count = int(d.lognormal(4000, 0.8))
        acc.created_at = _midnight(self.t[0] - int(d.uniform(300, 2500) * DAY))
        acc.is_verified = d.chance(0.4)
        acc.url = f"https://www.{handle.replace('_', '')}.{'de' if lang == 'de' else 'org'}"
        acc.style = _Style(emoji=0.2, hashtags=0.5, link=0.3, max_tags=2)
        start = (self.t[0] - int(d.uniform(10, 900) * DAY) if d.chance(0.75)
                 else int(d.uniform(self.t[0], self.end - 5 * DAY)))
        acc.followed = [[start, None]]
        return acc

    def _finish_profile(self, acc: _Account) -> None:
        created = max(acc.created_at, int(MASTODON_LAUNCH.timestamp()))
        if acc.follower:
            created = min(created, _midnight(acc.first_follow - DAY))
        acc.created_at = created
        ms = (created + self.dice_ids.integer(0, DAY - 1)) * 1000
        acc.account_id = str(self._snowflake(ms))

    # ---- posts -------------------------------------------------------------------------------

    def build_posts(self) -> None:
        for acc in self.accounts:
            writer = getattr(self, f"_posts_{acc.archetype}", self._posts_genuine)
            writer(acc)
            acc.posts.sort(key=lambda p: p.when, reverse=True)
            own = sum(1 for p in acc.posts if p.kind in ("post", "reply"))
            acc.posts_count = max(acc.posts_count, own)
            if acc.posts:
                acc.last_post_at = acc.posts[0].when
            elif acc.archetype != "fake_follower" and acc.posts_count:
                # Locked or quiet accounts: the profile still shows when they last posted.
                last = self._human_time(self.end - self.dice_text.uniform(1, 400) * DAY)
                acc.last_post_at = max(last, acc.created_at + DAY)

    def _n_items(self, low: int = 0, median: float = 11, high: int = 30) -> int:
        d = self.dice_text
        if d.chance(0.04):
            return 0
        return int(min(high, max(low, round(d.lognormal(median, 0.6)))))

    def _times(self, acc: _Account, k: int, mean_gap: float | None = None) -> list[int]:
        """``k`` human posting times, newest first, ending near the crawl (or long ago)."""
        d = self.dice_text
        inactive = d.chance(0.1)
        last = self.end - (d.uniform(60, 500) if inactive else d.exponential(6)) * DAY
        gap = mean_gap or d.lognormal(3, 0.9)
        out, when = [], last
        floor = acc.created_at + DAY
        for _ in range(k):
            out.append(min(self._human_time(max(when, floor)), self.end - 60))
            when -= d.exponential(gap) * DAY
        return out

    def _topic_of(self, acc: _Account) -> str:
        return acc.topics[self.dice_text.weighted(acc.topic_weights or [1.0] * len(acc.topics))]

    def _pool_of(self, acc: _Account, topic: str) -> tuple[dict, str]:
        if topic == "foreign":
            return foreign.OFF_TOPIC[acc.lang], acc.lang
        if topic == acc.own_language_topic:
            return foreign.ON_TOPIC[acc.lang][topic], acc.lang
        lang = acc.lang if acc.lang in ("en", "de") else "en"
        return _topic_pool(topic, lang), lang

    def _posts_genuine(self, acc: _Account, k: int | None = None) -> None:
        """Own posts, replies, reposts and likes on the account's topics."""
        d, w = self.dice_text, self.writer
        if acc.is_private:
            return
        k = self._n_items() if k is None else k
        kinds = ["post", "reply", "repost", "like"]
        kind_weights = [d.uniform(0.4, 0.8), d.uniform(0.05, 0.25), d.uniform(0.05, 0.2),
                        d.uniform(0.05, 0.25)]
        for when in self._times(acc, k):
            kind = kinds[d.weighted(kind_weights)]
            topic = self._topic_of(acc)
            pool, lang = self._pool_of(acc, topic)
            if kind == "post":
                text = self._unique(lambda p=pool, lg=lang: w.post(p, acc.style, lg))
            elif kind == "reply":
                mention = (self.persona if topic in MAIN_TOPICS and d.chance(0.4)
                           else self._someone())
                text = w.reply(pool, acc.style, mention, lang)
            elif kind == "like" and topic in MAIN_TOPICS and self.own_posts and d.chance(0.15):
                _, topic, lang, text = d.pick(self.own_posts)  # they liked one of hers
            else:
                text = w.post(pool, w.style(), lang)  # someone else's post
            acc.posts.append(_Item(when, kind, text, lang, topic))

    def _posts_toxic(self, acc: _Account) -> None:
        """A relevant person's timeline in which a good share of what they write is abusive."""
        self._posts_genuine(acc, k=max(6, self._n_items()))
        d = self.dice_text
        lines = toxic.DE if acc.lang == "de" else toxic.EN
        share = d.uniform(0.25, 0.6)
        for i, item in enumerate(acc.posts):
            if item.kind in ("post", "reply") and d.chance(share):
                text = d.pick(lines)
                if d.chance(0.3):
                    text = f"{text} {d.pick(lines)}"
                if item.kind == "reply":
                    text = f"@{self._someone()} {text}"
                acc.posts[i] = item._replace(text=text, toxic=True)
        if acc.posts and not any(p.toxic for p in acc.posts):
            acc.posts[0] = acc.posts[0]._replace(kind="post", text=d.pick(lines), toxic=True)

    def _posts_follow4follow(self, acc: _Account) -> None:
        d, f4f = self.dice_text, spam.FOLLOW4FOLLOW
        for when in self._times(acc, d.integer(5, 25), mean_gap=1.5):
            topic = None
            if acc.f4f_topic and d.chance(0.5):
                if d.chance(0.4):
                    label, emoji = f4f["topics"][acc.f4f_topic]
                    text = d.pick(f4f["topical"]).format(topic=label, emoji=emoji)
                else:
                    text = self.writer.post(_topic_pool(acc.f4f_topic, "en"), acc.style)
                    topic = acc.f4f_topic
            else:
                text = d.pick(f4f["posts"]).format(k=d.integer(5, 80))
            kind = "post" if d.chance(0.85) else "repost"
            acc.posts.append(_Item(when, kind, text, "en", topic))

    def _posts_spam_bot(self, acc: _Account) -> None:
        """Near-duplicate posts in bursts at the same minutes of the same hours."""
        d, pool = self.dice_text, spam.SPAM_BOT
        k = d.integer(10, 30)
        templates = d.sample(pool["posts"], d.integer(1, 3))
        link_only = d.chance(0.3)
        hours = sorted(d.sample(range(24), d.integer(1, 4)))
        minute = d.integer(0, 59)
        day = _midnight(self.end - int(d.exponential(4) * DAY) - DAY)
        times: list[int] = []
        while len(times) < k:
            for hour in reversed(hours):
                for j in range(d.integer(1, 4)):
                    times.append(day + hour * 3600 + minute * 60 + j * d.integer(5, 40))
            day -= DAY * d.integer(1, 2)
        for when in times[:k]:
            kind = "reply" if d.chance(0.15) else "post"
            if kind == "reply":
                text = f"@{self._someone()} " + self.writer.fill(
                    d.pick(pool["replies"]), {"link": [_short_link(d)]})
            elif link_only and d.chance(0.8):
                text = _short_link(d)
            else:
                text = self.writer.fill(d.pick(templates),
                                        {**pool["fills"], "link": [_short_link(d)]})
                if d.chance(0.4):
                    text += " " + " ".join(d.sample(pool["hashtags"], d.integer(1, 4)))
            acc.posts.append(_Item(max(when, acc.created_at + 3600), kind, text, "en", None))

    def _posts_fake_follower(self, acc: _Account) -> None:
        d = self.dice_text
        k = d.pick([0, 0, 0, 1, 1, 2, 3, 4, 5])
        for when in self._times(acc, k, mean_gap=2):
            text = d.pick(spam.FAKE_FOLLOWER["posts"]) if d.chance(0.75) else _short_link(d)
            acc.posts.append(_Item(when, "post", text, "en", None))

    def _posts_honest_bot(self, acc: _Account) -> None:
        """Scheduled posts: every morning at seven, or every hour on the hour."""
        d, bots = self.dice_text, spam.HONEST_BOT
        _, _, templates = bots["kinds"][acc.bot_kind]
        hourly = acc.bot_kind == "weather"
        start = _midnight(self.end - DAY) + (0 if hourly else 7 * 3600)
        topic = acc.topics[0] if acc.topics else None
        for i in range(d.integer(10, 30)):
            when = start - (i * 3600 if hourly else i * DAY)
            fills = {**bots["fills"], "n": [str(900 - i)], "hour": [f"{when // 3600 % 24:02d}"],
                     "temp": [str(d.integer(-3, 29))], "wind": [str(d.integer(0, 45))],
                     "hum": [str(d.integer(35, 98))], "neg": [str(-d.integer(1, 6))],
                     "pos": [str(d.integer(1, 9))], "city": [acc.display_name.split()[-1]],
                     "link": [f"https://news.example.org/{d.integer(10000, 99999)}"]}
            text = self.writer.fill(d.pick(templates), fills)
            acc.posts.append(_Item(when + d.integer(0, 20), "post", text, "en", topic))

    def _posts_followee(self, acc: _Account) -> None:
        pool, lang = self._pool_of(acc, acc.topics[0])
        for when in self._times(acc, self.dice_text.integer(5, 20), mean_gap=1.0):
            text = self._unique(lambda: self.writer.post(pool, acc.style, lang))
            acc.posts.append(_Item(when, "post", text, lang, acc.topics[0]))

    def _someone(self) -> str:
        """A handle to mention: a follower, or someone outside this dataset."""
        d = self.dice_text
        if self.accounts and d.chance(0.6):
            other = d.pick(self.accounts)
            if other.handle:
                return other.handle
        name = _ascii(d.pick(people.FIRST_NAMES["en"]))
        return name + d.pick(["", "_"]) + d.pick(people.HANDLE_WORDS["baking"] + ["x", "jones"])

    # ---- decisions ---------------------------------------------------------------------------

    def score_utility(self) -> None:
        """Latent criteria of each follower, and the persona's utility of following back."""
        d = self.dice_decide
        langs = set(self.languages)
        bot_level = {"spam_bot": 1.0, "fake_follower": 0.85, "honest_bot": 0.45,
                     "follow4follow": 0.3}
        for acc in self.accounts:
            if not acc.follower:
                continue
            if acc.posts:
                readable = sum(p.lang in langs for p in acc.posts) / len(acc.posts)
                tox = sum(p.toxic for p in acc.posts) / len(acc.posts)
            else:
                readable, tox = float(acc.lang in langs), 0.0
            acc.latent = {
                "relevance": round(self._relevance(acc), 3),
                "readable": round(readable, 3),
                "bio_ok": 1.0 if acc.bio_kind == "meaningful" else 0.0,
                "bot": round(min(1.0, bot_level.get(acc.archetype, 0.03) + d.uniform(0, 0.1)), 3),
                "log_ratio": round(math.log10((acc.following_count + 1)
                                              / (acc.followers_count + 1)), 3),
                "toxicity": round(tox, 3),
                "private": 1.0 if acc.is_private else 0.0,
            }
            acc.utility = self._utility(acc)

    def _relevance(self, acc: _Account) -> float:
        """Share of the timeline on her topics; from the bio alone when nothing is visible."""
        if not acc.posts:
            return 0.6 if acc.bio_on_topic else 0.05
        return sum(p.topic in MAIN_TOPICS for p in acc.posts) / len(acc.posts)

    def _utility(self, acc: _Account) -> float:
        u, lat = UTILITY, acc.latent
        rel, read, bio = lat["relevance"], lat["readable"], lat["bio_ok"]
        value = u["relevance"] * rel
        # Unreadable posts matter less when they are about bread (she looks at the photos).
        value += u["readable"] * read - u["unreadable"] * (1 - read) * (1 - 0.6 * rel)
        # An empty bio is forgiven when the posts are on her topics.
        value += u["bio"] * bio - u["no_bio"] * (1 - bio) * (1 - rel)
        value -= u["bot"] * lat["bot"]
        if acc.club != "cycling":  # she tolerates a low ratio from cycling clubs
            value -= u["ratio"] * min(1.5, max(0.0, -lat["log_ratio"] - 0.5))
        if lat["toxicity"] > 0:
            value -= u["toxic_any"] + u["toxic_share"] * lat["toxicity"]
        if lat["private"]:
            value -= 0.4 if acc.bio_on_topic else u["private"]
        p = min(max(self.dice_decide.random(), 1e-9), 1 - 1e-9)
        return value + u["noise_scale"] * math.log(p / (1 - p))  # logistic noise

    def decide(self) -> None:
        """Pick the ~60% decided followers, then decide each from the utility (and exceptions)."""
        d = self.dice_decide
        followers = [a for a in self.accounts if a.follower]
        n_target = round(self.demo.decided_share * len(followers))
        self._plant_tricksters(followers)
        self._plant_exceptions(followers)
        forced = [a for a in followers if a.trickster_cycles or a.exception]
        candidates = []
        for acc in followers:
            if acc in forced:
                continue
            delay = int((0.3 + d.exponential(12)) * DAY)
            decided_at = acc.first_follow + delay
            if decided_at < self.end - 3600:
                # The newest followers are less likely to have been looked at yet.
                weight = 1.0 if self.end - acc.first_follow > 30 * DAY else 0.35
                candidates.append((d.random() ** (1.0 / weight), decided_at, acc))
        candidates.sort(key=lambda c: c[0], reverse=True)
        chosen = candidates[: max(0, n_target - len(forced))]
        pickier = UTILITY["pickier_per_year"]
        for _, decided_at, acc in chosen:
            year_frac = max(0.0, (decided_at - self.t[0]) / (365 * DAY))
            yes = acc.utility - pickier * year_frac > UTILITY["threshold"]
            acc.decision = (bool(yes), decided_at, self._note(acc, bool(yes)))
        for acc in forced:
            if acc.trickster_cycles:
                acc.decision = (True, int(acc.trickster_cycles[-1]["followed_back_at"]), None)
        # Following: from the moment she decided to follow back.
        for acc in followers:
            if acc.decision and acc.decision[0] and not acc.trickster_cycles:
                acc.followed = [[acc.decision[1], None]]

    def _note(self, acc: _Account, yes: bool) -> str | None:
        d = self.dice_decide
        if not d.chance(0.05):
            return None
        lat = acc.latent
        if yes:
            return d.pick(people.NOTES["yes_topic"]) if lat["relevance"] > 0.5 else None
        if lat["bot"] > 0.5:
            return d.pick(people.NOTES["no_bot"])
        if lat["toxicity"] > 0:
            return d.pick(people.NOTES["no_toxic"])
        if lat["readable"] < 0.5:
            return d.pick(people.NOTES["no_language"])
        if acc.archetype == "follow4follow":
            return d.pick(people.NOTES["no_ratio"])
        if lat["private"]:
            return d.pick(people.NOTES["no_private"])
        return d.pick(people.NOTES["no_topic"])

    def _plant_exceptions(self, followers: list[_Account]) -> None:
        """A handful of friends followed back whatever, and a few good accounts she refused."""
        d, n = self.dice_decide, len(followers)
        friends_pool = [a for a in followers if a.archetype in
                        ("unrelated", "foreign", "private", "blank_bio") and not a.trickster_cycles]
        n_friends = max(2, round(6 * n / 2000))
        notes = d.sample(people.NOTES["yes_friend"], n_friends)
        for acc, note in zip(d.sample(friends_pool, n_friends), notes, strict=False):
            acc.exception = "friend"
            acc.decision = (True, acc.first_follow + int(d.uniform(0.1, 3) * DAY), note)
        refuse_pool = [a for a in followers if a.archetype == "related" and not a.exception
                       and a.utility > UTILITY["threshold"] + 0.5]
        n_refuse = max(1, round(3 * n / 2000))
        notes = d.sample(people.NOTES["no_exception"], n_refuse)
        for acc, note in zip(d.sample(refuse_pool, n_refuse), notes, strict=False):
            acc.exception = "refused"
            acc.decision = (False, acc.first_follow + int(d.uniform(0.5, 10) * DAY), note)
        for acc in followers:
            if acc.decision:
                acc.decision = (acc.decision[0], min(acc.decision[1], self.end - 3600),
                                acc.decision[2])

    # ---- follow / unfollow dynamics ----------------------------------------------------------

    def _cycle(self, k: int) -> dict[str, int] | None:
        """One follow -> followed back -> unfollow cycle whose steps show in the snapshots.

        The account follows between snapshots k-1 and k, is followed back a few days later and
        leaves two to seven weeks after that, before a later snapshot.
        """
        d, t, months = self.dice_churn, self.t, self.demo.months
        if k < 1 or k > months - 2:
            return None
        followed_at = int(d.uniform(t[k - 1] + DAY, t[k] - DAY))
        followed_back_at = followed_at + int(d.uniform(1, 6) * DAY)
        fb_snap = next(s for s in range(months + 1) if t[s] >= followed_back_at)
        gap = 2 if (d.chance(0.4) and fb_snap + 2 <= months) else 1
        if fb_snap + gap > months:
            return None
        low = max(t[fb_snap + gap - 1] + 3600, followed_back_at + 14 * DAY)
        high = t[fb_snap + gap] - 3600
        if low >= high:
            return None
        unfollowed_at = int(d.uniform(low, high))
        return {"followed_at": followed_at, "followed_back_at": followed_back_at,
                "unfollowed_at": unfollowed_at, "persona_unfollowed_at": None,
                "gone_snapshot": fb_snap + gap}

    # ---- follower groups (issue 14): bots that arrive together ---------------------------

    def _plant_groups(self) -> None:
        """A follow-farm of 30 fake followers (created the same week, following within the
        same 36 hours, one bio) and a bio-template network of 20 spam bots (created the same
        week, one bio template with other numbers), among the existing bots. Their own dice,
        so that every other account of the demo stays as it was."""
        d = _Dice(np.random.default_rng([self.seed, 14]))
        self.planted_groups: list[tuple[str, list[_Account], dict]] = []
        joined = [a for a in self.accounts if a.archetype == "fake_follower"
                  and a.follows and a.first_follow > self.t[0]]
        # A small demo keeps most of its bots out of groups (tests look at their medians).
        farm = d.sample(joined, min(30, len(joined) // 2)) if len(joined) >= 10 else []
        if farm:
            m = d.integer(1, self.demo.months)
            window = int(d.uniform(self.t[m - 1] + DAY, self.t[m] - 3 * DAY))
            week = _monday(window - 17 * DAY)
            bio = d.pick([b for b in spam.FAKE_FOLLOWER["bio"] if b])
            for acc in farm:
                acc.follows[0][0] = window + d.integer(0, 36 * 3600)
                acc.created_at = week + d.integer(0, 6) * DAY
                acc.bio, acc.bio_kind = bio, "meaningful"
            self.planted_groups.append(("follow_farm", farm, {
                "created_week_of": _iso(week), "followed_between": [
                    _iso(window), _iso(window + 36 * 3600)], "bio": bio}))
        bots = [a for a in self.accounts if a.archetype == "spam_bot"
                and a.follows and a.first_follow > self.t[0]]
        network = d.sample(bots, min(20, len(bots) // 2)) if len(bots) >= 10 else []
        if network:
            # Created together, then following over two months (a campaign).
            m = d.integer(1, max(self.demo.months - 1, 1))
            week = _monday(self.t[m - 1] - 20 * DAY)
            template = "{coin} signals 🚀 {pct}% this month | DM for the VIP group"
            for acc in network:
                acc.follows[0][0] = int(d.uniform(self.t[m - 1] + 600, self.t[m + 1] - 600))
                acc.bio = template.format(coin=d.pick(["BTC", "ETH", "SOL", "Crypto"]),
                                          pct=d.integer(20, 400))
                acc.bio_kind = "meaningful"
                acc.created_at = week + d.integer(0, 6) * DAY
            self.planted_groups.append(("bio_template", network, {
                "created_week_of": _iso(week), "bio_template": template,
                "followed_between": [_iso(self.t[m - 1]), _iso(self.t[m + 1])]}))

    def groups_truth(self) -> list[dict[str, Any]]:
        """The planted groups for demo_truth.json (account ids exist after _finish_profile)."""
        return [{"kind": kind, "size": len(members),
                 "account_ids": sorted(a.account_id for a in members), **info}
                for kind, members, info in getattr(self, "planted_groups", [])]

    def _plant_tricksters(self, followers: list[_Account]) -> None:
        d, months, n = self.dice_churn, self.demo.months, len(followers)
        f4f = [a for a in followers if a.archetype == "follow4follow"]
        # Tricksters pose as hobby accounts: that is how they get followed back.
        f4f.sort(key=lambda a: (a.f4f_topic is None, -a.utility))
        n_tricksters = min(len(f4f), max(3, round(30 * n / 2000)))
        tricksters = f4f[:n_tricksters]
        n_repeat = d.integer(3, 5) if n >= 1000 else max(1, round(4 * n / 2000))
        n_repeat = min(len(tricksters), n_repeat)
        for i, acc in enumerate(tricksters):
            repeat = i < n_repeat and months >= 10
            first = self._cycle(d.integer(1, months - (8 if repeat else 2)))
            if first is None:
                continue
            cycles = [first]
            if repeat:
                gone = first["gone_snapshot"]
                # She noticed and unfollowed before the next snapshot; they came back later.
                first["persona_unfollowed_at"] = int(d.uniform(self.t[gone] + 3600,
                                                               self.t[gone + 1] - 3600))
                second = self._cycle(gone + 2)
                if second:
                    cycles.append(second)
            acc.trickster_cycles = cycles
            acc.follows = [[c["followed_at"], c["unfollowed_at"]] for c in cycles]
            acc.followed = [[c["followed_back_at"], c["persona_unfollowed_at"]] for c in cycles]
            acc.created_at = min(acc.created_at, _midnight(cycles[0]["followed_at"] - 60 * DAY))

    def churn(self) -> None:
        """Re-followers, follow-for-follow accounts that leave unrequited, and monthly losses
        of genuine followers that respond to the persona's gardening posts."""
        d, t, months = self.dice_churn, self.t, self.demo.months
        followers = [a for a in self.accounts if a.follower]

        def unrequited(a: _Account) -> bool:
            return not a.followed and not a.trickster_cycles and not a.exception

        # Re-followers: leave and come back, never followed back.
        pool = [a for a in followers if a.archetype in GENUINE and unrequited(a)
                and a.first_follow < t[max(0, months - 4)]]
        for acc in d.sample(pool, max(2, round(10 * len(followers) / 2000))):
            first_seen = next(s for s in range(months + 1) if t[s] >= acc.first_follow)
            leave_snap = d.integer(first_seen + 1, months - 2)
            left = int(d.uniform(t[leave_snap - 1] + DAY, t[leave_snap] - DAY))
            if acc.decision and acc.decision[1] >= left:
                continue
            back_snap = d.integer(leave_snap + 1, months)
            back = int(d.uniform(t[back_snap - 1] + DAY, t[back_snap] - DAY))
            acc.follows = [[acc.first_follow, left], [back, None]]
            acc.churn_role = "refollower"

        # Follow-for-follow accounts that were not followed back move on.
        for acc in followers:
            if acc.archetype == "follow4follow" and unrequited(acc) and d.chance(0.5):
                left = acc.first_follow + int(d.uniform(20, 70) * DAY)
                if left < self.end - DAY and (not acc.decision or acc.decision[1] < left):
                    acc.follows[0][1] = left
                    acc.churn_role = "unfollower"

        # Monthly losses among genuine followers who were never followed back.
        for m in range(1, months + 1):
            start, stop = t[m - 1], t[m]
            current = [a for a in followers if a.archetype in GENUINE and a.churn_role is None
                       and unrequited(a) and a.first_follow < start]
            if self.demo.topic_effect:
                factor = LOSS_BASE + LOSS_SLOPE * self.share(m, "gardening")
            else:
                factor = LOSS_BASE + LOSS_SLOPE / len(MAIN_TOPICS)
            expected = LOSS_RATE * factor * len(current)
            n_leave = min(len(current), int(self.rng_time.poisson(expected)))
            for acc in d.sample(current, n_leave):
                left = int(d.uniform(start + 3600, stop - 3600))
                if acc.decision and acc.decision[1] >= left:
                    left = max(left, acc.decision[1] + DAY)
                    if left >= stop:
                        continue
                acc.follows[0][1] = left
                acc.churn_role = "unfollower"
                self.planted_losses[m] += 1

    # ---- what the following list shows beyond her decisions ----------------------------------

    def would_follow_back(self, acc: _Account) -> bool:
        """Her decision on a follower: the recorded one, else what her rule would say had she
        looked at it a week after it followed."""
        if acc.decision:
            return bool(acc.decision[0])
        year_frac = max(0.0, (acc.first_follow + 7 * DAY - self.t[0]) / (365 * DAY))
        return acc.utility - UTILITY["pickier_per_year"] * year_frac > UTILITY["threshold"]

    def plant_implicit_noise(self) -> None:
        """Make the following snapshots say more than her decisions, as a real account's do.

        - *followed first*: followers she had followed before they followed her (people she
          found herself, whatever the follow-back criteria say); no decision recorded;
        - *undone*: follow-backs she unfollowed later while they still follow her: some she had
          decided on (she changed her mind), some courtesy follow-backs she never recorded, of
          followers her criteria would skip;
        - followers she never looked at are simply not followed (that is already so: the
          undecided followers, whatever her criteria would say).

        Draws from a stream of its own, so the rest of the demo is the same with or without it.
        """
        d = _Dice(np.random.default_rng(np.random.SeedSequence(self.seed).spawn(7)[6]))
        t, end, n = self.t, self.end, sum(a.follower for a in self.accounts)
        self.implicit_noise: dict[str, dict] = {}

        def free(a: _Account) -> bool:
            return (a.follower and not a.trickster_cycles and not a.exception
                    and a.churn_role is None and len(a.follows) == 1 and a.follows[0][1] is None)

        first_pool = [a for a in self.accounts if free(a) and not a.decision and not a.followed
                      and a.archetype in GENUINE and a.first_follow > t[1]]
        for acc in d.sample(first_pool, max(2, round(40 * n / 2000))):
            start = acc.first_follow - int(d.uniform(3, 90) * DAY)
            acc.followed = [[start, None]]
            self.implicit_noise[acc.account_id] = {"kind": "followed_first",
                                                   "followed_at": start}
        def undo(pool: list[_Account], k: int, recorded: bool) -> None:
            """Unfollow ``k`` of ``pool`` a month or more after the follow-back, so that a
            snapshot shows the follow-back and a later one the undo."""
            done = 0
            for acc in d.sample(pool, len(pool)):
                if done == k:
                    break
                back = (acc.followed[0][0] if recorded
                        else acc.first_follow + int(d.uniform(0.5, 5) * DAY))
                seen = next((x for x in t if x > back), None)
                if seen is None:
                    continue
                low = max(back + 30 * DAY, seen + 3600)
                high = end - 40 * DAY if recorded else min(low + 90 * DAY, end - 40 * DAY)
                if low >= high:
                    continue
                undone = int(d.uniform(low, high))
                acc.followed = [[back, undone]]
                self.implicit_noise[acc.account_id] = {"kind": "undone", "followed_at": back,
                                                       "undone_at": undone, "recorded": recorded}
                done += 1

        # She changed her mind on some follow-backs she had decided on ...
        undo([a for a in self.accounts if free(a) and a.decision and a.decision[0]
              and a.followed and len(a.followed) == 1],
             max(1, round(15 * n / 2000)), recorded=True)
        # ... and undid courtesy follow-backs she never recorded, of followers her rule skips.
        undo([a for a in self.accounts if free(a) and not a.decision and not a.followed
              and a.archetype in GENUINE and not self.would_follow_back(a)],
             max(1, round(15 * n / 2000)), recorded=False)

    def implicit_truth(self) -> dict[str, Any]:
        """What the implicit decisions of the snapshots cannot know, for ``demo_truth.json``."""
        noise = getattr(self, "implicit_noise", {})
        followers = [a for a in self.accounts if a.follower]
        never = [a.account_id for a in followers if not a.decision and not a.followed
                 and self.would_follow_back(a)]
        return {
            "would_follow_back": {a.account_id: self.would_follow_back(a) for a in followers},
            "looked_at": [a.account_id for a in followers if a.decision],
            "followed_first": [{"account_id": k, "followed_at": _iso(v["followed_at"])}
                               for k, v in noise.items() if v["kind"] == "followed_first"],
            "undone": [{"account_id": k, "followed_at": _iso(v["followed_at"]),
                        "undone_at": _iso(v["undone_at"]), "recorded": v["recorded"]}
                       for k, v in noise.items() if v["kind"] == "undone"],
            "never_looked_at_would_follow_back": never,
            "note": ("would_follow_back: her recorded decision, else what her rule says a week "
                     "after the follow. followed_first: she followed them before they followed "
                     "her (no decision). undone: follow-backs she unfollowed later while they "
                     "still follow her (recorded: she had decided 'follow back' first). "
                     "never_looked_at_would_follow_back: not followed though her rule would "
                     "follow back."),
        }

    # ---- helpers -----------------------------------------------------------------------------

    def _human_time(self, when: float, within: tuple[int, int] | None = None) -> int:
        """The same day at an hour people post (mornings and evenings, rarely at night)."""
        d = self.dice_text
        day = _midnight(int(when))
        out = day + d.weighted(_HOUR_WEIGHTS) * 3600 + d.integer(0, 3599)
        if within:
            out = min(max(out, within[0] + 60), within[1] - 60)
        return out

    def _unique(self, make) -> str:
        """A text nobody in the dataset has posted yet (a few tries, then accept a repeat)."""
        text = make()
        for _ in range(8):
            if text not in self._texts:
                break
            text = make()
        self._texts.add(text)
        return text

    def _unique_handle(self, base: str, instance: str) -> str:
        base = re.sub(r"[^a-z0-9_]", "", base.lower())[:28] or "user"
        name = base
        while name in self._handles:
            name = f"{base}{self.dice_people.integer(2, 999)}"
        self._handles.add(name)
        return name if instance == people.HOME_INSTANCE else f"{name}@{instance}"

    def _snowflake(self, ms: int) -> int:
        """A Mastodon-style id: milliseconds since the epoch in the high bits, random low bits."""
        while True:
            value = (int(ms) << 16) | self.dice_ids.integer(0, 65535)
            if value not in self._ids:
                self._ids.add(value)
                return value

    # ---- output ------------------------------------------------------------------------------

    def frames(self) -> dict[str, pd.DataFrame]:
        accounts, posts, decisions, snaps = [], [], [], []
        for acc in self.accounts:
            accounts.append({
                "platform": PLATFORM, "account_id": acc.account_id, "handle": acc.handle,
                "display_name": acc.display_name, "bio": acc.bio,
                "followers_count": acc.followers_count, "following_count": acc.following_count,
                "posts_count": acc.posts_count,
                # Mastodon's account entity has no favourites or lists count.
                "likes_count": None, "listed_count": None,
                "created_at": _iso(acc.created_at), "last_post_at": _iso(acc.last_post_at),
                "is_private": acc.is_private, "is_verified": acc.is_verified,
                "is_bot_flagged": acc.is_bot_flagged,
                "has_default_avatar": acc.has_default_avatar,
                "url": acc.url, "location": acc.location,
            })
            for item in sorted(acc.posts, key=lambda p: p.when):
                ms = item.when * 1000 + self.dice_ids.integer(0, 999)
                posts.append({"account_id": acc.account_id, "post_id": str(self._snowflake(ms)),
                              "created_at": _iso(item.when), "text": item.text,
                              "kind": item.kind,
                              "language": demo_language_tag(acc.account_id, item.kind,
                                                            item.lang)})
            if acc.decision:
                yes, when, note = acc.decision
                decisions.append({"account_id": acc.account_id, "follow_back": yes,
                                  "decided_at": _iso(when), "note": note})
        for taken in self.t:
            for direction, attr in (("followers", "follows"), ("following", "followed")):
                ids = sorted(a.account_id for a in self.accounts
                             if _inside(getattr(a, attr), taken))
                snaps += [{"taken_at": _iso(taken), "direction": direction, "account_id": i}
                          for i in ids]
        own = [{"post_id": str(self._snowflake(when * 1000 + self.dice_ids.integer(0, 999))),
                "created_at": _iso(when), "text": text}
               for when, _, _, text in self.own_posts]
        decisions.sort(key=lambda r: (r["decided_at"], r["account_id"]))
        return {
            "accounts": schema.to_frame("accounts", accounts),
            "posts": schema.to_frame("posts", posts),
            "own_posts": schema.to_frame("own_posts", own),
            "decisions": schema.to_frame("decisions", decisions),
            "snapshots": schema.to_frame("snapshots", snaps),
        }

    def observed_changes(self) -> list[dict[str, int]]:
        """New and lost followers between consecutive snapshots, as a reader of them sees it."""
        out = []
        previous = {a.account_id for a in self.accounts if _inside(a.follows, self.t[0])}
        for m in range(1, self.demo.months + 1):
            now = {a.account_id for a in self.accounts if _inside(a.follows, self.t[m])}
            out.append({"new": len(now - previous), "lost": len(previous - now)})
            previous = now
        return out

    def truth(self) -> dict[str, Any]:
        followers = [a for a in self.accounts if a.follower]
        observed = self.observed_changes()
        months = []
        for m in range(1, self.demo.months + 1):
            months.append({
                "month": m, "start": _iso(self.t[m - 1]), "end": _iso(self.t[m]),
                "own_posts": sum(self.month_mix[m - 1].values()),
                "own_posts_by_topic": self.month_mix[m - 1],
                "share": {tp: round(self.share(m, tp), 4) for tp in MAIN_TOPICS},
                "planted_genuine_gains": self.planted_gains[m],
                "planted_genuine_losses": self.planted_losses[m],
                "observed_new_followers": observed[m - 1]["new"],
                "observed_lost_followers": observed[m - 1]["lost"],
            })
        cyc = [mo["share"]["cycling"] for mo in months]
        gar = [mo["share"]["gardening"] for mo in months]
        effect = {
            "enabled": self.demo.topic_effect,
            "gains_respond_to": "cycling" if self.demo.topic_effect else None,
            "losses_respond_to": "gardening" if self.demo.topic_effect else None,
            "gain_weight": (f"{GAIN_BASE} + {GAIN_SLOPE} * share_cycling"
                            if self.demo.topic_effect else "constant"),
            "loss_rate": (f"{LOSS_RATE} * ({LOSS_BASE} + {LOSS_SLOPE} * share_gardening) "
                          "per genuine follower and month" if self.demo.topic_effect else
                          f"{LOSS_RATE} * {LOSS_BASE + LOSS_SLOPE / 3:.3f} per genuine follower "
                          "and month"),
            "applies_to": list(GENUINE),
            "correlation": {
                "observed_new_vs_cycling": _corr(
                    [mo["observed_new_followers"] for mo in months], cyc),
                "observed_lost_vs_gardening": _corr(
                    [mo["observed_lost_followers"] for mo in months], gar),
            },
            "months": months,
        }
        tricksters = [a for a in followers if a.trickster_cycles]
        return {
            "seed": self.seed,
            "platform": PLATFORM,
            "persona": self.persona,
            "languages": self.languages,
            "topics": list(MAIN_TOPICS),
            "n_followers": len(followers),
            "snapshots": [_iso(x) for x in self.t],
            "archetype_shares": ARCHETYPES,
            "decision_rule": UTILITY,
            "accounts": {
                a.account_id: {
                    "handle": a.handle, "archetype": a.archetype, "language": a.lang,
                    "topics": [t for t in a.topics if t != "foreign"],
                    "club": a.club, "follower": a.follower,
                    "first_followed_at": _iso(a.first_follow) if a.follows else None,
                    "latent": a.latent, "utility": round(a.utility, 3) if a.follower else None,
                    "exception": a.exception, "trickster": bool(a.trickster_cycles),
                    "churn_role": a.churn_role,
                }
                for a in self.accounts
            },
            "tricksters": [
                {"account_id": a.account_id, "handle": a.handle,
                 "cycles": [{k: _iso(v) for k, v in c.items() if k != "gone_snapshot"}
                            for c in a.trickster_cycles]}
                for a in tricksters
            ],
            "repeat_offenders": [a.account_id for a in tricksters if len(a.trickster_cycles) > 1],
            "refollowers": [
                {"account_id": a.account_id, "handle": a.handle,
                 "follows": [[_iso(s), _iso(e)] for s, e in a.follows]}
                for a in followers if a.churn_role == "refollower"
            ],
            "never_followed_back_unfollowers": [
                a.account_id for a in followers if a.churn_role == "unfollower"
            ],
            "exceptions": [
                {"account_id": a.account_id, "handle": a.handle, "kind": a.exception,
                 "follow_back": a.decision[0], "note": a.decision[2]}
                for a in followers if a.exception
            ],
            "following_never_followed": [a.account_id for a in self.accounts if not a.follower],
            "implicit": self.implicit_truth(),
            "topic_effect": effect,
        }


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


# --------------------------------------------------------------------------------------------
# Public API


def demo_config(
    cfg: Config | None = None,
    *,
    out_dir: str | Path,
    n_followers: int = 200,
    n_own_posts: int | None = None,
    seed: int | None = None,
    topic_effect: bool | None = None,
) -> Config:
    """A copy of ``cfg`` (default settings when None) that writes a small demo into ``out_dir``.

    Handy in tests: ``generate(demo_config(out_dir=tmp_path / "raw", n_followers=200))`` takes
    about a second; the truth file goes to ``<out_dir>_truth.json`` beside the folder.
    """
    cfg = cfg or Config()
    out_dir = Path(out_dir)
    update: dict[str, Any] = {"out_dir": out_dir, "n_followers": n_followers,
                              "truth_out": out_dir.parent / f"{out_dir.name}_truth.json"}
    if n_own_posts is not None:
        update["n_own_posts"] = n_own_posts
    if seed is not None:
        update["seed"] = seed
    if topic_effect is not None:
        update["topic_effect"] = topic_effect
    user = cfg.user if cfg.user.handle != "me" else cfg.user.model_copy(
        update={"handle": "maya.bakes", "languages": ["en", "de"]})
    return cfg.model_copy(update={"demo": cfg.demo.model_copy(update=update), "user": user})


TABLE_FILES = {
    "accounts": "accounts.csv",
    "posts": "posts.jsonl",
    "own_posts": "own_posts.csv",
    "decisions": "decisions.csv",
    "snapshots": "snapshots.csv",
}


def generate(cfg: Config) -> DemoSummary:
    """Build the demo dataset from ``cfg.demo`` and write it (atomically) with its truth file."""
    started = perf_counter()
    demo = cfg.demo
    if demo.n_followers < 20:
        raise FollowbackError(f"demo.n_followers must be at least 20, got {demo.n_followers}")
    if demo.months < 4:
        raise FollowbackError(f"demo.months must be at least 4, got {demo.months}")
    if not 0 < demo.decided_share < 1:
        raise FollowbackError(
            f"demo.decided_share must be between 0 and 1, got {demo.decided_share}")
    if demo.n_own_posts < demo.months:
        raise FollowbackError(f"demo.n_own_posts must be at least demo.months ({demo.months})")
    seed = demo.seed if demo.seed is not None else cfg.base.seed
    world = _World(seed, cfg)
    world.build_own_posts()
    world.build_followers()
    world.build_posts()
    world.score_utility()
    world.decide()
    world.churn()
    world.plant_implicit_noise()
    frames = world.frames()
    truth = world.truth()
    truth["groups"] = world.groups_truth()
    text = json.dumps(truth, indent=1, ensure_ascii=False, sort_keys=True)
    # The export folder and its truth file go in together (pipeline.io.OutputSet).
    with OutputSet() as out:
        folder = out.dir(demo.out_dir)
        for table, name in TABLE_FILES.items():
            write_table(frames[table], folder / name)
        write_text(out.file(demo.truth_out), text + "\n")
    followers = [a for a in world.accounts if a.follower]
    decided = [a for a in followers if a.decision]
    return DemoSummary(
        out_dir=Path(demo.out_dir),
        truth_path=Path(demo.truth_out),
        seed=seed,
        tables={t: len(f) for t, f in frames.items()},
        archetypes=dict(Counter(a.archetype for a in world.accounts)),
        decided=len(decided),
        followed_back=sum(1 for a in decided if a.decision[0]),
        tricksters=len(truth["tricksters"]),
        repeat_offenders=len(truth["repeat_offenders"]),
        seconds=round(perf_counter() - started, 2),
    )


def demo_in_sources(cfg: Config) -> bool:
    """Whether ``ingest.sources`` reads the demo (a fresh clone; not after `followback init`)."""
    target = Path(cfg.demo.out_dir).resolve()
    return any(Path(src.path).resolve() == target for src in cfg.ingest.sources)


def skip(cfg: Config) -> None:
    """The project is on your own account: the demo stage writes only a note where the demo
    would go (DVC wants its outputs), and nothing reads it."""
    note = ("The project is on your own account (ingest.sources does not read this folder), "
            "so `followback demo` did not build the demo. `followback init demo` brings it "
            "back.\n")
    with OutputSet() as out:
        folder = out.dir(cfg.demo.out_dir)
        write_text(folder / "README.txt", note)
        write_text(out.file(cfg.demo.truth_out), "{}\n")
    console.print(f"the project is on your account ({cfg.user.handle}): the demo is not built "
                  f"(`followback init demo` brings it back)", highlight=False)


def cli(
    params: ParamsOption = Path("params.yaml"),
    n_followers: Annotated[
        int | None,
        typer.Option("--n-followers", "-n", min=20,
                     help="Number of followers to generate (default: demo.n_followers)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", file_okay=False,
                     help="Folder for the five tables (default: demo.out_dir). The truth file "
                          "then goes beside it as `<out>_truth.json`."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Random seed (default: demo.seed, else base.seed)."),
    ] = None,
) -> None:
    """Write the demo dataset: a persona's followers, posts, decisions and follower snapshots.

    Also writes a truth file of what was planted (bots, tricksters, topic effects), so tests and
    the README can check what the pipeline finds against what is really there."""
    from rich.table import Table

    cfg = load_config(params)
    if out is None and not demo_in_sources(cfg):
        skip(cfg)
        return
    update: dict[str, Any] = {}
    if n_followers is not None:
        update["n_followers"] = n_followers
    if out is not None:
        update["out_dir"] = out
        update["truth_out"] = out.parent / f"{out.name}_truth.json"
    if seed is not None:
        update["seed"] = seed
    if update:
        cfg = cfg.model_copy(update={"demo": cfg.demo.model_copy(update=update)})
    summary = generate(cfg)

    table = Table(title=f"demo data (seed {summary.seed}) in {summary.out_dir}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in summary.tables.items():
        table.add_row(f"{TABLE_FILES[name]} rows", f"{count:,}")
    for archetype, count in sorted(summary.archetypes.items(), key=lambda kv: -kv[1]):
        table.add_row(f"  {archetype}", f"{count:,}")
    share = summary.decided / max(1, sum(c for a, c in summary.archetypes.items()
                                         if a != "followee"))
    table.add_row("decided", f"{summary.decided:,} ({share:.0%})")
    table.add_row("followed back", f"{summary.followed_back:,}")
    table.add_row("tricksters (repeat)", f"{summary.tricksters} ({summary.repeat_offenders})")
    console.print(table)
    console.print(f"truth: {summary.truth_path}   took {summary.seconds:.1f} s")
