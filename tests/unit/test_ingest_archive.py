"""The X/Twitter archive importer: follower/following lists as snapshots, tweets as own posts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.data.ingest import archive, ingest, load
from pipeline.data.schema import Record

GENERATED = pd.Timestamp("2024-05-03 09:12:45.123", tz="UTC")


@pytest.fixture(scope="module")
def root(fixtures: Path) -> Path:
    return fixtures / "ingest"


def counts(result, table: str) -> tuple[int, ...]:
    return next(r for r in result.summary() if r[0] == table)[1:]


def test_archive_folder_with_manifest(root, tmp_path):
    result = ingest([Source(path=root / "archive")], tmp_path)
    assert counts(result, "snapshots") == (9, 6, 2, 1)
    assert counts(result, "own_posts") == (3, 2, 1, 0)
    rejects = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False)
    assert [(Path(r.source).name, r.location, r.table, r.reason)
            for r in rejects.itertuples()] == [
        ("follower.js", "record 4", "snapshots", "account_id: required field is missing"),
        ("follower.js", "record 6", "snapshots", 'expected {"follower": {"accountId": ...}}'),
        ("tweets.js", "record 3", "own_posts", "created_at: unparseable date 'sometime in May'"),
    ]
    snaps = result.tables["snapshots"].frame
    assert (snaps.taken_at == GENERATED).all()
    assert sorted(snaps[snaps.direction == "followers"].account_id) == [
        "1122334455", "1450392288", "987654321098765432"]
    assert sorted(snaps[snaps.direction == "following"].account_id) == [
        "1122334455", "1450392288", "2901234567"]
    # The README is not an archive data file: skipped and listed, not an error.
    assert [Path(p).name for p, _ in result.skipped] == ["README.txt"]
    extra = pd.read_parquet(tmp_path / "snapshots_extra.parquet")
    first = json.loads(extra.extra[0])
    assert first["taken_at_from"] == "manifest.js generationDate"
    assert first["userLink"].startswith("https://twitter.com/intent/user?user_id=")


def test_tweets_js_are_own_posts(root):
    result = load([Source(path=root / "archive" / "data" / "tweets.js")])
    own = result.tables["own_posts"].frame.set_index("post_id")
    assert own.loc["1785900000000000000", "text"].startswith("Open crumb at last")
    assert own.loc["1785900000000000000", "created_at"] == pd.Timestamp(
        "2024-05-01 13:00", tz="UTC")


def test_no_manifest_and_no_taken_at_rejects_every_entry(root):
    path = root / "archive_no_manifest" / "data" / "follower.js"
    result = load([Source(path=path)])
    assert counts(result, "snapshots") == (6, 0, 6, 0)
    assert {r.reason for r in result.rejects} == {
        "no snapshot time: the list carries none, no manifest.js beside the file, and no "
        "--taken-at was given"}
    assert [r.location for r in result.rejects] == [f"record {n}" for n in range(1, 7)]


def test_no_manifest_uses_taken_at(root):
    path = root / "archive_no_manifest" / "data" / "follower.js"
    when = datetime(2024, 4, 1, 12, tzinfo=UTC)
    result = load([Source(path=path)], taken_at=when)
    assert counts(result, "snapshots") == (6, 3, 2, 1)
    assert (result.tables["snapshots"].frame.taken_at == pd.Timestamp(when)).all()
    records = [r for r in archive.read(path, taken_at=when) if isinstance(r, Record)]
    assert records[0].extra["taken_at_from"] == "--taken-at"


def test_manifest_takes_precedence_over_taken_at(root):
    path = root / "archive" / "data" / "follower.js"
    result = load([Source(path=path)], taken_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert (result.tables["snapshots"].frame.taken_at == GENERATED).all()


def test_damaged_list_keeps_what_precedes_the_damage(root):
    result = load([Source(path=root / "archive_broken" / "data" / "follower.js")])
    assert counts(result, "snapshots") == (3, 2, 1, 0)
    [reject] = result.rejects
    assert reject.location == "record 3"
    assert reject.reason == ("malformed JSON: Expecting ',' delimiter (line 17, column 7); "
                             "this record and any after it could not be read")
    assert (result.tables["snapshots"].frame.taken_at
            == pd.Timestamp("2024-04-01 08:00", tz="UTC")).all()


def test_unreadable_manifest_is_named_in_the_reason(root, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "follower.js").write_text(
        (root / "archive" / "data" / "follower.js").read_text())
    (data / "manifest.js").write_text("window.__THAR_CONFIG = {\"archiveInfo\": {}}")
    rejects = [r for r in archive.read(data / "follower.js")]
    assert "has no readable archiveInfo.generationDate" in rejects[0].reason


def test_other_archive_data_types_are_reported(tmp_path):
    path = tmp_path / "like.js"
    path.write_text('window.YTD.like.part0 = [ { "like" : { "tweetId" : "1" } } ]')
    [reject] = list(archive.read(path))
    assert reject.reason.startswith("archive data type 'like' is not imported")
