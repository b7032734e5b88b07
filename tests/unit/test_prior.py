"""The prior: red flags and bot-likeness on the log-odds scale, calibrated to few decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from pipeline.core.config import RulesConfig
from pipeline.model.prior import PriorClassifier, rule_flags_from_features, still_needed


def features(n_flags: list[int], bot: list[float] | None = None) -> pd.DataFrame:
    """One row per account with ``n_flags`` red flags (0-3: no bio, private, unreadable)."""
    n = len(n_flags)
    flags = np.asarray(n_flags)
    return pd.DataFrame({
        "ratio__log_followers_count": np.log1p(np.full(n, 100.0)),
        "ratio__log_following_count": np.log1p(np.full(n, 120.0)),
        "bio__bio_meaningful": (flags < 1).astype(float),
        "language__lang_is_private": (flags >= 2).astype(float),
        "language__lang_no_posts": np.zeros(n),
        "language__lang_readable_share": np.where(flags >= 3, 0.0, 1.0),
        "toxicity__toxicity_max": np.zeros(n),
        "topic__topic_centroid_cos": np.full(n, 0.5),
        "topic__topic_no_own_posts": np.zeros(n),
        "bot__bot_score": np.zeros(n) if bot is None else np.asarray(bot, dtype=float),
    })


RULES = RulesConfig().model_dump()


def test_the_rules_flags_on_the_model_features_match_the_counts():
    flags = rule_flags_from_features(features([0, 1, 2, 3]), RULES)
    assert flags.sum(axis=1).tolist() == [0, 1, 2, 3]


def test_without_decisions_the_prior_values_hold():
    X = features([0, 1, 2, 3])
    prior = PriorClassifier(rules=RULES).fit(X.iloc[:0], np.zeros(0))
    assert (prior.intercept_, prior.slope_) == (0.0, 1.0)
    p = prior.predict_proba(X)[:, 1]
    assert p[0] == pytest.approx(0.5) and (np.diff(p) < 0).all()
    assert p[1] == pytest.approx(1 / (1 + np.e))  # one red flag: the odds divided by e


def test_bot_score_counts_as_red_flags():
    X = features([0, 0], bot=[0.0, 1.0])
    p = PriorClassifier(rules=RULES, bot_weight=2.0).fit(X.iloc[:0], []).predict_proba(X)[:, 1]
    assert p[1] == pytest.approx(1 / (1 + np.e ** 2))


def test_one_class_decisions_move_the_level_not_the_order():
    X = features([0, 1, 2, 3] * 5)
    everyone = PriorClassifier(rules=RULES).fit(X, np.ones(len(X), dtype=int))
    nobody = PriorClassifier(rules=RULES).fit(X, np.zeros(len(X), dtype=int))
    p_all, p_none = everyone.predict_proba(X)[:, 1], nobody.predict_proba(X)[:, 1]
    assert everyone.intercept_ > 0.5 > -0.5 > nobody.intercept_
    assert p_all.mean() > 0.6 > 0.4 > p_none.mean()
    # a flagless account still ranks above a flagged one
    assert p_all[0] > p_all[3] and p_none[0] > p_none[3]


def test_many_decisions_decide_the_slope():
    rng = np.random.default_rng(0)
    flags = rng.integers(0, 4, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(1.5 - 2.5 * flags)))).astype(int)
    prior = PriorClassifier(rules=RULES, bot_weight=0.0).fit(features(list(flags)), y)
    assert prior.intercept_ == pytest.approx(1.5, abs=0.3)
    assert prior.slope_ == pytest.approx(2.5, abs=0.3)


def test_numpy_input_with_feature_names_and_clone():
    X = features([0, 3])
    prior = PriorClassifier(feature_names=list(X.columns), rules=RULES)
    fitted = clone(prior).fit(X.to_numpy(), [1, 0])
    assert fitted.predict(X.to_numpy()).tolist() == [1, 0]
    with pytest.raises(ValueError, match="feature names"):
        PriorClassifier(rules=RULES).fit(X, [1, 0]).__class__(rules=RULES).fit(
            X.to_numpy(), [1, 0])


@pytest.mark.parametrize("y, expected", [
    ([], {"follow_back": 10, "skip": 10}),
    ([1] * 30, {"follow_back": 0, "skip": 5}),
    ([1, 1, 0], {"follow_back": 8, "skip": 9}),
    ([1] * 12 + [0] * 8, {"follow_back": 0, "skip": 0}),
])
def test_still_needed(y, expected):
    assert still_needed(np.array(y, dtype=int), 20, 5) == expected
