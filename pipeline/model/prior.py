"""The prior: verdicts before your own model can learn, from public knowledge only.

A person with a dozen followers, or whose followers are all mutual (or none is), cannot train a
personal model (``train`` needs ``train.min_decisions`` decisions with ``train.cv_folds`` of
each answer). They still get verdicts, from :class:`PriorClassifier`: the red flags of the
follower-app rules (``evaluate.rules``: private, no bio, an unreadable language, offensive posts,
off-topic posts, a following-to-follower ratio game) and the bot-likeness model's score (trained
on public bot data, ``models/bot_likeness.skops``), on the log-odds scale:

    log-odds(follow back) = intercept - slope * (red flags + bot_weight * bot score)

With no decisions at all, intercept 0 and slope 1 (a flagless, human-looking account is a coin
toss; each red flag divides the odds by e). Your decisions, however few, move both towards what
you did: they are fitted by maximum a posteriori with a normal prior around those values
(``prior_sd``), so a dozen decisions move them a little and a few hundred decide. Decisions of
one answer only (every follower followed back, or none) move the intercept alone: they say how
often you follow back, not what a red flag does; and the slope never goes below 0. The
ranking never needs your decisions; the level does. Nothing here was fitted on follow-back
data: the weights are stated, not learned (the real follow-back data of ``../shared`` only
measures them, ``bench/day_one.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

# The raw counts the ratio rule reads, recovered from the ratio criterion's log1p features.
_FOLLOWERS = "ratio__log_followers_count"
_FOLLOWING = "ratio__log_following_count"
_BOT = "bot__bot_score"


def rule_flags_from_features(features: pd.DataFrame, rules: dict[str, Any]) -> pd.DataFrame:
    """:func:`pipeline.model.rules.rule_flags` on the model's own feature table (no raw columns):
    the counts come back from their ``log1p`` features, privacy from the language criterion."""
    from pipeline.model.rules import rule_flags

    frame = features.copy()
    frame["raw__followers_count"] = np.expm1(frame[_FOLLOWERS].astype(float))
    frame["raw__following_count"] = np.expm1(frame[_FOLLOWING].astype(float))
    frame["raw__is_private"] = frame["language__lang_is_private"].astype(float) >= 0.5
    flags = rule_flags(frame, _Rules(rules))
    # Off topic means nothing when you have no own posts to compare with.
    if "topic__topic_no_own_posts" in frame.columns:
        flags["topic"] &= frame["topic__topic_no_own_posts"].astype(float) < 0.5
    return flags


class _Rules:
    """The rule settings as attributes, as :func:`pipeline.model.rules.rule_flags` reads them."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


class PriorClassifier(ClassifierMixin, BaseEstimator):
    """Follow-back probability from red flags and bot-likeness, calibrated to your decisions.

    Parameters
    ----------
    feature_names : sequence of str
        Names of the feature columns it is given (the composed extractors' output names);
        only needed when ``X`` comes without column names.
    rules : dict
        The follower-app rule settings (``evaluate.rules``).
    bot_weight : float, default=2.0
        How many red flags a certain bot counts as.
    intercept : float, default=0.0
        Log-odds of following back a flagless, human-looking account, before any decision.
    slope : float, default=1.0
        Log-odds lost per red flag, before any decision.
    prior_sd : float, default=1.0
        Standard deviation of the normal prior on intercept and slope: how far your decisions
        may move them.
    threshold : float, default=0.5
        The verdict's threshold (as ``FixedThresholdClassifier.threshold`` in the personal
        model): the probabilities are calibrated, so even odds.

    Attributes
    ----------
    classes_ : ndarray [0, 1]
    intercept_, slope_ : float
        After fitting on your decisions (the prior values when there were none).
    n_decisions_ : dict
        Decisions fitted on: ``{"follow_back": n, "skip": n}``.
    """

    def __init__(self, feature_names=None, rules: dict | None = None, bot_weight: float = 2.0,
                 intercept: float = 0.0, slope: float = 1.0, prior_sd: float = 1.0,
                 threshold: float = 0.5) -> None:
        self.feature_names = feature_names
        self.rules = rules
        self.bot_weight = bot_weight
        self.intercept = intercept
        self.slope = slope
        self.prior_sd = prior_sd
        self.threshold = threshold

    def _frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        names = getattr(self, "names_", None) or self.feature_names
        if names is None:
            raise ValueError("PriorClassifier needs feature names: fit it on a DataFrame or "
                             "give feature_names")
        return pd.DataFrame(np.asarray(X, dtype=float), columns=list(names))

    def risk(self, X: Any) -> np.ndarray:
        """Red flags plus ``bot_weight`` times the bot score, per account (0 = no concern)."""
        from pipeline.core.config import RulesConfig

        frame = self._frame(X)
        rules = self.rules if self.rules is not None else RulesConfig().model_dump()
        flags = rule_flags_from_features(frame, rules).sum(axis=1).to_numpy(dtype=float)
        bot = frame[_BOT].astype(float).fillna(0.5).to_numpy() if _BOT in frame else 0.5
        return flags + float(self.bot_weight) * bot

    def fit(self, X: Any, y: Any = None) -> PriorClassifier:
        """Calibrate intercept and slope on your decisions (MAP; none: the prior values)."""
        from scipy.optimize import minimize

        if isinstance(X, pd.DataFrame):
            self.names_ = [str(c) for c in X.columns]
        elif self.feature_names is not None:
            self.names_ = [str(c) for c in self.feature_names]
        self.n_features_in_ = int(np.shape(X)[1])
        self.classes_ = np.array([0, 1])
        y = np.zeros(0) if y is None else np.asarray(y, dtype=float)
        risk = self.risk(X) if len(y) else np.zeros(0)
        prior = np.array([float(self.intercept), float(self.slope)])
        var = float(self.prior_sd) ** 2

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            z = theta[0] - theta[1] * risk
            p = 1.0 / (1.0 + np.exp(-z))
            nll = np.sum(np.logaddexp(0.0, z) - y * z)
            grad = np.array([np.sum(p - y), -np.sum((p - y) * risk)])
            diff = theta - prior
            return nll + 0.5 * float(diff @ diff) / var, grad + diff / var

        both = len(np.unique(y)) == 2
        # One answer only says how often you follow back, not what a red flag does: then only
        # the intercept moves. A red flag never raises the odds (slope >= 0).
        bounds = [(None, None), (0.0, None) if both else (prior[1], prior[1])]
        theta = (minimize(loss, prior, jac=True, method="L-BFGS-B", bounds=bounds).x
                 if len(y) else prior)
        self.intercept_, self.slope_ = float(theta[0]), float(theta[1])
        self.n_decisions_ = {"follow_back": int(y.sum()), "skip": int(len(y) - y.sum())}
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "intercept_")
        return self.intercept_ - self.slope_ * self.risk(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)


def still_needed(y: np.ndarray, min_decisions: int, per_class: int) -> dict[str, int]:
    """How many more answers of each kind the personal model needs: at least ``per_class`` of
    each and ``min_decisions`` in all, the rest asked of the rarer answer first."""
    y = np.asarray(y, dtype=int)
    n_yes, n_no = int(y.sum()), int(len(y) - y.sum())
    yes, no = max(per_class, n_yes), max(per_class, n_no)
    while yes + no < min_decisions:
        if yes <= no:
            yes += 1
        else:
            no += 1
    return {"follow_back": yes - n_yes, "skip": no - n_no}
