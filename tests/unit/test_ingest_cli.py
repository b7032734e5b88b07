"""Format detection, folder reading and the ``followback ingest`` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.config import Source
from pipeline.core.console import FollowbackError
from pipeline.data import io, schema
from pipeline.data.ingest import FORMATS, detect_format, ingest, read_source, source_files
from pipeline.data.schema import Record, Reject

runner = CliRunner()


@pytest.fixture(scope="module")
def root(fixtures: Path) -> Path:
    return fixtures / "ingest"


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("generic/accounts.csv", "generic"),
        ("generic/posts.jsonl", "generic"),
        ("generic/own_posts.csv", "generic"),
        ("mastodon/followers.json", "mastodon"),
        ("mastodon/statuses.json", "mastodon"),
        ("mastodon/statuses_stream.jsonl", "mastodon"),
        ("bluesky/profiles.json", "bluesky"),
        ("bluesky/author_feed.json", "bluesky"),
        ("bluesky/records.jsonl", "bluesky"),
        ("twitter/users.json", "twitter"),
        ("twitter/tweets.jsonl", "twitter"),
        ("research/spam_sample.users.csv", "twitter-research"),
        ("research/spam_sample.tweets.csv", "twitter-research"),
        ("archive/data/follower.js", "twitter-archive"),
        ("archive/data/following.js", "twitter-archive"),
        ("archive/data/manifest.js", "twitter-archive"),
        ("instagram/connections/followers_and_following/followers_1.json", "instagram"),
        ("instagram/connections/followers_and_following/following.json", "instagram"),
        ("facebook/connections/followers/people_who_followed_you.json", "facebook"),
    ],
)
def test_detect_format(root, path, fmt):
    assert detect_format(root / path) == fmt


def test_formats_are_the_documented_names():
    assert list(FORMATS) == ["generic", "mastodon", "bluesky", "twitter", "twitter-research",
                             "twitter-archive", "instagram", "facebook"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", "hello"),
        ("export.csv", "colour,size\nred,3\n"),
        ("export.json", '[{"colour": "red"}]'),
        ("like.js", 'window.YTD.like.part0 = []'),
    ],
)
def test_undetectable_file_names_file_and_choices(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(FollowbackError) as err:
        detect_format(path)
    message = str(err.value)
    assert str(path) in message
    assert all(fmt in message for fmt in FORMATS)


def test_folder_is_read_sorted_skipping_hidden_and_unknown_files(root, tmp_path):
    shutil.copy(root / "generic" / "decisions.csv", tmp_path / "decisions.csv")
    shutil.copy(root / "generic" / "snapshots.csv", tmp_path / "snapshots_b.csv")
    shutil.copy(root / "generic" / "decisions.csv", tmp_path / ".decisions_backup.csv")
    (tmp_path / ".git").mkdir()
    shutil.copy(root / "generic" / "decisions.csv", tmp_path / ".git" / "decisions.csv")
    (tmp_path / "notes.txt").write_text("not data")
    files, skipped = source_files(tmp_path)
    assert [(f.name, fmt) for f, fmt in files] == [("decisions.csv", "generic"),
                                                    ("snapshots_b.csv", "generic")]
    assert [(f.name, why) for f, why in skipped] == [("notes.txt", "format not recognised")]
    items = list(read_source(tmp_path))
    assert {i.source for i in items} == {str(tmp_path / "snapshots_b.csv"),
                                         str(tmp_path / "decisions.csv")}
    assert all(isinstance(i, Record | Reject) for i in items)


def test_explicit_format_in_a_folder_reads_only_its_file_types(root):
    files, skipped = source_files(root / "archive", "twitter-archive")
    assert sorted(f.name for f, _ in files) == ["follower.js", "following.js", "manifest.js",
                                                 "tweets.js"]
    assert [(f.name, why) for f, why in skipped] == [("README.txt", "not a twitter-archive file")]


def test_missing_source_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_source(tmp_path / "nope.csv"))
    with pytest.raises(FollowbackError, match="unknown format 'myspace'"):
        list(read_source(tmp_path, "myspace"))


def test_empty_tables_are_written_with_contract_dtypes(root, tmp_path):
    ingest([Source(path=root / "mastodon" / "followers.json")], tmp_path)
    for table in schema.TABLES:
        frame = io.read_table(tmp_path, table)
        assert dict(frame.dtypes.astype(str)) == schema.dtypes(table)
    assert len(io.read_table(tmp_path, "own_posts")) == 0
    assert len(io.read_table(tmp_path, "accounts")) == 3


def test_stale_extras_are_removed(root, tmp_path):
    ingest([Source(path=root / "mastodon" / "followers.json")], tmp_path)
    assert (tmp_path / "accounts_extra.parquet").exists()
    ingest([Source(path=root / "generic" / "decisions.csv")], tmp_path)
    assert not (tmp_path / "accounts_extra.parquet").exists()


def test_cli_ingests_a_folder(root, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["ingest", str(root / "generic"), "--out", str(out),
                                 "--params", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "accounts.parquet", "accounts_extra.parquet", "decisions.parquet", "own_posts.parquet",
        "posts.parquet", "posts_extra.parquet", "rejects.csv", "snapshots.parquet",
        "summary.json"]
    assert len(pd.read_csv(out / "rejects.csv")) == 14
    assert json.loads((out / "summary.json").read_text())["total"] == {
        "read": 34, "accepted": 17, "rejected": 14, "duplicates": 3}
    flat = " ".join(result.output.split())  # rich wraps long lines
    assert f"{out / 'rejects.csv'} (14 rows)".replace(" ", "") in flat.replace(" ", "")
    assert "accepted" in flat


def test_cli_exits_1_when_nothing_usable_was_read(root, tmp_path):
    source = root / "archive_no_manifest" / "data" / "follower.js"
    result = runner.invoke(app, ["ingest", str(source), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "nothing usable was read" in " ".join(result.output.split())
    # The rejects still say why.
    rejects = pd.read_csv(tmp_path / "rejects.csv")
    assert len(rejects) == 6 and rejects.reason.str.contains("--taken-at").all()


def test_cli_taken_at_and_format(root, tmp_path):
    source = root / "instagram" / "connections" / "followers_and_following" / "following.json"
    result = runner.invoke(app, ["ingest", str(source), "--format", "instagram",
                                 "--taken-at", "2024-05-03T09:00:00+02:00",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    snaps = io.read_table(tmp_path, "snapshots")
    assert (snaps.taken_at == pd.Timestamp("2024-05-03 07:00", tz="UTC")).all()


@pytest.mark.parametrize(
    "args",
    [["--format", "myspace"], ["--taken-at", "last week"], ["--table", "friends"]],
)
def test_cli_rejects_bad_options(root, tmp_path, args):
    result = runner.invoke(app, ["ingest", str(root / "generic"), "--out", str(tmp_path),
                                 *args])
    assert result.exit_code == 2
    assert not (tmp_path / "rejects.csv").exists()


def test_cli_sources_and_out_dir_from_params(root, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"ingest": {
        "sources": [{"path": str(root / "bluesky" / "profiles.json"), "format": "bluesky"}],
        "out_dir": str(tmp_path / "ingested"),
    }}))
    result = runner.invoke(app, ["ingest", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert len(io.read_table(tmp_path / "ingested", "accounts")) == 3


def test_cli_params_source_that_does_not_exist_yet_is_skipped(root, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"ingest": {
        "sources": [{"path": str(root / "generic" / "decisions.csv")},
                    {"path": str(tmp_path / "decisions"), "format": "generic"}],
        "out_dir": str(tmp_path / "ingested"),
    }}))
    result = runner.invoke(app, ["ingest", "--params", str(params)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "ingested" / "summary.json").read_text())
    assert summary["skipped"] == [{"path": str(tmp_path / "decisions"),
                                   "reason": "does not exist"}]
    assert "(does not exist)" in " ".join(result.output.split())  # rich wraps long lines


def test_cli_missing_source_is_a_readable_error(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.json"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not found" in result.output


def test_cli_help_documents_every_option():
    result = runner.invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0
    for option in ("--format", "--table", "--taken-at", "--out", "--params"):
        assert option in result.output
    assert "twitter-research" in result.output
