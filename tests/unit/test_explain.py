"""Explanations: exact group Shapley values that agree with the model, phrased with evidence."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from pipeline.data.frame import account_frame, ingested_frame
from pipeline.data.scores import read_scores
from pipeline.model import attribution, reasons
from pipeline.model.compose import CRITERIA, CRITERIA_NEUTRAL, CRITERIA_POSITIVE
from pipeline.model.reasons import FOLLOW, REVIEW, SKIP
from tests.unit.test_score import (  # noqa: F401  (demo_project: a session fixture)
    FRIENDLY,
    demo_project,
    demo_scores,
    fitted_toy_model,
    toy_tables,
)

# --------------------------------------------------------------------------- the numbers


def brute_force_shapley(f, x, background, groups):
    """Shapley values by averaging marginal contributions over every order of the groups."""
    names = list(groups)

    def value(coalition):
        rows = background.copy()
        for g in coalition:
            rows[:, groups[g]] = x[groups[g]]
        return f(rows).mean()

    phi = dict.fromkeys(names, 0.0)
    orders = list(itertools.permutations(names))
    for order in orders:
        present = []
        for g in order:
            before = value(present)
            present.append(g)
            phi[g] += value(present) - before
    return np.array([phi[g] / len(orders) for g in names])


def nonlinear(z):
    return np.tanh(z[:, 0] * z[:, 3]) + z[:, 1] ** 2 - 0.5 * z[:, 2] * z[:, 4] + np.sin(z[:, 5])


GROUPS = {"bot": np.array([0, 5]), "ratio": np.array([1]), "bio": np.array([2, 3]),
          "topic": np.array([4])}


def test_group_shapley_equals_brute_force_and_adds_up():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 6))
    background = rng.normal(size=(12, 6))
    phi, base, fx = attribution.group_shapley(nonlinear, X, background, GROUPS, max_rows=50)
    for i in range(len(X)):
        np.testing.assert_allclose(phi[i], brute_force_shapley(nonlinear, X[i], background,
                                                               GROUPS), atol=1e-12)
    assert base == pytest.approx(nonlinear(background).mean())
    np.testing.assert_allclose(phi.sum(axis=1), fx - base, atol=1e-12)  # efficiency


@pytest.mark.slow  # not a real model, but shap compiles its numba kernels first (~10 s)
def test_group_shapley_matches_shap_exact_explainer_on_the_group_game():
    """shap's reference ExactExplainer, run on the six-player game of the criteria."""
    shap = pytest.importorskip("shap")
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(1)
    groups = {c: np.arange(2 * i, 2 * i + 2) for i, c in enumerate(attribution.CRITERION_ORDER)}
    X_train = rng.normal(size=(300, 12))
    y = (X_train[:, 0] * X_train[:, 5] + X_train[:, 8] - X_train[:, 11] ** 2 > 0).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X_train, y)

    def f(z):
        return attribution.log_odds(clf.predict_proba(z)[:, 1])

    X, background = X_train[:3], X_train[100:116]
    phi, base, _ = attribution.group_shapley(f, X, background, groups)

    # Player j's value -1 means "criterion j from x"; b means "from background row b".
    def game(x):
        def g(switches):
            switches = switches.astype(int)
            rows = np.empty((len(switches), 12))
            for j, cols in enumerate(groups.values()):
                from_x = switches[:, j] < 0
                rows[np.ix_(from_x, cols)] = x[cols]
                rows[np.ix_(~from_x, cols)] = background[switches[~from_x, j]][:, cols]
            return f(rows)
        return g

    masker_data = np.repeat(np.arange(len(background))[:, None], 6, axis=1).astype(float)
    for i, x in enumerate(X):
        explainer = shap.explainers.Exact(game(x), shap.maskers.Independent(masker_data,
                                                                            max_samples=16))
        values = explainer(np.full((1, 6), -1.0)).values[0]
        np.testing.assert_allclose(phi[i], values, atol=1e-9)
    assert np.isfinite(base)


