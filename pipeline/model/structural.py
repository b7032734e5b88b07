"""The criteria's exact group Shapley values read from the fitted classifier's own structure.

:func:`pipeline.model.attribution.group_shapley` pushes ``n x 62 x B`` hybrid rows (62 inner
coalitions of the six criteria, ``B`` background rows) through the classifier's
``predict_proba``: for the default 3-fold calibrated ensemble of 200-tree boosters that is
over a thousand tree-ensemble predictions per account, most of ``followback score``'s time.
This module computes the *same* coalition values without building a hybrid row, from the
fitted estimators themselves, then applies the same Shapley weights; so the values are the
exact ones, not an approximation (the tests check them against the generic path to 1e-9).

How: the classifier step is, for every model ``build_classifier`` makes, a mean over
components ``k`` (the calibration folds, or one) of ``calibrate_k(T_k(z))``, where the
response ``T_k`` is *additive*: a sum of tree leaf values (boosted trees: the margin; a forest:
the mean of its trees' class-1 proportions) or a linear function (logistic regression on
standardised features). The calibrators and the final ``log_odds(mean)`` are cheap
elementwise functions; only ``T_k`` of the hybrids is expensive, and it has structure:

- **Trees.** A hybrid of account ``x`` and background row ``b`` under coalition ``S`` (the
  criteria taken from ``x``) follows, at every split on a feature of criterion ``g``, ``x``'s
  way if ``g`` is in ``S`` and ``b``'s way otherwise. So a leaf is reached iff ``S`` avoids
  ``fail_x`` (the criteria at whose splits on the leaf's path ``x`` goes the other way) and
  contains ``fail_b`` (the same for ``b``). Both masks come from one pass down each tree per
  account and per background row, and ``T(hybrid)`` for every pair at once is one matrix
  product per coalition: ``[S & fail_x == 0] (n x L) @ (value * [fail_b & ~S == 0]) (L x B)``
  over the ``L`` leaves. This is the interventional TreeSHAP idea (Lundberg et al., 2020,
  "From local explanations to global understanding with explainable AI for trees") applied to
  the six criterion groups and kept per coalition, because the calibrated ensemble's
  log-odds are not additive over trees (per-feature TreeSHAP values summed by criterion would
  not be the criteria's Shapley values either).
- **Linear.** ``T(hybrid) = c + sum_g [g in S] w_g.x_g + [g not in S] w_g.b_g``: per-criterion
  dot products, then one small product with the coalition matrix.

Models it cannot read (another classifier, categorical splits, temperature calibration) get
:class:`Unsupported`; :func:`pipeline.model.attribution.attribute` then uses the generic path.
Every call also checks its own full-coalition values against ``predict_proba`` on the
explained rows, so a misread model raises instead of explaining something else.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

# Accounts per block of the coalition products: bounds the (block x leaves) masks in memory.
BLOCK = 256
# The largest disagreement allowed between the values read from the structure and the
# classifier's own predict_proba (log-odds): float rounding is ~1e-12.
CHECK_ATOL = 1e-6


class Unsupported(ValueError):
    """The classifier is not one whose structure this module reads."""


# --------------------------------------------------------------------------- responses


@dataclass
class Trees:
    """An additive tree response: ``offset + scale * sum over trees of the reached leaf``.

    The trees are flattened into one node table: ``feature``, ``threshold``,
    ``missing_left`` for the splits (``x[feature] <= threshold`` goes left, NaN goes left iff
    ``missing_left``), ``left``/``right`` children (-1 at leaves), ``value`` at the leaves,
    ``roots`` the first node of each tree. ``float32`` compares as scikit-learn's
    ``DecisionTree`` does (it casts the input to float32); HGB compares in float64.
    """

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    offset: float = 0.0
    scale: float = 1.0
    float32: bool = False

    def __post_init__(self) -> None:
        is_leaf = self.left < 0
        self.leaves = np.flatnonzero(is_leaf)
        self.leaf_value = self.scale * self.value[self.leaves].astype(float)
        # Nodes level by level from the roots: a parent's masks are ready before its children.
        parent = np.full(len(self.left), -1)
        went_left = np.zeros(len(self.left), dtype=bool)
        inner = np.flatnonzero(~is_leaf)
        parent[self.left[inner]] = inner
        parent[self.right[inner]] = inner
        went_left[self.left[inner]] = True
        levels, frontier = [], self.roots
        while len(frontier):
            kids = frontier[self.left[frontier] >= 0]
            children = np.concatenate([self.left[kids], self.right[kids]])
            if len(children):
                levels.append(children)
            frontier = children
        self.parent, self.went_left, self.levels = parent, went_left, levels

    def fail_masks(self, X: np.ndarray, group_bit: np.ndarray) -> np.ndarray:
        """(n, leaves) uint8: the criteria at whose splits on the path to each leaf the row
        goes the other way (bit ``g`` for criterion ``g``)."""
        X = X.astype(np.float32) if self.float32 else X
        inner = self.left >= 0
        goes_left = np.zeros((len(X), len(self.left)), dtype=bool)
        cols = X[:, self.feature[inner]]
        with np.errstate(invalid="ignore"):
            goes_left[:, inner] = np.where(np.isnan(cols), self.missing_left[inner][None, :],
                                           cols <= self.threshold[inner][None, :])
        bit = np.zeros(len(self.left), dtype=np.uint8)
        bit[inner] = group_bit[self.feature[inner]]
        fail = np.zeros((len(X), len(self.left)), dtype=np.uint8)
        for nodes in self.levels:
            up = self.parent[nodes]
            wrong = goes_left[:, up] != self.went_left[nodes][None, :]
            fail[:, nodes] = fail[:, up] | (wrong * bit[up][None, :]).astype(np.uint8)
        return fail[:, self.leaves]

    def path_groups(self, group_bit: np.ndarray) -> np.ndarray:
        """(leaves,) uint8: the criteria split on along the path to each leaf."""
        inner = self.left >= 0
        bit = np.zeros(len(self.left), dtype=np.uint8)
        bit[inner] = group_bit[self.feature[inner]]
        on_path = np.zeros(len(self.left), dtype=np.uint8)
        for nodes in self.levels:
            up = self.parent[nodes]
            on_path[nodes] = on_path[up] | bit[up]
        return on_path[self.leaves]

    def prepare(self, background: np.ndarray, group_bit: np.ndarray) -> list[_LeafSet]:
        """The leaves grouped by the criteria on their paths, each group with the background's
        side of the products (:meth:`responses`)."""
        n_masks = 1 << (int(group_bit.max()).bit_length())
        fail_b = self.fail_masks(background, group_bit)  # (B, L)
        on_path = self.path_groups(group_bit)
        sets = []
        for p in np.unique(on_path):
            leaves = np.flatnonzero(on_path == p)
            sub = _submasks(int(p))  # (k,) every coalition restricted to the path's criteria
            local = np.searchsorted(sub, np.arange(n_masks) & p)  # mask -> its row in sub
            fb = fail_b[:, leaves]  # (B, Lp)
            reach_b = ((fb[None, :, :] & ~sub[:, None, None]) == 0)  # (k, B, Lp)
            side = np.ascontiguousarray(
                (reach_b * self.leaf_value[leaves][None, None, :]).transpose(0, 2, 1))
            sets.append(_LeafSet(leaves, sub, local, side))
        return sets

    def responses(self, X: np.ndarray, prepared: list[_LeafSet], group_bit: np.ndarray,
                  masks: np.ndarray) -> np.ndarray:
        """(n, len(masks), B): the response of every hybrid of ``X`` and the background.

        A leaf's reach depends on a coalition only through the criteria on its path, so the
        leaves are taken in groups of equal path criteria ``P`` and each group is computed
        for the ``2^|P|`` coalitions of ``P`` only (the demo's trees split on 2 or 3
        criteria per path: ~8 products instead of 64), then spread to every coalition.
        """
        fail_x = self.fail_masks(X, group_bit)  # (n, L)
        n_masks = len(prepared[0].local) if prepared else 1
        B = prepared[0].side.shape[2] if prepared else 0
        out = np.zeros((n_masks, len(X), B))
        for leaf_set in prepared:
            fx = fail_x[:, leaf_set.leaves]  # (n, Lp)
            reach_x = ((fx[None, :, :] & leaf_set.submasks[:, None, None]) == 0)
            part = np.matmul(reach_x.astype(float), leaf_set.side)  # (k, n, B)
            out += part[leaf_set.local]
        out += self.offset
        return out[masks].transpose(1, 0, 2)


@dataclass
class _LeafSet:
    """Leaves whose paths split on the same criteria ``P``."""

    leaves: np.ndarray    # positions among the response's leaves
    submasks: np.ndarray  # (k,) uint8: the subsets of P, ascending
    local: np.ndarray     # (2^G,) row of submasks for each coalition (coalition & P)
    side: np.ndarray      # (k, Lp, B): leaf value where the background row reaches the leaf


def _submasks(p: int) -> np.ndarray:
    out, s = [], p
    while True:
        out.append(s)
        if s == 0:
            break
        s = (s - 1) & p
    return np.asarray(sorted(out), dtype=np.uint8)


@dataclass
class Linear:
    """A linear response ``intercept + X @ weights``."""

    weights: np.ndarray
    intercept: float

    def prepare(self, background: np.ndarray, group_bit: np.ndarray) -> np.ndarray:
        return _per_group(background * self.weights, group_bit)

    def responses(self, X: np.ndarray, prepared: np.ndarray, group_bit: np.ndarray,
                  masks: np.ndarray) -> np.ndarray:
        dx = _per_group(X * self.weights, group_bit)  # (n, G)
        db = prepared  # (B, G)
        member = ((masks[:, None] >> np.arange(dx.shape[1])) & 1).astype(float)  # (M, G)
        from_x = dx @ member.T  # (n, M)
        from_b = db @ (1 - member).T  # (B, M)
        return self.intercept + from_x[:, :, None] + from_b.T[None, :, :]


def _per_group(values: np.ndarray, group_bit: np.ndarray) -> np.ndarray:
    n_groups = int(group_bit.max()).bit_length()
    group = np.log2(group_bit).astype(int)
    out = np.zeros((len(values), n_groups))
    for g in range(n_groups):
        out[:, g] = values[:, group == g].sum(axis=1)
    return out


@dataclass
class Component:
    """One term of the classifier's mean: ``calibrate(response(z))`` is P(class 1)."""

    response: Trees | Linear
    calibrate: Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------- reading models


