"""Who is new and undecided: the follower list's order, and what a first fetch already shows.

Mastodon and Bluesky list followers newest first. Mastodon orders the follow records by id,
descending (``Api::V1::Accounts::FollowerAccountsController`` paginates ``Follow`` with
``Paginable#paginate_by_max_id``, ``ORDER BY id DESC``; follow ids are sequential, and the
``Link`` header's ``max_id`` is one), and gives no follow time. Bluesky's AppView orders by the
follow record's ``sortAt`` descending (``TimeCidKeyset`` in the data plane's ``getFollowers``);
logged in as the person, each follower's ``viewer.followedBy`` is the URI of its follow record,
whose key is a TID: the time the follow was made. Every fetched snapshot row keeps its place
in the list (``list_position``, 0 = the newest) and, where the API gives it, the follow time
(``followed_at``).

A first fetch shows one follower and one following list. A follower you follow is already
mutual ("follow back", as :mod:`pipeline.stages.decisions` has it). A follower you do not follow and
who is not among your newest followers had time to be decided: "skip". Your newest followers
are undecided: they are the ones to judge. The undecided window (:class:`Window`) is the newest
``count`` followers, or the newest ``share`` of them if that is more, plus every follower whose
follow time is known and less than ``days`` old. Measured on real people's follow-backs
(``bench/day_one.py``, ``docs/results/day-one.md``): the share followed back is far below a
person's own share among their newest few dozen followers and level after about 40.

From the second fetch on, the snapshot rules of :mod:`pipeline.stages.decisions` take over,
and where both apply they agree: a first-fetch "skip" stands until a later snapshot shows a
follow-back (then "followed back" wins), and a follower still not followed
``implicit_after_days`` later is a "skip" by both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FIRST_FETCH = "first_fetch"  # kind of a first-fetch "skip" (see pipeline.stages.decisions)


@dataclass(frozen=True)
class Window:
    """The newest followers a first fetch leaves undecided."""

    count: int = 40
    share: float = 0.1
    days: float = 14.0

    def size(self, n_followers: int) -> int:
        """How many of ``n_followers`` (newest first) are inside the window by position."""
        return int(min(n_followers, max(self.count, np.ceil(self.share * n_followers))))

    def describe(self) -> str:
        parts = [f"your newest {self.count} followers"]
        if self.share:
            parts.append(f"the newest {self.share:.0%}")
        if self.days:
            parts.append(f"those who followed you less than {self.days:g} days before")
        return ", ".join(parts[:-1]) + (" or " if len(parts) > 1 else "") + parts[-1]


def window_of(cfg) -> Window:
    """The undecided window of the ``decisions`` settings of ``cfg`` (a Config)."""
    d = cfg.decisions
    return Window(d.undecided_newest, d.undecided_share, d.implicit_after_days)


def list_order(snapshot: pd.DataFrame) -> pd.Series:
    """Rank of each account of one list snapshot, 0 = the newest follow.

    By ``list_position`` where the source kept it, else by ``followed_at`` (newest first);
    accounts with neither come last, in their given order. Indexed by account id.
    """
    frame = snapshot.reset_index(drop=True)
    position = (frame["list_position"] if "list_position" in frame.columns
                else pd.Series(pd.NA, index=frame.index))
    followed = (pd.to_datetime(frame["followed_at"], utc=True) if "followed_at" in frame.columns
                else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]"))
    key = pd.DataFrame({
        "position": pd.to_numeric(position, errors="coerce"),
        # newest follow first: negate the time
        "followed": -followed.astype("int64").where(followed.notna()),
        "given": np.arange(len(frame)),
    })
    order = key.sort_values(["position", "followed", "given"], na_position="last",
                            kind="stable").index
    ranks = pd.Series(np.arange(len(frame)), index=order).sort_index()
    return pd.Series(ranks.to_numpy(), index=frame["account_id"].astype(str).to_numpy())


def has_order(snapshot: pd.DataFrame) -> bool:
    """Whether the snapshot says who followed most recently (a position or a follow time)."""
    return any(col in snapshot.columns and snapshot[col].notna().any()
               for col in ("list_position", "followed_at"))


def followers_at(snapshots: pd.DataFrame, taken_at) -> pd.DataFrame:
    """The follower list of one snapshot time, with its rank (0 = newest) and follow time."""
    part = snapshots[(snapshots["taken_at"] == taken_at)
                     & (snapshots["direction"] == "followers")]
    part = part.drop_duplicates("account_id", keep="first").reset_index(drop=True)
    ranks = list_order(part)
    out = pd.DataFrame({"account_id": part["account_id"].astype(str).to_numpy()})
    out["rank"] = ranks.reindex(out["account_id"]).to_numpy()
    out["followed_at"] = (pd.to_datetime(part["followed_at"], utc=True).to_numpy()
                          if "followed_at" in part.columns else pd.NaT)
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


def in_window(followers: pd.DataFrame, taken_at, window: Window) -> pd.Series:
    """True for the followers of one snapshot (from :func:`followers_at`) that are inside the
    undecided window at ``taken_at``."""
    by_rank = followers["rank"] < window.size(len(followers))
    followed = pd.to_datetime(followers["followed_at"], utc=True)
    recent = (pd.Timestamp(taken_at) - followed) < pd.Timedelta(days=window.days)
    return (by_rank | recent.fillna(False)).astype(bool)


def both_list_times(snapshots: pd.DataFrame) -> list:
    """Snapshot times that hold a follower and a following list, oldest first."""
    if not len(snapshots):
        return []
    has = snapshots.groupby("taken_at")["direction"].agg(lambda d: set(d) >= {
        "followers", "following"})
    return sorted(has.index[has])


def first_fetch_skips(snapshots: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The "skip" decisions a first fetch shows: followers of the first snapshot with both
    lists that you do not follow and that are outside the undecided window.

    Columns ``account_id, decided_at, rank, n_followers``. Empty when that snapshot does not
    say who is newest (neither a list position nor a follow time): then nobody can be told
    apart from the newest, and only the snapshot rules apply.
    """
    empty = pd.DataFrame({"account_id": pd.Series(dtype="string"),
                          "decided_at": pd.Series(dtype="datetime64[us, UTC]"),
                          "rank": pd.Series(dtype="int64"),
                          "n_followers": pd.Series(dtype="int64")})
    times = both_list_times(snapshots)
    if not times:
        return empty
    t0 = times[0]
    part = snapshots[(snapshots["taken_at"] == t0) & (snapshots["direction"] == "followers")]
    if not has_order(part):
        return empty
    followers = followers_at(snapshots, t0)
    following = set(snapshots.loc[(snapshots["taken_at"] == t0)
                                  & (snapshots["direction"] == "following"),
                                  "account_id"].astype(str))
    skip = ~followers["account_id"].isin(following) & ~in_window(followers, t0, window)
    out = followers.loc[skip, ["account_id", "rank"]].copy()
    out["decided_at"] = pd.Timestamp(t0)
    out["n_followers"] = len(followers)
    return out[["account_id", "decided_at", "rank", "n_followers"]].reset_index(drop=True)


