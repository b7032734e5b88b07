"""Shapley values read from the classifier's structure: the same values as the hybrid rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.data.frame import account_frame
from pipeline.model import attribution, reasons, structural
from tests.unit.test_explain import brute_force_shapley
from tests.unit.test_score import fitted_toy_model, toy_model, toy_tables


# Six criteria over 14 columns, one of them a single column, as uneven as the real ones.
@pytest.fixture(autouse=True)
def one_thread():
    """OpenMP threads per tree-predictor call cost more than they give on these small
    matrices (the hybrid rows' reference is 20x slower with 2 threads on a busy machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


GROUPS = {"bot": np.arange(0, 5), "language": np.array([5]), "bio": np.arange(6, 9),
          "ratio": np.arange(9, 11), "toxicity": np.array([11]), "topic": np.arange(12, 14)}


def data(n: int = 500, seed: int = 0, missing: float = 0.05):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 14))
    z = np.nan_to_num(X)
    y = (z[:, 0] * z[:, 6] + z[:, 5] - z[:, 11] ** 2 + 0.5 * z[:, 13] > 0).astype(int)
    X[rng.random(X.shape) < missing] = np.nan  # the extractors give NaN for "cannot tell"
    return X, y


def classifier(kind: str, calibration: str | None):
    base = {
        "hgb": HistGradientBoostingClassifier(max_iter=40, random_state=0),
        "forest": RandomForestClassifier(n_estimators=15, min_samples_leaf=2, random_state=0),
        "logreg": Pipeline([("scale", StandardScaler()), ("logreg", LogisticRegression())]),
    }[kind]
    est = base if calibration is None else CalibratedClassifierCV(base, method=calibration,
                                                                  cv=3)
    return FixedThresholdClassifier(est, threshold=0.4, response_method="predict_proba")


CASES = [(k, c) for k in ("hgb", "forest", "logreg") for c in (None, "sigmoid", "isotonic")]


@pytest.mark.parametrize("kind, calibration", CASES)
def test_structure_gives_the_hybrid_rows_values(kind, calibration):
    X, y = data()
    if kind == "logreg":
        X = np.nan_to_num(X)  # logistic regression takes no NaN
    clf = classifier(kind, calibration).fit(X, y)
    explained, background = X[:12], X[300:310]
    f = attribution.log_odds_function_of(clf)
    exact, base, fx = attribution.group_shapley(f, explained, background, GROUPS)
    fast, base2, fx2 = attribution.group_shapley_structural(clf, explained, background,
                                                            GROUPS, block=7)
    np.testing.assert_allclose(fast, exact, atol=1e-9, rtol=0)
    assert base2 == pytest.approx(base, abs=1e-12)
    np.testing.assert_allclose(fx2, fx, atol=1e-12)
    # Efficiency: the criteria's pushes add up to the model's log-odds less the base.
    np.testing.assert_allclose(fast.sum(axis=1), fx2 - base2, atol=1e-9)


def test_structure_equals_brute_force_over_every_order_of_the_criteria():
    X, y = data(seed=3)
    clf = classifier("hgb", "sigmoid").fit(X, y)
    background = X[200:206]
    phi, _, _ = attribution.group_shapley_structural(clf, X[:3], background, GROUPS)
    f = attribution.log_odds_function_of(clf)
    for i in range(3):
        np.testing.assert_allclose(phi[i], brute_force_shapley(f, X[i], background, GROUPS),
                                   atol=1e-9)


def test_a_tree_that_splits_on_one_criterion_only_moves_that_criterion():
    """A leaf's reach depends only on the criteria its path splits on: a model that reads one
    criterion gives every other criterion 0 (to rounding: the coalitions' values are sums in
    different orders, 1e-16 apart)."""
    X, y = data(missing=0.0)
    only = GROUPS["bio"]
    clf = classifier("hgb", "sigmoid").fit(np.where(np.isin(np.arange(14), only), X, 0.0), y)
    phi, base, fx = attribution.group_shapley_structural(clf, X[:20], X[100:120], GROUPS)
    bio = list(GROUPS).index("bio")
    assert np.abs(np.delete(phi, bio, axis=1)).max() < 1e-12
    np.testing.assert_allclose(phi[:, bio], fx - base, atol=1e-9)


def test_prepared_structure_is_reused_for_the_same_model_and_background():
    X, y = data()
    clf = classifier("hgb", None).fit(X, y)
    first = structural.prepare(clf, X[:10], GROUPS)
    assert structural.prepare(clf, X[:10].copy(), GROUPS) is first
    assert structural.prepare(clf, X[10:20], GROUPS) is not first


def test_a_classifier_it_cannot_read_falls_back_to_the_hybrid_rows_with_a_warning():
    X, y = data(missing=0.0)
    clf = FixedThresholdClassifier(KNeighborsClassifier(5), response_method="predict_proba")
    clf.fit(X, y)
    with pytest.raises(structural.Unsupported):
        structural.components(clf)

    class Model(list):  # model[:-1] is the feature step, model[-1] the classifier
        def __getitem__(self, key):
            if isinstance(key, slice):
                return Names()
            return list.__getitem__(self, key)

    class Names:
        def get_feature_names_out(self):
            return np.array([f"{c}__f{j}" for c, cols in GROUPS.items() for j in cols])

    model = Model([None, clf])
    with pytest.warns(UserWarning, match="cannot read this classifier"):
        fast = attribution.attribute(model, X[:8], X[50:60], method="structure")
    exact = attribution.attribute(model, X[:8], X[50:60], method="hybrid")
    pd.testing.assert_frame_equal(fast.values, exact.values)


def test_a_misread_model_is_refused_not_explained(monkeypatch):
    X, y = data()
    clf = classifier("hgb", "sigmoid").fit(X, y)
    real = structural.components

    def off_by_a_little(c):
        parts = real(c)
        parts[0].response.offset += 0.01
        return parts

    monkeypatch.setattr(structural, "components", off_by_a_little)
    structural._CACHE.clear()
    with pytest.raises(RuntimeError, match="disagrees with its predict_proba"):
        attribution.group_shapley_structural(clf, X[:5], X[100:110], GROUPS)
    structural._CACHE.clear()


def test_unknown_method_is_an_error():
    model = fitted_toy_model()
    accounts, posts, _ = toy_tables(10, seed=2)
    features = attribution.feature_matrix(model, account_frame(accounts, posts))
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribution.attribute(model, features, features, method="fast")


@pytest.mark.parametrize("kind", ["hgb", "logreg"])
def test_scored_rows_are_the_same_with_either_method(kind):
    """The whole explanation (probability, verdict, reasons, contributions) of the toy
    pipeline, with the default logistic regression and with calibrated boosted trees."""
    accounts, posts, y = toy_tables(120, seed=4)
    frame = account_frame(accounts, posts, max_posts=30)
    model = toy_model()
    if kind == "hgb":
        model.set_params(clf__estimator=CalibratedClassifierCV(
            HistGradientBoostingClassifier(max_iter=30, min_samples_leaf=5, random_state=0),
            method="sigmoid", cv=3))
    model.fit(frame, y)
    features = attribution.feature_matrix(model, frame)
    rows = {method: reasons.explain_frame(model, frame, features[:15], 0.1,
                                          reasons.Overrides(frozenset(), frozenset()),
                                          attribution=method)
            for method in ("hybrid", "structure")}
    assert rows["hybrid"]["reason_1"].notna().sum() > 20
    pd.testing.assert_frame_equal(rows["structure"], rows["hybrid"], atol=1e-9, rtol=0)
