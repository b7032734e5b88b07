"""Issue 13 section 6: DVC metrics hold only the few numbers worth comparing across experiments."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from pipeline.core.config import load_config
from pipeline.stages.evaluate import details_path, headline

REPO = Path(__file__).resolve().parents[2]
EVALUATION = {
    "threshold": 0.47,
    "n": {"cv": 100, "holdout": 20},
    "cv": {"model": {"roc_auc": 0.93, "pr_auc": 0.87, "f1": 0.84, "brier": 0.09},
           "rules": {"roc_auc": 0.73}},
    "holdout": {"model": {"roc_auc": 0.9, "pr_auc": 0.8, "f1": 0.81, "brier": 0.1},
                "margin_over_rules": {"roc_auc": 0.2}},
    "slices": {"bio": {"n": 3}}, "per_fold": {"0": {"roc_auc": 0.9}},
    "importance": {"bot": 0.02},
}


def test_evaluate_metrics_are_a_few_short_named_numbers():
    metrics = headline(EVALUATION)
    assert metrics == {"cv_ap": 0.87, "ap": 0.8, "f1": 0.81, "brier": 0.1, "auc_gain": 0.2}
    assert all(len(name) <= 8 for name in metrics)


def test_counters_and_backend_names_are_no_dvc_metrics(tmp_path, monkeypatch):
    import pandas as pd

    from pipeline.stages import featurize

    cfg = load_config(REPO / "params.yaml")
    cfg.features.out = tmp_path / "features.parquet"
    cfg.features.metrics = tmp_path / "metrics" / "featurize.json"

    class Features:
        named_transformers_ = {"bio": type("T", (), {"cache_stats": lambda self: {"hits": 1}})()}

        def set_output(self, transform):
            return self

        def fit_transform(self, frame):
            return pd.DataFrame({"bio__x": [1.0]})

    frame = pd.DataFrame({"account_id": ["1"], "followers_count": [1], "following_count": [1],
                          "is_private": [False], "bio": ["b"]})
    monkeypatch.setattr("pipeline.data.frame.load_account_frame", lambda cfg: frame)
    monkeypatch.setattr("pipeline.data.io.read_table",
                        lambda d, t: pd.DataFrame({"text": ["own"]}))
    monkeypatch.setattr("pipeline.model.compose.build_features", lambda cfg, own: Features())
    monkeypatch.setattr("pipeline.model.tracking.backends", lambda f: {"embedding": "some model"})
    featurize.featurize(cfg)
    metrics = json.loads(cfg.features.metrics.read_text())
    assert set(metrics) == {"n_accounts", "n_features", "seconds"}
    details = json.loads(featurize.run_details_path(cfg).read_text())
    assert details["backends"] == {"embedding": "some model"}
    assert details["cache"] == {"bio": {"hits": 1}}


def test_dvc_lists_only_the_small_files_as_metrics():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    cfg = load_config(REPO / "params.yaml")
    metrics = [next(iter(m)) if isinstance(m, dict) else m
               for s in stages.values() for m in s.get("metrics", [])]
    assert sorted(metrics) == sorted(str(p) for p in (cfg.features.metrics, cfg.train.metrics,
                                                      cfg.evaluate.metrics))
    outs = [next(iter(o)) if isinstance(o, dict) else o for o in stages["evaluate"]["outs"]]
    assert str(details_path(cfg)) in outs
    assert "plots/evaluation.json" in stages["report"]["deps"]