def undecided(snapshots: pd.DataFrame, decided: pd.Series | set | None = None,
              window: Window | None = None) -> pd.DataFrame:
    """Your current followers that you do not follow and have not decided on, newest first.

    From the latest snapshot with both lists; ``decided`` holds the account ids that have a
    decision (explicit or implicit). Columns ``account_id, rank`` (0 = the newest of them,
    ``list_rank`` their place in the whole follower list) and ``in_window``.
    """
    cols = {"account_id": "string", "rank": "int64", "list_rank": "int64",
            "in_window": "boolean"}
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
    times = both_list_times(snapshots)
    if not times:
        return empty
    latest = times[-1]
    followers = followers_at(snapshots, latest)
    following = set(snapshots.loc[(snapshots["taken_at"] == latest)
                                  & (snapshots["direction"] == "following"),
                                  "account_id"].astype(str))
    decided = set(map(str, decided)) if decided is not None else set()
    inside = in_window(followers, latest, window or Window())
    keep = ~followers["account_id"].isin(following | decided)
    out = pd.DataFrame({"account_id": followers.loc[keep, "account_id"].astype("string"),
                        "list_rank": followers.loc[keep, "rank"].astype("int64"),
                        "in_window": inside[keep].astype("boolean")}).reset_index(drop=True)
    out.insert(1, "rank", np.arange(len(out), dtype="int64"))
    return out