def test_linear_model_contributions_are_coef_times_centred_features():
    model = fitted_toy_model()
    accounts, posts, _ = toy_tables(30, seed=5)
    frame = account_frame(accounts, posts, max_posts=30)
    features = attribution.feature_matrix(model, frame)
    background = features[:10]
    attr = attribution.attribute(model, features, background)

    pipe = model[-1].estimator_          # StandardScaler -> LogisticRegression
    scale, logreg = pipe[0], pipe[-1]
    weight = logreg.coef_[0] / scale.scale_
    exact = weight * (features - background.mean(axis=0))
    groups = attribution.criterion_groups(model[:-1].get_feature_names_out())
    for crit, cols in groups.items():
        np.testing.assert_allclose(attr.values[crit], exact[:, cols].sum(axis=1),
                                   atol=1e-9)
    np.testing.assert_allclose(attr.values.sum(axis=1),
                               attr.log_odds - attr.base, atol=1e-9)
    np.testing.assert_allclose(attr.probability, model.predict_proba(frame)[:, 1])


def test_removing_the_toxic_posts_raises_the_probability_as_the_reason_says():
    model = fitted_toy_model()
    accounts, posts, _ = toy_tables(8)
    frame = account_frame(accounts, posts, max_posts=30)
    background = attribution.feature_matrix(model, frame)
    scores = reasons.explain_frame(model, frame, background, 0.1,
                                   reasons.Overrides(frozenset(), frozenset()))
    toxic = scores.index[scores["reason_1"].str.startswith(CRITERIA["toxicity"])][0]
    assert scores.loc[toxic, "contrib_toxicity"] < 0

    cleaned = frame.copy()
    cleaned.at[toxic, "posts"] = [{**p, "text": FRIENDLY[j % 4]} if any(
        w in p["text"] for w in ("idiot", "moron")) else p
        for j, p in enumerate(frame.at[toxic, "posts"])]
    after = reasons.explain_frame(model, cleaned, background, 0.1,
                                  reasons.Overrides(frozenset(), frozenset()))
    assert after.loc[toxic, "probability"] > scores.loc[toxic, "probability"]
    assert after.loc[toxic, "contrib_toxicity"] > scores.loc[toxic, "contrib_toxicity"]


# --------------------------------------------------------------------------- verdicts


def test_verdict_bands_around_the_threshold():
    p = np.array([0.0, 0.39, 0.4, 0.5, 0.59, 0.6, 1.0])
    assert reasons.verdict(p, 0.5, 0.1).tolist() == [SKIP, SKIP, REVIEW, REVIEW, REVIEW, FOLLOW,
                                                     FOLLOW]
    assert reasons.verdict(p, 0.5, 0.0).tolist() == [SKIP, SKIP, SKIP, FOLLOW, FOLLOW, FOLLOW,
                                                     FOLLOW]


def test_a_low_threshold_still_leaves_room_to_skip():
    # A small model's F1-best threshold was 0.099 (the test demo): with a plain 0.1 margin
    # nothing could be skipped (threshold - margin < 0) and 116 of 203 accounts went to review.
    p = np.array([0.0, 0.04, 0.06, 0.15, 0.2, 0.3, 0.9, 0.97])
    assert reasons.verdict(p, 0.099, 0.1).tolist() == [SKIP, SKIP, REVIEW, REVIEW, FOLLOW,
                                                       FOLLOW, FOLLOW, FOLLOW]
    assert reasons.review_band(0.099, 0.1) == pytest.approx((0.0495, 0.199))
    assert reasons.review_band(0.9, 0.1) == pytest.approx((0.8, 0.95))
    assert reasons.review_band(0.5, 0.1) == pytest.approx((0.4, 0.6))


@pytest.mark.parametrize("handle, account_id, expected", [
    ("Alice", "1", reasons.ALLOW), ("@alice", "9", reasons.ALLOW), ("bob", "42", reasons.NEVER),
    ("carol", "2", ""), (None, "42", reasons.NEVER),
])
def test_overrides_match_handles_any_case_and_account_ids(handle, account_id, expected):
    from pipeline.core.config import UserConfig

    lists = reasons.Overrides.from_user(UserConfig(allow_list=["@ALICE"], never_list=["42"]))
    assert lists.of(handle, account_id) == expected


