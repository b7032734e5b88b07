"""Follower groups: MinHash LSH likeness of bios, names and posts, creation weeks, intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.data.groups import (
    GROUP_FEATURES,
    creation_weeks,
    first_seen_intervals,
    group_features,
    group_sentence,
    minhash_signatures,
    similar_groups,
)


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_signatures_equal_datasketch_minhash():
    from datasketch import MinHash

    shingles = [{b"crypto", b"signals", b"vip"}, {b"sourdough", b"rye"}, {b"x"}]
    signatures = minhash_signatures(shingles, num_perm=32, seed=3)
    for items, row in zip(shingles, signatures, strict=True):
        mh = MinHash(num_perm=32, seed=3, scheme="legacy")
        mh.update_batch(list(items))
        np.testing.assert_array_equal(mh.hashvalues, row)


def test_near_identical_texts_group_and_different_ones_do_not():
    from pipeline.data.groups import _word_shingles

    texts = [f"Crypto signals {n}% this month | DM for the VIP group" for n in (20, 75, 310)]
    texts += ["Sourdough, rye and spelt in Leipzig", "Bike touring along the Elbe", "", ""]
    labels = similar_groups([_word_shingles(t) for t in texts], threshold=0.7)
    assert labels[0] == labels[1] == labels[2] >= 0
    assert len({labels[0], labels[3], labels[4]}) == 3
    # No text: no group (empty bios are not a network).
    assert labels[5] == labels[6] == -1


def test_creation_weeks_and_missing():
    weeks = creation_weeks(pd.Series(["2024-04-15T00:00:00Z", "2024-04-21T23:59:00Z",
                                      "2024-04-22T00:00:00Z", None]))
    assert weeks[0] == weeks[1] != weeks[2]  # Monday to Sunday
    assert weeks[3] == -1


def test_first_seen_intervals_ignore_the_first_snapshot():
    snaps = pd.DataFrame({
        "taken_at": ["2024-01-01T00:00:00Z"] * 2 + ["2024-02-01T00:00:00Z"] * 4,
        "direction": ["followers"] * 6,
        "account_id": ["old", "old2", "old", "old2", "new", "new2"],
    })
    assert first_seen_intervals(["old", "new", "new2", "never"], snaps).tolist() == [
        -1, 1, 1, -1]
    assert first_seen_intervals(["a"], None).tolist() == [-1]


def test_group_features_count_other_followers():
    week = "2024-04-16T10:00:00Z"
    farm = [{"account_id": f"f{i}", "created_at": week, "display_name": f"Anna {i}",
             "bio": f"Crypto signals {i * 13}% | DM for the VIP group"} for i in range(6)]
    people = [{"account_id": f"p{i}", "created_at": f"20{10 + i}-03-01T00:00:00Z",
               "display_name": name, "bio": bio} for i, (name, bio) in enumerate([
                   ("Maya", "Sourdough in Leipzig"), ("Tom", "Bike touring"),
                   ("Ida", None), ("Ben", "Tomatoes on the balcony")])]
    snaps = pd.DataFrame({"taken_at": ["2024-01-01T00:00:00Z"] * 4 + ["2024-05-01T00:00:00Z"]
                          * 10, "direction": "followers",
                          "account_id": [f"p{i}" for i in range(4)] * 2
                          + [f"f{i}" for i in range(6)]})
    out = group_features(_frame(farm + people), snaps)
    assert list(out.columns) == GROUP_FEATURES
    f = out.iloc[:6]
    assert (f["group_same_week"] == 5).all()
    assert (f["group_similar_bio"] >= 4).all()
    assert (f["group_week_and_text"] >= 4).all()
    assert (f["group_same_interval"] == 5).all() and (f["group_week_and_interval"] == 5).all()
    p = out.iloc[6:]
    assert (p.drop(columns="group_same_interval") == 0).all().all()
    # Those there from the first snapshot share nothing.
    assert (p["group_same_interval"] == 0).all()


def test_group_sentence_in_the_persons_words():
    row = {"group_same_week": 36, "group_similar_bio": 36, "group_similar_name": 0,
           "group_similar_posts": 0, "group_same_interval": 80, "group_week_and_text": 36,
           "group_week_and_interval": 3}
    assert group_sentence(row) == ("one of 37 followers created the same week with a "
                                   "near-identical bio")
    assert group_sentence({k: 2 for k in row}) is None
    # Following in the same month alone is what every month's new followers share.
    assert group_sentence({**{k: 0 for k in row}, "group_same_interval": 300}) is None


@pytest.fixture(scope="module")
def demo_raw(tmp_path_factory):
    from pipeline.demo import demo_config, generate

    out = tmp_path_factory.mktemp("demo") / "raw"
    cfg = demo_config(out_dir=out, n_followers=1000)
    generate(cfg)
    return out, json.loads(cfg.demo.truth_out.read_text())


@pytest.fixture(scope="module")
def demo(demo_raw):
    from pipeline.core.config import Source
    from pipeline.data import ingest
    from pipeline.data.frame import account_frame

    out, truth = demo_raw
    tables = ingest.load([Source(path=out)]).tables
    frame = account_frame(tables["accounts"].frame, tables["posts"].frame)
    return truth, frame, tables["snapshots"].frame


def test_demo_plants_a_follow_farm_and_a_bio_template_network(demo):
    truth, frame, _ = demo
    groups = {g["kind"]: g for g in truth["groups"]}
    assert set(groups) == {"follow_farm", "bio_template"}
    farm, network = groups["follow_farm"], groups["bio_template"]
    assert farm["size"] == len(farm["account_ids"]) >= 10
    assert network["size"] == len(network["account_ids"]) >= 5
    arche = {a: truth["accounts"][a]["archetype"] for g in groups.values()
             for a in g["account_ids"]}
    assert {arche[a] for a in farm["account_ids"]} == {"fake_follower"}
    assert {arche[a] for a in network["account_ids"]} == {"spam_bot"}
    rows = frame.set_index("account_id").loc[farm["account_ids"]]
    assert rows["bio"].nunique() == 1
    assert len(set(creation_weeks(rows["created_at"]))) == 1
    first = pd.to_datetime([truth["accounts"][a]["first_followed_at"]
                            for a in farm["account_ids"]])
    assert (first.max() - first.min()) <= pd.Timedelta(hours=36)


def test_group_features_find_the_planted_groups_in_the_demo(demo):
    truth, frame, snaps = demo
    followers = frame[frame["account_id"].map(
        lambda a: truth["accounts"][a]["follower"])].reset_index(drop=True)
    out = group_features(followers, snaps).set_index(followers["account_id"])
    for g in truth["groups"]:
        # MinHash estimates: most members, if not all, join one group of at least half.
        found = out.loc[g["account_ids"], "group_week_and_text"] >= g["size"] // 2
        assert found.mean() >= 0.8, g["kind"]
    farm = next(g for g in truth["groups"] if g["kind"] == "follow_farm")
    interval = out.loc[farm["account_ids"], "group_week_and_interval"]
    assert (interval >= farm["size"] - 1).mean() >= 0.9
    others = out.drop(index=[a for g in truth["groups"] for a in g["account_ids"]])
    # Few others look like a group of ten or more created the same week.
    assert (others["group_week_and_text"] >= 10).mean() < 0.02


def test_group_column_names_agree_with_the_frame_contract():
    from pipeline.data.frame import GROUP_COLUMNS
    from pipeline.data.groups import GROUP_FEATURES

    assert GROUP_COLUMNS == GROUP_FEATURES


def test_training_and_scoring_count_the_snapshot_intervals_alike(demo_raw, demo, tmp_path):
    """The follow farm arrived within 36 hours: with the snapshots, the frame training reads
    (pipeline.data.frame.follower_groups) and batch scoring (its spool) both count it, the same."""
    from pipeline.core.config import Source
    from pipeline.data.frame import GROUP_COLUMNS, follower_groups
    from pipeline.stages import score as scoring

    out, truth = demo_raw
    _, frame, snaps = demo
    farm = next(g for g in truth["groups"] if g["kind"] == "follow_farm")
    trained = follower_groups(frame, snaps)
    assert (trained.loc[farm["account_ids"], "group_week_and_interval"]
            >= farm["size"] - 1).mean() >= 0.9
    assert (trained["group_same_interval"] > 0).mean() > 0.5  # most arrived after the first
    without = follower_groups(frame)
    assert (without[["group_same_interval", "group_week_and_interval"]] == 0).all().all()
    pd.testing.assert_frame_equal(
        without.drop(columns=["group_same_interval", "group_week_and_interval"]),
        trained.drop(columns=["group_same_interval", "group_week_and_interval"]))

    spool = scoring.spool.Spool(tmp_path / "spool.sqlite")
    for item in scoring.spool.iter_records([Source(path=out)]):
        spool.add(item)
    n = spool.finish(chunk_size=300)["accounts"]
    scored = scoring.spool.spool_groups(spool, -(-n // 300), 30, tmp_path / "groups.parquet")
    spool.close()
    pd.testing.assert_frame_equal(scored.loc[trained.index, GROUP_COLUMNS].astype("int64"),
                                  trained[GROUP_COLUMNS].astype("int64"))
