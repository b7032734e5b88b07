"""The generic importer: files already in the contract's columns (the demo generator's layout)."""

from __future__ import annotations

import inspect
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.core.console import FollowbackError
from pipeline.data import io, schema
from pipeline.data.ingest import detect_format, generic, ingest, load

COUNT_NAMES = ("read", "accepted", "rejected", "duplicates")


@pytest.fixture(scope="module")
def folder(fixtures: Path) -> Path:
    return fixtures / "ingest" / "generic"


@pytest.fixture(scope="module")
def ingested(folder: Path, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("generic_out")
    result = ingest([Source(path=folder)], out)
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    return result, rejects, out


def counts(result, table: str) -> dict[str, int]:
    row = next(r for r in result.summary() if r[0] == table)
    return dict(zip(COUNT_NAMES, row[1:], strict=True))


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("accounts", (9, 3, 5, 1)),
        ("posts", (10, 5, 4, 1)),
        ("own_posts", (4, 2, 2, 0)),
        ("decisions", (4, 3, 1, 0)),
        ("snapshots", (7, 4, 2, 1)),
    ],
)
def test_counts_per_table(ingested, table, expected):
    result, _, _ = ingested
    got = counts(result, table)
    assert got == dict(zip(COUNT_NAMES, expected, strict=True))
    assert got["read"] == got["accepted"] + got["rejected"] + got["duplicates"]


def test_rejects_file_names_file_line_and_reason(ingested, folder):
    _, rejects, _ = ingested
    assert list(rejects.columns) == schema.REJECT_COLUMNS
    got = {(Path(r.source).name, r.location, r.table, r.reason) for r in rejects.itertuples()}
    assert got == {
        ("accounts.csv", "line 6", "accounts", "handle: required field is missing"),
        ("accounts.csv", "line 7", "accounts",
         "followers_count: Input should be a valid integer, unable to parse string as an integer"),
        ("accounts.csv", "line 8", "accounts", "created_at: unparseable date 'last Tuesday'"),
        ("accounts.csv", "line 9", "accounts", "expected 19 fields, got 7"),
        ("accounts.csv", "line 11", "accounts", "is_private: not a boolean: 'maybe'"),
        ("posts.jsonl", "line 6", "posts",
         "malformed JSON: Unterminated string starting at (column 110)"),
        ("posts.jsonl", "line 7", "posts", "post_id: required field is missing"),
        ("posts.jsonl", "line 8", "posts",
         "kind: Input should be 'post', 'repost', 'reply' or 'like'"),
        ("posts.jsonl", "line 11", "posts", "expected a JSON object, got str"),
        ("own_posts.csv", "line 4", "own_posts", "text: required field is missing"),
        ("own_posts.csv", "line 5", "own_posts", "created_at: unparseable date '30/04/2024'"),
        ("decisions.csv", "line 5", "decisions", "follow_back: not a boolean: 'nope'"),
        ("snapshots.csv", "line 7", "snapshots",
         "direction: Input should be 'followers' or 'following'"),
        ("snapshots.csv", "line 8", "snapshots", "taken_at: required field is missing"),
    }
    # The raw row is kept so the user can fix it.
    wrong_width = rejects[rejects.location.eq("line 9")].raw.item()
    assert wrong_width == "twitter,977001,too,few,fields,1,2"
    assert "Broken line with no end" in rejects[rejects.location.eq("line 6")
                                                & rejects.table.eq("posts")].raw.item()


def test_writes_all_tables_with_contract_dtypes_and_summary(ingested):
    result, _, out = ingested
    for table in schema.TABLES:
        frame = io.read_table(out, table)
        assert dict(frame.dtypes.astype(str)) == schema.dtypes(table)
        assert len(frame) == result.tables[table].accepted
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tables"]["accounts"] == {"read": 9, "accepted": 3, "rejected": 5,
                                             "duplicates": 1}
    assert summary["total"]["read"] == 34
    assert sorted(Path(f["path"]).name for f in summary["files"]) == [
        "accounts.csv", "decisions.csv", "own_posts.csv", "posts.jsonl", "snapshots.csv"]


