"""The followers: archetype profiles (people, growth hackers, bots, bought followers) and
their timelines."""

from __future__ import annotations

import numpy as np

from pipeline.demo.accounts import (
    _Account,
    _bare,
    _instance,
    _Item,
    _largest_remainder,
    _midnight,
    _short_link,
)
from pipeline.demo.persona import (
    ARCHETYPES,
    DAY,
    FOREIGN_LANGUAGES,
    GAIN_BASE,
    GAIN_SLOPE,
    GENUINE,
    INITIAL_SHARE,
    MAIN_TOPICS,
    MASTODON_LAUNCH,
)
from pipeline.demo.text import (
    foreign,
    other_topics,
    people,
    spam,
    toxic,
)
from pipeline.demo.writing import TOPIC_POOLS, _ascii, _Style, _topic_pool


class Profiles:
    """Each follower's profile, by archetype.

    A mixin of :class:`pipeline.demo.world.World`, whose state it reads and writes.
    """

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


class Timelines:
    """Each account's posts, replies, reposts and likes.

    A mixin of :class:`pipeline.demo.world.World`, whose state it reads and writes.
    """

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
