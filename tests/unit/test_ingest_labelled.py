"""Readers of the labelled research sets that are not cresci-2017 users tables: the length-only
caverlee-2011, InstaFake and Instagram Kaggle, and mastodon-bot-flag's Account entities.

Each fixture folder holds real rows of its source and bad rows; the bad rows become rejects
with their line (or record) and reason while the good ones are read, and fields a source does
not publish stay missing in the profile features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.core.console import FollowbackError
from pipeline.data.ingest import caverlee, instafake, instagram_kaggle, mastodon_bot_flag
from pipeline.features.bot import PROFILE_FEATURES, profile_features

FIXTURES = Path(__file__).parents[1] / "fixtures" / "labelled"


def _features(labelled):
    return profile_features(labelled.accounts, labelled.observed_at)


def _reasons(labelled) -> dict[str, str]:
    return {f"{Path(r.source).name} {r.location}": r.reason for r in labelled.rejects}


def test_caverlee_good_rows_and_rejects():
    s = caverlee.read(FIXTURES / "caverlee")
    assert (s.name, s.platform) == ("caverlee-2011", "twitter")
    assert len(s.accounts) == 7
    assert s.labels.tolist() == [0, 0, 0, 0, 1, 1, 1]
    reasons = _reasons(s)
    assert reasons == {
        "legitimate_users.csv line 5": "CreatedAt: unparseable date '13/45/2006 1:07'",
        "legitimate_users.csv line 6": "NumerOfFollowings: not a number: 'many'",
        "legitimate_users.csv line 7": "expected 9 fields, got 5",
        "content_polluters.csv line 4": "label: not 0 or 1: '2'",
    }
    first = s.accounts.iloc[0]
    assert first["account_id"] == "614"
    assert (first["following_count"], first["followers_count"], first["posts_count"]) == (
        510, 350, 3265)
    assert first["created_at"] == pd.Timestamp("2006-07-13 15:30", tz="UTC")
    # Age is measured at the collection time, not today.
    assert s.observed_at.iloc[0] == pd.Timestamp("2009-11-20 23:56", tz="UTC")
    assert [f["rows_read"] for f in s.files] == [7, 4]


def test_caverlee_lengths_are_lengths_and_the_rest_stays_missing():
    s = caverlee.read(FIXTURES / "caverlee")
    f = _features(s)
    assert list(f.columns) == PROFILE_FEATURES
    assert f["handle_length"].iloc[0] == 10 and f["bio_length"].iloc[0] == 34
    age = np.expm1(f["log_age_days"].iloc[0])
    assert age == pytest.approx((pd.Timestamp("2009-11-20 23:56") -
                                 pd.Timestamp("2006-07-13 15:30")).total_seconds() / 86400)
    # No handle text: no entropy or digits from a made-up handle; no avatar, url, name, likes.
    for col in ("handle_entropy", "handle_digit_share", "name_handle_similarity", "has_url",
                "default_avatar", "verified", "log_likes_count", "log_listed_count"):
        assert f[col].isna().all(), col


def test_instafake_good_records_and_rejects():
    s = instafake.read(FIXTURES / "instafake")
    assert (s.name, s.platform) == ("instafake-2019", "instagram")
    assert s.labels.tolist() == [0, 0, 1]
    reasons = _reasons(s)
    assert reasons["realAccountData.json record 3"] == (
        "userFollowerCount: not a non-negative count: -4")
    assert reasons["realAccountData.json record 4"] == (
        "usernameDigitCount 11 exceeds usernameLength 10")
    assert reasons["fakeAccountData.json record 2"] == "isFake: the label is missing"
    assert reasons["fakeAccountData.json record 3"] == "expected a JSON object, got str"
    f = _features(s)
    assert f["handle_length"].tolist() == [10, 8, 15]
    assert f["handle_digit_share"].tolist() == pytest.approx([0, 0.25, 4 / 15])
    assert f["default_avatar"].tolist() == [0, 0, 1]
    assert f["bio_length"].tolist() == [0, 42, 0]
    assert s.accounts["is_private"].tolist() == [0, 1, 1]
    for col in ("log_age_days", "log_posts_per_day", "handle_entropy", "has_url",
                "name_handle_similarity"):
        assert f[col].isna().all(), col


def test_instagram_kaggle_good_rows_and_rejects():
    s = instagram_kaggle.read(FIXTURES / "instagram_kaggle")
    assert (s.name, s.platform) == ("instagram-kaggle", "instagram")
    assert s.labels.tolist() == [0, 0, 1, 1]
    assert _reasons(s) == {
        "train.csv line 5": "nums/length username: a share must be between 0 and 1, got '1.4'",
        "train.csv line 6": "private: not 0 or 1: 'yes'",
        "train.csv line 7": "expected 12 fields, got 4",
    }
    f = _features(s)
    assert f["handle_digit_share"].tolist() == pytest.approx([0.27, 0, 0.55, 0.4])
    assert f["has_url"].tolist() == [0, 0, 0, 1]
    assert f["default_avatar"].tolist() == [0, 0, 1, 1]
    assert f["log_following_count"].iloc[2] == pytest.approx(np.log1p(4100))
    # The username's length is not published, only its digit share.
    assert f["handle_length"].isna().all() and f["log_age_days"].isna().all()


def test_kaggle_header_of_another_layout_is_an_error(tmp_path):
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    assert not instagram_kaggle.fits(tmp_path)
    with pytest.raises(FollowbackError, match="not the Instagram Kaggle layout"):
        instagram_kaggle.read(tmp_path)


def test_a_set_without_any_good_row_is_an_error(tmp_path):
    (tmp_path / "legitimate_users.csv").write_text("1,bad,bad,1,1,1,1,1,0\n")
    (tmp_path / "content_polluters.csv").write_text("")
    with pytest.raises(FollowbackError, match="no account could be read"):
        caverlee.read(tmp_path)


def test_fits_tells_the_layouts_apart():
    assert caverlee.fits(FIXTURES / "caverlee") and not caverlee.fits(FIXTURES / "instafake")
    assert instafake.fits(FIXTURES / "instafake")
    assert instagram_kaggle.fits(FIXTURES / "instagram_kaggle")
    assert not instagram_kaggle.fits(FIXTURES / "caverlee")
    assert mastodon_bot_flag.fits(FIXTURES / "mastodon_bot_flag")
    assert not mastodon_bot_flag.fits(FIXTURES / "instafake")


# Generated entities in Mastodon's REST shape (no real account): five in humans.json, three and
# a string in bots.json.
def test_mastodon_bot_flag_good_entities_and_rejects():
    s = mastodon_bot_flag.read(FIXTURES / "mastodon_bot_flag")
    assert (s.name, s.platform) == ("mastodon-bot-flag", "mastodon")
    assert s.accounts["account_id"].tolist() == ["101", "102", "103", "201", "202"]
    assert s.labels.tolist() == [0, 0, 0, 1, 1]
    assert _reasons(s) == {
        "humans.json record 4": "bot is True in a file of humans",
        "humans.json record 5": "created_at: not a date: 'sometime'",
        "bots.json record 3": "bot: the label is missing",
        "bots.json record 4": "expected a JSON object, got str",
    }
    assert [f["rows_read"] for f in s.files] == [5, 4]
    assert [f["accounts"] for f in s.files] == [3, 2]
    # mastodon.social's own accounts and cached copies of other servers' accounts.
    assert s.groups.tolist() == ["local", "local", "remote", "local", "remote"]


def test_mastodon_bot_flag_keeps_the_label_and_file_format_out_of_the_features():
    s = mastodon_bot_flag.read(FIXTURES / "mastodon_bot_flag")
    # The label is not a feature, nor are fields only one of the crawl's file formats has.
    for column in ("is_bot_flagged", "last_post_at", "url"):
        assert column not in s.accounts.columns, column
    # A bare date and a midnight timestamp are the same day.
    assert s.accounts["created_at"].tolist() == [
        pd.Timestamp("2022-11-07", tz="UTC"), pd.Timestamp("2019-04-02", tz="UTC"),
        pd.Timestamp("2022-11-07", tz="UTC"), pd.Timestamp("2020-04-13", tz="UTC"),
        pd.Timestamp("2018-01-09", tz="UTC")]
    f = _features(s)
    assert f["bot_flagged"].isna().all() and f["log_days_since_last_post"].isna().all()
    assert f["default_avatar"].tolist() == [1, 0, 1, 0, 0]
    # The note's HTML is read as text; a null note is an empty bio.
    assert s.accounts["bio"].tolist()[:3] == ["", "Watercolours & walks.", ""]
    assert s.accounts["is_private"].tolist() == [0, 0, 1, 0, 0]
    assert f["log_followers_count"].iloc[4] == pytest.approx(np.log1p(54_820_002))
    assert f["handle_length"].tolist() == [12, 10, 5, 11, 4]  # without the server