def _hgb(est) -> Trees:
    if getattr(est, "n_trees_per_iteration_", 1) != 1:
        raise Unsupported("multi-class boosted trees")
    nodes = [p[0].nodes for p in est._predictors]
    if any(n["is_categorical"][n["is_leaf"] == 0].any() for n in nodes):
        raise Unsupported("boosted trees with categorical splits")
    return _flatten(
        [(n["feature_idx"], n["num_threshold"], n["missing_go_to_left"].astype(bool),
          np.where(n["is_leaf"] == 1, -1, n["left"].astype(np.int64)),
          np.where(n["is_leaf"] == 1, -1, n["right"].astype(np.int64)), n["value"])
         for n in nodes],
        offset=float(np.ravel(est._baseline_prediction)[0]), scale=1.0, float32=False)


def _forest(est) -> Trees:
    trees = getattr(est, "estimators_", None)
    if trees is None or len(getattr(est, "classes_", [])) != 2:
        raise Unsupported("not a binary forest")
    parts = []
    for tree in trees:
        t = tree.tree_
        proba = t.value[:, 0, :]
        total = proba.sum(axis=1)
        proba = proba[:, 1] / np.where(total == 0, 1.0, total)
        parts.append((t.feature, t.threshold, t.missing_go_to_left.astype(bool),
                      t.children_left.astype(np.int64), t.children_right.astype(np.int64),
                      proba))
    return _flatten(parts, offset=0.0, scale=1.0 / len(trees), float32=True)


