"""Measure the model against the person's decisions, always beside two baselines.

Reads the out-of-fold and holdout predictions that ``followback train`` wrote and the feature
table from ``followback featurize``. For each of the model, a majority-class baseline and the
hand-written rule set that follower-management apps use, on the cross-validation folds and on
the time-ordered holdout: ROC-AUC, PR-AUC, F1, MCC, accuracy and Brier score; agreement with the
decisions on each criterion's slice (e.g. accounts with an empty bio); plots. Metrics and plot
data are DVC metrics/plots files and are logged to the training run in MLflow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.config import Config, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.data import io
from pipeline.model.rules import rule_flags  # the baseline's red flags (also the prior's)

MODELS = ("model", "rules", "majority")


def metric_set(y: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float | None]:
    """The six figures the issue asks for; ROC- and PR-AUC are None on a single class."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        brier_score_loss,
        f1_score,
        matthews_corrcoef,
        roc_auc_score,
    )

    pred = (proba >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, proba)) if both else None,
        "pr_auc": float(average_precision_score(y, proba)) if both else None,
        "f1": float(f1_score(y, pred, zero_division=0)),
        "mcc": float(matthews_corrcoef(y, pred)),
        "accuracy": float(accuracy_score(y, pred)),
        "brier": float(brier_score_loss(y, proba)),
    }


def evaluate(cfg: Config, predictions: pd.DataFrame, features: pd.DataFrame) -> dict:
    """Metrics of model and baselines per split, slice agreement and the margin over the rules."""
    feats = features.set_index("account_id")
    flags = rule_flags(feats, cfg.evaluate.rules)
    preds = predictions.copy()
    missing = ~preds["account_id"].isin(flags.index)
    if missing.any():
        raise FollowbackError(f"{int(missing.sum())} predicted accounts have no features: "
                              "run `followback featurize` on the same ingested data")
    preds["p_rules"] = 1.0 - flags.loc[preds["account_id"]].mean(axis=1).to_numpy()
    threshold = float(preds["threshold"].iloc[0]) if len(preds) else 0.5
    out: dict = {"threshold": threshold, "n": {}}
    for split, part in preds.groupby("split"):
        y = part["y"].to_numpy()
        out["n"][split] = int(len(part))
        out[split] = {
            "model": metric_set(y, part["p_model"].to_numpy(), threshold),
            # The rules follow back only accounts that raise no flag at all.
            "rules": metric_set(y, part["p_rules"].to_numpy(), 1.0),
            "majority": metric_set(y, part["p_majority"].to_numpy(), 0.5),
        }
        out[split]["margin_over_rules"] = {
            k: _diff(out[split]["model"][k], out[split]["rules"][k])
            for k in ("roc_auc", "pr_auc", "f1", "mcc", "accuracy")
        }
    cv = preds[preds["split"] == "cv"]
    out["slices"] = slice_agreement(cv, flags.loc[cv["account_id"]].reset_index(drop=True),
                                    threshold)
    return out


def slice_agreement(preds: pd.DataFrame, flags: pd.DataFrame, threshold: float) -> dict:
    """Agreement with the person's decisions among accounts that raise each red flag."""
    preds = preds.reset_index(drop=True)
    y = preds["y"].to_numpy()
    model_pred = (preds["p_model"].to_numpy() >= threshold).astype(int)
    out = {}
    for crit in flags.columns:
        mask = flags[crit].to_numpy()
        if mask.sum() == 0:
            continue
        out[crit] = {
            "n": int(mask.sum()),
            "followed_back_share": float(y[mask].mean()),
            "model_agreement": float((model_pred[mask] == y[mask]).mean()),
            # The rules skip every flagged account.
            "rules_agreement": float((y[mask] == 0).mean()),
        }
    return out


def _diff(a, b):
    return None if a is None or b is None else float(a - b)


