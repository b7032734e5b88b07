"""FollowRatio: following-to-follower ratio, log counts and follow/unfollow churn."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline.data.frame import account_frame
from pipeline.features.ratio import RATIO_COLUMNS, FollowRatio, log_ratio


@parametrize_with_checks([FollowRatio(), FollowRatio(smoothing=0.5)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _frame(rows: list[dict], churn: list[dict] | None = None) -> pd.DataFrame:
    accounts = pd.DataFrame([
        {"platform": "mastodon", "account_id": f"a{i}", "handle": f"user{i}", **row}
        for i, row in enumerate(rows)
    ])
    churn_frame = pd.DataFrame(churn) if churn else None
    return account_frame(accounts, churn=churn_frame)


@pytest.fixture
def accounts() -> pd.DataFrame:
    """A star, a balanced account, a follow-for-follow account and one with unknown counts."""
    return _frame(
        [
            {"followers_count": 5400, "following_count": 12},
            {"followers_count": 80, "following_count": 95},
            {"followers_count": 150, "following_count": 4000},
            {"followers_count": None, "following_count": None},
        ],
        churn=[
            {"account_id": "a0", "times_followed_back": 0,
             "times_unfollowed_after_followback": 0},
            {"account_id": "a1", "times_followed_back": 1,
             "times_unfollowed_after_followback": 0},
            {"account_id": "a2", "times_followed_back": 3,
             "times_unfollowed_after_followback": 2},
        ],
    )


def test_log_ratio_is_finite_and_signed():
    ratio = log_ratio(np.array([12, 95, 0, 0]), np.array([5400, 80, 0, 300]))
    assert np.isfinite(ratio).all()
    assert ratio[0] == pytest.approx(np.log(13 / 5401))
    assert ratio[1] > 0  # follows more than follow it
    assert ratio[2] == 0  # 0 and 0: balanced, not undefined
    assert ratio[3] < ratio[1]


def test_star_has_lowest_ratio_and_follow_for_follow_highest(accounts):
    out = FollowRatio().set_output(transform="pandas").fit_transform(accounts[RATIO_COLUMNS])
    ratio = out["log_following_follower_ratio"]
    assert ratio.iloc[0] < ratio.iloc[1] < ratio.iloc[2]
    assert out["log_followers_count"].iloc[0] == pytest.approx(np.log1p(5400))
    assert out["log_following_count"].iloc[2] == pytest.approx(np.log1p(4000))


def test_missing_counts_become_indicators_and_snapshots_flag(accounts):
    out = FollowRatio().set_output(transform="pandas").fit_transform(accounts[RATIO_COLUMNS])
    assert np.isfinite(out.to_numpy()).all()
    assert out["followers_count_missing"].tolist() == [0, 0, 0, 1]
    assert out["following_count_missing"].tolist() == [0, 0, 0, 1]
    assert out["log_following_follower_ratio"].iloc[3] == 0
    assert out["has_snapshots"].tolist() == [1, 1, 1, 0]
    assert out["times_unfollowed_after_followback"].tolist() == [0, 0, 2, 0]
    assert out["times_followed_back"].tolist() == [0, 1, 3, 0]


def test_counts_only_without_churn_columns():
    X = pd.DataFrame({"followers_count": [10, 0], "following_count": [0, 10]})
    ratio = FollowRatio().fit(X)
    assert list(ratio.get_feature_names_out()) == [
        "log_following_follower_ratio", "log_followers_count", "log_following_count",
        "followers_count_missing", "following_count_missing",
    ]
    assert ratio.transform(X).shape == (2, 5)


def test_evidence_sentences(accounts):
    ratio = FollowRatio().fit(accounts[RATIO_COLUMNS])
    evidence = ratio.evidence(accounts[RATIO_COLUMNS])
    assert list(evidence.index) == list(accounts.index)
    text = evidence["evidence"].tolist()
    assert text[0] == "follows 12, followed by 5,400: ratio 0.002"
    assert text[1] == ("follows 95, followed by 80: ratio 1.2; followed back once, never "
                       "unfollowed since")
    assert text[2] == ("follows 4,000, followed by 150: ratio 27; unfollowed 2 times after "
                       "being followed back (followed back 3 times)")
    assert text[3] == "follows an unknown number, followed by an unknown number"
    assert evidence["following_follower_ratio"].iloc[0] == pytest.approx(12 / 5400)
    assert np.isnan(evidence["following_follower_ratio"].iloc[3])
    assert evidence["times_unfollowed_after_followback"].iloc[2] == 2
    assert np.isnan(evidence["times_unfollowed_after_followback"].iloc[3])


def test_evidence_reads_its_columns_from_the_whole_account_frame(accounts):
    ratio = FollowRatio().fit(accounts[RATIO_COLUMNS])
    pd.testing.assert_frame_equal(ratio.evidence(accounts), ratio.evidence(accounts[RATIO_COLUMNS]))


def test_sklearn_conventions(accounts):
    X = accounts[RATIO_COLUMNS]
    ratio = FollowRatio(smoothing=2.0)
    copy = clone(ratio)
    assert copy.get_params() == {"smoothing": 2.0}
    copy.set_params(smoothing=0.5)
    assert copy.smoothing == 0.5
    fitted = clone(ratio).fit(X)
    np.testing.assert_allclose(fitted.transform(X), clone(ratio).fit_transform(X))
    assert fitted.transform(X).shape[1] == len(fitted.get_feature_names_out())
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.transform(X), fitted.transform(X))
    # A different smoothing changes the ratio, so the parameter is really used.
    assert not np.allclose(fitted.transform(X)[:3, 0], FollowRatio().fit_transform(X)[:3, 0])


def test_in_column_transformer_with_pandas_output(accounts):
    features = ColumnTransformer([("ratio", FollowRatio(), RATIO_COLUMNS)])
    out = features.set_output(transform="pandas").fit_transform(accounts)
    assert "ratio__log_following_follower_ratio" in out.columns
    assert "ratio__has_snapshots" in out.columns
    assert "ratio__times_unfollowed_after_followback" in out.columns
    assert out.shape == (4, 8)


@pytest.mark.parametrize(
    ("params", "X", "message"),
    [
        ({"smoothing": 0}, [[1, 2]], "smoothing must be a positive number"),
        ({}, [[1], [2]], "n_features = 1"),
        ({}, [[1, -2]], "Negative values"),
        ({}, pd.DataFrame({"following_count": [1], "followers_count": [2]}),
         "reads columns by position"),
    ],
)
def test_bad_input_raises_clear_error(params, X, message):
    with pytest.raises(ValueError, match=message):
        FollowRatio(**params).fit(X)


def test_transform_width_must_match_fit(accounts):
    ratio = FollowRatio().fit(accounts[RATIO_COLUMNS].to_numpy(dtype=float, na_value=np.nan))
    with pytest.raises(ValueError, match="features"):
        ratio.transform(np.ones((2, 2)))
