"""How much each criterion pushed a verdict: exact group Shapley values on the log-odds scale.

Attribution method
------------------
Exact Shapley values over the six criterion *groups* (bot, language, bio, ratio, toxicity,
topic), on the log-odds scale of the whole fitted classifier (calibration and threshold
included), interventional: a criterion that is "absent" from a coalition takes its features
from a background sample of transformed training rows. With six groups there are 2^6 = 64
coalitions, so the values are exact, not sampled, and by the efficiency property they add up
to ``logit p(x) - mean_b logit p(b)`` for every account. For a linear model (``logreg``
without calibration) they equal ``sum_j coef_j (x_j - mean_b x_j)`` over each criterion's
features; the tests check both.

Why not the ``shap`` package: shap 0.51 has no grouped attribution. Its ``PartitionExplainer``
gives Owen values over a *binary* clustering tree (a binary tree over six groups is not the
six-player game, so group totals differ from Shapley values) within an evaluation budget;
``ExactExplainer`` over the 40-odd single features costs 2^40 coalitions; per-feature
``PermutationExplainer`` values of a calibrated ensemble are sampled, slow, and summing them
per group is not the group's Shapley value. Exact group values computed here take one batched
``predict_proba`` call per block of accounts (n x 62 x background rows), so scoring stays a
streaming, chunked job. A test checks the values against shap's ``ExactExplainer`` run on the
six-player group game, to tie this hand-written code to the reference implementation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.model.compose import CRITERIA, criterion_of

CRITERION_ORDER: list[str] = list(CRITERIA)
# Hybrid rows per predict_proba call: bounds the memory of the coalition matrix.
MAX_ROWS = 65_536
_EPS = 1e-9


def contrib_column(criterion: str) -> str:
    return f"contrib_{criterion}"


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def criterion_groups(feature_names: Iterable[str]) -> dict[str, np.ndarray]:
    """Column indices of each criterion's features, in :data:`CRITERION_ORDER` (others after)."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(feature_names):
        groups.setdefault(criterion_of(str(name)), []).append(i)
    order = [c for c in CRITERION_ORDER if c in groups] + [c for c in groups
                                                             if c not in CRITERION_ORDER]
    return {c: np.asarray(groups[c]) for c in order}


def _shapley_weights(n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Coalition membership (2^G x G, bit g = group g present) and the Shapley weight matrix W.

    ``phi = V @ W`` where ``V[:, m]`` is the value of coalition ``m``: W[m, g] is
    ``+|S|!(G-|S|-1)!/G!`` for S = m without g when g is in m, and ``-|m|!(G-|m|-1)!/G!`` when
    g is not in m.
    """
    masks = np.arange(2 ** n_groups)
    member = ((masks[:, None] >> np.arange(n_groups)) & 1).astype(bool)
    size = member.sum(axis=1)
    fact = math.factorial
    weight = np.array([fact(s) * fact(n_groups - s - 1) / fact(n_groups)
                       for s in range(n_groups)] + [0.0])
    plus = weight[np.maximum(size - 1, 0)]
    minus = weight[np.minimum(size, n_groups)]
    W = np.where(member, plus[:, None], -minus[:, None])
    return member, W


def group_shapley(
    f: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    background: np.ndarray,
    groups: dict[str, np.ndarray],
    max_rows: int = MAX_ROWS,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Exact interventional Shapley values of feature groups.

    Parameters
    ----------
    f : callable mapping an (m, d) matrix to m outputs (here: log-odds).
    X : (n, d) rows to explain.
    background : (B, d) rows that stand in for absent groups.
    groups : criterion -> column indices; every column must belong to exactly one group.
    max_rows : at most this many hybrid rows per call of ``f``.

    Returns
    -------
    phi : (n, G) values, columns in the order of ``groups``.
    base : ``mean f(background)``, the value of the empty coalition.
    fx : (n,) ``f(X)``; ``phi.sum(1) == fx - base`` up to rounding.
    """
    X = np.asarray(X, dtype=float)
    background = np.asarray(background, dtype=float)
    n, d = X.shape
    names = list(groups)
    group_of = np.full(d, -1)
    for g, name in enumerate(names):
        group_of[groups[name]] = g
    if (group_of < 0).any():
        raise ValueError(f"columns {np.flatnonzero(group_of < 0).tolist()} belong to no group")
    member, W = _shapley_weights(len(names))
    from_x = member[:, group_of]  # (M, d): column j comes from x in coalition m
    inner = from_x[1:-1]  # the empty and the full coalition need no hybrid rows
    base = float(np.mean(f(background)))
    fx = np.asarray(f(X), dtype=float) if n else np.zeros(0)
    V = np.empty((n, len(member)))
    V[:, 0] = base
    V[:, -1] = fx
    n_bg = len(background)
    per_block = max(1, max_rows // max(1, len(inner) * n_bg))
    # One group alone has no coalitions between the empty and the full one.
    for start in range(0, n if len(inner) else 0, per_block):
        xb = X[start:start + per_block]
        hybrid = np.where(inner[None, :, None, :], xb[:, None, None, :],
                          background[None, None, :, :])
        values = np.asarray(f(hybrid.reshape(-1, d)), dtype=float)
        V[start:start + len(xb), 1:-1] = values.reshape(len(xb), len(inner), n_bg).mean(axis=2)
    return V @ W, base, fx


def feature_matrix(model, frame: pd.DataFrame) -> np.ndarray:
    """The fitted feature step's output for ``frame``, as a float matrix."""
    return np.asarray(model[:-1].transform(frame), dtype=float)


def log_odds_function(model) -> Callable[[np.ndarray], np.ndarray]:
    """``matrix -> logit P(follow back)`` of the fitted classifier step (calibration included)."""
    return log_odds_function_of(model[-1])


@dataclass
class Attribution:
    """Per-account contributions of each criterion, on the log-odds scale."""

    values: pd.DataFrame  # one column per criterion, index of the explained frame
    base: float           # mean log-odds over the background
    log_odds: np.ndarray  # the model's log-odds per account
    probability: np.ndarray


# How the coalition values are computed (``score.attribution``); both give the same exact
# values (the tests hold them to 1e-9 of each other).
STRUCTURE, HYBRID = "structure", "hybrid"
METHODS = (STRUCTURE, HYBRID)


def attribute(model, features: np.ndarray, background: np.ndarray,
              index: pd.Index | None = None, method: str = STRUCTURE) -> Attribution:
    """Exact group Shapley values of ``features`` (already transformed by the model).

    ``method``: ``structure`` reads the coalition values from the classifier's trees or
    weights (:mod:`pipeline.model.structural`; a classifier it cannot read falls back to
    ``hybrid`` with a warning); ``hybrid`` pushes hybrid rows through ``predict_proba``
    (:func:`group_shapley`), for any classifier.
    """
    from threadpoolctl import threadpool_limits

    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}: use {' or '.join(METHODS)}")
    names = model[:-1].get_feature_names_out()
    groups = criterion_groups(names)
    phi = None
    if method == STRUCTURE:
        # One thread: the work comes in small pieces (a chunk's predict_proba, products of a
        # few hundred rows), where OpenMP and BLAS threads cost more than they give, and on a
        # machine shared with other jobs far more (measured in bench/score.py: 2 threads were
        # 20x slower than 1 at a load average of 15 on 2 cores).
        with threadpool_limits(limits=1):
            probability = model[-1].predict_proba(_named(model, features))[:, 1]
            phi, base, fx = _structural_or_none(model, features, background, groups,
                                                probability)
    if phi is None:
        # With torch's and scikit-learn's OpenMP runtimes both loaded, the boosted trees'
        # predict ran 15-25x slower here until the thread count was set explicitly
        # (measured: 30,000 rows of a calibrated HGB in 4.3 s unset, 0.17 s set to 2 cores).
        with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):
            probability = model[-1].predict_proba(_named(model, features))[:, 1]
            phi, base, fx = group_shapley(log_odds_function(model), features, background,
                                          groups)
    values = pd.DataFrame(phi, columns=list(groups), index=index)
    return Attribution(values, base, fx, probability)


