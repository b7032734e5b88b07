"""The follow-then-unfollow trick, read from follower and following snapshots.

The trick: an account follows the person, the person follows back, and the account then
unfollows while the person still follows it, which lifts the account's follower-to-following
ratio at the person's expense. Snapshots only say who was in a list at a few moments, so every
step is known as a *bracket*: it happened after the last snapshot that does not show it and by
the first one that does. :func:`detect` turns the ``snapshots`` table of the contract into

- ``events``: one row per follower episode that ended in the trick ("trick") or that the
  snapshots cannot tell from it ("possible", with the reason), with the bracket of each step and
  the days between the steps as a range;
- ``counts``: per account ``times_followed_back`` and ``times_unfollowed_after_followback``,
  which :func:`pipeline.data.frame.account_frame` feeds to the ratio criterion;
- ``unfollow``: accounts the person follows that no longer follow back, minus the allow list;
- ``unknowns``: what the snapshots given cannot tell.

An account that unfollows and follows again has two follower episodes. When it follows again
while the person still follows it, the drop in between was undone ("refollowed") and is not
the trick; the follow-back carries on to the new episode, whose own lasting drop can be. A
second trick needs a second follow-back: the person unfollowed and followed back again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.data import schema

# Distinct ``taken_at`` values closer than this are one snapshot: a list fetched page by page
# through an API carries a slightly different time on every page.
SNAPSHOT_WINDOW = pd.Timedelta(hours=1)
DEFAULT_MAX_GAP_DAYS = 31.0

EVENT_COLUMNS = [
    "account_id", "handle", "episode", "status", "order_seen",
    "followed_after", "followed_by",
    "followed_back_after", "followed_back_by",
    "unfollowed_after", "unfollowed_by",
    "days_to_followback_min", "days_to_followback_max",
    "days_to_unfollow_min", "days_to_unfollow_max",
    "times_unfollowed_after_followback", "repeat_offender", "note",
]
BRACKET_COLUMNS = [c for c in EVENT_COLUMNS if c.endswith(("_after", "_by"))]
DAY_COLUMNS = [c for c in EVENT_COLUMNS if c.startswith("days_")]
COUNT_COLUMNS = [
    "account_id", "times_followed_back", "times_unfollowed_after_followback", "possible_tricks",
]
UNFOLLOW_COLUMNS = [
    "account_id", "handle", "unfollowed_after", "unfollowed_by",
    "times_unfollowed_after_followback", "repeat_offender",
]
UNKNOWN_COLUMNS = ["kind", "detail", "n_accounts", "examples"]


@dataclass(frozen=True)
class Bracket:
    """When a change happened, as the snapshots bracket it.

    ``after`` is the last snapshot without the change (None: it predates the first snapshot),
    ``by`` the first snapshot that shows it (None: not seen by the last snapshot).
    """

    after: pd.Timestamp | None
    by: pd.Timestamp | None


@dataclass(frozen=True)
class Episode:
    """One uninterrupted stay in a list: from ``start`` (appeared) to ``end`` (left)."""

    start: Bracket
    end: Bracket  # end.by is None while the account is still in the list

    @property
    def ongoing(self) -> bool:
        return self.end.by is None


@dataclass(frozen=True)
class Unknown:
    """Something the given snapshots cannot tell, and how many accounts it concerns."""

    kind: str
    detail: str
    n_accounts: int | None = None
    examples: tuple[str, ...] = ()


@dataclass
class ChurnResult:
    """What :func:`detect` found; every table has the columns named in this module."""

    events: pd.DataFrame
    counts: pd.DataFrame
    unfollow: pd.DataFrame
    unknowns: list[Unknown]
    summary: dict = field(default_factory=dict)

    @property
    def tricks(self) -> pd.DataFrame:
        """The events that are certainly the trick."""
        return self.events[self.events["status"] == "trick"]

    def unknowns_frame(self) -> pd.DataFrame:
        rows = [{"kind": u.kind, "detail": u.detail, "n_accounts": u.n_accounts,
                 "examples": " ".join(u.examples)} for u in self.unknowns]
        return pd.DataFrame(rows, columns=UNKNOWN_COLUMNS)


def _order(first: Bracket, then: Bracket) -> int:
    """1 if ``first`` certainly happened before ``then``, -1 if certainly after, 0 if unknown."""
    if first.by is not None and then.after is not None and first.by <= then.after:
        return 1
    if then.by is not None and first.after is not None and then.by <= first.after:
        return -1
    return 0


def _days(first: Bracket, then: Bracket) -> tuple[float | None, float | None]:
    """The range of days from ``first`` to ``then`` (``first`` known to come no later).

    The lower bound is 0 when the two steps share an interval; the upper bound is None when
    ``first`` predates the first snapshot or ``then`` is not bracketed on the right.
    """
    low = 0.0
    if first.by is not None and then.after is not None:
        low = max(0.0, (then.after - first.by) / pd.Timedelta(days=1))
    high = None
    if first.after is not None and then.by is not None:
        high = (then.by - first.after) / pd.Timedelta(days=1)
    return (round(low, 1), None if high is None else round(high, 1))


def _merge_times(times: pd.Series) -> tuple[pd.Series, int]:
    """Map every ``taken_at`` to its snapshot's time (the latest within the window)."""
    distinct = np.sort(times.dropna().unique())
    if len(distinct) == 0:
        return times, 0
    distinct = pd.DatetimeIndex(distinct)
    group = np.concatenate([[0], np.cumsum(np.diff(distinct) > SNAPSHOT_WINDOW)])
    latest = pd.Series(distinct).groupby(group).transform("max")
    mapping = dict(zip(distinct, latest, strict=True))
    return times.map(mapping), len(distinct)


