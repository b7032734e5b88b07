"""Criterion "you rarely follow back": ratio game and follow/unfollow trick.

An account that follows few and is followed by many rarely follows anyone back; an account
that follows thousands to be followed back, then unfollows, plays the trick the follower
snapshots reveal. :class:`FollowRatio` turns the follower and following counts, and the churn
counts from the snapshots (:mod:`pipeline.data.snapshots`), into numbers a classifier can weigh.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

# The columns of pipeline.data.frame.account_frame that FollowRatio reads, in the order it reads
# them.
RATIO_COLUMNS = [
    "followers_count",
    "following_count",
    "times_followed_back",
    "times_unfollowed_after_followback",
]


def log_ratio(following: np.ndarray, followers: np.ndarray, smoothing: float = 1.0) -> np.ndarray:
    """``log((following + s) / (followers + s))``: 0 for a balanced account, negative for a star.

    The additive smoothing ``s`` keeps a zero count finite: 0 followers and 0 following give 0,
    and 0 following with 5,400 followers gives -8.6 rather than minus infinity.
    """
    following = np.asarray(following, dtype=float)
    followers = np.asarray(followers, dtype=float)
    return np.log((following + smoothing) / (followers + smoothing))


class FollowRatio(TransformerMixin, BaseEstimator):
    """Following-to-follower ratio, follower and following counts and follow/unfollow churn.

    Columns are read by position: followers count, following count, then optionally the churn
    counts from the follower snapshots (``times_followed_back``,
    ``times_unfollowed_after_followback`` of :func:`pipeline.data.frame.account_frame`). A
    DataFrame holding the named columns in another order is rejected rather than misread.
    Missing values (pandas ``NA`` or ``NaN``) never reach the output: a missing count becomes
    0 plus a ``*_missing`` indicator, and churn counts of an account without snapshots become 0
    with ``has_snapshots`` = 0.

    Parameters
    ----------
    smoothing : float, default=1.0
        Added to both counts before the ratio is taken, so that zero counts give a finite
        value. Must be positive.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit`` (2 without churn counts, more with them).
    feature_names_in_ : ndarray of str
        Column names seen in ``fit``, when ``X`` was a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"followers_count": [5400, 80], "following_count": [12, 95]})
    >>> FollowRatio().fit_transform(X).round(2)[:, 0]
    array([-6.03,  0.17])
    """

    def __init__(self, smoothing: float = 1.0) -> None:
        self.smoothing = smoothing

    def fit(self, X, y=None) -> FollowRatio:
        """Check ``X`` and remember its columns.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features >= 2)
            Followers count, following count, then optional churn counts.
        y : None
            Ignored.

        Returns
        -------
        self : FollowRatio
        """
        if not (isinstance(self.smoothing, int | float) and self.smoothing > 0):
            raise ValueError(f"smoothing must be a positive number, got {self.smoothing!r}")
        X = self._validate(X, reset=True)
        if X.shape[1] < 2:
            raise ValueError(
                f"FollowRatio needs the followers and following counts, got n_features = "
                f"{X.shape[1]}"
            )
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            misplaced = [
                (col, pos) for pos, col in enumerate(RATIO_COLUMNS[:2])
                if col in names and names[pos] != col
            ]
            if misplaced:
                raise ValueError(
                    "FollowRatio reads columns by position (followers_count, following_count, "
                    f"then churn counts); got columns {list(names)}"
                )
        return self

    def _validate(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan",
                          ensure_min_features=1)
        if np.any(X[~np.isnan(X)] < 0):
            raise ValueError("Negative values in data passed to FollowRatio: counts cannot be "
                             "negative")
        return X

    def transform(self, X) -> np.ndarray:
        """Ratio, log counts, missing indicators and churn counts.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of shape (n_samples, len(get_feature_names_out()))
            Finite floats.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        followers, following = X[:, 0], X[:, 1]
        followers_missing = np.isnan(followers)
        following_missing = np.isnan(following)
        # An unknown count counts as balanced: ratio 0 on the log scale; the indicator says why.
        ratio = log_ratio(following, followers, self.smoothing)
        ratio[followers_missing | following_missing] = 0.0
        columns = [
            ratio,
            np.log1p(np.nan_to_num(followers)),
            np.log1p(np.nan_to_num(following)),
            followers_missing.astype(float),
            following_missing.astype(float),
        ]
        churn = X[:, 2:]
        if churn.shape[1]:
            # Snapshots give either all churn counts or none, so one indicator covers them.
            columns.extend(np.nan_to_num(churn).T)
            columns.append((~np.isnan(churn)).any(axis=1).astype(float))
        return np.column_stack(columns)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns.

        Parameters
        ----------
        input_features : array-like of str or None
            Input column names; defaults to ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "n_features_in_")
        names = [
            "log_following_follower_ratio",
            "log_followers_count",
            "log_following_count",
            "followers_count_missing",
            "following_count_missing",
        ]
        if self.n_features_in_ > 2:
            if input_features is None:
                input_features = getattr(self, "feature_names_in_", None)
            if input_features is None:
                input_features = [f"x{i}" for i in range(self.n_features_in_)]
            names += [str(name) for name in list(input_features)[2:]]
            names.append("has_snapshots")
        return np.asarray(names, dtype=object)

    def evidence(self, X) -> pd.DataFrame:
        """Human-readable evidence per account, for the explanations.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)
            A DataFrame may hold more columns (the whole account frame): the ones seen in
            ``fit`` are read.

        Returns
        -------
        DataFrame
            One row per account (the index of ``X`` when it is a DataFrame):
            ``following_follower_ratio`` (following / followers, unsmoothed; NaN when unknown
            or with no followers), ``times_unfollowed_after_followback`` (NaN without
            snapshots) and ``evidence``, e.g. "follows 12, followed by 5,400: ratio 0.002".
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and names is not None and set(names) <= set(X.columns):
            # Explanations may hand over the whole account frame: read the fitted columns.
            X = X[list(names)]
        index = X.index if isinstance(X, pd.DataFrame) else None
        X = self._validate(X, reset=False)
        rows = []
        for row in X:
            followers, following = row[0], row[1]
            known = not (np.isnan(followers) or np.isnan(following))
            ratio = following / followers if known and followers > 0 else np.nan
            text = f"follows {_count(following)}, followed by {_count(followers)}"
            if not np.isnan(ratio):
                text += f": ratio {_ratio(ratio)}"
            back = row[2] if X.shape[1] > 2 else np.nan
            unfollowed = row[3] if X.shape[1] > 3 else np.nan
            if not np.isnan(unfollowed) and unfollowed > 0:
                text += (f"; unfollowed {_times(unfollowed)} after being followed back"
                         f" (followed back {_times(back)})")
            elif not np.isnan(back) and back > 0:
                text += f"; followed back {_times(back)}, never unfollowed since"
            rows.append({
                "following_follower_ratio": ratio,
                "times_unfollowed_after_followback": unfollowed,
                "evidence": text,
            })
        return pd.DataFrame(rows, index=index,
                            columns=["following_follower_ratio",
                                     "times_unfollowed_after_followback", "evidence"])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.positive_only = True
        return tags


def _count(value: float) -> str:
    return "an unknown number" if np.isnan(value) else f"{value:,.0f}"


def _times(value: float) -> str:
    if np.isnan(value):
        return "an unknown number of times"
    return "once" if value == 1 else f"{value:,.0f} times"


def _ratio(value: float) -> str:
    # As precise as a person reads it: 0.002, 0.35, 1.2, 45.
    if value >= 10:
        return f"{value:,.0f}"
    return f"{value:.2g}" if value >= 0.1 else f"{value:.1g}"