# --------------------------------------------------------------------------- reasons


def test_reasons_lead_with_the_verdicts_direction_and_drop_noise():
    c = pd.Series({"bot": 0.8, "language": -0.02, "bio": -1.5, "ratio": 0.3, "toxicity": -0.4,
                   "topic": np.nan})
    assert reasons.ranked_reasons(c, SKIP) == ["bio", "toxicity", "bot", "ratio"]
    assert reasons.ranked_reasons(c, FOLLOW) == ["bot", "ratio", "bio", "toxicity"]
    assert reasons.ranked_reasons(c, REVIEW) == ["bio", "bot", "toxicity", "ratio"]


def test_phrases_are_the_persons_words_both_ways():
    for crit in CRITERIA:
        assert reasons.phrase(crit, -0.5) == CRITERIA[crit]
        assert reasons.phrase(crit, 0.5) == CRITERIA_POSITIVE[crit]
        text = reasons.reason_text(crit, -1.0, "some evidence")
        assert text == f"{CRITERIA[crit]} — some evidence"
        assert reasons.criterion_of_phrase(text) == crit
    assert reasons.criterion_of_phrase("anything else") is None


def named_features(**columns) -> pd.DataFrame:
    """A feature-step output with only the columns red_flags reads, one row per account."""
    return pd.DataFrame(columns)


def test_red_flags_follow_the_rules_cutoffs_and_say_when_they_cannot_tell():
    from pipeline.core.config import RulesConfig

    named = named_features(**{
        "bot__bot_score": [0.9, 0.1, 0.5],
        "language__lang_is_private": [0, 0, 1],
        "language__lang_no_posts": [0, 1, 0],
        "language__lang_readable_share": [0.2, np.nan, np.nan],
        "bio__bio_meaningful": [1.0, 0.0, 1.0],
        "ratio__log_following_follower_ratio": np.log([0.003, 1.2, 0.5]),
        "ratio__times_unfollowed_after_followback": [0, np.nan, 2],
        "toxicity__toxicity_max": [0.93, 0.0, 0.2],
        "toxicity__toxicity_no_texts": [0, 1, 0],
        "topic__topic_max_cluster_cos": [0.44, 0.0, 0.1],
        "topic__topic_no_posts": [0, 1, 0],
    })
    flags = reasons.red_flags(named, RulesConfig())
    assert flags["bot"].tolist() == [True, False, True]
    assert flags["language"].tolist() == [True, True, True]   # unreadable, no posts, private
    assert flags["bio"].tolist() == [False, True, False]
    assert flags["ratio"].tolist() == [True, False, True]     # 0.003; 1.2; unfollowed twice
    assert flags["toxicity"].tolist()[::2] == [True, False]
    assert flags["toxicity"].isna().tolist() == [False, True, False]
    assert flags["topic"].tolist()[::2] == [False, True]
    assert flags["topic"].isna().tolist() == [False, True, False]


def test_words_that_would_be_false_of_the_account_name_the_criterion_instead():
    # A push against for a bio that says something: not "your bio doesn't say who you are".
    assert reasons.phrase("bio", -0.8, False) == "your bio makes me less likely to follow back"
    assert reasons.phrase("bio", -0.8, True) == CRITERIA["bio"]
    # A push for with a bot score of 0.75: not "you look like a real person".
    assert reasons.phrase("bot", 0.4, True) == \
        "your profile and posting pattern make me more likely to follow back"
    assert reasons.phrase("bot", 0.4, False) == CRITERIA_POSITIVE["bot"]
    # Nothing to judge the tone by: neither "offensive" nor "civil".
    for push in (-0.3, 0.3):
        assert reasons.phrase("toxicity", push, pd.NA).startswith("the tone of your posts makes")
    for crit, noun in CRITERIA_NEUTRAL.items():
        text = reasons.reason_text(crit, -1.0, "evidence", False)
        assert text.startswith(f"{noun} make")
        assert text.endswith(" me less likely to follow back — evidence")
        assert reasons.criterion_of_phrase(text) == crit


