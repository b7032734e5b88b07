"""What the demo plants and records in its truth file: the persona's decisions (latent utility,
noise, personal exceptions), the follow/unfollow dynamics and tricksters, bot groups that
arrive together, and what her following list shows beyond her decisions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pipeline.demo.accounts import _Account, _iso, _midnight, _monday
from pipeline.demo.dice import _Dice
from pipeline.demo.persona import (
    DAY,
    GENUINE,
    LOSS_BASE,
    LOSS_RATE,
    LOSS_SLOPE,
    MAIN_TOPICS,
    UTILITY,
)
from pipeline.demo.text import (
    people,
    spam,
)


class Decisions:
    """The persona's follow-back decisions.

    A mixin of :class:`pipeline.demo.world.World`, whose state it reads and writes.
    """

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


class Dynamics:
    """Who follows and unfollows when: tricksters, groups, implicit noise.

    A mixin of :class:`pipeline.demo.world.World`, whose state it reads and writes.
    """

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
