"""Training logic that needs no model: label checks and the threshold policies."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.console import FollowbackError
from pipeline.train import check_labels, choose_threshold


def test_too_few_decisions_names_the_minimum():
    cfg = Config()
    with pytest.raises(FollowbackError, match=r"only 7 decisions.*at least 20"):
        check_labels(np.array([0, 1] * 3 + [1]), cfg)


def test_single_class_names_the_missing_class():
    cfg = Config()
    with pytest.raises(FollowbackError, match=r"0 'follow back' and 40 'skip'.*'follow back'"):
        check_labels(np.zeros(40, dtype=int), cfg)


def test_enough_of_both_classes_passes():
    check_labels(np.array([0, 1] * 15), Config())


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
    from pipeline.tracking import input_example

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
