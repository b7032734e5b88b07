"""The review queue: which followers to ask you about first, and a quick refit on your answers.

Asking about the accounts nearest the threshold alone keeps asking about one corner of your
followers. :func:`ask_order` weighs each account's uncertainty (how near its probability is to
the threshold) by how little its part of your follower population is covered by answers so far:
the followers are grouped by their features (k-means on the standardised feature table), and a
group of many followers with few answers counts for more. Accounts are picked one at a time,
each pick covering its group a little more, so one batch of questions spreads over the groups
(uncertainty sampling weighted by coverage, after the "information density" and cluster-based
batch selection of the active-learning literature).

:func:`refit` fits the personal model's classifier (or the prior, with too few answers) on the
feature table ``followback featurize`` already wrote, so answering and seeing the verdicts move
is one loop of seconds: no text is embedded again. The next ``dvc repro`` trains the whole
model as usual.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def uncertainty(proba: np.ndarray, threshold: float | np.ndarray = 0.5) -> np.ndarray:
    """``exp(-|log-odds - threshold's log-odds|)``: 1 at the threshold, towards 0 at certainty
    (the same order as the review's distance on the log-odds scale)."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-6, 1 - 1e-6)
    t = np.clip(np.asarray(threshold, dtype=float), 1e-6, 1 - 1e-6)
    return np.exp(-np.abs(np.log(p / (1 - p)) - np.log(t / (1 - t))))


def groups(features: np.ndarray, n_groups: int = 12, seed: int = 0) -> np.ndarray:
    """Group of each row: k-means on the standardised features (fewer groups for few rows)."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    X = np.nan_to_num(np.asarray(features, dtype=float))
    k = int(min(n_groups, max(1, len(X) // 5)))
    if k <= 1 or len(X) < 2:
        return np.zeros(len(X), dtype=int)
    Z = StandardScaler().fit_transform(X)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(Z)


def ask_order(proba: np.ndarray, group: np.ndarray | None, asked: np.ndarray,
              threshold: float | np.ndarray = 0.5, n: int | None = None) -> np.ndarray:
    """Indices of the rows to ask about, best first, ``n`` of them (default: all unasked).

    ``group`` is each row's feature group (:func:`groups`; None: one group, so uncertainty
    alone), ``asked`` a boolean mask of rows already answered or not to be asked. Ties go to
    the earlier row. A row's weight is its uncertainty times its
    group's share of followers per answer in it, ``size / (1 + answers)``, relative to the
    largest; each pick counts as an answer in its group.
    """
    proba = np.asarray(proba, dtype=float)
    group = np.zeros(len(proba), dtype=int) if group is None else np.asarray(group)
    asked = np.asarray(asked, dtype=bool)
    u = uncertainty(proba, threshold)
    labels, inverse = np.unique(group, return_inverse=True)
    size = np.bincount(inverse, minlength=len(labels)).astype(float)
    answers = np.bincount(inverse[asked], minlength=len(labels)).astype(float)
    todo = np.flatnonzero(~asked)
    n = len(todo) if n is None else min(int(n), len(todo))
    order = []
    left = np.ones(len(todo), dtype=bool)
    for _ in range(n):
        coverage = size / (1.0 + answers)
        score = u[todo] * coverage[inverse[todo]] / coverage.max()
        score = np.where(left, score, -np.inf)
        pick = int(np.argmax(score))
        left[pick] = False
        order.append(todo[pick])
        answers[inverse[todo[pick]]] += 1
    return np.asarray(order, dtype=int)


def feature_columns(features: pd.DataFrame) -> list[str]:
    """The model's feature columns of a ``featurize`` table (not ``account_id``, ``raw__*``)."""
    return [c for c in features.columns if c != "account_id" and not c.startswith("raw__")]


def refit(cfg, features: pd.DataFrame, labels: pd.Series):
    """A classifier on the cached feature table: the personal model's (rounding and the
    calibrated classifier of ``build_model``) when ``labels`` (account id -> 0/1) meet
    ``train.min_decisions`` and ``train.cv_folds`` per answer, else the prior
    (:class:`pipeline.model.prior.PriorClassifier`). Returns ``(model, kind)`` with kind
    ``"personal"`` or ``"prior"``; the model takes rows of ``features[feature_columns]``."""
    from pipeline.model.compose import build_model
    from pipeline.model.prior import PriorClassifier

    cols = feature_columns(features)
    index = features["account_id"].astype(str)
    labels = labels[labels.index.astype(str).isin(set(index))]
    X = features.set_index(index).loc[labels.index.astype(str), cols]
    y = labels.astype(int).to_numpy()
    counts = np.bincount(y, minlength=2)
    if len(y) >= cfg.train.min_decisions and counts.min() >= cfg.train.cv_folds:
        model = build_model(cfg, [])[1:]
        return model.fit(X.to_numpy(dtype=float), y), "personal"
    prior = PriorClassifier(feature_names=cols, rules=cfg.evaluate.rules.model_dump())
    return prior.fit(X, y), "prior"