def test_duplicates_keep_the_record_read_last(ingested):
    _, _, out = ingested
    accounts = io.read_table(out, "accounts").set_index("account_id")
    assert accounts.loc["109283749201", "followers_count"] == 430
    assert accounts.loc["109283749201", "last_post_at"] == pd.Timestamp("2024-05-09", tz="UTC")
    posts = io.read_table(out, "posts").set_index("post_id")
    assert posts.loc["112389120001", "text"].startswith("Day 3 of the rye starter (edited)")


def test_values_are_mapped_not_invented(ingested):
    _, _, out = ingested
    accounts = io.read_table(out, "accounts").set_index("account_id")
    lena = accounts.loc["did:plc:4k3x7qzq2jv5l6m2n8r9t0ab"]
    assert lena.bio == "Urban gardening on a Berlin balcony.\nTomatoes, chard, compost."
    assert pd.isna(lena.is_private) and pd.isna(lena.likes_count) and pd.isna(lena.url)
    posts = io.read_table(out, "posts").set_index("post_id")
    # Epoch milliseconds in JSON (pandas' default date format) are read as dates.
    epoch_post = "at://did:plc:4k3x7qzq2jv5l6m2n8r9t0ab/app.bsky.feed.post/3ksqd2xyz7k2c"
    assert posts.loc[epoch_post, "created_at"] == pd.Timestamp("2024-05-02 08:00", tz="UTC")
    assert set(posts.kind) == {"post", "repost", "reply", "like"}


def test_unknown_columns_are_kept_aside(ingested):
    _, _, out = ingested
    extra = pd.read_parquet(out / "accounts_extra.parquet").set_index("account_id")
    assert json.loads(extra.loc["1450392288", "extra"]) == {"lang": "en"}
    assert Path(extra.loc["1450392288", "source"]).name == "accounts.csv"
    post_extra = pd.read_parquet(out / "posts_extra.parquet")
    # "language" is a contract column (the platform's tag); other columns stay extras.
    assert json.loads(post_extra.extra.item()) == {"visibility": "public"}
    posts = pd.read_parquet(out / "posts.parquet").set_index("post_id")
    assert posts.loc["112389120001", "language"] == "en"
    # No extras for decisions: no stale file either.
    assert not (out / "decisions_extra.parquet").exists()


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("own_posts.csv", "own_posts"),
        ("own_posts_2024.jsonl", "own_posts"),
        ("posts.jsonl", "posts"),
        ("posts_mastodon.csv", "posts"),
        ("accounts.parquet", "accounts"),
        ("decisions.csv", "decisions"),
        ("snapshots-may.csv", "snapshots"),
        ("export.csv", None),
    ],
)
def test_table_from_name(name, table):
    assert generic.table_from_name(Path(name)) == table


def test_own_posts_file_is_not_read_as_posts(folder):
    records = list(generic.read(folder / "own_posts.csv"))
    assert {r.table for r in records} == {"own_posts"}
    assert detect_format(folder / "own_posts.csv") == "generic"


def test_table_option_covers_files_whose_name_does_not_say(folder, tmp_path):
    export = tmp_path / "export.csv"
    shutil.copy(folder / "decisions.csv", export)
    assert detect_format(export) == "generic"  # its columns are a contract table's
    with pytest.raises(FollowbackError, match="--table"):
        list(generic.read(export))
    result = load([Source(path=export)], table="decisions")
    assert counts(result, "decisions") == {"read": 4, "accepted": 3, "rejected": 1,
                                           "duplicates": 0}


def test_parquet_input(tmp_path):
    frame = schema.to_frame("decisions", [
        {"account_id": "a1", "follow_back": True, "decided_at": "2024-05-01T10:00:00Z"},
        {"account_id": "a2", "follow_back": False, "decided_at": None, "note": "spam"},
    ])
    frame["reviewer"] = ["maya", "maya"]
    path = tmp_path / "decisions.parquet"
    frame.to_parquet(path)
    assert detect_format(path) == "generic"
    records = list(generic.read(path))
    assert [r.location for r in records] == ["row 1", "row 2"]
    assert records[1].extra == {"reviewer": "maya"}
    result = load([Source(path=path)])
    got = result.tables["decisions"].frame
    assert got.follow_back.tolist() == [True, False]
    assert got.decided_at[0] == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_reader_streams(folder):
    stream = generic.read(folder / "accounts.csv")
    assert inspect.isgenerator(stream)
    first = next(stream)
    assert (first.location, first.data["account_id"]) == ("line 2", "109283749201")
