"""Feature extractors, one module per criterion, each a scikit-learn transformer.

This package module only holds the small input helpers the text extractors share (and their
common scikit-learn tags, :class:`TextInputMixin`): a
ColumnTransformer hands a transformer a 1-D Series when its column spec is a string and a
DataFrame when it is a list, and the ``posts`` cells arrive as Python lists (from
:func:`pipeline.data.frame.account_frame`) or as numpy arrays of dicts (after a Parquet round trip).
Importing it loads no model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.schema import is_missing, post_list  # noqa: F401  (re-exported)

logger = logging.getLogger("pipeline.features")


def column_values(X: Any, name: str) -> list:
    """The values of column ``name`` of ``X``, one per row, as a plain list.

    ``X`` may be a Series (the column itself), a DataFrame (the column ``name``, or its only
    column), a 1-D or one-column 2-D array, or a list.
    """
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, pd.DataFrame):
        if name in X.columns:
            return X[name].tolist()
        if X.shape[1] == 1:
            return X.iloc[:, 0].tolist()
        raise ValueError(f"expected a column named {name!r}, got columns {list(X.columns)}")
    if isinstance(X, np.ndarray):
        if X.ndim == 1:
            return X.tolist()
        if X.ndim == 2 and X.shape[1] == 1:
            return X[:, 0].tolist()
        raise ValueError(f"expected one column {name!r}, got an array of shape {X.shape}")
    if isinstance(X, list | tuple):
        return list(X)
    raise TypeError(f"expected a Series, DataFrame, array or list for {name!r}, got {type(X)}")


def frame_column(X: Any, name: str, position: int) -> list:
    """Column ``name`` of a multi-column input (a DataFrame by name, a 2-D array by position)."""
    if isinstance(X, pd.DataFrame):
        if name not in X.columns:
            raise ValueError(f"expected a column named {name!r}, got columns {list(X.columns)}")
        return X[name].tolist()
    array = np.asarray(X, dtype=object)
    if array.ndim != 2 or array.shape[1] <= position:
        raise ValueError(f"expected a table with a {name!r} column, got shape {array.shape}")
    return array[:, position].tolist()


def output_index(X: Any) -> pd.Index:
    """The row index to give an evidence frame: the input's own where it has one."""
    if isinstance(X, pd.Series | pd.DataFrame):
        return X.index
    return pd.RangeIndex(len(X))


def text_or_none(value: Any) -> str | None:
    """A cell as stripped text, or None when it is missing or blank."""
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def flag(value: Any) -> bool:
    """A boolean cell; a missing value counts as False."""
    if is_missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "t", "yes", "y"}
    return bool(value)


def account_texts(value: Any, kinds: Sequence[str]) -> list[dict]:
    """The posts of one account with non-blank text and one of ``kinds``, in their order."""
    out = []
    for post in post_list(value):
        text = text_or_none(post.get("text"))
        if text is not None and (post.get("kind") or "post") in kinds:
            out.append({**post, "text": text})
    return out


def run_chunked(
    compute: Callable[[list], list],
    items: list,
    chunk_size: int,
    description: str,
    show_progress: bool,
    unit: str = "texts",
) -> list:
    """``compute`` over ``items`` chunk by chunk, with a progress bar when the work is long.

    The bar shows texts done and texts/s (``pipeline.core.console.progress``); it hides itself when
    stderr is no terminal. Short work (one chunk) shows none.
    """
    if not items:
        return []
    chunk_size = max(1, int(chunk_size))
    if not show_progress or len(items) <= chunk_size:
        return list(compute(items))
    from pipeline.core.console import progress

    out: list = []
    start = time.perf_counter()
    with progress(unit) as bar:
        task = bar.add_task(description, total=len(items))
        for i in range(0, len(items), chunk_size):
            part = items[i : i + chunk_size]
            out.extend(compute(part))
            bar.advance(task, len(part))
    elapsed = time.perf_counter() - start
    logger.info("%s: %d %s in %.1f s (%.0f %s/s)", description, len(items), unit, elapsed,
                len(items) / max(elapsed, 1e-9), unit)
    return out


class TextInputMixin:
    """The scikit-learn input tags of the text extractors: text cells, missing values allowed,
    fitting required; a 2-D input, and a 1-D one (a single text column) unless a subclass sets
    ``one_d_input = False`` (it reads several columns). Put it before ``TransformerMixin``."""

    one_d_input = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.one_d_array = self.one_d_input
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags
