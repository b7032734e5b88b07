"""The demo persona: who she is, what she posts, and the rule behind her decisions.

maya.bakes reads English and German and posts about sourdough baking, cycling and urban
vegetable gardening, each month with a different mix (:class:`OwnPosts`). Her followers are a
mix of archetypes (:data:`ARCHETYPES`); her decisions come from the latent utility
:data:`UTILITY`; her follower gains and losses respond to her posting mix.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.demo.text import (
    foreign,
)
from pipeline.demo.writing import _Style, _topic_pool

PLATFORM = "mastodon"
MAIN_TOPICS = ("baking", "cycling", "gardening")
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


class OwnPosts:
    """The persona's own posts, month by month.

    A mixin of :class:`pipeline.demo.world.World`, whose state it reads and writes.
    """

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