def _flatten(parts, offset: float, scale: float, float32: bool) -> Trees:
    cols: list[list[np.ndarray]] = [[] for _ in range(6)]
    roots, start = [], 0
    for feature, threshold, missing, left, right, value in parts:
        n = len(left)
        roots.append(start)
        leaf = left < 0
        cols[0].append(np.where(leaf, 0, feature).astype(np.int64))
        cols[1].append(np.asarray(threshold, dtype=float))
        cols[2].append(np.asarray(missing, dtype=bool))
        cols[3].append(np.where(leaf, -1, left + start))
        cols[4].append(np.where(leaf, -1, right + start))
        cols[5].append(np.where(leaf, value, 0.0).astype(float))
        start += n
    return Trees(*[np.concatenate(c) for c in cols], roots=np.asarray(roots), offset=offset,
                 scale=scale, float32=float32)


def _linear(est) -> Linear:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = est.steps if isinstance(est, Pipeline) else [("clf", est)]
    *pre, (_, last) = steps
    coef = getattr(last, "coef_", None)
    if coef is None or coef.shape[0] != 1:
        raise Unsupported(f"{type(last).__name__} is not a binary linear model")
    w, c = coef[0].astype(float), float(np.ravel(last.intercept_)[0])
    for _, step in reversed(pre):  # fold the scalers into the weights, last first
        if not isinstance(step, StandardScaler):
            raise Unsupported(f"a {type(step).__name__} before the linear model")
        if step.scale_ is not None:
            w = w / step.scale_
        if step.mean_ is not None:
            c -= float(w @ step.mean_)
    return Linear(w, c)


