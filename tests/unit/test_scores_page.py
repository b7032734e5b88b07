"""Paging through the scores file for the app: sorted, filtered, searched, from a fresh copy."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from pipeline.data import scores as S
from pipeline.stages.review import queue


def scores_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "account_id": [f"id{i}" for i in range(n)],
        "handle": [f"@user{i}" for i in range(n)],
        "display_name": [("Baker " if i % 3 == 0 else "Rider ") + str(i) for i in range(n)],
        "bio": [None if i % 5 == 0 else f"=bio {i}" for i in range(n)],  # neutralised in CSV
        "probability": np.round(rng.random(n), 4),
        "threshold": 0.4,
        "verdict": rng.choice(["follow back", "review", "skip"], n),
        "override": ["allow list" if i == 7 else "" for i in range(n)],
        "reason_1": ["your posts look offensive — max toxicity 0.93"] * n,
        "reason_2": None, "reason_3": None,
    })
    for c in S.CONTRIB_COLUMNS:
        frame[c] = np.round(rng.normal(size=n), 4)
    frame.loc[3, "probability"] = frame.loc[4, "probability"]  # a tie keeps the file's order
    return S.conform_scores(frame)


def write_csv(frame: pd.DataFrame, path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        S.neutralise_frame(frame).to_csv(fh, index=False, lineterminator=S.CSV_LINE_END)


@pytest.fixture
def csv(tmp_path):
    S._LOADED.clear()
    path = tmp_path / "scores.csv"
    write_csv(scores_frame(), path)
    yield path
    S._LOADED.clear()


def test_the_first_page_is_the_review_queues_first_page(csv):
    expected = queue(S.read_scores(csv), pd.DataFrame({"account_id": []}))
    page = S.page(csv, limit=10, overridden=False)
    assert page.total == len(expected) == 39
    pd.testing.assert_frame_equal(page.rows, expected.head(10))
    second = S.page(csv, offset=10, limit=10, overridden=False)
    pd.testing.assert_frame_equal(second.rows, expected.iloc[10:20].reset_index(drop=True))


def test_pages_sort_filter_search_and_exclude(csv):
    full = S.read_scores(csv)
    page = S.page(csv, limit=100, order="probability", descending=True)
    assert page.rows["probability"].is_monotonic_decreasing
    assert page.total == len(full)
    skips = S.page(csv, limit=100, verdicts=["skip"])
    assert set(skips.rows["verdict"]) == {"skip"} and skips.total == (full.verdict == "skip").sum()
    bakers = S.page(csv, limit=100, query="BAKER")
    assert bakers.total == 14 and bakers.rows["display_name"].str.startswith("Baker").all()
    by_bio = S.page(csv, limit=100, query="=bio 1")  # the neutralising quote is undone
    assert set(by_bio.rows["account_id"]) == {"id1", *{f"id{i}" for i in range(11, 20)
                                                       if i != 15}}
    decided = S.page(csv, limit=100, exclude={"id1", "id2"})
    assert decided.total == len(full) - 2 and not {"id1", "id2"} & set(decided.rows.account_id)
    assert S.page(csv, offset=35, limit=10).rows.shape[0] == 5
    with pytest.raises(ValueError, match="unknown order"):
        S.page(csv, order="nope")


def test_a_tie_keeps_the_files_order_either_way(csv):
    up = S.page(csv, limit=100, order="probability").rows["account_id"].tolist()
    down = S.page(csv, limit=100, order="probability", descending=True).rows["account_id"]
    assert up.index("id3") + 1 == up.index("id4")
    assert down.tolist().index("id3") + 1 == down.tolist().index("id4")


def test_the_parquet_copy_is_written_read_and_never_stale(csv):
    side = S.sidecar_path(csv)
    assert side.name == ".scores.csv.parquet"
    first = S.load_scores(csv)  # no copy yet: reads the CSV, writes the copy
    assert side.is_file()
    pd.testing.assert_frame_equal(first, S.read_scores(csv))
    S._LOADED.clear()
    pd.testing.assert_frame_equal(S.load_scores(csv), first)  # from the copy
    # The scores file replaced: the copy no longer matches its size and time, and is rebuilt.
    changed = scores_frame(seed=1)
    write_csv(changed, csv)
    os.utime(csv, ns=(time.time_ns(), time.time_ns() + 10**9))
    S._LOADED.clear()
    pd.testing.assert_frame_equal(S.load_scores(csv), S.read_scores(csv))
    assert not S.load_scores(csv)["probability"].equals(first["probability"])


def test_a_damaged_copy_is_ignored(csv):
    S.load_scores(csv)
    S.sidecar_path(csv).write_bytes(b"not parquet")
    S._LOADED.clear()
    pd.testing.assert_frame_equal(S.load_scores(csv), S.read_scores(csv))


def test_a_parquet_scores_file_needs_no_copy(tmp_path):
    S._LOADED.clear()
    path = tmp_path / "scores.parquet"
    scores_frame().to_parquet(path)
    assert S.page(path, limit=5).total == 40
    assert not S.sidecar_path(path).exists()


def test_score_writes_the_copy_beside_the_csv_and_page_reads_it(tmp_path):
    from pipeline.data import io
    from pipeline.stages.score.spool import assemble

    parts = []
    frame = scores_frame()
    for k, part in enumerate((frame.iloc[:25], frame.iloc[25:])):
        parts.append(tmp_path / f"part-{k}.parquet")
        io.write_table(part.reset_index(drop=True), parts[-1])
    out = tmp_path / "scores.csv"
    with io.OutputSet() as files:
        written = files.file(out)
        assemble(parts, written)
        S.write_sidecar((pd.read_parquet(p) for p in parts), out, source=written,
                        target=files.file(S.sidecar_path(out)))
    S._LOADED.clear()
    assert S._fresh_sidecar(out) is not None  # the copy records the moved file's size and time
    pd.testing.assert_frame_equal(S.load_scores(out), S.read_scores(out))