@dataclass
class Timeline:
    """Who was in one list (followers or following) at each of its snapshots."""

    times: pd.DatetimeIndex
    ids: pd.Index  # account ids, one row of ``matrix`` each
    matrix: np.ndarray  # bool, accounts x snapshots

    def __post_init__(self) -> None:
        self._row = {account_id: i for i, account_id in enumerate(self.ids)}
        self._stamps = list(self.times)  # indexing a DatetimeIndex is slow in the inner loop

    @property
    def n(self) -> int:
        return len(self.times)

    def episodes(self, account_id: str) -> list[Episode]:
        row = self._row.get(account_id)
        return [] if row is None else _runs(self.matrix[row], self._stamps)

    def at(self, i: int) -> set[str]:
        """The accounts in the list at snapshot ``i``."""
        return set(self.ids[self.matrix[:, i]])

    def counts(self) -> np.ndarray:
        """How many accounts the list held at each snapshot."""
        return self.matrix.sum(axis=0)


def _runs(row: np.ndarray, times: list[pd.Timestamp]) -> list[Episode]:
    padded = np.concatenate([[False], row, [False]]).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1  # index of the last snapshot present
    n = len(times)
    out = []
    for i, j in zip(starts, ends, strict=True):
        start = Bracket(times[i - 1] if i > 0 else None, times[i])
        end = Bracket(times[j], times[j + 1] if j + 1 < n else None)
        out.append(Episode(start, end))
    return out


def _timeline(snapshots: pd.DataFrame, direction: str) -> Timeline:
    rows = snapshots[snapshots["direction"] == direction]
    times = pd.DatetimeIndex(np.sort(rows["taken_at"].unique()))
    ids = pd.Index(np.sort(rows["account_id"].astype(str).unique()))
    matrix = np.zeros((len(ids), len(times)), dtype=bool)
    matrix[ids.get_indexer(rows["account_id"].astype(str)),
           times.get_indexer(rows["taken_at"])] = True
    return Timeline(times, ids, matrix)


