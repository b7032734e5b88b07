"""The whole demo world, built in memory: the persona, her followers, their timelines, her
decisions and the dynamics; :meth:`World.frames` and :meth:`World.truth` read it out."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.config import Config
from pipeline.data import schema
from pipeline.demo.accounts import (
    _HOUR_WEIGHTS,
    _Account,
    _add_months,
    _corr,
    _inside,
    _iso,
    _midnight,
    demo_language_tag,
)
from pipeline.demo.dice import _Dice
from pipeline.demo.followers import Profiles, Timelines
from pipeline.demo.persona import (
    ARCHETYPES,
    FIRST_SNAPSHOT,
    GAIN_BASE,
    GAIN_SLOPE,
    GENUINE,
    LOSS_BASE,
    LOSS_RATE,
    LOSS_SLOPE,
    MAIN_TOPICS,
    PLATFORM,
    UTILITY,
    OwnPosts,
)
from pipeline.demo.text import (
    people,
)
from pipeline.demo.truths import Decisions, Dynamics
from pipeline.demo.writing import _Writer


class World(OwnPosts, Profiles, Timelines, Decisions, Dynamics):
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
                # As Mastodon's acct says it: no @domain on the person's own server.
                "is_local": "@" not in acc.handle,
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
