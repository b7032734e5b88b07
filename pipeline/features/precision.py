"""Features that depend on their own row alone, to the last bit the classifier can see.

A batched float32 matrix product (BLAS) may sum a row's products in a different order depending
on how many other rows share the call, so the same account got features differing by ~3e-8
between a chunk of 200 and one of 500; where such a value sat near a HistGradientBoosting bin
edge the probability jumped (by up to 0.07 on the demo). Two defences, used by the extractors
and the one Pipeline of :func:`pipeline.model.compose.build_model`:

- :func:`row_products` computes ``a @ b.T`` in float64 one row at a time, each row copied into
  the same buffer, so a row's result is the same whatever else is in the batch;
- :class:`RoundFeatures`, the Pipeline step between the features and the classifier, rounds
  every feature to ``decimals`` places in training and in scoring alike, so noise far below the
  precision that matters cannot move a value across a bin edge the classifier learnt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

FEATURE_DECIMALS = 4


def row_products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` as float64, each row of ``a`` computed on its own.

    Every row is copied into one fixed buffer before its product, so neither the number of rows
    nor a row's position (memory alignment) can change the order of its sums.

    >>> row_products(np.ones((2, 3), dtype=np.float32), np.eye(3)[:2]).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    a = np.asarray(a)
    b64 = np.ascontiguousarray(b, dtype=np.float64)
    if a.ndim != 2 or b64.ndim != 2 or a.shape[1] != b64.shape[1]:
        raise ValueError(f"shapes {a.shape} and {b64.shape} do not multiply as a @ b.T")
    out = np.empty((a.shape[0], b64.shape[0]), dtype=np.float64)
    row = np.empty(a.shape[1], dtype=np.float64)
    for i in range(a.shape[0]):
        row[:] = a[i]
        np.dot(b64, row, out=out[i])
    return out


def pca_rows(pca: Any, X: np.ndarray) -> np.ndarray:
    """A fitted (non-whitened) PCA's ``transform`` computed row by row in float64."""
    mean = np.asarray(pca.mean_, dtype=np.float64)
    centred = np.asarray(X, dtype=np.float64) - mean
    out = row_products(centred, pca.components_)
    if getattr(pca, "whiten", False):
        out /= np.sqrt(np.asarray(pca.explained_variance_, dtype=np.float64))
    return out


class RoundFeatures(TransformerMixin, BaseEstimator):
    """Round every feature to ``decimals`` places (half to even), keeping names.

    Parameters
    ----------
    decimals : int, default=4

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When fitted on a frame or after a step with feature names.
    """

    def __init__(self, decimals: int = FEATURE_DECIMALS) -> None:
        self.decimals = decimals

    def fit(self, X: Any, y: Any = None) -> RoundFeatures:
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int | np.integer):
            raise ValueError(f"decimals must be an integer, got {self.decimals!r}")
        names = getattr(X, "columns", None)
        if names is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in names], dtype=object)
        self.n_features_in_ = int(np.shape(X)[1])
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "n_features_in_")
        if hasattr(X, "columns"):  # set_output(transform="pandas") upstream
            return X.astype(np.float64).round(int(self.decimals))
        return np.round(np.asarray(X, dtype=np.float64), int(self.decimals))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return np.asarray(names, dtype=object)
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