def write_plots(
    cfg: Config, predictions: pd.DataFrame, importance: dict, metrics: dict,
    out: io.OutputSet | None = None,
) -> list[Path]:
    """ROC, PR, calibration, confusion and importance-by-criterion as DVC plot data and PNGs.

    The files go into ``out`` when given (see :func:`write_outputs`), else into a set of their
    own. Returns the paths they have once committed.
    """
    if out is None:
        with io.OutputSet() as own:
            return write_plots(cfg, predictions, importance, metrics, own)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

    plots = Path(cfg.evaluate.plots_dir)
    cv = predictions[predictions["split"] == "cv"]
    y, p = cv["y"].to_numpy(), cv["p_model"].to_numpy()
    threshold = metrics["threshold"]
    written = []
    if len(np.unique(y)) < 2:
        return _no_plots(plots, out, metrics, len(y))

    fpr, tpr, _ = roc_curve(y, p)
    roc = pd.DataFrame({"fpr": fpr, "tpr": tpr})
    precision, recall, _ = precision_recall_curve(y, p)
    pr = pd.DataFrame({"recall": recall, "precision": precision})
    frac_pos, mean_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
    cal = pd.DataFrame({"mean_predicted": mean_pred, "fraction_followed_back": frac_pos})
    conf = pd.DataFrame({"actual": np.where(y == 1, "follow back", "skip"),
                         "predicted": np.where(p >= threshold, "follow back", "skip")})
    imp = pd.DataFrame(sorted(importance.items(), key=lambda kv: -kv[1]),
                       columns=["criterion", "roc_auc_drop"])
    for name, frame in (("roc", roc), ("pr", pr), ("calibration", cal),
                        ("confusion", conf), ("importance", imp)):
        path = plots / f"{name}.csv"
        io.write_table(frame, out.file(path))
        written.append(path)

    fig, axes = plt.subplots(2, 3, figsize=(15, 9))
    ax = axes[0, 0]
    ax.plot(fpr, tpr, label=f"model (AUC {metrics['cv']['model']['roc_auc']:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", label="chance")
    ax.set(title="ROC (cross-validation)", xlabel="false positive rate",
           ylabel="true positive rate")
    ax.legend()
    ax = axes[0, 1]
    ax.plot(recall, precision, label=f"model (AP {metrics['cv']['model']['pr_auc']:.3f})")
    ax.axhline(y.mean(), ls="--", c="grey", label="majority")
    ax.set(title="Precision-recall", xlabel="recall", ylabel="precision")
    ax.legend()
    ax = axes[0, 2]
    ax.plot(mean_pred, frac_pos, marker="o", label="model")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", label="perfect")
    ax.set(title="Calibration", xlabel="predicted probability",
           ylabel="share followed back")
    ax.legend()
    ax = axes[1, 0]
    cm = confusion_matrix(y, (p >= threshold).astype(int))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=14)
    ax.set(title=f"Confusion at threshold {threshold:.2f}", xticks=[0, 1], yticks=[0, 1],
           xticklabels=["skip", "follow back"], yticklabels=["skip", "follow back"],
           xlabel="predicted", ylabel="your decision")
    ax = axes[1, 1]
    ax.barh(imp["criterion"][::-1], imp["roc_auc_drop"][::-1], color="tab:purple")
    ax.set(title="Importance by criterion (holdout)", xlabel="ROC-AUC drop when shuffled")
    ax = axes[1, 2]
    names = ["roc_auc", "pr_auc", "f1", "mcc", "accuracy"]
    width = 0.27
    for i, who in enumerate(MODELS):
        vals = [metrics["cv"][who][k] or 0 for k in names]
        ax.bar(np.arange(len(names)) + (i - 1) * width, vals, width, label=who)
    ax.set(title="Model vs baselines (cross-validation)", xticks=np.arange(len(names)),
           xticklabels=names, ylim=(min(0, ax.get_ylim()[0]), 1))
    ax.legend()
    fig.tight_layout()
    written.append(_save_figure(fig, plots / "evaluation.png", out))
    return written


def _save_figure(fig, png: Path, out: io.OutputSet) -> Path:
    """Write ``fig`` to ``png`` with the stage's other outputs (atomically) and close it."""
    import matplotlib.pyplot as plt

    with io.atomic_path(out.file(png)) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return png


