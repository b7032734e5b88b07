"""The baselines and metric set of the evaluate stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import Config, RulesConfig
from pipeline.stages.evaluate import evaluate, metric_set, rule_flags


def _features(**cols) -> pd.DataFrame:
    base = {
        "account_id": ["a", "b", "c", "d"],
        "raw__followers_count": pd.array([100, 9000, 50, 300], dtype="Int64"),
        "raw__following_count": pd.array([120, 12, 40, 280], dtype="Int64"),
        "raw__is_private": pd.array([False, False, True, False], dtype="boolean"),
        "bio__bio_meaningful": [1.0, 1.0, 1.0, 0.0],
        "language__lang_readable_share": [1.0, 1.0, 1.0, 0.1],
        "language__lang_no_posts": [0.0, 0.0, 1.0, 0.0],
        "toxicity__toxicity_max": [0.01, 0.02, 0.0, 0.9],
        "topic__topic_centroid_cos": [0.6, 0.5, 0.0, 0.05],
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_rule_flags_raise_each_red_flag():
    flags = rule_flags(_features(), RulesConfig())
    assert flags.loc[0].sum() == 0  # a, an ordinary relevant account
    assert flags.loc[1, "ratio"] and flags.loc[1].sum() == 1  # b follows 12, followed by 9000
    assert flags.loc[2, "private"] and not flags.loc[2, "topic"]  # c: no posts, not judged
    assert flags.loc[3, ["bio", "language", "toxicity", "topic"]].all()


def test_rules_can_be_switched_off():
    flags = rule_flags(_features(), RulesConfig(skip_private=False, skip_empty_bio=False))
    assert not flags["private"].any() and not flags["bio"].any()


def test_metric_set_perfect_and_single_class():
    y = np.array([0, 1, 0, 1])
    m = metric_set(y, np.array([0.1, 0.9, 0.2, 0.8]), 0.5)
    assert m["roc_auc"] == 1.0 and m["f1"] == 1.0 and m["mcc"] == 1.0
    assert m["brier"] == pytest.approx((0.01 + 0.01 + 0.04 + 0.04) / 4)
    one = metric_set(np.array([1, 1]), np.array([0.7, 0.9]), 0.5)
    assert one["roc_auc"] is None and one["accuracy"] == 1.0


def test_evaluate_compares_model_with_both_baselines():
    preds = pd.DataFrame({
        "account_id": ["a", "b", "c", "d"] * 2,
        "split": ["cv"] * 4 + ["holdout"] * 4,
        "fold": [0, 0, 1, 1, -1, -1, -1, -1],
        "y": [1, 1, 0, 0] * 2,
        "p_model": [0.9, 0.8, 0.2, 0.1] * 2,
        "p_majority": [0.5] * 8,
        "threshold": [0.5] * 8,
    })
    out = evaluate(Config(), preds, _features())
    # b is followed back although the rules flag its ratio: the model gets it, the rules don't.
    assert out["cv"]["model"]["accuracy"] == 1.0
    assert out["cv"]["rules"]["accuracy"] == 0.75
    assert out["cv"]["margin_over_rules"]["accuracy"] == pytest.approx(0.25)
    assert out["slices"]["ratio"] == {"n": 1, "followed_back_share": 1.0,
                                      "model_agreement": 1.0, "rules_agreement": 0.0}
