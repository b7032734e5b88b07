"""Who is new and undecided: list order, the first-fetch rule, and its agreement with the
snapshot rules of ``pipeline.stages.decisions``."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.data.undecided import (
    Window,
    first_fetch_skips,
    followers_at,
    list_order,
    undecided,
)
from pipeline.stages.decisions import FIRST_FETCH, implicit_decisions

T0 = pd.Timestamp("2026-05-01T12:00:00Z")


def snapshot(when, followers, following, positions=True, followed_at=None):
    """Snapshot rows of one fetch; ``followers`` newest first."""
    rows = []
    for i, a in enumerate(followers):
        rows.append({"taken_at": when, "direction": "followers", "account_id": a,
                     "list_position": i if positions else pd.NA,
                     "followed_at": (followed_at or {}).get(a, pd.NaT)})
    for i, a in enumerate(following):
        rows.append({"taken_at": when, "direction": "following", "account_id": a,
                     "list_position": i if positions else pd.NA, "followed_at": pd.NaT})
    return pd.DataFrame(rows)


def followers_of(n):
    return [f"f{i:03d}" for i in range(n)]  # f000 is the newest


def test_list_order_by_position_then_follow_time_then_as_given():
    snap = pd.DataFrame({"account_id": ["a", "b", "c", "d"],
                         "list_position": [2, 0, pd.NA, pd.NA],
                         "followed_at": [pd.NaT, pd.NaT, T0 - pd.Timedelta(days=3),
                                         T0 - pd.Timedelta(days=1)]})
    assert list_order(snap).sort_values().index.tolist() == ["b", "a", "d", "c"]


def test_first_fetch_skips_are_the_older_followers_you_do_not_follow():
    followers = followers_of(100)
    mutual = followers[10::3]
    skips = first_fetch_skips(snapshot(T0, followers, mutual), Window(count=40, days=0))
    expected = [a for a in followers[40:] if a not in mutual]
    assert sorted(skips["account_id"]) == sorted(expected)
    assert (skips["rank"] >= 40).all() and (skips["decided_at"] == T0).all()


def test_the_window_by_share_and_by_follow_time():
    followers = followers_of(100)
    # share: the newest 30% if that is more than the count
    skips = first_fetch_skips(snapshot(T0, followers, ["me"]),
                              Window(count=10, share=0.3, days=0))
    assert skips["rank"].min() == 30
    # days: a follower whose follow time is known and recent stays undecided, wherever it is
    recent = {"f050": T0 - pd.Timedelta(days=2), "f060": T0 - pd.Timedelta(days=90)}
    skips = first_fetch_skips(snapshot(T0, followers, ["me"], followed_at=recent),
                              Window(count=10, days=14))
    assert "f050" not in set(skips["account_id"]) and "f060" in set(skips["account_id"])


def test_no_order_no_first_fetch_skips():
    """A source without list positions or follow times cannot tell the newest apart."""
    snap = snapshot(T0, followers_of(50), ["me"], positions=False)
    assert first_fetch_skips(snap, Window(count=10)).empty


def test_implicit_decisions_add_first_fetch_skips_and_mutuals_on_one_fetch():
    followers = followers_of(60)
    mutual = ["f005", "f045", "f050"]
    labels = implicit_decisions(snapshot(T0, followers, mutual), 14, Window(count=20, days=0))
    labels = labels.set_index("account_id")
    assert set(labels.index[labels["follow_back"]]) == set(mutual)
    first = labels[labels["kind"] == FIRST_FETCH]
    assert set(first.index) == {a for a in followers[20:] if a not in mutual}
    assert not first["follow_back"].any()
    assert first["note"].str.startswith("implicit: not followed back in your first fetch").all()
    # the undecided newest have no label
    assert not set(followers[:20]) - set(mutual) & set(labels.index)


def test_later_snapshots_win_where_both_rules_apply():
    followers = followers_of(60)
    window = Window(count=20, days=0)
    first = snapshot(T0, followers, ["me"])  # you follow nobody: the person stands in
    # 10 days later you followed f030 back (an older follower the first fetch called a skip);
    # 20 days later f031 still is not followed: a skip by both rules, dated by the later one.
    second = snapshot(T0 + pd.Timedelta(days=10), followers, ["f030"])
    third = snapshot(T0 + pd.Timedelta(days=20), followers, ["f030"])
    labels = implicit_decisions(pd.concat([first, second, third]), 14, window)
    labels = labels.set_index("account_id")
    assert labels.loc["f030", "follow_back"] and labels.loc["f030", "kind"] == "followed_back"
    assert not labels.loc["f031", "follow_back"]
    assert labels.loc["f031", "kind"] == "not_followed"
    # A newest follower of the first fetch is decided by the snapshot rule alone.
    assert labels.loc["f003", "kind"] == "not_followed"
    # and on one fetch only, the two rules never disagree: every label is one of them
    only = implicit_decisions(first, 14, window)
    assert set(only["kind"]) == {FIRST_FETCH}


def test_undecided_are_current_unfollowed_undecided_followers_newest_first():
    followers = followers_of(30)
    snaps = pd.concat([snapshot(T0, followers[5:], ["f010"]),
                       snapshot(T0 + pd.Timedelta(days=3), followers, ["f010", "f002"])])
    table = undecided(snaps, decided={"f004"}, window=Window(count=8, days=0))
    ids = table["account_id"].tolist()
    assert ids[:3] == ["f000", "f001", "f003"]  # f002 followed, f004 decided
    assert table["rank"].tolist() == list(range(len(table)))
    assert "f010" not in ids
    assert table.set_index("account_id").loc["f005", "in_window"]
    assert not table.set_index("account_id").loc["f020", "in_window"]


@pytest.mark.parametrize("n, count, share, expected", [(100, 40, 0.0, 40), (10, 40, 0.0, 10),
                                                      (1000, 40, 0.1, 100)])
def test_window_size(n, count, share, expected):
    assert Window(count, share).size(n) == expected


def test_followers_at_keeps_the_newest_place_of_a_listed_twice_account():
    snap = snapshot(T0, ["a", "b", "a"], ["me"])
    assert followers_at(snap, T0)["account_id"].tolist() == ["a", "b"]