def _named(model, matrix: np.ndarray):
    names = getattr(model[-1], "feature_names_in_", None)
    return pd.DataFrame(matrix, columns=names) if names is not None else matrix


def _structural_or_none(model, features, background, groups, probability):
    """:func:`group_shapley_structural`, or ``(None, None, None)`` with a warning for a
    classifier whose structure :mod:`pipeline.model.structural` does not read."""
    import warnings

    from pipeline.model import structural

    try:
        return group_shapley_structural(model[-1], features, background, groups,
                                        fx=log_odds(probability))
    except structural.Unsupported as why:
        warnings.warn(f"attribution 'structure' cannot read this classifier ({why}): using "
                      "'hybrid', the same values computed slower", stacklevel=3)
        return None, None, None


def group_shapley_structural(
    clf,
    X: np.ndarray,
    background: np.ndarray,
    groups: dict[str, np.ndarray],
    fx: np.ndarray | None = None,
    block: int | None = None,
) -> tuple[np.ndarray, float, np.ndarray]:
    """:func:`group_shapley` of ``log_odds(clf.predict_proba(.)[:, 1])``, its coalition
    values read from the fitted classifier's structure (:mod:`pipeline.model.structural`).

    ``fx``: the log-odds of ``X`` if already known. Raises
    :class:`~pipeline.model.structural.Unsupported` for a classifier it cannot read, and
    ``RuntimeError`` if its values of the full coalition (``X`` itself) or of the empty one
    (the background) disagree with ``predict_proba``.
    """
    from pipeline.model import structural

    X = np.asarray(X, dtype=float)
    background = np.asarray(background, dtype=float)
    names = list(groups)
    prepared = structural.prepare(clf, background, groups)
    member, W = _shapley_weights(len(names))
    masks = np.arange(len(member))
    V = np.empty((len(X), len(member)))
    step = block or structural.BLOCK
    for start in range(0, len(X), step):
        V[start:start + step] = structural.coalition_log_odds(
            prepared, X[start:start + step], masks, log_odds)
    f = log_odds_function_of(clf)
    base = float(np.mean(f(background)))
    if fx is None:
        fx = f(X) if len(X) else np.zeros(0)
    fx = np.asarray(fx, dtype=float)
    worst = max(float(np.max(np.abs(V[:, -1] - fx), initial=0.0)),
                float(np.max(np.abs(V[:, 0] - base), initial=0.0)))
    if worst > structural.CHECK_ATOL:
        raise RuntimeError(f"the classifier read from its structure disagrees with its "
                           f"predict_proba by {worst:.3g} log-odds: use score.attribution "
                           "hybrid and report this")
    V[:, 0], V[:, -1] = base, fx
    return V @ W, base, fx


def log_odds_function_of(clf) -> Callable[[np.ndarray], np.ndarray]:
    """``matrix -> logit P(follow back)`` of a fitted classifier (calibration included)."""
    names = getattr(clf, "feature_names_in_", None)

    def f(matrix: np.ndarray) -> np.ndarray:
        data = pd.DataFrame(matrix, columns=names) if names is not None else matrix
        return log_odds(clf.predict_proba(data)[:, 1])

    return f
