"""The training stages end to end on a small demo, with MLflow on a temporary SQLite store."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pipeline.core.config import load_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cfg(trained_project):
    os.chdir(trained_project)
    return load_config(trained_project / "params.yaml")


def test_run_is_logged_with_params_metrics_tags_and_plots(cfg, trained_project):
    import mlflow

    mlflow.set_tracking_uri(cfg.mlflow.tracking_uri)
    runs = mlflow.search_runs(experiment_names=[cfg.mlflow.experiment], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["train.classifier"] == "hgb"
    assert 0.5 < run.data.metrics["cv_roc_auc"] <= 1.0
    assert "holdout.model.roc_auc" in run.data.metrics  # added by evaluate
    assert "importance.topic" in run.data.metrics
    for tag in ("git.commit", "data.accounts.sha256", "data.decisions.sha256",
                "backend.embedding", "backend.toxicity"):
        assert run.data.tags.get(tag), tag
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id,
                                                                       "evaluation")}
    assert "evaluation/evaluation.png" in artifacts


def test_model_is_registered_with_alias_and_scores_raw_accounts(cfg):
    from mlflow import MlflowClient

    from pipeline.data.frame import load_account_frame
    from pipeline.model.tracking import load_model

    client = MlflowClient(cfg.mlflow.tracking_uri)
    name = cfg.mlflow.registered_model
    version = client.get_model_version_by_alias(name, cfg.mlflow.alias)
    assert str(version.version) == "1"
    model, identity = load_model(cfg, f"models:/{name}@{cfg.mlflow.alias}")
    assert identity.startswith(f"models:/{name}/1 (run {version.run_id})#")
    frame = load_account_frame(cfg).head(25)
    rows = model.predict(None, frame)
    proba = model.pipeline.predict_proba(frame)[:, 1]
    assert proba.shape == (25,) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(rows["probability"], proba.round(4), atol=1e-12)
    # The stored threshold turns probabilities into verdicts.
    threshold = model.pipeline[-1].threshold
    assert 0 < threshold < 1 and rows["threshold"].eq(round(threshold, 4)).all()
    assert ((proba >= threshold).astype(int) == model.pipeline.predict(frame)).all()
    # The registry's copy and the pipeline's own folder are the same model.
    local, local_id = load_model(cfg)
    assert local_id.startswith(str(cfg.train.model_dir) + "#")
    assert local.predict(None, frame).equals(rows)


def test_evaluation_beats_the_rule_baseline_and_the_majority(cfg):
    from pipeline.stages.evaluate import details_path

    metrics = json.loads(details_path(cfg).read_text())
    for split in ("cv", "holdout"):
        assert set(metrics[split]) >= {"model", "rules", "majority", "margin_over_rules"}
    cv = metrics["cv"]
    assert cv["model"]["roc_auc"] > cv["rules"]["roc_auc"]
    assert cv["model"]["roc_auc"] > cv["majority"]["roc_auc"]
    assert cv["model"]["mcc"] > cv["rules"]["mcc"]
    assert metrics["slices"], "agreement on criterion slices is reported"


def test_same_inputs_and_params_give_the_same_metrics(cfg):
    from pipeline.stages.train import train

    first = json.loads(cfg.train.metrics.read_text())
    again = train(cfg, track=False).summary
    assert again["cv_roc_auc"] == first["cv_roc_auc"]
    assert again["holdout_roc_auc"] == first["holdout_roc_auc"]
    assert again["threshold"] == pytest.approx(first["threshold"])


def test_training_learns_from_implicit_decisions_and_measures_on_explicit_ones(cfg):
    import mlflow
    import pandas as pd

    labels = pd.read_parquet(cfg.decisions.out)
    n_explicit = int((labels["source"] == "explicit").sum())
    n_implicit = int((labels["source"] == "implicit").sum())
    assert n_explicit == 240 and n_implicit > 50  # demo.decided_share 0.6 of 400 followers
    assert labels.loc[labels["source"] == "implicit", "note"].str.startswith("implicit").all()
    metrics = json.loads(cfg.train.metrics.read_text())
    assert metrics["n_explicit"] == n_explicit and metrics["n_implicit"] == n_implicit
    assert metrics["n_decisions"] == n_explicit + n_implicit
    assert metrics["n_measured"] == n_explicit
    predictions = pd.read_parquet(cfg.train.eval_dir / "predictions.parquet")
    assert set(predictions["source"]) == {"explicit"}
    assert (predictions["split"] == "cv").sum() == n_explicit
    mlflow.set_tracking_uri(cfg.mlflow.tracking_uri)
    run = mlflow.search_runs(experiment_names=[cfg.mlflow.experiment], output_format="list")[0]
    assert run.data.params["labels.n_implicit"] == str(n_implicit)
    assert run.data.params["labels.measured_on"] == "explicit"
    assert run.data.params["decisions.implicit"] == "True"
