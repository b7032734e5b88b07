"""How far an account stands out from the others: profile features relative to a population.

Bots differ in scale from one platform to another. A declared Mastodon bot posts more than the
dormant accounts around it, while a Twitter fake follower posts less than the people around
it: the direction inverts, the distance does not. So the bot model reads, for each profile
feature, where an account's distance from the typical follower falls among the distances of
all followers (a rank in [0, 1]): 0 for the typical follower, near 1 for one that stands out
more than nearly every other, in either direction.

The population is the person's followers on the same platform. It is fitted once
(:func:`fit_population`, from :meth:`~pipeline.features.bot.BotLikeness.fit` over every
account it is fitted on) and stored as a few hundred quantiles per feature, so an account's
standout depends on that account and the stored population alone, never on which other
accounts are scored with it. In training (``followback train-bot``) each labelled source is
the population of its own accounts, with its bots weighted to a follower list's share
(:func:`population_weights`).

The assumption: bots are a minority of the population. Where most of it are bots (a bought
following, or a research set that is three quarters bots), the typical account is a bot and
the people are the ones that stand out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# Profile features (pipeline.features.bot.PROFILE_FEATURES) an account can stand out in. Not
# the likes and listed counts and verified flag (one research source publishes them), nor the
# handle's length and entropy, the name likeness or a link in the profile (text style, not
# scale). The counts are log1p, so a distance is a ratio.
RELATIVE_FEATURES = [
    "log_age_days",
    "log_posts_count",
    "log_followers_count",
    "log_following_count",
    "log_following_follower_ratio",
    "log_posts_per_day",
    "log_followers_per_day",
    "log_following_per_day",
    "bio_length",
    "default_avatar",
    "handle_digit_share",
]
PREFIX = "standout_"
STANDOUT_FEATURES = [PREFIX + f for f in RELATIVE_FEATURES]
# The mean standout over the features an account has.
STANDOUT_MEAN = "standout_mean"
STANDOUT_COLUMNS = [*STANDOUT_FEATURES, STANDOUT_MEAN]
# The population of all platforms together, for a platform with too few accounts of its own.
POOLED = "*"
# Fewer accounts with a value than this: the feature's population is too small to rank in.
MIN_POPULATION = 20
N_QUANTILES = 201
# The share of bots in a follower list that training simulates (about one in ten: estimates
# for active Twitter accounts are 9-15%, Varol et al. 2017).
BOT_SHARE = 0.1


def population_weights(labels: np.ndarray, bot_share: float | None = BOT_SHARE) -> np.ndarray:
    """Weights that make bots ``bot_share`` of a labelled set (humans weigh 1).

    None, or a set with only one label, leaves every account at weight 1 (the set as it is).
    """
    labels = np.asarray(labels)
    n_bots, n_humans = int((labels == 1).sum()), int((labels == 0).sum())
    if bot_share is None or not n_bots or not n_humans:
        return np.ones(len(labels))
    if not 0 < bot_share < 1:
        raise ValueError(f"bot_share must be between 0 and 1, got {bot_share!r}")
    return np.where(labels == 1, bot_share / (1 - bot_share) * n_humans / n_bots, 1.0)


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of a weighted sample, inverted-CDF style: a mass point stays one value."""
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cum = np.cumsum(weights) / weights.sum()
    idx = np.searchsorted(cum, q - 1e-12, side="left")
    return values[np.minimum(idx, len(values) - 1)]


def _fit_feature(values: np.ndarray, weights: np.ndarray, n_quantiles: int) -> dict[str, Any]:
    ok = ~np.isnan(values) & (weights > 0)
    if ok.sum() < MIN_POPULATION:
        return {"n": int(ok.sum()), "center": np.nan, "distances": np.empty(0)}
    values, weights = values[ok], weights[ok]
    center = float(_weighted_quantiles(values, weights, np.array([0.5]))[0])
    grid = np.linspace(0.0, 1.0, n_quantiles)
    distances = _weighted_quantiles(np.abs(values - center), weights, grid)
    return {"n": int(ok.sum()), "center": center, "distances": distances.astype(float)}


def fit_population(profile: pd.DataFrame, platform: Any, weights: np.ndarray | None = None,
                   n_quantiles: int = N_QUANTILES) -> dict[str, dict[str, dict[str, Any]]]:
    """The population of ``profile`` (:func:`~pipeline.features.bot.profile_features` output).

    Parameters
    ----------
    profile : DataFrame with (some of) the columns :data:`RELATIVE_FEATURES`.
    platform : one platform name for all rows, or one per row.
    weights : optional weight per row (:func:`population_weights`); default 1.
    n_quantiles : quantiles of the distances to the centre kept per feature.

    Returns
    -------
    dict
        ``{platform: {feature: {"n", "center", "distances"}}}`` with :data:`POOLED` for all
        rows together: plain dicts, floats and arrays, which skops stores.
    """
    n = len(profile)
    platforms = (np.full(n, str(platform), dtype=object) if isinstance(platform, str)
                 else np.asarray([str(p) for p in platform], dtype=object))
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    keys = [POOLED, *sorted(set(platforms))]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for key in keys:
        rows = np.ones(n, bool) if key == POOLED else platforms == key
        out[key] = {
            f: _fit_feature(_column(profile, f)[rows], weights[rows], n_quantiles)
            for f in RELATIVE_FEATURES
        }
    return out


def _column(profile: pd.DataFrame, name: str) -> np.ndarray:
    if name not in profile.columns:
        return np.full(len(profile), np.nan)
    return pd.to_numeric(profile[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _rank(distance: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Mid-rank of each distance among the population's distance quantiles, in [0, 1]."""
    below = np.searchsorted(distances, distance, side="left")
    upto = np.searchsorted(distances, distance, side="right")
    return (below + upto) / (2.0 * len(distances))


def standout(profile: pd.DataFrame, platform: Any,
             population: dict[str, dict[str, dict[str, Any]]]) -> pd.DataFrame:
    """Each account's standout in each feature among ``population``, and their mean.

    An account is ranked among its own platform's population, or the pooled one where its
    platform has fewer than :data:`MIN_POPULATION` accounts with the feature. NaN where the
    account lacks the feature or no population has it. Row by row: an account's values do
    not depend on the other rows of ``profile``.

    Returns
    -------
    DataFrame with columns :data:`STANDOUT_COLUMNS`, the index of ``profile``.
    """
    n = len(profile)
    platforms = (np.full(n, str(platform), dtype=object) if isinstance(platform, str)
                 else np.asarray([str(p) for p in platform], dtype=object))
    out = pd.DataFrame(index=profile.index)
    for f in RELATIVE_FEATURES:
        values = _column(profile, f)
        result = np.full(n, np.nan)
        for key in sorted(set(platforms)):
            fitted = _reference(population, key, f)
            if fitted is None:
                continue
            rows = (platforms == key) & ~np.isnan(values)
            result[rows] = _rank(np.abs(values[rows] - fitted["center"]),
                                 np.asarray(fitted["distances"], dtype=float))
        out[PREFIX + f] = result
    features = out[STANDOUT_FEATURES]
    # All-NaN rows: the mean is NaN too (numpy would warn about an empty slice).
    counts = features.notna().sum(axis=1)
    out[STANDOUT_MEAN] = (features.sum(axis=1, min_count=1) / counts.where(counts > 0))
    return out[STANDOUT_COLUMNS]


def _reference(population: dict, platform: str, feature: str) -> dict | None:
    for key in (platform, POOLED):
        fitted = population.get(key, {}).get(feature)
        if fitted is not None and len(fitted["distances"]):
            return fitted
    return None
