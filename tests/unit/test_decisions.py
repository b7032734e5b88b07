"""Implicit decisions from the snapshots, and the labels train learns from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.core.config import Config, load_config
from pipeline.data import io, schema
from pipeline.stages.decisions import (
    build_labels,
    implicit_decisions,
    is_implicit,
    labels_for_training,
)

T0 = pd.Timestamp("2025-01-01T06:00:00Z")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def snaps(rows: dict[float, dict[str, list[str]]]) -> pd.DataFrame:
    """{day: {"followers": [...], "following": [...]}} as a snapshots table."""
    out = []
    for d, lists in rows.items():
        for direction in ("followers", "following"):
            out += [{"taken_at": day(d), "direction": direction, "account_id": a}
                    for a in lists.get(direction, [])]
    return schema.to_frame("snapshots", out)


def one(frame: pd.DataFrame, account_id: str) -> pd.Series:
    rows = frame[frame["account_id"] == account_id]
    assert len(rows) == 1, frame
    return rows.iloc[0]


def test_a_follower_you_follow_was_followed_back_when_a_snapshot_first_shows_it():
    frame = implicit_decisions(snaps({
        0: {"followers": ["a"], "following": ["x"]},
        30: {"followers": ["a"], "following": ["x", "a"]},
        60: {"followers": ["a"], "following": ["x", "a"]},
    }))
    row = one(frame, "a")
    assert row["follow_back"] and row["decided_at"] == day(30)
    assert row["kind"] == "followed_back" and row["source"] == "implicit"
    assert row["note"].startswith("implicit") and "2025-01-31" in row["note"]
    assert "x" not in set(frame["account_id"])  # followed, never a follower: no decision


@pytest.mark.parametrize(("days", "decided"), [
    ([0, 13.9], None),       # not yet 14 days: no decision
    ([0, 14], 14),           # exactly 14 days: not followed back, decided then
    ([0, 10, 20, 40], 20),   # the first snapshot after 14 days
])
def test_a_follower_not_followed_for_14_days_was_not_followed_back(days, decided):
    frame = implicit_decisions(snaps({d: {"followers": ["a"], "following": ["x"]}
                                      for d in days}), after_days=14)
    if decided is None:
        assert frame.empty
    else:
        row = one(frame, "a")
        assert not row["follow_back"] and row["decided_at"] == day(decided)
        assert row["kind"] == "not_followed" and row["note"].startswith("implicit")


def test_the_wait_is_a_parameter():
    s = snaps({d: {"followers": ["a"], "following": ["x"]} for d in (0, 20, 40)})
    assert one(implicit_decisions(s, after_days=14), "a")["decided_at"] == day(20)
    assert one(implicit_decisions(s, after_days=30), "a")["decided_at"] == day(40)
    assert implicit_decisions(s, after_days=60).empty


def test_a_follower_that_left_before_the_wait_gets_no_decision():
    frame = implicit_decisions(snaps({
        0: {"followers": ["a", "b"], "following": ["x"]},
        30: {"followers": ["b"], "following": ["x"]},
    }))
    assert list(frame["account_id"]) == ["b"]


def test_you_followed_first_is_followed_back_but_says_so():
    frame = implicit_decisions(snaps({
        0: {"followers": ["z"], "following": ["a"]},
        30: {"followers": ["z", "a"], "following": ["a"]},
    }))
    row = one(frame, "a")
    assert row["follow_back"] and row["kind"] == "followed_first"
    assert row["decided_at"] == day(30) and "first" in row["note"]


def test_a_follow_back_undone_later_is_not_followed_back_from_the_undo():
    frame = implicit_decisions(snaps({
        0: {"followers": ["a", "t"], "following": ["x"]},
        30: {"followers": ["a", "t"], "following": ["a", "t"]},
        60: {"followers": ["a"], "following": ["a", "t"]},      # t left: the trick, not an undo
        90: {"followers": ["a"], "following": ["t"]},           # you unfollowed a
    }))
    a = one(frame, "a")
    assert not a["follow_back"] and a["kind"] == "undone" and a["decided_at"] == day(90)
    assert "unfollowed" in a["note"] and a["note"].startswith("implicit")
    t = one(frame, "t")  # still followed back at the last snapshot it followed you
    assert t["follow_back"] and t["decided_at"] == day(30)


def test_times_without_a_following_list_do_not_count():
    s = pd.concat([
        snaps({0: {"followers": ["a"], "following": ["x"]}}),
        snaps({30: {"followers": ["a"]}}),  # no following list then: whether you follow a?
    ])
    assert implicit_decisions(s).empty
    assert implicit_decisions(snaps({0: {"followers": ["a"]}, 30: {"followers": ["a"]}})).empty


def test_already_mutual_in_the_first_snapshot():
    row = one(implicit_decisions(snaps({0: {"followers": ["a"], "following": ["a"]}})), "a")
    assert row["follow_back"] and row["kind"] == "already_mutual"


# ---- explicit and implicit together --------------------------------------------------------


SNAPS = {
    0: {"followers": ["a", "b", "c"], "following": ["a"]},
    30: {"followers": ["a", "b", "c"], "following": ["a"]},
}


def _tables(decisions: list[dict]) -> dict[str, pd.DataFrame]:
    return {"snapshots": snaps(SNAPS), "decisions": schema.to_frame("decisions", decisions)}


def test_explicit_decisions_always_win():
    labels = build_labels(Config(), _tables([
        {"account_id": "a", "follow_back": False, "decided_at": day(5), "note": "changed mind"},
        {"account_id": "b", "follow_back": True, "decided_at": day(40)},
    ]))
    frame = labels.frame.set_index("account_id")
    assert not frame.loc["a", "follow_back"] and frame.loc["a", "source"] == "explicit"
    assert frame.loc["b", "follow_back"] and frame.loc["b", "source"] == "explicit"
    assert frame.loc["c", "source"] == "implicit" and not frame.loc["c", "follow_back"]
    assert labels.counts["explicit"] == 2 and labels.counts["implicit"] == 1
    assert labels.counts["implicit_overruled_by_explicit"] == 2
    assert list(labels.frame["decided_at"]) == sorted(labels.frame["decided_at"])


def test_implicit_decisions_can_be_switched_off():
    cfg = Config.model_validate({"decisions": {"implicit": False}})
    labels = build_labels(cfg, _tables([
        {"account_id": "b", "follow_back": True, "decided_at": day(40)},
        {"account_id": "c", "follow_back": False, "note": "implicit: from an old labels file"},
    ]))
    assert list(labels.frame["account_id"]) == ["b"]
    assert set(labels.frame["source"]) == {"explicit"}
    assert any("switched off" in n for n in labels.notes)


def test_an_ingested_implicit_note_counts_as_implicit_and_the_snapshots_replace_it():
    labels = build_labels(Config(), _tables([
        {"account_id": "c", "follow_back": True, "note": "implicit: from an old labels file"},
        {"account_id": "z", "follow_back": True, "note": "Implicit: not in the snapshots"},
    ]))
    frame = labels.frame.set_index("account_id")
    assert frame.loc["c", "kind"] == "not_followed" and not frame.loc["c", "follow_back"]
    assert frame.loc["z", "source"] == "implicit" and frame.loc["z", "kind"] == "ingested"
    assert labels.counts["explicit"] == 0


def test_apply_reads_the_same_decisions_as_implicit(tmp_path):
    """apply's "implicit" test (the note) and this module's agree on every implicit note."""
    from pipeline.stages import apply

    frame = implicit_decisions(snaps({
        0: {"followers": ["a", "b", "u"], "following": ["x", "u"]},
        30: {"followers": ["a", "b", "u"], "following": ["a", "x"]},
    }))
    assert set(frame["kind"]) == {"followed_back", "not_followed", "undone"}
    assert is_implicit(frame["note"]).all()
    explicit = schema.to_frame("decisions", [{"account_id": "e", "follow_back": False,
                                              "note": "bread"}])
    table = pd.concat([schema.conform("decisions", frame), explicit], ignore_index=True)
    cfg = Config.model_validate({"ingest": {"out_dir": str(tmp_path / "ingested")},
                                 "report": {"decisions_out": str(tmp_path / "d.csv")}})
    io.write_table(table, io.table_path(cfg.ingest.out_dir, "decisions"))
    assert apply.explicit_decisions(cfg) == {"e": False}


# ---- the command and what train reads ------------------------------------------------------


def _project(tmp_path: Path, **decisions) -> Path:
    params = {
        "ingest": {"out_dir": str(tmp_path / "ingested"), "sources": []},
        "decisions": {"out": str(tmp_path / "labels.parquet"), **decisions},
    }
    io.write_table(snaps(SNAPS), io.table_path(tmp_path / "ingested", "snapshots"))
    io.write_table(schema.to_frame("decisions", [
        {"account_id": "b", "follow_back": True, "decided_at": day(40)}]),
        io.table_path(tmp_path / "ingested", "decisions"))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_the_decisions_command_writes_labels_with_their_source(tmp_path):
    from pipeline.cli import app

    params = _project(tmp_path)
    result = CliRunner().invoke(app, ["decisions", "--params", str(params)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "explicit" in result.output and "implicit" in result.output
    labels = pd.read_parquet(tmp_path / "labels.parquet")
    assert list(labels.columns) == ["account_id", "follow_back", "decided_at", "note", "source",
                                    "kind"]
    assert dict(zip(labels["account_id"], labels["source"], strict=True)) == {
        "a": "implicit", "b": "explicit", "c": "implicit"}
    # train reads the file; switched off afterwards, it keeps only the explicit decisions
    cfg = load_config(params)
    assert len(labels_for_training(cfg, {}).frame) == 3
    off = cfg.model_copy(update={"decisions": cfg.decisions.model_copy(
        update={"implicit": False})})
    assert list(labels_for_training(off, {}).frame["account_id"]) == ["b"]


def test_train_does_not_read_a_labels_file_older_than_the_ingested_decisions(tmp_path):
    import os

    from pipeline.cli import app

    params = _project(tmp_path)
    CliRunner().invoke(app, ["decisions", "--params", str(params)], catch_exceptions=False)
    cfg = load_config(params)
    # A new explicit decision ingested after the labels were written
    io.write_table(schema.to_frame("decisions", [
        {"account_id": "b", "follow_back": True, "decided_at": day(40)},
        {"account_id": "c", "follow_back": True, "decided_at": day(41)}]),
        io.table_path(tmp_path / "ingested", "decisions"))
    old = (tmp_path / "labels.parquet").stat().st_mtime - 10
    os.utime(tmp_path / "labels.parquet", (old, old))
    labels = labels_for_training(cfg, {}).frame.set_index("account_id")
    assert labels.loc["c", "source"] == "explicit" and labels.loc["c", "follow_back"]
