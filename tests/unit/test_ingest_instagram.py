"""The Instagram export importer: followers_N.json and following.json as snapshots."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.data.ingest import ingest, instagram, load

WHEN = datetime(2024, 5, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def folder(fixtures: Path) -> Path:
    return fixtures / "ingest" / "instagram"


def counts(result, table: str) -> tuple[int, ...]:
    return next(r for r in result.summary() if r[0] == table)[1:]


def test_export_folder_with_taken_at(folder, tmp_path):
    result = ingest([Source(path=folder)], tmp_path, taken_at=WHEN)
    assert counts(result, "snapshots") == (9, 7, 1, 1)
    rejects = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False)
    assert [(Path(r.source).name, r.location, r.reason) for r in rejects.itertuples()] == [
        ("followers_1.json", "record 4",
         "expected an entry with a non-empty 'string_list_data' list")]
    snaps = result.tables["snapshots"].frame
    assert (snaps.taken_at == pd.Timestamp(WHEN)).all()
    followers = snaps[snaps.direction == "followers"].account_id
    following = snaps[snaps.direction == "following"].account_id
    # The username is the account id; "crumb.shots" only has a profile link.
    assert sorted(followers) == ["balkon.garten", "crumb.shots", "kneadtoknow.leipzig",
                                 "velo_vagabond"]
    assert sorted(following) == ["gartenzwerg_hh", "kneadtoknow.leipzig", "velojournal"]
    # close_friends.json is not a follower list: skipped and listed.
    assert [Path(p).name for p, _ in result.skipped] == ["close_friends.json"]
    extra = pd.read_parquet(tmp_path / "snapshots_extra.parquet").set_index("account_id")
    knead = [json.loads(e) for e in extra.loc["kneadtoknow.leipzig", "extra"]]
    assert {e["platform"] for e in knead} == {"instagram"}
    # The entry's timestamp is when the follow happened, kept aside (not the snapshot time).
    assert {e["followed_at"] for e in knead} == {"2023-11-14T22:13:19+00:00",
                                                 "2023-11-16T02:00:00+00:00"}


def test_without_taken_at_every_entry_is_rejected_saying_why(folder):
    path = folder / "connections" / "followers_and_following" / "following.json"
    result = load([Source(path=path)])
    assert counts(result, "snapshots") == (3, 0, 3, 0)
    assert [(r.location, r.reason) for r in result.rejects] == [
        (f"record {n}", "no snapshot time: an Instagram export does not say when it was made; "
         "pass --taken-at") for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("Gr\u00c3\u00bcn", "Grün"),
        ("plain.name", "plain.name"),
        ("Grün", "Grün"),  # already right: its latin-1 bytes are no UTF-8, left alone
        (None, None),
    ],
)
def test_fix_mojibake(text, fixed):
    assert instagram.fix_mojibake(text) == fixed


def test_unknown_list_file_cannot_tell_direction(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[{"string_list_data": [{"value": "x", "timestamp": 1}]}]')
    [reject] = list(instagram.read(path, taken_at=WHEN))
    assert reject.reason.startswith("cannot tell followers from following")


def test_truncated_export_file_is_one_reject_and_the_other_list_still_imports(folder, tmp_path):
    """A download cut short: followers_1.json is not JSON. It is set aside with the reason;
    following.json beside it imports whole."""
    export = tmp_path / "export" / "connections" / "followers_and_following"
    export.mkdir(parents=True)
    src = folder / "connections" / "followers_and_following"
    (export / "followers_1.json").write_text((src / "followers_1.json").read_text()[:150])
    (export / "following.json").write_text((src / "following.json").read_text())
    result = ingest([Source(path=tmp_path / "export")], tmp_path / "out", taken_at=WHEN)
    rejects = pd.read_csv(tmp_path / "out" / "rejects.csv", dtype=str, keep_default_na=False)
    assert len(rejects) == 1
    assert Path(rejects.source[0]).name == "followers_1.json"
    assert rejects.table[0] == "snapshots" and "JSON" in rejects.reason[0]
    snaps = result.tables["snapshots"].frame
    assert sorted(snaps.account_id) == ["gartenzwerg_hh", "kneadtoknow.leipzig", "velojournal"]
    assert (snaps.direction == "following").all()