@pytest.mark.slow
def test_scored_reasons_never_claim_a_red_flag_the_account_lacks(demo_scores):  # noqa: F811


    scores = read_scores(demo_scores)
    reasons = pd.concat([scores[f"reason_{k}"] for k in (1, 2, 3)]).dropna()
    no_about = reasons[reasons.str.startswith(CRITERIA["bio"] + " — ")]
    assert len(no_about) > 0  # the demo has empty and emoji-only bios that push against
    assert not no_about.str.contains(' — bio: "').any()
    assert no_about.str.contains("empty bio|bio holds").all()


def test_evidence_sentences_from_each_extractors_columns():
    bio = pd.DataFrame({"bio_status": ["empty", "only emoji/links/hashtags/mentions",
                                       "says something"],
                        "bio": [None, "🍞🚲 linktr.ee/x", "Home baker in Berlin"]})
    assert reasons.evidence_sentences("bio", bio) == [
        "empty bio", 'bio holds only emoji/links/hashtags/mentions: "🍞🚲 linktr.ee/x"',
        'bio: "Home baker in Berlin"']
    tox = pd.DataFrame({"n_texts": [30, 0], "n_toxic": [3, 0], "max_score": [0.934, 0.0],
                        "most_toxic_text": ["x", None], "most_toxic_kind": ["post", None],
                        "most_toxic_date": ["2026-03-02T10:00:00+00:00", None]})
    assert reasons.evidence_sentences("toxicity", tox) == [
        "max toxicity 0.93 in a post of 2026-03-02; 3 of 30 texts toxic", "no texts to judge"]
    topic = pd.DataFrame({"n_posts": [12, 0], "similarity": [0.123, 0.0],
                          "most_relevant_post": ["Fed the starter", None]})
    assert reasons.evidence_sentences("topic", topic) == [
        'similarity 0.12 to my posts over 12 posts; closest: "Fed the starter"',
        "no posts to compare with mine"]
    ready = pd.DataFrame({"evidence": ["follows 12, followed by 5,400: ratio 0.002"],
                          "x": [1]})
    assert reasons.evidence_sentences("ratio", ready) == ["follows 12, followed by 5,400: "
                                                          "ratio 0.002"]
    summary = pd.DataFrame({"summary": ["27 of 30 posts in Russian"]})
    assert reasons.evidence_sentences("language", summary) == ["27 of 30 posts in Russian"]


def test_shapley_weights_sum_to_one_per_player():
    member, W = attribution._shapley_weights(6)
    # Each player's positive weights over the coalitions that contain it sum to 1.
    assert np.allclose(np.where(member, W, 0).sum(axis=0), 1.0)
    assert np.allclose(np.where(~member, W, 0).sum(axis=0), -1.0)
    assert W.shape == (64, 6)
    assert math.isclose(W[0, 0], -1 / 6)


# --------------------------------------------------------------------------- real model


@pytest.mark.slow
def test_real_model_attributions_add_up_and_equal_the_linear_contributions(demo_project):  # noqa: F811 (fixtures)
    from pipeline.data.frame import training_sample
    from pipeline.model.tracking import load_model

    cfg = demo_project.cfg
    loaded, _ = load_model(cfg, str(cfg.train.model_dir))
    model = loaded.pipeline
    assert cfg.train.classifier == "logreg" and cfg.train.calibration is None
    frame = training_sample(cfg, 40)
    features = attribution.feature_matrix(model, frame)
    background = loaded.background
    assert len(background) == cfg.score.background_size
    attr = attribution.attribute(model, features, background)
    np.testing.assert_allclose(attr.values.sum(axis=1),
                               attr.log_odds - attr.base, atol=1e-8)

    pipe = model[-1].estimator_
    weight = pipe[-1].coef_[0] / pipe[0].scale_
    exact = weight * (features - background.mean(axis=0))
    groups = attribution.criterion_groups(model[:-1].get_feature_names_out())
    assert set(groups) == set(CRITERIA)
    for crit, cols in groups.items():
        np.testing.assert_allclose(attr.values[crit], exact[:, cols].sum(axis=1),
                                   atol=1e-8)


