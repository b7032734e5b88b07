"""The Facebook export importer: people_who_followed_you.json and who_you've_followed.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Source
from pipeline.data.ingest import detect_format, ingest

WHEN = datetime(2024, 4, 5, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def folder(fixtures: Path) -> Path:
    return fixtures / "ingest" / "facebook"


def test_export_folder_with_taken_at(folder, tmp_path):
    result = ingest([Source(path=folder)], tmp_path, taken_at=WHEN)
    snaps = result.tables["snapshots"].frame
    assert (snaps.taken_at == pd.Timestamp(WHEN)).all()
    # Display names are the account ids, repaired from the export's per-byte escaping.
    assert sorted(snaps[snaps.direction == "followers"].account_id) == [
        "Jana Nováková", "Sourdough Club Leipzig", "Tomáš Pekař"]
    assert sorted(snaps[snaps.direction == "following"].account_id) == [
        "Jana Nováková", "Velo Journal"]
    assert [(Path(r.source).name, r.location, r.reason) for r in result.rejects] == [
        ("people_who_followed_you.json", "record 4", "expected an entry with a 'name'")]
    # The friends list is not a follower list: skipped and listed, not guessed at.
    assert [Path(p).name for p, _ in result.skipped] == ["your_friends.json"]
    extra = pd.read_parquet(tmp_path / "snapshots_extra.parquet")
    jana = [json.loads(e) for e in extra[extra.account_id == "Jana Nováková"].extra]
    assert {e["platform"] for e in jana} == {"facebook"}
    assert {e["followed_at"] for e in jana} == {"2024-04-01T09:00:00+00:00",
                                                "2024-04-02T09:00:00+00:00"}


def test_without_taken_at_every_entry_is_rejected_saying_why(folder, tmp_path):
    result = ingest([Source(path=folder, format="facebook")], tmp_path)
    assert result.tables["snapshots"].accepted == 0
    assert sum("pass --taken-at" in r.reason for r in result.rejects) == 5


def test_detected_by_its_keys(folder):
    assert detect_format(folder / "connections" / "followers" / "who_you've_followed.json") == \
        "facebook"