def _no_plots(plots: Path, out: io.OutputSet, metrics: dict, n: int) -> list[Path]:
    """Too few decisions (or of one answer) to draw ROC and friends: empty plot files and a
    figure that says so, so the report and `dvc plots` still find every file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, cols in (("roc", ["fpr", "tpr"]), ("pr", ["recall", "precision"]),
                       ("calibration", ["mean_predicted", "fraction_followed_back"]),
                       ("confusion", ["actual", "predicted"]),
                       ("importance", ["criterion", "roc_auc_drop"])):
        path = plots / f"{name}.csv"
        io.write_table(pd.DataFrame(columns=cols), out.file(path))
        written.append(path)
    fig, ax = plt.subplots(figsize=(8, 2.5))
    ax.axis("off")
    ax.text(0.5, 0.5, f"No evaluation yet: {n} decision(s), not both answers.\n"
            + (metrics.get("note") or "Answer with `followback review`, then `dvc repro`."),
            ha="center", va="center", fontsize=12, wrap=True)
    written.append(_save_figure(fig, plots / "evaluation.png", out))
    return written


def write_outputs(cfg: Config, predictions: pd.DataFrame, importance: dict,
                  metrics: dict) -> list[Path]:
    """The plots, ``evaluation.json`` and ``evaluate.metrics`` as one output set.

    They live in two folders (plots/ and metrics/), and the plots folder is not the stage's
    alone to replace, so each file is a target of one :class:`pipeline.data.io.OutputSet`: a run
    killed at any point leaves every one of them old or every one new.
    """
    with io.OutputSet() as out:
        files = write_plots(cfg, predictions, importance, metrics, out)
        # The full evaluation (per fold, slices, rules, importance) is a plots-folder file that
        # the report reads and MLflow keeps; the DVC metrics file holds the few comparable
        # scores.
        io.write_text(out.file(details_path(cfg)), json.dumps(metrics, indent=2) + "\n")
        io.write_text(out.file(cfg.evaluate.metrics),
                      json.dumps(headline(metrics), indent=2) + "\n")
    return files


def details_path(cfg: Config) -> Path:
    """The whole evaluation as JSON, beside the plots (not a DVC metric)."""
    return Path(cfg.evaluate.plots_dir) / "evaluation.json"


def headline(metrics: dict) -> dict:
    """The numbers worth a column in `dvc exp show`, short-named so that they fit a 120-column
    terminal with the main params: the model's PR-AUC (CV and holdout), holdout F1 and Brier
    score, and by how much its holdout ROC-AUC beats the rule baseline. The threshold and the
    ROC-AUCs are in ``train.metrics``."""
    cv = (metrics.get("cv") or {}).get("model") or {}
    holdout = metrics.get("holdout") or {}
    model = holdout.get("model") or {}
    out = {
        "cv_ap": cv.get("pr_auc"),
        "ap": model.get("pr_auc"),
        "f1": model.get("f1"),
        "brier": model.get("brier"),
        "auc_gain": (holdout.get("margin_over_rules") or {}).get("roc_auc"),
    }
    return {k: (None if v is None else round(float(v), 4)) for k, v in out.items()}


def log_to_mlflow(cfg: Config, metrics: dict, files: list[Path]) -> str | None:
    """Add the evaluation to the training run that made the model."""
    from pipeline.model import tracking

    run_id = tracking.run_id_of(cfg.train.model_dir)
    if run_id is None:
        return None
    import mlflow

    tracking.setup(cfg)
    flat = {}
    for split in ("cv", "holdout"):
        for who in MODELS:
            for k, v in metrics.get(split, {}).get(who, {}).items():
                if v is not None:
                    flat[f"{split}.{who}.{k}"] = v
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(flat)
        for fold, m in metrics.get("per_fold", {}).items():
            mlflow.log_metrics({f"fold.{k}": v for k, v in m.items() if v is not None},
                               step=int(fold))
        for path in files:
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        mlflow.log_dict(metrics, "evaluation/metrics.json")
    return run_id


def per_fold(predictions: pd.DataFrame, threshold: float) -> dict:
    cv = predictions[predictions["split"] == "cv"]
    return {str(fold): metric_set(part["y"].to_numpy(), part["p_model"].to_numpy(), threshold)
            for fold, part in cv.groupby("fold")}


def cli(params: ParamsOption = Path("params.yaml")) -> None:
    """Score the model and two baselines (majority class, follower-app rules) on your decisions.

    Cross-validation and time-ordered holdout figures, agreement on each criterion's slice, and
    plots (ROC, PR, calibration, confusion, importance by criterion). Writes
    evaluate.metrics and evaluate.plots_dir and adds them to the training run in MLflow.
    """
    from rich.table import Table

    from pipeline.stages import train

    cfg = load_config(params)
    for path in (cfg.train.eval_dir, cfg.features.out):
        io.recover(path)  # finish or drop a commit that a killed train / featurize left
    predictions = pd.read_parquet(train.predictions_path(cfg))
    features = pd.read_parquet(cfg.features.out)
    metrics = evaluate(cfg, predictions, features)
    metrics["per_fold"] = per_fold(predictions, metrics["threshold"])
    training = json.loads(Path(cfg.train.metrics).read_text()) \
        if Path(cfg.train.metrics).is_file() else {}
    if training.get("prior") == 1:
        metrics["model_kind"] = "prior"
        metrics["note"] = ("the verdicts come from the prior (too few decisions for your own "
                           "model): its figures are in sample, on the decisions it was "
                           "calibrated on")
    imp_path = train.importance_path(cfg)
    importance = json.loads(imp_path.read_text()) if imp_path.is_file() else {}
    metrics["importance"] = importance
    files = write_outputs(cfg, predictions, importance, metrics)
    run_id = log_to_mlflow(cfg, metrics, [cfg.evaluate.metrics, details_path(cfg), *files])

    for split in ("cv", "holdout"):
        if split not in metrics:
            continue
        table = Table(title=f"{split}: model vs baselines (n={metrics['n'].get(split, 0)})")
        table.add_column("")
        for k in ("roc_auc", "pr_auc", "f1", "mcc", "accuracy", "brier"):
            table.add_column(k, justify="right")
        for who in MODELS:
            m = metrics[split][who]
            table.add_row(who, *("-" if m[k] is None else f"{m[k]:.3f}"
                                 for k in ("roc_auc", "pr_auc", "f1", "mcc", "accuracy",
                                           "brier")))
        console.print(table)
    margin = (metrics.get("holdout") or {}).get("margin_over_rules") or {}
    if margin:
        console.print("model minus rules on the holdout: " + ", ".join(
            f"{k} {v:+.3f}" for k, v in margin.items() if v is not None))
    if metrics.get("note"):
        console.print(f"[yellow]{metrics['note']}[/]")
    console.print(f"plots: {cfg.evaluate.plots_dir}/  metrics: {cfg.evaluate.metrics}"
                  + (f"  MLflow run: {run_id}" if run_id else ""))
