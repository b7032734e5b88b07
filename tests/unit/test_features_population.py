"""How far an account stands out among a population: ranks of distances to the typical account."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.features.population import (
    MIN_POPULATION,
    POOLED,
    RELATIVE_FEATURES,
    STANDOUT_COLUMNS,
    STANDOUT_MEAN,
    fit_population,
    population_weights,
    standout,
)


def _profile(posts: list[float], **other: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"log_posts_count": np.log1p(posts), **other})


def test_the_typical_account_does_not_stand_out_and_both_extremes_do():
    rng = np.random.default_rng(0)
    people = _profile(list(rng.integers(50, 500, size=200)))
    population = fit_population(people, "mastodon")
    probe = _profile([float(np.median(people["log_posts_count"].map(np.expm1))), 0, 100_000])
    ranks = standout(probe, "mastodon", population)["standout_log_posts_count"].tolist()
    # Never posting and posting a hundred thousand times both stand out; the middle does not.
    assert ranks[0] < 0.05 and ranks[1] > 0.95 and ranks[2] > 0.95


def test_a_mass_point_is_typical_not_outstanding():
    # Most Mastodon accounts never posted: they are the typical account, not outliers.
    posts = [0] * 60 + list(range(1, 41))
    population = fit_population(_profile(posts), "mastodon")
    ranks = standout(_profile([0, 5, 40, 5000]), "mastodon",
                     population)["standout_log_posts_count"].to_numpy()
    assert ranks[0] == pytest.approx(0.3, abs=0.01)  # the mid-rank of the 60% at zero
    assert ranks[0] < ranks[1] < ranks[2] < ranks[3] == 1.0


def test_columns_missing_values_and_the_mean():
    population = fit_population(_profile(list(range(100)), bio_length=[float(i % 30)
                                                                      for i in range(100)]),
                                "twitter")
    out = standout(_profile([10, np.nan, np.nan], bio_length=[500.0, 12.0, np.nan]),
                   "twitter", population)
    assert list(out.columns) == STANDOUT_COLUMNS
    # A feature the population never had (age here) stays missing, as does a missing value.
    assert out["standout_log_age_days"].isna().all()
    assert np.isnan(out["standout_log_posts_count"].iloc[1])
    first = out.iloc[0]
    assert first[STANDOUT_MEAN] == pytest.approx(
        (first["standout_log_posts_count"] + first["standout_bio_length"]) / 2)
    assert out[STANDOUT_MEAN].iloc[1] == out["standout_bio_length"].iloc[1]
    assert np.isnan(out[STANDOUT_MEAN].iloc[2])  # nothing known: no mean, no warning


def test_a_small_platform_is_ranked_in_the_pooled_population():
    profile = _profile([100.0] * 50 + [1.0] * 5)
    platforms = ["twitter"] * 50 + ["bluesky"] * 5
    population = fit_population(profile, platforms)
    assert set(population) == {POOLED, "twitter", "bluesky"}
    assert population["bluesky"]["log_posts_count"]["n"] == 5 < MIN_POPULATION
    assert not len(population["bluesky"]["log_posts_count"]["distances"])
    pooled = standout(_profile([1.0]), POOLED, population)
    assert standout(_profile([1.0]), "bluesky", population).equals(pooled)
    # A platform never seen in fit is ranked in the pooled population too.
    assert standout(_profile([1.0]), "instagram", population).equals(pooled)
    own = standout(_profile([1.0]), "twitter", population)
    assert own["standout_log_posts_count"].iloc[0] == 1.0


def test_each_platform_is_its_own_population():
    # The same count is ordinary on one platform and exceptional on the other.
    profile = _profile([800.0 + 15 * i for i in range(30)] + [1.0 + i % 6 for i in range(30)])
    population = fit_population(profile, ["twitter"] * 30 + ["mastodon"] * 30)
    ranks = standout(_profile([1000.0, 1000.0]), ["twitter", "mastodon"],
                     population)["standout_log_posts_count"].tolist()
    assert ranks[0] < 0.5 < ranks[1]


def test_population_weights():
    labels = np.array([0] * 80 + [1] * 20)
    w = population_weights(labels, 0.1)
    assert w[labels == 0].tolist() == [1.0] * 80
    assert w[labels == 1].sum() / w.sum() == pytest.approx(0.1)
    assert population_weights(labels, None).tolist() == [1.0] * 100
    assert population_weights(np.ones(5), 0.1).tolist() == [1.0] * 5  # one label: as is
    with pytest.raises(ValueError, match="between 0 and 1"):
        population_weights(labels, 1.5)


def test_weighting_bots_down_moves_the_typical_account_to_the_people():
    # A set that is three quarters bots: as published the typical account is a bot.
    humans, bots = [500.0] * 25, [0.0] * 75
    labels = np.array([0] * 25 + [1] * 75)
    profile = _profile(humans + bots)
    as_published = fit_population(profile, "twitter")
    weighted = fit_population(profile, "twitter", population_weights(labels, 0.1))
    bot = _profile([0.0])
    assert standout(bot, "twitter", as_published)["standout_log_posts_count"].iloc[0] < 0.5
    assert standout(bot, "twitter", weighted)["standout_log_posts_count"].iloc[0] > 0.9


def test_the_population_is_plain_data_skops_stores():
    import skops.io as sio

    population = fit_population(_profile(list(range(40))), "mastodon")
    data = sio.dumps(population)
    assert sio.get_untrusted_types(data=data) == []
    restored = sio.loads(data, trusted=[])
    probe = _profile([3.0, 70.0])
    pd.testing.assert_frame_equal(standout(probe, "mastodon", restored),
                                  standout(probe, "mastodon", population))
    assert set(population["mastodon"]) == set(RELATIVE_FEATURES)


@settings(max_examples=25, deadline=None)
@given(order=st.randoms(use_true_random=False), cuts=st.lists(st.integers(0, 299), max_size=6))
def test_an_accounts_standout_does_not_depend_on_the_other_rows(order, cuts):
    rng = np.random.default_rng(1)
    profile = pd.DataFrame({f: rng.lognormal(2, 1.5, size=300) for f in RELATIVE_FEATURES})
    profile.iloc[::7, 2] = np.nan
    platforms = np.where(np.arange(300) % 3, "mastodon", "bluesky")
    population = fit_population(profile.iloc[:150], platforms[:150])
    whole = standout(profile, platforms, population)
    rows = np.arange(300)
    order.shuffle(rows)
    parts = [p for p in np.split(rows, sorted(set(cuts))) if len(p)]
    chunked = pd.concat([standout(profile.iloc[p], platforms[p], population) for p in parts])
    pd.testing.assert_frame_equal(chunked.loc[whole.index], whole)
