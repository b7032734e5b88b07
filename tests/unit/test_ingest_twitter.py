"""The X/Twitter API v1.1 JSON importer: user objects and tweets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.data.ingest import ingest, twitter
from pipeline.data.ingest._common import parse_date, parse_epoch, parse_twitter_date


@pytest.fixture(scope="module")
def folder(fixtures: Path) -> Path:
    return fixtures / "ingest" / "twitter"


def run(path: Path, out: Path):
    result = ingest([Source(path=path)], out)
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    return result, rejects


def counts(result, table: str) -> tuple[int, ...]:
    return next(r for r in result.summary() if r[0] == table)[1:]


def test_users_counts_and_rejects(folder, tmp_path):
    result, rejects = run(folder / "users.json", tmp_path)
    assert counts(result, "accounts") == (7, 3, 3, 1)
    assert [(r.location, r.table, r.reason) for r in rejects.itertuples()] == [
        ("record 3", "accounts", "account_id: required field is missing"),
        ("record 4", "accounts",
         "followers_count: Input should be a valid integer, unable to parse string as an integer"),
        ("record 5", "accounts", "created_at: unparseable date 'Someday in March'"),
    ]


def test_user_mapping(folder, tmp_path):
    result, _ = run(folder / "users.json", tmp_path)
    accounts = result.tables["accounts"].frame.set_index("account_id")
    grrl = accounts.loc["1450392288"]
    assert (grrl.followers_count, grrl.likes_count) == (2230, 15100)  # duplicate read last
    assert grrl.created_at == pd.Timestamp("2013-05-19 09:12:44", tz="UTC")
    assert grrl.following_count == 642 and grrl.listed_count == 41
    assert pd.isna(grrl.is_bot_flagged)  # v1.1 has no bot flag
    # A big id keeps every digit (no float round trip).
    ana = accounts.loc["987654321098765432"]
    assert ana.is_private and ana.has_default_avatar and ana.bio == "Pão de fermentação natural 🍞"


def test_expanded_url_last_status_and_extra(folder):
    # The first gravel_grrl record carries entities and status; its duplicate does not.
    first = next(twitter.read(folder / "users.json"))
    assert first.data["url"] == "https://gravelgrrl.cc"
    assert first.data["last_post_at"] == datetime(2024, 5, 1, 17, 3, 10, tzinfo=UTC)
    assert first.extra["geo_enabled"] is True and "entities" in first.extra
    assert "screen_name" not in first.extra


def test_tweets(folder, tmp_path):
    result, rejects = run(folder / "tweets.jsonl", tmp_path)
    assert counts(result, "posts") == (6, 4, 2, 0)
    assert counts(result, "accounts") == (1, 1, 0, 0)  # the full user object, once
    assert [(r.location, r.table) for r in rejects.itertuples()] == [
        ("line 4", "posts"), ("line 6", "posts")]
    assert rejects.reason[0].startswith("malformed JSON: ")
    assert rejects.reason[1] == "created_at: unparseable date 'Thu 2 May 2024'"
    posts = result.tables["posts"].frame.set_index("post_id")
    assert posts.kind.to_dict() == {
        "1785754061437460000": "post", "1785773400000000000": "repost",
        "1785976000000000000": "reply", "1785997000000000000": "post"}
    assert posts.loc["1785754061437460000", "text"].endswith("Tomorrow: Timmelsjoch.")
    assert posts.loc["1785773400000000000", "text"] == (
        "Our 10-day bike touring route through the Black Forest, with bakeries every 30 km.")
    # A trimmed user ({"id_str"}) still gives the post its account id.
    assert posts.loc["1785997000000000000", "account_id"] == "1122334455"
    assert result.tables["accounts"].frame.account_id.tolist() == ["1450392288"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri Apr 29 15:01:43 +0000 2011", datetime(2011, 4, 29, 15, 1, 43, tzinfo=UTC)),
        ("Fri Apr 29 17:01:43 +0200 2011", datetime(2011, 4, 29, 15, 1, 43, tzinfo=UTC)),
        ("1183552203000L", datetime(2007, 7, 4, 12, 30, 3, tzinfo=UTC)),
        ("1183552203", datetime(2007, 7, 4, 12, 30, 3, tzinfo=UTC)),
        (1714636800000, datetime(2024, 5, 2, 8, tzinfo=UTC)),
        # Not recognised: returned unchanged, for validation to reject with the value.
        ("Fri Apr 31 15:01:43 +0000 2011", "Fri Apr 31 15:01:43 +0000 2011"),
        ("Feb 30 2014", "Feb 30 2014"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),  # ISO is the contract's to parse
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_twitter_date_is_locale_free_and_epoch_ignores_booleans():
    assert parse_twitter_date("Sun Dec 01 00:00:00 +0000 2024") == datetime(2024, 12, 1,
                                                                             tzinfo=UTC)
    assert parse_epoch(True) is True
