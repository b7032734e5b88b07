"""Training time on 10,000 decisions with cached features, against a bare classifier fit.

The feature extractors' work (embeddings, language, toxicity) is cached by content, so what a
re-training costs is the classifier part of ``followback train``: k-fold cross-validation of the
calibrated classifier, the threshold, the time-ordered holdout and the final fit. This benchmark
times exactly that part of the run per classifier on a 10,000-row feature matrix, and in the same
run the bare scikit-learn fit of the same classifier (no calibration, no CV) on the same matrix,
printing the ratio.

The matrix comes from the demo's ``data/features.parquet`` (``dvc repro`` writes it) with the
demo's own decisions as labels, resampled with replacement to ``--n`` rows and small Gaussian
jitter so that rows are distinct; without it the benchmark says so and stops.

    .venv/bin/python bench/train.py --n 10000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.core.config import load_config  # noqa: E402


def feature_matrix(cfg, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from pipeline.data import io

    features = pd.read_parquet(cfg.features.out)
    decisions = io.read_table(cfg.ingest.out_dir, "decisions")[["account_id", "follow_back"]]
    joined = features.merge(decisions, on="account_id")
    cols = [c for c in joined.columns if "__" in c and not c.startswith("raw__")]
    X = joined[cols].to_numpy(dtype=float)
    y = joined["follow_back"].astype(int).to_numpy()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(X), n)
    jitter = rng.normal(0, 0.01, (n, X.shape[1])) * X.std(axis=0, keepdims=True)
    return X[idx] + jitter, y[idx]


def classifier_part(cfg, X: np.ndarray, y: np.ndarray) -> float:
    """What `followback train` does after the features: CV, threshold, holdout, final fit."""
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import FixedThresholdClassifier, StratifiedKFold

    from pipeline.model.compose import build_classifier
    from pipeline.stages.train import choose_threshold

    def calibrated():
        clf = build_classifier(cfg)
        if cfg.train.calibration:
            clf = CalibratedClassifierCV(clf, method=cfg.train.calibration, cv=3)
        return clf

    started = time.perf_counter()
    oof = np.zeros(len(y))
    folds = StratifiedKFold(cfg.train.cv_folds, shuffle=True, random_state=cfg.base.seed)
    for tr, te in folds.split(X, y):
        oof[te] = calibrated().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
    threshold = choose_threshold(y, oof, cfg.train.threshold.policy,
                                 cfg.train.threshold.min_recall)
    cut = int(len(y) * (1 - cfg.train.holdout_fraction))
    calibrated().fit(X[:cut], y[:cut]).predict_proba(X[cut:])
    final = FixedThresholdClassifier(calibrated(), threshold=threshold,
                                     response_method="predict_proba")
    clone(final).fit(X, y)
    return time.perf_counter() - started


def bare_fit(cfg, X: np.ndarray, y: np.ndarray) -> float:
    from pipeline.model.compose import build_classifier

    started = time.perf_counter()
    build_classifier(cfg).fit(X, y)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="decisions to train on")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--classifiers", nargs="+", default=["logreg", "hgb", "forest"])
    args = parser.parse_args()

    cfg = load_config(args.params)
    if not Path(cfg.features.out).is_file():
        sys.exit(f"{cfg.features.out} not found: run `dvc repro` (or `make demo`) first")
    X, y = feature_matrix(cfg, args.n, cfg.base.seed)
    print(f"{len(y):,} decisions x {X.shape[1]} cached features; {cfg.train.cv_folds}-fold CV, "
          f"calibration {cfg.train.calibration}, holdout {cfg.train.holdout_fraction}")
    print(f"{'classifier':<10} {'bare fit s':>11} {'train s':>9} {'ratio':>7}")
    for name in args.classifiers:
        c = cfg.model_copy(update={"train": cfg.train.model_copy(update={"classifier": name})})
        bare = bare_fit(c, X, y)
        full = classifier_part(c, X, y)
        print(f"{name:<10} {bare:>11.2f} {full:>9.2f} {full / bare:>6.1f}x")


if __name__ == "__main__":
    main()
