"""The review queue: uncertainty weighted by coverage, and the quick refit on cached features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import Config
from pipeline.model.queue import ask_order, feature_columns, groups, refit, uncertainty
from tests.unit.test_prior import features as prior_features


def test_uncertainty_is_one_at_the_threshold_and_orders_like_log_odds_distance():
    p = np.array([0.3, 0.5, 0.9, 0.31, 0.05])
    u = uncertainty(p, 0.3)
    assert u[0] == 1.0 and (u <= 1).all() and (u > 0).all()
    distance = np.abs(np.log(p / (1 - p)) - np.log(0.3 / 0.7))
    assert (np.argsort(-u, kind="stable") == np.argsort(distance, kind="stable")).all()


def test_one_group_is_uncertainty_order():
    p = np.array([0.92, 0.52, 0.1, 0.45, 0.7])
    order = ask_order(p, None, np.zeros(5, dtype=bool), 0.5)
    assert order.tolist() == [1, 3, 4, 2, 0]


def test_questions_spread_over_groups_instead_of_one_corner():
    # Two groups of followers: the first holds every account near the threshold.
    p = np.r_[np.full(50, 0.5), np.full(50, 0.3)]
    group = np.r_[np.zeros(50, dtype=int), np.ones(50, dtype=int)]
    only_uncertain = ask_order(p, None, np.zeros(100, dtype=bool), 0.5, n=10)
    spread = ask_order(p, group, np.zeros(100, dtype=bool), 0.5, n=10)
    assert (group[only_uncertain] == 0).all()
    assert 0 < (group[spread] == 1).sum() < 10
    # a group already answered is asked less
    answered = np.zeros(100, dtype=bool)
    answered[:20] = True
    later = ask_order(p, group, answered, 0.5, n=10)
    assert (group[later] == 1).sum() > (group[spread] == 1).sum()
    assert not set(later) & set(range(20))


def test_groups_follow_the_features():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 0.1, (30, 3)), rng.normal(5, 0.1, (30, 3))]
    g = groups(X, n_groups=2, seed=0)
    assert len(set(g[:30])) == 1 and len(set(g[30:])) == 1 and g[0] != g[30]


def table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    flags = rng.integers(0, 4, n)
    frame = prior_features(list(flags))
    frame.insert(0, "account_id", [f"a{i}" for i in range(n)])
    frame["raw__bio"] = "x"
    frame["noise"] = rng.normal(size=n)
    return frame


def test_refit_is_the_prior_until_the_personal_model_can_learn():
    cfg = Config()
    cfg.train.hgb_max_iter = 40
    feats = table(200)
    assert "raw__bio" not in feature_columns(feats) and "account_id" not in feature_columns(feats)
    few = pd.Series([1, 0, 1], index=["a0", "a1", "a2"])
    model, kind = refit(cfg, feats, few)
    assert kind == "prior"
    p = model.predict_proba(feats[feature_columns(feats)])[:, 1]
    assert p.shape == (200,) and ((0 < p) & (p < 1)).all()
    flags = feats["bio__bio_meaningful"] < 0.5
    y = pd.Series((~flags).astype(int).to_numpy()[:150], index=feats["account_id"][:150])
    model, kind = refit(cfg, feats, y)
    assert kind == "personal"
    p = model.predict_proba(feats[feature_columns(feats)].to_numpy(dtype=float))[:, 1]
    assert p[~flags.to_numpy()].mean() > p[flags.to_numpy()].mean() + 0.2
