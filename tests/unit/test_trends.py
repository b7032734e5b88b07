"""Follower trends against the person's post topics: intervals, topics, tests and outputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import Config
from pipeline.stages import trends

T0 = pd.Timestamp("2024-01-01", tz="UTC")
TOPIC_WORDS = [
    ["sourdough starter", "rye loaf crumb", "levain proofing basket", "sourdough loaf"],
    ["gravel bike tour", "cycling climb", "bike saddle bags", "touring bike ride"],
    ["balcony tomatoes", "compost seedlings", "allotment beans", "tomatoes compost"],
]


def series(effect: float, n_intervals: int = 40, seed: int = 0, n_posts: int = 160,
           per_post: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Follower snapshots at irregular times, own posts and their embeddings.

    New followers a day: 0.4 + ``effect`` x the share of sourdough (topic 0) among the
    interval's posts, as the demo plants it; with ``per_post``, ``effect`` new followers per
    sourdough post instead. Losses: 0.3 a day whatever is posted.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.integers(3, 15, size=n_intervals)
    times = T0 + pd.to_timedelta(np.concatenate([[0], np.cumsum(gaps)]), unit="D")
    span = (times[-1] - T0) / pd.Timedelta(days=1)
    when = (T0 + pd.to_timedelta(np.sort(rng.uniform(0, span, n_posts)), unit="D")).floor("s")
    # The topic mix drifts from interval to interval, as a person's posting does.
    slot = np.searchsorted(times, when)
    mix = rng.dirichlet([0.7, 0.7, 0.7], size=len(times) + 1)
    topic = np.array([rng.choice(3, p=mix[s]) for s in slot])
    texts = [f"{TOPIC_WORDS[k][rng.integers(0, 4)]} today" for k in topic]
    emb = np.eye(3)[topic] + rng.normal(0, 0.25, (n_posts, 3))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)

    followers, next_id, rows = {f"f{i}" for i in range(300)}, 300, []
    for i, t in enumerate(times):
        if i:
            days = (t - times[i - 1]) / pd.Timedelta(days=1)
            inside = (when > times[i - 1]) & (when <= t)
            on_topic = int((inside & (topic == 0)).sum())
            share = on_topic / inside.sum() if inside.any() else 0.0
            rate = 0.4 * days + (effect * on_topic if per_post else effect * share * days)
            for _ in range(rng.poisson(rate)):
                followers.add(f"f{next_id}")
                next_id += 1
            leave = min(rng.poisson(0.3 * days), len(followers))
            followers -= set(rng.choice(sorted(followers), size=leave, replace=False))
        rows += [{"taken_at": t, "direction": "followers", "account_id": a} for a in followers]
    own = pd.DataFrame({"post_id": [f"p{i}" for i in range(n_posts)], "created_at": when,
                        "text": texts})
    return pd.DataFrame(rows), own, emb


def snaps(lists: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([{"taken_at": t, "direction": "followers", "account_id": a}
                         for t, ids in lists.items() for a in ids])


def test_follower_intervals_count_gains_losses_and_net_over_irregular_times():
    counts, intervals = trends.follower_intervals(snaps({
        "2024-01-01T00:00Z": ["a", "b", "c"],
        "2024-01-04T00:00Z": ["a", "b", "c", "d", "e"],
        "2024-01-20T12:00Z": ["a", "d", "f"],
    }))
    assert counts["followers"].tolist() == [3, 5, 3]
    assert intervals[["gains", "losses", "net"]].values.tolist() == [[2, 0, 2], [1, 3, -2]]
    assert intervals["days"].tolist() == [3.0, 16.5]


def test_posts_fall_in_the_interval_that_ends_after_them():
    _, intervals = trends.follower_intervals(snaps({
        "2024-01-01T00:00Z": ["a"], "2024-01-08T00:00Z": ["a"], "2024-01-15T00:00Z": ["a"]}))
    created = pd.Series(pd.to_datetime([
        "2023-12-31T00:00Z",  # before the first snapshot: in no interval
        "2024-01-01T00:00Z",  # at the first snapshot: taken after it, so in no interval either
        "2024-01-03T00:00Z", "2024-01-08T00:00Z",  # interval 0 (the second at its end)
        "2024-01-08T00:01Z",  # interval 1
        "2024-02-01T00:00Z", None]))
    topics = np.array([0, 0, 1, 0, 1, 0, 1])
    out = trends.posts_per_interval(intervals, created, topics, 2)
    assert out["posts_topic_0"].tolist() == [1, 0]
    assert out["posts_topic_1"].tolist() == [1, 1]
    assert out["posts"].tolist() == [2, 1]


def test_topic_labels_are_the_distinctive_terms_of_each_cluster():
    texts = ["Sourdough starter bubbling", "My sourdough loaf", "The starter smells of rye",
             "Gravel bike tour", "Bike tour over the pass", "New bike saddle",
             "Die Tomaten auf dem Balkon", "Tomaten und Kompost", "Kompost umgesetzt"]
    labels = trends.label_topics(texts, np.array([0, 0, 0, 1, 1, 1, 2, 2, 2]))
    assert set(labels[0]) & {"sourdough", "starter"}
    assert "bike" in labels[1]
    assert set(labels[2]) & {"tomaten", "kompost"}
    assert not {"die", "und", "the", "dem"} & set(sum(labels, []))


def test_holm_adjustment_matches_the_textbook_values():
    # p = (0.01, 0.04, 0.03, 0.005): sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> monotone.
    assert trends._holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def sourdough(result: trends.TrendsResult) -> dict:
    planted = [t for t in result.topics
               if {"sourdough", "loaf", "starter", "levain"} & set(t["terms"])]
    assert len(planted) == 1, [t["label"] for t in result.topics]
    return planted[0]


def test_planted_topic_effect_is_detected_on_its_topic_and_estimated():
    snapshots, own, emb = series(effect=1.5, seed=1)
    result = trends.analyze(snapshots, own, emb, n_permutations=500, seed=0)
    assert result.can_tell
    gains = sourdough(result)["tests"]["gains"]
    assert gains["detected"] and gains["p_adjusted"] < 0.05
    # 1.5 more followers a day from no sourdough to all sourdough: the interval holds it.
    assert 0 < gains["ci_low"] < 1.5 < gains["ci_high"]
    assert gains["effect_per_month_10pts"] == pytest.approx(gains["slope"] * 3, abs=0.01)
    # Losses do not respond to anything.
    assert not any(t["tests"]["losses"]["detected"] for t in result.topics)
    assert "sourdough" in result.verdict or "loaf" in result.verdict


def test_a_weaker_opposite_association_of_a_trading_off_topic_is_marked_as_a_mirror():
    # Two topics whose shares go against each other; cycling gains strongly, bread "loses"
    # gains weakly: bread is marked as cycling's mirror image, cycling is not.
    shares = np.array([[0.8, 0.2, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1],
                       [0.5, 0.4, 0.1]])
    cyc = {"gains": {"detected": True, "slope": 2.0, "se": 0.4}}
    bread = {"gains": {"detected": True, "slope": -1.0, "se": 0.4}}
    other = {"gains": {"detected": False, "slope": -0.5, "se": 0.4}}
    per_topic = [cyc, bread, other]
    trends.mark_mirrors(per_topic, shares)
    assert bread["gains"]["mirror_of"] == 0 and bread["gains"]["share_corr"] < -0.3
    assert "mirror_of" not in cyc["gains"] and "mirror_of" not in other["gains"]
    # Same signs, or shares that do not trade off: no mark.
    same = [{"gains": {"detected": True, "slope": 2.0, "se": 0.4}},
            {"gains": {"detected": True, "slope": 1.0, "se": 0.4}}]
    trends.mark_mirrors(same, shares[:, :2])
    assert not any("mirror_of" in t["gains"] for t in same)
    apart = [{"gains": {"detected": True, "slope": 2.0, "se": 0.4}},
             {"gains": {"detected": True, "slope": -1.0, "se": 0.4}}]
    trends.mark_mirrors(apart, np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.8], [0.3, 0.35]]))
    assert not any("mirror_of" in t["gains"] for t in apart)


def test_the_verdict_words_a_mirror_image_as_such():
    topics = [
        {"label": "bike / ride", "tests": {"gains": {
            "detected": True, "slope": 6.0, "ci_low": 3.0, "ci_high": 9.0, "p_adjusted": 0.01}}},
        {"label": "bread / loaf", "tests": {"gains": {
            "detected": True, "slope": -3.0, "ci_low": -5.0, "ci_high": -1.0,
            "p_adjusted": 0.04, "mirror_of": 0}}},
    ]
    text = trends._verdict(topics, {}, True, "", 12, [])
    assert "about bread / loaf, you gain 9 fewer new followers a month" in text
    assert "which may be only the mirror image of posting less about bike / ride" in text
    assert text.count("mirror image") == 1


def test_an_effect_per_post_is_detected_too():
    snapshots, own, emb = series(effect=4.0, seed=11, per_post=True)
    result = trends.analyze(snapshots, own, emb, n_permutations=500, seed=0)
    gains = sourdough(result)["tests"]["gains"]
    assert gains["detected"] and gains["slope"] > 0


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_no_effect_variant_detects_nothing(seed):
    snapshots, own, emb = series(effect=0.0, seed=seed)
    result = trends.analyze(snapshots, own, emb, n_permutations=500, seed=0)
    assert result.can_tell
    assert not any(t["tests"][o]["detected"] for t in result.topics for o in t["tests"])
    assert result.verdict.startswith("No topic shows a clear link")
    assert result.method["multiple_testing"].startswith("all topic and volume tests")


def test_steady_growth_with_a_drifting_topic_mix_is_not_taken_for_an_effect():
    # Followers grow faster over time and the person posts more sourdough over time, but the
    # posts do nothing: the time trend in the model has to absorb the growth.
    rng = np.random.default_rng(7)
    times = T0 + pd.to_timedelta(np.arange(0, 7 * 41, 7), unit="D")
    n_posts = 200
    when = T0 + pd.to_timedelta(np.sort(rng.uniform(0, 7 * 40, n_posts)), unit="D")
    when = when.floor("s")
    share = np.linspace(0.05, 0.9, n_posts)  # sourdough share rises through the year
    topic = np.where(rng.random(n_posts) < share, 0, rng.integers(1, 3, n_posts))
    emb = np.eye(3)[topic] + rng.normal(0, 0.2, (n_posts, 3))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    followers, nxt, rows = set(), 0, []
    for i, t in enumerate(times):
        for _ in range(rng.poisson(2 + 0.4 * i)):
            followers.add(f"f{nxt}")
            nxt += 1
        rows += [{"taken_at": t, "direction": "followers", "account_id": a} for a in followers]
    own = pd.DataFrame({"post_id": [f"p{i}" for i in range(n_posts)], "created_at": when,
                        "text": [TOPIC_WORDS[k][0] for k in topic]})
    result = trends.analyze(pd.DataFrame(rows), own, emb, n_permutations=500, seed=0)
    assert result.can_tell
    assert not any(t["tests"]["gains"]["detected"] for t in result.topics)


def test_too_few_intervals_means_cannot_tell_and_no_p_value():
    snapshots, own, emb = series(effect=5.0, n_intervals=5, seed=5)
    result = trends.analyze(snapshots, own, emb, n_permutations=200, min_intervals=6)
    assert not result.can_tell
    assert result.verdict.startswith("Cannot tell")
    assert "only 5 intervals" in result.verdict
    dumped = json.dumps(trends._plain(result.to_json()))
    assert "p_value" not in dumped and "p_adjusted" not in dumped
    assert len(result.intervals) == 5  # the descriptive table is still there


def test_enough_intervals_for_the_threshold_but_not_for_the_model_cannot_tell():
    snapshots, own, emb = series(effect=5.0, n_intervals=6, seed=5)
    result = trends.analyze(snapshots, own, emb, n_topics=3, n_permutations=200,
                            min_intervals=2)
    assert not result.can_tell
    assert "too few" in result.verdict


def test_a_topic_with_posts_in_too_few_intervals_cannot_be_told():
    snapshots, own, emb = series(effect=0.0, n_intervals=20, seed=6)
    # Move all posts of one topic into the first interval.
    topic2 = emb.argmax(axis=1) == 2
    own.loc[topic2, "created_at"] = T0 + pd.Timedelta(hours=1)
    result = trends.analyze(snapshots, own, emb, n_permutations=200, seed=0)
    crowded = [t for t in result.topics if t["tests"]["gains"].get("can_tell") is False]
    assert len(crowded) == 1
    # (a post or two whose noisy embedding lands in the topic may sit elsewhere)
    assert re.search(r"fall in only [12] intervals", crowded[0]["tests"]["gains"]["why"])
    assert all("p_value" in t["tests"]["gains"] for t in result.topics if t is not crowded[0])


def test_no_own_posts_cannot_tell():
    snapshots, _, _ = series(effect=0.0, n_intervals=10, seed=8)
    own = pd.DataFrame({"post_id": [], "created_at": [], "text": []})
    result = trends.analyze(snapshots, own, np.zeros((0, 3)))
    assert result.topics == [] and result.verdict.startswith("Cannot tell")
    assert result.intervals["posts"].sum() == 0


def test_embeddings_must_match_the_posts():
    snapshots, own, emb = series(effect=0.0, n_intervals=8, seed=9)
    with pytest.raises(ValueError, match="embeddings"):
        trends.analyze(snapshots, own, emb[:-1])


def test_run_writes_json_and_a_png(tmp_path, monkeypatch):
    from pipeline.data import io

    snapshots, own, emb = series(effect=1.5, n_intervals=30, seed=10)
    data = tmp_path / "ingested"
    io.write_table(snapshots, io.table_path(data, "snapshots"))
    io.write_table(own, io.table_path(data, "own_posts"))
    texts_seen = []

    def fake_embed(texts, cfg):
        texts_seen.extend(texts)
        return emb  # the table is read back in the order it was written

    monkeypatch.setattr(trends, "embed", fake_embed)
    cfg = Config().model_copy(update={
        "ingest": Config().ingest.model_copy(update={"out_dir": data}),
        "trends": Config().trends.model_copy(update={
            "out": tmp_path / "trends.json", "plot": tmp_path / "followers.png",
            "n_permutations": 300})})
    result = trends.run(cfg)
    assert texts_seen == own["text"].tolist()
    saved = json.loads((tmp_path / "trends.json").read_text())
    assert saved["verdict"] == result.verdict and saved["n_intervals"] == 30
    assert len(saved["intervals"]) == 30 and saved["intervals"][0]["start"].startswith("2024")
    assert {"label", "terms", "n_posts", "tests"} <= set(saved["topics"][0])
    assert "Holm" in saved["method"]["multiple_testing"]
    png = (tmp_path / "followers.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


# ---------------------------------------------------------------- the demo's planted truth

CYCLING = {"bike", "ride", "rode", "cycling", "touring", "saddle", "gravel", "tour",
           "cyclingtour", "bikepacking", "km", "panniers"}
GARDENING = {"garden", "gardening", "allotment", "compost", "tomatoes", "seed", "seedlings",
             "plot", "balcony", "beds"}


def demo_trends(tmp_path, topic_effect: bool) -> tuple[trends.TrendsResult, dict, Config]:
    from pipeline import demo
    from pipeline.core.config import Source
    from pipeline.data.ingest import ingest

    cfg = Config()
    cfg = cfg.model_copy(update={
        "base": cfg.base.model_copy(update={"cache_dir": tmp_path / "cache"}),
        "user": cfg.user.model_copy(update={"handle": "maya.bakes", "languages": ["en", "de"]}),
        "demo": cfg.demo.model_copy(update={"out_dir": tmp_path / "raw",
                                            "truth_out": tmp_path / "truth.json",
                                            "n_followers": 2000, "seed": 42,
                                            "topic_effect": topic_effect}),
        "ingest": cfg.ingest.model_copy(update={"out_dir": tmp_path / "ingested"}),
        "trends": cfg.trends.model_copy(update={"out": tmp_path / "trends.json",
                                                "plot": tmp_path / "followers.png"}),
    })
    demo.generate(cfg)
    ingest([Source(path=tmp_path / "raw")], tmp_path / "ingested")
    truth = json.loads((tmp_path / "truth.json").read_text())
    return trends.run(cfg), truth, cfg


def topic_about(result: trends.TrendsResult, words: set[str]) -> dict:
    hits = [t for t in result.topics if words & set(t["terms"])]
    assert len(hits) == 1, [t["label"] for t in result.topics]
    return hits[0]


@pytest.mark.slow
def test_the_demos_planted_topic_effect_is_detected(tmp_path):
    result, truth, cfg = demo_trends(tmp_path, topic_effect=True)
    effect = truth["topic_effect"]
    assert effect["gains_respond_to"] == "cycling" and effect["losses_respond_to"] == "gardening"
    assert result.can_tell and len(result.intervals) == len(truth["snapshots"]) - 1
    # The demo's German posts are left out of the topics, and say so.
    assert result.method["other_languages"] == ["de"]
    cycling = topic_about(result, CYCLING)["tests"]
    assert cycling["gains"]["detected"] and cycling["gains"]["slope"] > 0
    gardening = topic_about(result, GARDENING)["tests"]
    assert gardening["losses"]["detected"] and gardening["losses"]["slope"] > 0
    assert not gardening["gains"]["detected"]
    saved = json.loads(cfg.trends.out.read_text())
    assert saved["verdict"] == result.verdict and "bike" in saved["verdict"]
    assert cfg.trends.plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_the_demos_no_effect_variant_detects_nothing(tmp_path):
    result, truth, _ = demo_trends(tmp_path, topic_effect=False)
    assert not truth["topic_effect"]["enabled"]
    assert result.can_tell
    assert not any(t["tests"][o]["detected"] for t in result.topics for o in t["tests"])
    assert result.verdict.startswith("No topic shows a clear link")


# ---------------------------------------------------------------- real export formats


@pytest.mark.slow
def test_x_archives_with_own_tweets_go_through_trends(fixtures, tmp_path):
    """Four X archives (follower and following lists, manifest times) and the person's
    tweets.js: the real importer, the real encoder, and an honest "cannot tell" with three
    intervals, the follower counts right."""
    import shutil

    from pipeline.core.config import Source
    from pipeline.data import io
    from pipeline.data.ingest import ingest

    archives = tmp_path / "archives"
    shutil.copytree(fixtures / "churn" / "x_archives", archives)
    subjects = ["sourdough crumb and a long cold proof", "a gravel ride along the river",
                "seedlings on the balcony", "rye starter after a week in the fridge"]
    tweets = [{"tweet": {"id_str": str(1_700_000_000_000_000_000 + i),
                         "created_at": (pd.Timestamp("2024-02-03", tz="UTC")
                                        + pd.Timedelta(days=7 * i)).strftime(
                                            "%a %b %d %H:%M:%S +0000 %Y"),
                         "full_text": f"Week {i}: {subjects[i % 4]}."}} for i in range(12)]
    last = sorted(archives.iterdir())[-1] / "data"
    (last / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(tweets, indent=1))
    ingested = tmp_path / "ingested"
    ingest([Source(path=a) for a in sorted(archives.iterdir())], ingested)
    assert len(io.read_table(ingested, "own_posts")) == 12

    cfg = Config()
    cfg = cfg.model_copy(update={
        "base": cfg.base.model_copy(update={"cache_dir": tmp_path / "cache"}),
        "ingest": cfg.ingest.model_copy(update={"out_dir": ingested}),
        "trends": cfg.trends.model_copy(update={"out": tmp_path / "trends.json",
                                                "plot": tmp_path / "followers.png",
                                                "n_topics": 2})})
    result = trends.run(cfg)
    assert not result.can_tell and "cannot tell" in result.verdict.lower()
    assert "only 3 intervals" in result.verdict
    assert all(topic["tests"] == {} for topic in result.topics)  # no test run, no p-value
    assert sum(topic["n_posts"] for topic in result.topics) == 12
    snapshots = io.read_table(ingested, "snapshots")
    followers = snapshots[snapshots["direction"] == "followers"]
    sets = [set(g["account_id"]) for _, g in followers.groupby("taken_at")]
    assert len(result.intervals) == len(sets) - 1 == 3
    pairs = list(zip(sets[:-1], sets[1:], strict=True))
    assert result.intervals["gains"].tolist() == [len(b - a) for a, b in pairs]
    assert result.intervals["losses"].tolist() == [len(a - b) for a, b in pairs]
    assert result.intervals["posts"].sum() == 12  # every tweet falls in an interval
    assert (tmp_path / "followers.png").read_bytes()[:4] == b"\x89PNG"
