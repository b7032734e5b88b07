"""The bot-research CSV importer, on a fixture and on the nine cresci-2017 user tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.core.console import FollowbackError
from pipeline.data.ingest import detect_format, ingest, load, research

CRESCI_FILES = [
    "fake_followers.users.csv",
    "genuine_accounts.users.csv",
    "social_spambots_1.users.csv",
    "social_spambots_2.users.csv",
    "social_spambots_3.users.csv",
    "traditional_spambots_1.users.csv",
    "traditional_spambots_2.users.csv",
    "traditional_spambots_3.users.csv",
    "traditional_spambots_4.users.csv",
]


@pytest.fixture(scope="module")
def folder(fixtures: Path) -> Path:
    return fixtures / "ingest" / "research"


def counts(result, table: str) -> tuple[int, ...]:
    return next(r for r in result.summary() if r[0] == table)[1:]


@pytest.fixture(scope="module")
def users(folder: Path, tmp_path_factory):
    out = tmp_path_factory.mktemp("research_out")
    result = ingest([Source(path=folder / "spam_sample.users.csv")], out)
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    return result, rejects, out


def test_users_counts_and_rejects(users):
    result, rejects, _ = users
    assert counts(result, "accounts") == (11, 5, 5, 1)
    assert [(r.location, r.reason) for r in rejects.itertuples()] == [
        ("line 5", "expected 24 fields, got 7"),
        ("line 6", "handle: required field is missing"),
        ("line 7",
         "followers_count: Input should be a valid integer, unable to parse string as an integer"),
        ("line 8", "created_at: unparseable date 'Feb 30 2014'"),
        # After a description spanning two lines, line numbers still match the file.
        ("line 13", "listed_count: Input should be greater than or equal to 0"),
    ]
    assert rejects.raw[0] == '2372241176,Denna Mcsparren,DennaMcsparren,53,10,46,0'


def test_users_mapping(users):
    result, _, _ = users
    accounts = result.tables["accounts"].frame.set_index("account_id")
    # Duplicate ids: the row crawled most recently wins, though the other was read last.
    assert accounts.loc["24858289", "posts_count"] == 1299
    # Epoch milliseconds with Java's "L", and NULL cells.
    bhuvan = accounts.loc["7248952"]
    assert bhuvan.created_at == pd.Timestamp("2007-07-04 12:30:03", tz="UTC")
    assert bhuvan.location == "Berekely"
    # Booleans are "1" or empty; empty is False.
    elisa = accounts.loc["33212890"]
    assert elisa.is_private and elisa.is_verified and not elisa.has_default_avatar
    assert not accounts.loc["24858289", "is_private"]
    # NULL default_profile_image: read from the default-avatar URL.
    assert accounts.loc["325403988", "has_default_avatar"]
    assert not bhuvan.has_default_avatar
    assert accounts.loc["16282004", "bio"] == (
        "My name is Enrique!\nI'm a highly experienced English and Spanish teacher.")
    assert (accounts.platform == "twitter").all()
    assert accounts.is_bot_flagged.isna().all() and accounts.last_post_at.isna().all()


def test_users_extra_keeps_other_columns_and_group_file(users, folder):
    _, _, out = users
    extra = pd.read_parquet(out / "accounts_extra.parquet").set_index("account_id")
    bhuvan = json.loads(extra.loc["7248952", "extra"])
    assert bhuvan["lang"] is None  # NULL
    assert bhuvan["crawled_at"] == "2010-11-07 11:10:52"
    assert bhuvan["test_set_1"] == "0"
    assert "screen_name" not in bhuvan and "followers_count" not in bhuvan
    assert set(extra.source) == {str(folder / "spam_sample.users.csv")}


def test_record_source_is_the_group_file(folder):
    record = next(research.read(folder / "spam_sample.users.csv"))
    assert record.source == str(folder / "spam_sample.users.csv")
    assert record.observed_at is not None and record.observed_at.year == 2014


def test_tweets(folder):
    path = folder / "spam_sample.tweets.csv"
    assert detect_format(path) == "twitter-research"
    result = load([Source(path=path)])
    assert counts(result, "posts") == (6, 3, 3, 0)
    assert [(r.location, r.reason) for r in result.rejects] == [
        ("line 5", "created_at: unparseable date '2014/11/12 20:30'"),
        ("line 6", "account_id: required field is missing"),
        ("line 7", "expected 25 fields, got 4"),
    ]
    posts = result.tables["posts"].frame
    assert posts.kind.tolist() == ["post", "repost", "reply"]
    assert posts.created_at[0] == pd.Timestamp("2014-11-12 20:14:48", tz="UTC")


def test_header_that_is_no_research_table(tmp_path):
    path = tmp_path / "x.users.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(FollowbackError, match="not a bot-research users or tweets table"):
        list(research.read(path))


def _csv_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return sum(1 for row in reader if row)


@pytest.mark.parametrize("name", CRESCI_FILES)
def test_cresci_every_row_accounted_for(bot_research_dir: Path, name: str):
    path = bot_research_dir / name
    rows = _csv_rows(path)
    assert detect_format(path) == "twitter-research"
    result = load([Source(path=path)])
    read, accepted, rejected, duplicates = counts(result, "accounts")
    assert read == rows
    assert accepted + rejected + duplicates == read
    assert [f.read for f in result.files] == [rows]
    assert all(r.source == str(path) for r in result.rejects)
    assert len(result.rejects) == rejected
    frame = result.tables["accounts"].frame
    # Both date forms (Twitter text and epoch "...L") parse: no accepted row lacks created_at.
    assert frame.created_at.notna().all()
    assert frame.has_default_avatar.notna().all()
    assert accepted > 0.99 * rows


def test_cresci_all_nine_in_one_ingest(bot_research_dir: Path, tmp_path):
    result = ingest([Source(path=bot_research_dir)], tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    per_file = {Path(f["path"]).name: f["read"] for f in summary["files"]}
    assert per_file == {name: _csv_rows(bot_research_dir / name) for name in CRESCI_FILES}
    total = summary["tables"]["accounts"]
    assert total["read"] == sum(per_file.values())
    assert total["read"] == total["accepted"] + total["rejected"] + total["duplicates"]
    rejects = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False)
    assert len(rejects) == total["rejected"] == len(result.rejects)