def _response(est) -> tuple[Trees | Linear, str]:
    """The estimator's additive response and its kind (``margin`` or ``proba``), as
    ``CalibratedClassifierCV`` reads it: ``decision_function`` first, else ``predict_proba``."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )

    if isinstance(est, HistGradientBoostingClassifier):
        return _hgb(est), "margin"
    if isinstance(est, RandomForestClassifier | ExtraTreesClassifier):
        return _forest(est), "proba"
    return _linear(est), "margin"


def components(clf) -> list[Component]:
    """The classifier step (``FixedThresholdClassifier`` around a calibrated or bare
    classifier) as the terms whose mean is ``predict_proba(...)[:, 1]``."""
    from sklearn.calibration import CalibratedClassifierCV

    est = getattr(clf, "estimator_", clf)
    if isinstance(est, CalibratedClassifierCV):
        out = []
        for cc in est.calibrated_classifiers_:
            if cc.method not in ("sigmoid", "isotonic") or len(cc.calibrators) != 1:
                raise Unsupported(f"{cc.method} calibration")
            response, _ = _response(cc.estimator)
            out.append(Component(response, _calibrated(cc.calibrators[0])))
        return out
    response, kind = _response(est)
    return [Component(response, expit if kind == "margin" else _identity)]


def _identity(t: np.ndarray) -> np.ndarray:
    return t


def _calibrated(calibrator) -> Callable[[np.ndarray], np.ndarray]:
    def calibrate(t: np.ndarray) -> np.ndarray:
        p = np.asarray(calibrator.predict(t.ravel()), dtype=float).reshape(t.shape)
        p[(1.0 < p) & (p <= 1.0 + 1e-5)] = 1.0  # as _CalibratedClassifier.predict_proba
        return p

    return calibrate


# --------------------------------------------------------------------------- the values


@dataclass
class Prepared:
    """What one model and one background need, read once and reused for every chunk."""

    components: list[Component]
    background_side: list[np.ndarray]
    group_bit: np.ndarray  # per feature column: 1 << its group's position
    n_groups: int


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def prepare(clf, background: np.ndarray, groups: dict[str, np.ndarray]) -> Prepared:
    """Read ``clf`` and the background once; cached per classifier object and background."""
    background = np.ascontiguousarray(background, dtype=float)
    names = list(groups)
    key = (background.shape, hash(background.tobytes()),
           tuple((n, tuple(np.asarray(groups[n]).tolist())) for n in names))
    per_model = _CACHE.setdefault(clf, {})
    if key in per_model:
        return per_model[key]
    if len(names) > 8:
        raise Unsupported("more than eight criteria")
    d = background.shape[1]
    group_bit = np.zeros(d, dtype=np.uint8)
    for g, name in enumerate(names):
        group_bit[np.asarray(groups[name])] = 1 << g
    if (group_bit == 0).any():
        raise ValueError(f"columns {np.flatnonzero(group_bit == 0).tolist()} belong to no group")
    parts = components(clf)
    prepared = Prepared(parts, [c.response.prepare(background, group_bit) for c in parts],
                        group_bit, len(names))
    per_model.clear()  # one background per model at a time is what scoring needs
    per_model[key] = prepared
    return prepared


def coalition_log_odds(prepared: Prepared, X: np.ndarray, masks: np.ndarray,
                       log_odds: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """(n, len(masks)): mean over the background of the model's log-odds of each hybrid."""
    p = None
    for component, side in zip(prepared.components, prepared.background_side, strict=True):
        r = component.calibrate(component.response.responses(X, side, prepared.group_bit,
                                                             masks))
        p = r if p is None else p + r
    p /= len(prepared.components)
    return log_odds(p).mean(axis=2)
