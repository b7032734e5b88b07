"""Follower-group counts as inputs of the bot criterion (issue 14 section 2).

``BotLikeness(groups=True)`` reads the counts that score, explain and training compute over the
whole follower list (:data:`pipeline.data.frame.GROUP_COLUMNS`), as ``log1p`` features plus
``group_counts_missing``; it never counts them over the rows at hand, so a row's features do
not depend on which other rows share its chunk.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from pipeline.data.frame import (
    GROUP_COLUMNS,
    INPUT_COLUMNS,
    account_frame,
    follower_groups,
    with_groups,
)
from pipeline.features.bot import GROUP_MISSING, BotLikeness, group_counts
from tests.unit.conftest import follower_group_rows

T0 = pd.Timestamp("2024-05-01T00:00:00Z")


def _followers() -> pd.DataFrame:
    """A bio-template network of 12 created in one week, and 12 unrelated people."""
    rows = [{"platform": "mastodon", **a} for a in follower_group_rows(T0)]
    return account_frame(pd.DataFrame(rows))


@pytest.fixture
def counted() -> pd.DataFrame:
    frame = _followers()
    return with_groups(frame, follower_groups(frame))


def _group_block(bot: BotLikeness, X: pd.DataFrame) -> pd.DataFrame:
    names = list(bot.get_feature_names_out())
    out = pd.DataFrame(bot.transform(X), columns=names, index=X.index)
    return out[[*GROUP_COLUMNS, GROUP_MISSING]]


def test_with_groups_keeps_nullable_integer_counts(counted):
    assert all(str(counted[c].dtype) == "Int64" for c in GROUP_COLUMNS)
    assert list(counted.columns) == INPUT_COLUMNS
    # Twelve copies of one template, created within one week: eleven others each.
    assert counted.loc[:11, "group_similar_bio"].tolist() == [11] * 12
    assert counted.loc[:11, "group_week_and_text"].tolist() == [11] * 12
    assert counted.loc[12:, "group_similar_bio"].eq(0).all()


def test_group_features_are_log1p_of_the_counts_and_named(counted):
    bot = BotLikeness(reference_time=T0, groups=True).fit(counted)
    names = list(bot.get_feature_names_out())
    assert names[-len(GROUP_COLUMNS) - 1:] == [*GROUP_COLUMNS, GROUP_MISSING]
    out = bot.transform(counted)
    assert out.shape == (len(counted), len(names))
    block = _group_block(bot, counted)
    expected = np.log1p(counted[GROUP_COLUMNS].astype(float).to_numpy())
    np.testing.assert_allclose(block[GROUP_COLUMNS].to_numpy(), expected)
    assert block.loc[0, "group_similar_bio"] == pytest.approx(np.log(12))
    assert (block[GROUP_MISSING] == 0).all()


def test_groups_false_leaves_the_output_as_before(counted):
    with_groups_ = BotLikeness(reference_time=T0, groups=True).fit(counted)
    without = BotLikeness(reference_time=T0, groups=False).fit(counted)
    names = list(without.get_feature_names_out())
    assert not set(GROUP_COLUMNS) & set(names) and GROUP_MISSING not in names
    assert list(with_groups_.get_feature_names_out())[:len(names)] == names
    np.testing.assert_array_equal(without.transform(counted),
                                  with_groups_.transform(counted)[:, :len(names)])


def test_null_counts_are_missing_not_zero(counted):
    bot = BotLikeness(reference_time=T0, groups=True).fit(counted)
    uncounted = counted.copy()
    uncounted.loc[[0, 13], GROUP_COLUMNS] = pd.NA
    block = _group_block(bot, uncounted)
    assert block.loc[[0, 13], GROUP_MISSING].tolist() == [1.0, 1.0]
    assert (block.loc[[0, 13], GROUP_COLUMNS] == 0).all().all()
    # A zero count is counted: "no other follower looks like it".
    assert block.loc[12, GROUP_MISSING] == 0 and block.loc[12, "group_similar_bio"] == 0
    # The other rows keep their values: missing counts of one row touch no other row.
    rest = [i for i in counted.index if i not in (0, 13)]
    pd.testing.assert_frame_equal(block.loc[rest], _group_block(bot, counted).loc[rest])


def test_a_frame_without_the_count_columns_is_scored_as_not_counted(counted):
    bare = counted.drop(columns=GROUP_COLUMNS)
    for fit_on in (counted, bare):  # fitted with or without the columns
        bot = BotLikeness(reference_time=T0, groups=True).fit(fit_on)
        block = _group_block(bot, bare)
        assert (block[GROUP_MISSING] == 1).all()
        assert (block[GROUP_COLUMNS] == 0).all().all()


def test_negative_or_unreadable_counts_are_missing():
    frame = _followers().head(3)
    frame["group_same_week"] = pd.array([-1, 2, 0], dtype="Int64")
    for col in GROUP_COLUMNS[1:]:
        frame[col] = pd.array([0, 0, 0], dtype="Int64")
    counts = group_counts(frame)
    assert np.isnan(counts.loc[0, "group_same_week"])
    assert counts.loc[1, "group_same_week"] == 2.0
    block = _group_block(BotLikeness(reference_time=T0, groups=True).fit(frame), frame)
    assert block[GROUP_MISSING].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("cuts", [[1], [5, 6, 17], list(range(1, 24))])
def test_rows_are_the_same_in_any_chunk_split(counted, cuts):
    """The batch-independence rule: a row's output is a function of that row and its context
    columns, so one account gets the same features alone, in any chunk, in any order."""
    bot = BotLikeness(reference_time=T0, groups=True).fit(counted)
    whole = bot.transform(counted)
    order = np.random.default_rng(7).permutation(len(counted))
    parts = np.empty_like(whole)
    for part in np.split(order, cuts):
        parts[part] = bot.transform(counted.iloc[part])
    np.testing.assert_array_equal(parts, whole)
    # The farm's members still carry their group when scored one at a time.
    assert _group_block(bot, counted.iloc[[3]]).iloc[0]["group_similar_bio"] > 0


def test_clone_keeps_the_parameter_and_pickle_round_trips(counted):
    import pickle

    bot = BotLikeness(reference_time=T0, groups=False)
    assert clone(bot).get_params()["groups"] is False
    fitted = BotLikeness(reference_time=T0, groups=True).fit(counted)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(counted), fitted.transform(counted))


def test_config_wires_the_bot_groups_setting(tmp_path):
    from pipeline.core.config import load_config
    from pipeline.model.compose import build_features

    for value in (True, False):
        params = tmp_path / f"params_{value}.yaml"
        params.write_text("features:\n  bot:\n    model_path: null\n"
                          f"    groups: {str(value).lower()}\n")
        cfg = load_config(params)
        assert cfg.features.bot.groups is value
        features = build_features(cfg, own_posts=["rye bread"])
        name, bot, columns = features.transformers[0]
        assert name == "bot" and bot.groups is value
        assert (set(GROUP_COLUMNS) <= set(columns)) is value


def test_the_model_warns_on_input_without_counts_and_still_scores(counted):
    """pyfunc: an MLflow caller without the whole follower list gets a warning and scores
    (the accounts as not counted), never an error."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import Pipeline

    from pipeline.model.compose import BOT_COLUMNS
    from pipeline.model.pyfunc import FollowbackModel, GroupCountsMissing

    y = np.r_[np.zeros(12), np.ones(12)].astype(int)
    pipeline = Pipeline([
        ("features", ColumnTransformer(
            [("bot", BotLikeness(reference_time=T0, groups=True),
              [*BOT_COLUMNS, *GROUP_COLUMNS])])),
        ("clf", FixedThresholdClassifier(LogisticRegression(), threshold=0.5,
                                         response_method="predict_proba")),
    ]).fit(counted, y)
    background = pipeline[:-1].transform(counted.iloc[::4])
    model = FollowbackModel(pipeline, background, {"review_margin": 0.1})
    with warnings.catch_warnings():
        warnings.simplefilter("error", GroupCountsMissing)
        full = model.predict(None, counted)  # counted: no warning
    bare = counted.drop(columns=GROUP_COLUMNS)
    with pytest.warns(GroupCountsMissing, match="24 of 24 accounts come without"):
        rows = model.predict(None, bare)
    assert len(rows) == len(counted) and rows["probability"].notna().all()
    # Not counted is not "no group": the farm's members lose their group evidence.
    assert not np.allclose(rows["probability"].to_numpy(), full["probability"].to_numpy())
    uncounted = counted.copy()
    uncounted.loc[[2], GROUP_COLUMNS] = pd.NA
    with pytest.warns(GroupCountsMissing, match="1 of 24 accounts"):
        model.predict(None, uncounted)