KIND_TEXTS = [
    "Lovely sourdough bake this morning, thanks for the tips!",
    "Rode the river loop at sunrise, the light on the water was wonderful.",
    "My tomatoes finally ripened on the balcony, so happy with this year's crop.",
    "Tried a rye starter for the first time and the crumb came out open and soft.",
    "Thanks everyone for the route suggestions, the gravel section was a delight.",
    "Planted garlic for next summer and mulched the beds with autumn leaves.",
    "Baked cinnamon buns with the kids today, the kitchen smells amazing.",
    "Cleaned and oiled the chain after a muddy ride, the bike runs quietly again.",
]


@pytest.mark.slow
def test_removing_the_top_reasons_evidence_moves_the_real_score(demo_project, demo_scores):  # noqa: F811 (fixtures)
    """Accounts whose top reason against is their posts' toxicity: clean the posts, score again
    with the real pipeline, and the probability rises.

    The bio half of this test went with the multilingual encoder: on the small demo of these
    tests (240 followers, bio PCA to 4 dimensions) no account with an empty bio is pushed
    against by it any more (none has the bio as first reason, none a negative bio
    contribution), so there is nothing to fix; see the branch report (issue 11)."""
    from pipeline.model.tracking import load_model

    cfg = demo_project.cfg
    model = load_model(cfg, str(cfg.train.model_dir))[0].pipeline
    scores = read_scores(demo_scores)
    toxicity = model.named_steps["features"].named_transformers_["toxicity"]

    def is_toxic(text: str) -> bool:
        return toxicity.evidence(pd.Series([[{"text": text, "kind": "post"}]]))[
            "max_score"].iloc[0] >= 0.5

    checked = {"toxicity": 0}
    for crit, fix in (("toxicity", "posts"),):
        hits = scores[scores["reason_1"].fillna("").str.startswith(CRITERIA[crit] + " — ")]
        assert len(hits), f"the demo has accounts skipped for {crit}"
        frame = ingested_frame(cfg, hits["account_id"].head(3).tolist())
        fixed = frame.copy()
        # Distinct kind texts: one text repeated would look like a bot's duplicate posts.
        kind = iter(KIND_TEXTS * 10)
        for i in fixed.index:
            if fix == "posts":
                fixed.at[i, "posts"] = [
                    {**p, "text": next(kind)}
                    if is_toxic(p["text"]) else p for p in frame.at[i, "posts"]]
            else:
                fixed.at[i, "bio"] = "Home baker and bike tourer in Leipzig, growing veg."
        before = model.predict_proba(frame)[:, 1]
        after = model.predict_proba(fixed)[:, 1]
        assert (after > before).all(), (crit, before, after)
        checked[crit] += len(frame)
    assert all(checked.values())


@pytest.mark.slow
def test_explain_command_prints_reasons_evidence_and_overrides(demo_project, demo_scores):  # noqa: F811 (fixtures)
    import yaml
    from typer.testing import CliRunner

    from pipeline.cli import app

    scores = read_scores(demo_scores)
    row = scores.sort_values("contrib_toxicity").iloc[0]
    params = yaml.safe_load(demo_project.params.read_text())
    params["user"]["never_list"] = [str(row["handle"]).upper()]
    listed = demo_project.root / "params-never.yaml"
    listed.write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(app, ["explain", f"@{row['handle']}", "--params", str(listed)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert f"@{row['handle']}" in out
    assert "your posts look offensive" in out and "max toxicity" in out
    assert "override: on your never-follow list" in out
    assert "SKIP" in out
    assert "The pushes add up to" in out


def test_bio_evidence_says_how_i_decided_on_bios_like_it():
    bio = pd.DataFrame({"bio_status": ["says something", "says something", "empty"],
                        "bio": ["Urban grower. Seed Savers Exchange.", "Home baker", None],
                        "similar_decided": [5, np.nan, np.nan],
                        "similar_followed": [1, np.nan, np.nan]})
    assert reasons.evidence_sentences("bio", bio) == [
        'bio: "Urban grower. Seed Savers Exchange."; of the 5 bios I decided on most like '
        "it, I followed back 1",
        'bio: "Home baker"', "empty bio"]
