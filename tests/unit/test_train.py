"""Training logic that needs no model: label checks and the threshold policies."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.config import Config
from pipeline.core.console import FollowbackError
from pipeline.stages.train import check_labels, choose_threshold


def test_too_few_decisions_names_the_minimum():
    cfg = Config()
    with pytest.raises(FollowbackError, match=r"only 7 decisions.*at least 60"):
        check_labels(np.array([0, 1] * 3 + [1]), cfg)


def test_single_class_names_the_missing_class():
    cfg = Config()
    with pytest.raises(FollowbackError, match=r"0 'follow back' and 80 'skip'.*'follow back'"):
        check_labels(np.zeros(80, dtype=int), cfg)


def test_enough_of_both_classes_passes():
    check_labels(np.array([0, 1] * 30), Config())


def test_best_f1_threshold_separates_perfectly_separable_scores():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    t = choose_threshold(y, p, "best_f1", 0.8)
    assert 0.3 < t <= 0.6
    assert ((p >= t) == y.astype(bool)).all()


def test_precision_at_recall_keeps_the_recall_floor():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    t = choose_threshold(y, p, "precision_at_recall", 0.9)
    pred = p >= t
    recall = (pred & (y == 1)).sum() / (y == 1).sum()
    assert recall >= 0.9
    # A higher threshold would lose the floor: the policy took the best precision it could.
    higher = p[p > t].min() if (p > t).any() else None
    if higher is not None:
        assert ((p >= higher) & (y == 1)).sum() / (y == 1).sum() < 0.9


def test_mlflow_input_example_is_naive_utc_and_means_the_same_to_the_bot_features():
    import pandas as pd
    from mlflow.models import infer_signature
    from mlflow.models.utils import _enforce_schema

    from pipeline.features.bot import profile_features
    from pipeline.model.tracking import input_example

    X = pd.DataFrame({
        "handle": ["maya", "bot123"],
        "display_name": ["Maya", None],
        "bio": ["bread", None],
        "followers_count": pd.array([10, None], dtype="Int64"),
        "following_count": pd.array([20, 5000], dtype="Int64"),
        "posts_count": pd.array([300, 2], dtype="Int64"),
        "likes_count": pd.array([None, None], dtype="Int64"),
        "listed_count": pd.array([None, None], dtype="Int64"),
        "created_at": pd.to_datetime(["2019-03-01T10:00:00+02:00", "2024-05-17T00:00:00Z"],
                                     utc=True),
        "last_post_at": pd.to_datetime(["2025-01-01T00:00:00Z", None], utc=True),
        "is_verified": [False, False],
        "is_bot_flagged": [False, None],
        "has_default_avatar": [False, True],
        "url": [None, None],
    })
    example = input_example(X)
    assert example["created_at"].dt.tz is None
    assert example["created_at"][0] == pd.Timestamp("2019-03-01T08:00:00")
    assert example["followers_count"].dtype == "float64"
    # MLflow accepts the example against the signature inferred from it (no tz error) ...
    _enforce_schema(example, infer_signature(example).inputs)
    # ... and the extractors read the naive times as UTC: identical features.
    ref = pd.Timestamp("2026-01-01", tz="UTC")
    pd.testing.assert_frame_equal(profile_features(example, ref), profile_features(X, ref))


# ---- explicit and implicit decisions -------------------------------------------------------


@pytest.fixture(scope="module")
def small_training(tmp_path_factory):
    """A 200-follower demo, ingested, and its training data (no model is fitted)."""
    from pipeline.data.ingest import ingest
    from pipeline.demo import demo_config, generate
    from pipeline.stages.train import load_training_data

    root = tmp_path_factory.mktemp("train-implicit")
    cfg = demo_config(out_dir=root / "raw", n_followers=200)
    cfg = cfg.model_copy(update={
        "ingest": cfg.ingest.model_copy(update={"out_dir": root / "ingested", "sources": []}),
        "decisions": cfg.decisions.model_copy(update={"out": root / "labels.parquet"}),
        "train": cfg.train.model_copy(update={"cv_folds": 3, "eval_dir": root / "eval"}),
    })
    generate(cfg)
    from pipeline.core.config import Source

    ingest([Source(path=root / "raw")], cfg.ingest.out_dir)
    return cfg, load_training_data(cfg)


def test_training_data_holds_explicit_and_implicit_decisions_and_counts_them(small_training):
    cfg, data = small_training
    counts = data.label_counts
    assert counts["n_explicit"] == 120 and counts["n_implicit"] > 20
    assert counts["n_explicit"] + counts["n_implicit"] == len(data.y)
    assert set(data.source) == {"explicit", "implicit"}
    assert data.measured_on == "explicit"
    assert (data.source[data.measured] == "explicit").all()


def test_implicit_switched_off_trains_on_explicit_only(small_training):
    from pipeline.stages.train import load_training_data

    cfg, _ = small_training
    off = cfg.model_copy(update={"decisions": cfg.decisions.model_copy(
        update={"implicit": False})})
    data = load_training_data(off)
    assert data.label_counts["n_implicit"] == 0 and len(data.y) == 120


def test_cv_and_holdout_measure_on_explicit_decisions_and_learn_from_all(small_training,
                                                                           monkeypatch):
    """Every fold and the holdout fit on the implicit decisions too, and predict only
    explicit ones; the holdout fits only on labels decided before it starts."""
    from pipeline.stages import train as train_module

    cfg, data = small_training
    seen = []

    def fake_fit_predict(cfg, data, train_idx, test_idx):
        seen.append((np.asarray(train_idx), np.asarray(test_idx)))
        return None, np.full(len(test_idx), 0.5)

    monkeypatch.setattr(train_module, "_fit_predict", fake_fit_predict)
    monkeypatch.setattr(train_module, "criterion_importance", lambda *a, **k: {})
    oof = train_module.cross_validate(cfg, data)
    holdout, _ = train_module.time_holdout(cfg, data)
    implicit = set(np.flatnonzero(data.source == "implicit"))
    assert set(oof["source"]) == {"explicit"} and len(oof) == data.label_counts["n_explicit"]
    assert set(holdout["source"]) == {"explicit"}
    for tr, te in seen:
        assert (data.source[te] == "explicit").all()
        assert not set(tr) & set(te)
    for tr, _ in seen[:-1]:
        assert implicit <= set(tr)  # implicit decisions train every fold
    tr, te = seen[-1]
    start = data.decided_at.iloc[te].min()
    assert (data.decided_at.iloc[tr] < start).all()
    assert set(tr) & implicit


def test_too_few_explicit_decisions_measure_on_all_and_say_so(small_training):
    from dataclasses import replace

    _, data = small_training
    source = data.source.copy()
    source[:] = "implicit"
    source[:4] = "explicit"
    few = replace(data, source=source)
    assert few.measured_on == "all" and len(few.measured) == len(few.y)


def test_the_label_error_counts_explicit_and_implicit_and_hints_at_snapshots():
    y = np.ones(70, dtype=int)
    source = np.array(["explicit"] * 2 + ["implicit"] * 68, dtype=object)
    with pytest.raises(FollowbackError, match=r"2 explicit, 68 implicit.*14 days apart"):
        check_labels(y, Config(), source)


def test_the_signature_takes_posts_with_a_platform_language_tag():
    """An input example whose posts carry a language tag matches the logged signature."""
    from mlflow.models.utils import _enforce_schema

    from pipeline.data import schema
    from pipeline.data.frame import account_frame
    from pipeline.model.tracking import input_example, input_schema

    accounts = schema.to_frame("accounts", [{"platform": "mastodon", "account_id": "1",
                                             "handle": "a"}])
    posts = schema.to_frame("posts", [{"account_id": "1", "post_id": "p", "text": "Brot",
                                       "language": "de"}])
    example = input_example(account_frame(accounts, posts))
    assert example["posts"][0][0]["language"] == "de"
    _enforce_schema(example, input_schema())  # raises on an unknown post property