def _prepare(snapshots: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    snapshots = schema.conform("snapshots", snapshots)
    snapshots["taken_at"], n_times = _merge_times(snapshots["taken_at"])
    return snapshots.drop_duplicates(), n_times


def timeline(snapshots: pd.DataFrame, direction: str = "followers") -> Timeline:
    """Who was in the ``direction`` list at each snapshot (API pages of one fetch merged)."""
    return _timeline(_prepare(snapshots)[0], direction)


@dataclass
class _Judgement:
    """What one follower episode was: see ``_RANK`` for the statuses."""

    status: str
    followed_back: Bracket | None = None
    fresh: bool = False  # the person followed back during this episode (not before it)
    order_seen: bool = True  # False: the follow came first by assumption (same interval)
    note: str = ""


# "trick" and "possible" are the events; "refollowed": dropped after the follow-back but
# followed again while still followed back; "followed_back": followed back and not dropped
# (or dropped only after the person unfollowed); "": never followed back by the person.
_RANK = {"": 0, "followed_back": 1, "refollowed": 2, "possible": 3, "trick": 4}
SAME_INTERVAL = ("followed and was followed back in the same interval: that the account "
                 "followed first is assumed, not seen")


def _judge(episodes: list[Episode], following: list[Episode]) -> list[_Judgement]:
    """Judge each follower episode of one account against the person's following episodes.

    An episode is followed back by a following episode that starts after the account's follow
    and before its unfollow. When both start in the same interval between snapshots, the
    account is taken to have followed first (the person's follow answered it): with monthly
    exports and follow-backs within days, that is how nearly every follow-back shows, and the
    events say the order was assumed. Before the first snapshots nothing bounds either start,
    so an account already mutual then stays "possible".

    A re-follow while the person still follows (a later episode starting inside the same
    following episode) carries that follow-back on: the account dropped the person and came
    back, so the drop before it is not the trick, and only a drop that is not undone counts.
    """
    out: list[_Judgement] = []
    # following episode -> how its answer to an earlier follow showed: seen, assumed, unknown
    backed: dict[int, str] = {}
    for i, episode in enumerate(episodes):
        best = _Judgement("")
        following_next = episodes[i + 1] if i + 1 < len(episodes) else None
        for g, back in enumerate(following):
            # Unrelated: the person's follow ended before this follow, or began after the unfollow.
            if _order(back.end, episode.start) == 1:
                continue
            if not episode.ongoing and _order(episode.end, back.start) == 1:
                continue
            who_first = _order(episode.start, back.start)
            notes = []
            if who_first == 1:
                how = "seen"
            elif who_first == 0:
                unbounded = episode.start.after is None or back.start.after is None
                how = "unknown" if unbounded else "assumed"
            elif g in backed:
                how = backed[g]  # a re-follow inside a follow-back given to an earlier follow
            else:
                continue  # the person followed first: the account followed back
            if how == "assumed":
                notes.append(SAME_INTERVAL)
            elif how == "unknown":
                notes.append("already mutual in the first snapshots: who followed first "
                             "cannot be told")
            if who_first >= 0 and backed.get(g) != "seen":
                backed[g] = how if backed.get(g) != "assumed" or how == "seen" else "assumed"
            fresh = who_first >= 0 and how != "unknown"
            order_seen = how == "seen"
            blocking = [n for n in notes if n != SAME_INTERVAL]
            if episode.ongoing:
                judged = _Judgement("followed_back" if who_first != -1 else "", back.start,
                                    fresh, order_seen)
            elif _order(episode.end, back.end) == -1:
                # The person unfollowed first; the account's unfollow answered it.
                judged = _Judgement("followed_back", back.start, fresh, order_seen)
            elif following_next is not None and _order(back.end, following_next.start) != 1:
                judged = _Judgement("refollowed", back.start, fresh, order_seen,
                                    "unfollowed, then followed again while still followed back")
            else:
                if _order(back.start, episode.end) == 0:
                    blocking.append("followed back and unfollowed in the same interval: which "
                                    "came first cannot be told")
                if _order(episode.end, back.end) == 0:
                    blocking.append("the person's unfollow and the account's fall in the same "
                                    "interval: who unfollowed first cannot be told")
                notes = [n for n in notes if n == SAME_INTERVAL] + blocking
                judged = _Judgement("possible" if blocking else "trick", back.start, fresh,
                                    order_seen, "; ".join(notes))
            if _RANK[judged.status] > _RANK[best.status]:
                best = judged
        out.append(best)
    return out


def _norm_handle(value: str) -> str:
    return value.strip().lstrip("@").casefold()


def _gaps(lists: Timeline, max_gap_days: float) -> dict[tuple, float]:
    if lists.n < 2:
        return {}
    days = np.diff(lists.times.asi8) / 86_400e6
    return {(lists.times[k], lists.times[k + 1]): days[k]
            for k in np.flatnonzero(days > max_gap_days)}


def _gap_unknowns(followers: Timeline, following: Timeline, max_gap_days: float) -> list[Unknown]:
    out = []
    gaps_f, gaps_b = _gaps(followers, max_gap_days), _gaps(following, max_gap_days)
    for (a, b), days in sorted({**gaps_b, **gaps_f}.items()):
        which = ("follower and following" if (a, b) in gaps_f and (a, b) in gaps_b
                 else "follower" if (a, b) in gaps_f else "following")
        out.append(Unknown(
            "gap",
            f"{which} snapshots {a:%Y-%m-%d} and {b:%Y-%m-%d} are {days:.0f} days apart "
            f"(more than {max_gap_days:g}): a follow and unfollow both inside the gap are not "
            "seen, and steps in it are dated only to the gap"))
    return out


def accounts_phrase(n: int) -> str:
    return f"{n:,} account" + ("" if n == 1 else "s")


def detect(
    snapshots: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    allow_list: Iterable[str] = (),
    repeat_offender: int = 2,
    max_gap_days: float = DEFAULT_MAX_GAP_DAYS,
) -> ChurnResult:
    """Find the follow-then-unfollow trick in follower and following snapshots.

    Parameters
    ----------
    snapshots : DataFrame
        The contract's ``snapshots`` table (``taken_at``, ``direction``, ``account_id``), any
        number of follower and following snapshots at any times.
    accounts : DataFrame, optional
        The contract's ``accounts`` table, for handles (the allow list matches them too).
    allow_list : iterable of str
        Handles (with or without ``@``, any case) or account ids never put on the unfollow list.
    repeat_offender : int
        An account that played the trick at least this many times is a repeat offender.
    max_gap_days : float
        Intervals between snapshots longer than this are reported as gaps.

    Returns
    -------
    ChurnResult

    Notes
    -----
    A follower episode is a *trick* when the snapshots show, in this order, the account's
    follow, the person's follow-back and the account's unfollow, with the person still
    following at the unfollow. When two of these steps fall in one interval between
    snapshots their order cannot be told and the episode is *possible*, never a trick: it is
    counted in ``possible_tricks``, not in ``times_unfollowed_after_followback``. An unfollow
    that the account undoes by following again while the person still follows it is not a
    trick (a re-follow, or an account missing from one list); the follow-back then carries on
    to the account's next episode.
    """
    snapshots, n_times = _prepare(snapshots)
    followers = _timeline(snapshots, "followers")
    following = _timeline(snapshots, "following")

    handles: dict[str, str] = {}
    if accounts is not None and len(accounts):
        known = accounts.dropna(subset=["account_id", "handle"])
        handles = dict(zip(known["account_id"].astype(str), known["handle"].astype(str),
                           strict=True))

    unknowns: list[Unknown] = []
    summary = {
        "follower_snapshots": followers.n,
        "following_snapshots": following.n,
        "timestamps_merged": max(0, n_times - len(snapshots["taken_at"].unique())),
        "first": None if followers.n == 0 else followers.times[0],
        "last": None if followers.n == 0 else followers.times[-1],
    }

    if followers.n == 0:
        unknowns.append(Unknown("no_follower_snapshots",
                                "no follower snapshots: nobody's follow or unfollow can be seen"))
    elif followers.n == 1:
        unknowns.append(Unknown(
            "single_snapshot",
            f"only one follower snapshot ({followers.times[0]:%Y-%m-%d}): no follow or "
            "unfollow can be seen; add an older or newer export"))
    if following.n == 0:
        unknowns.append(Unknown(
            "no_following_snapshots",
            "no following snapshots: the person's follow-backs cannot be seen, so no trick can "
            "be told and the churn counts stay unknown; add the following list of each export"))
    unknowns += _gap_unknowns(followers, following, max_gap_days)
    if followers.n and following.n:
        if following.times[0] > followers.times[0] + pd.Timedelta(days=max_gap_days):
            unknowns.append(Unknown(
                "following_starts_late",
                f"following snapshots start {following.times[0]:%Y-%m-%d}, follower snapshots "
                f"{followers.times[0]:%Y-%m-%d}: follow-backs before then are dated only to "
                "that first following snapshot"))
        if following.times[-1] < followers.times[-1] - pd.Timedelta(days=max_gap_days):
            unknowns.append(Unknown(
                "following_ends_early",
                f"the last following snapshot ({following.times[-1]:%Y-%m-%d}) is older than "
                f"the last follower snapshot ({followers.times[-1]:%Y-%m-%d}): later unfollows "
                "cannot be told from the person unfollowing first"))

    events: list[dict] = []
    counts: list[dict] = []
    before_first: list[str] = []
    n_refollowed = 0
    for account_id in followers.ids:
        f_episodes = followers.episodes(account_id)
        if f_episodes and f_episodes[0].start.after is None:
            before_first.append(account_id)
        if following.n == 0:
            continue
        g_episodes = following.episodes(account_id)
        n_back = n_trick = n_possible = 0
        judgements = _judge(f_episodes, g_episodes) if g_episodes else \
            [_Judgement("")] * len(f_episodes)
        for number, (episode, judged) in enumerate(zip(f_episodes, judgements, strict=True),
                                                   start=1):
            n_back += judged.fresh
            n_trick += judged.status == "trick"
            n_possible += judged.status == "possible"
            n_refollowed += judged.status == "refollowed"
            if judged.status in ("trick", "possible"):
                back = judged.followed_back
                # A re-follow inherits an earlier follow-back: no days from follow to it.
                to_back = (_days(episode.start, back) if _order(back, episode.start) != 1
                           else (None, None))
                to_drop = _days(back, episode.end)
                events.append({
                    "account_id": account_id,
                    "handle": handles.get(account_id),
                    "episode": number,
                    "status": judged.status,
                    "order_seen": judged.order_seen,
                    "followed_after": episode.start.after,
                    "followed_by": episode.start.by,
                    "followed_back_after": back.after,
                    "followed_back_by": back.by,
                    "unfollowed_after": episode.end.after,
                    "unfollowed_by": episode.end.by,
                    "days_to_followback_min": to_back[0],
                    "days_to_followback_max": to_back[1],
                    "days_to_unfollow_min": to_drop[0],
                    "days_to_unfollow_max": to_drop[1],
                    "note": judged.note or None,
                })
        counts.append({"account_id": account_id, "times_followed_back": n_back,
                       "times_unfollowed_after_followback": n_trick,
                       "possible_tricks": n_possible})

    if before_first and followers.n > 1:
        unknowns.append(Unknown(
            "followed_before_first",
            f"{accounts_phrase(len(before_first))} already followed in the first snapshot "
            f"({followers.times[0]:%Y-%m-%d}): when they followed, and whether the person "
            "followed them back or the reverse, cannot be told",
            len(before_first), tuple(before_first[:5])))

    counts_frame = pd.DataFrame(counts, columns=COUNT_COLUMNS)
    if following.n == 0 and followers.n:
        counts_frame = pd.DataFrame({"account_id": followers.ids})
        for col in COUNT_COLUMNS[1:]:
            counts_frame[col] = pd.NA
    counts_frame = counts_frame.astype({"account_id": "string", **{c: "Int64" for c in
                                                                   COUNT_COLUMNS[1:]}})
    trick_counts = counts_frame.set_index("account_id")["times_unfollowed_after_followback"]

    events_frame = pd.DataFrame(events, columns=EVENT_COLUMNS)
    if len(events_frame):
        events_frame["times_unfollowed_after_followback"] = (
            events_frame["account_id"].map(trick_counts).astype("Int64"))
        events_frame["repeat_offender"] = (
            events_frame["times_unfollowed_after_followback"] >= repeat_offender)
        events_frame = events_frame.sort_values(
            ["status", "times_unfollowed_after_followback", "unfollowed_by", "account_id"],
            ascending=[False, False, True, True], kind="stable").reset_index(drop=True)
    events_frame = events_frame.astype({"episode": "Int64", "repeat_offender": "boolean",
                                        "order_seen": "boolean",
                                        **{c: "datetime64[us, UTC]" for c in BRACKET_COLUMNS},
                                        **{c: "Float64" for c in DAY_COLUMNS}})

    assumed = events_frame[(events_frame["status"] == "trick") & ~events_frame["order_seen"]]
    if len(assumed):
        unknowns.append(Unknown(
            "order_assumed",
            f"{len(assumed):,} of the tricks ({accounts_phrase(assumed['account_id'].nunique())}): "
            f"{SAME_INTERVAL} (their follow-back could also have been the person's own follow, "
            "answered)", int(assumed["account_id"].nunique()),
            tuple(assumed["account_id"].head(5))))
    possible = events_frame[events_frame["status"] == "possible"]
    for note, group in possible.groupby("note", sort=True):
        unknowns.append(Unknown(
            "possible_trick",
            f"{accounts_phrase(group['account_id'].nunique())}: {note}",
            int(group["account_id"].nunique()), tuple(group["account_id"].head(5))))

    unfollow = _unfollow_list(followers, following, handles, set(allow_list), trick_counts,
                              repeat_offender, max_gap_days, unknowns, summary)
    summary.update({
        "tricks": int((events_frame["status"] == "trick").sum()),
        "tricksters": int(events_frame.loc[events_frame["status"] == "trick",
                                           "account_id"].nunique()),
        "possible": int((events_frame["status"] == "possible").sum()),
        "repeat_offenders": int((trick_counts >= repeat_offender).sum()),
        "refollowed": n_refollowed,
        "unfollow": len(unfollow),
    })
    return ChurnResult(events_frame, counts_frame, unfollow, unknowns, summary)


def _unfollow_list(followers: Timeline, following: Timeline, handles: dict[str, str],
                   allow_list: set[str], trick_counts: pd.Series, repeat_offender: int,
                   max_gap_days: float, unknowns: list[Unknown], summary: dict) -> pd.DataFrame:
    """Accounts the person follows (last following snapshot) that followed once and no longer do."""
    if following.n == 0 or followers.n == 0:
        return pd.DataFrame(columns=UNFOLLOW_COLUMNS)
    last_following, last_followers = following.times[-1], followers.times[-1]
    if abs(last_following - last_followers) > pd.Timedelta(days=max_gap_days):
        unknowns.append(Unknown(
            "lists_apart",
            f"the last follower ({last_followers:%Y-%m-%d}) and following "
            f"({last_following:%Y-%m-%d}) snapshots are far apart: the unfollow list compares "
            "them as if taken together"))
    followed = following.at(following.n - 1)
    follow_now = followers.at(followers.n - 1)
    ever_followed = set(followers.ids)
    allowed = {_norm_handle(a) for a in allow_list}
    rows, never, skipped = [], 0, []
    for account_id in sorted(followed - follow_now):
        if account_id not in ever_followed:
            never += 1
            continue
        handle = handles.get(account_id)
        if _norm_handle(account_id) in allowed or (handle and _norm_handle(handle) in allowed):
            skipped.append(account_id)
            continue
        last = followers.episodes(account_id)[-1]
        tricks = trick_counts.get(account_id, 0)
        rows.append({
            "account_id": account_id, "handle": handle,
            "unfollowed_after": last.end.after, "unfollowed_by": last.end.by,
            "times_unfollowed_after_followback": tricks,
            "repeat_offender": bool(tricks >= repeat_offender),
        })
    summary["never_followed_back"] = never
    summary["allow_listed"] = len(skipped)
    frame = pd.DataFrame(rows, columns=UNFOLLOW_COLUMNS)
    if len(frame):
        frame = frame.sort_values(["times_unfollowed_after_followback", "unfollowed_by"],
                                  ascending=[False, True], kind="stable").reset_index(drop=True)
    return frame.astype({"times_unfollowed_after_followback": "Int64",
                         "repeat_offender": "boolean", "unfollowed_after": "datetime64[us, UTC]",
                         "unfollowed_by": "datetime64[us, UTC]"})
