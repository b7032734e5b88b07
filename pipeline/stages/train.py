"""Train the follow-back classifier on the person's past decisions, tracked in MLflow.

The decisions are the labels of ``followback decisions`` (``decisions.out``): the explicit ones
and, unless ``decisions.implicit`` is off, the implicit ones read from the snapshots. The model
learns from both; cross-validation and the holdout *measure* on explicit decisions only (implicit
labels are noisy, see :mod:`pipeline.stages.decisions`), as long as there are enough of them for
``train.cv_folds`` folds; otherwise on all labels, and the summary says so.

One run does, in order: stratified k-fold cross-validation of the whole Pipeline (features are
fitted inside each fold), a decision threshold chosen on the out-of-fold probabilities by the
policy in ``params.yaml``, a time-ordered holdout (fit on older decisions, test on the newest) with
importance by criterion, and the final fit on every decision. The out-of-fold and holdout
predictions go to ``data/eval/`` for ``followback evaluate``; the model goes to
``train.model_dir`` (an MLflow model folder, tracked by DVC) and to the MLflow registry.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from pipeline.core.config import Config, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console, progress
from pipeline.data import io


def predictions_path(cfg: Config) -> Path:
    return Path(cfg.train.eval_dir) / "predictions.parquet"


def importance_path(cfg: Config) -> Path:
    return Path(cfg.train.eval_dir) / "importance.json"


@dataclass
class TrainingData:
    """The decided accounts as model input, their labels and when each was decided."""

    X: pd.DataFrame
    y: np.ndarray
    decided_at: pd.Series
    own_posts: list[str]
    unknown_decisions: int = 0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    # "explicit" or "implicit", per row of X
    source: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    label_counts: dict[str, int] = field(default_factory=dict)

    @property
    def measured(self) -> np.ndarray:
        """Indices of the rows that CV and the holdout measure on: the explicit decisions, or
        every row when there are too few explicit ones (see :func:`measured_on`)."""
        explicit = np.flatnonzero(self.source == "explicit")
        return explicit if self.measured_on == "explicit" else np.arange(len(self.y))

    @property
    def measured_on(self) -> str:
        explicit = self.y[self.source == "explicit"]
        counts = np.bincount(explicit, minlength=2)
        return "explicit" if len(explicit) and counts.min() >= self.cv_folds else "all"

    cv_folds: int = 5


def load_training_data(cfg: Config) -> TrainingData:
    """Join the ingested decisions with their accounts; refuse data too thin to learn from."""
    from pipeline.data.frame import load_account_frame

    data_dir = cfg.ingest.out_dir
    from pipeline.stages.decisions import labels_for_training

    tables = {name: io.read_table(data_dir, name)
              for name in ("accounts", "posts", "snapshots", "decisions", "own_posts")}
    labels = labels_for_training(cfg, tables)
    decisions = labels.frame
    # Churn counts as the person could see them when deciding (no label leak); an undated
    # decision sees every snapshot.
    last = tables["snapshots"]["taken_at"].max() if len(tables["snapshots"]) else pd.NaT
    as_of = decisions.set_index("account_id")["decided_at"].fillna(last)
    frame = load_account_frame(cfg, tables, as_of=as_of)
    known = decisions["account_id"].isin(frame["account_id"])
    decided = frame.merge(decisions[known][["account_id", "follow_back", "decided_at", "source"]],
                          on="account_id", how="inner", validate="one_to_one")
    # Decisions of one time (one fetch shows many) in the order of the follows: the follower
    # list's place, older followers first, so the time-ordered holdout tests on the newest.
    decided["_place"] = -decided["account_id"].astype(str).map(
        follow_places(tables["snapshots"])).astype(float)
    decided = decided.sort_values(["decided_at", "_place", "account_id"], na_position="first",
                                  kind="stable").drop(columns="_place").reset_index(drop=True)
    y = decided["follow_back"].astype(int).to_numpy()
    source = decided["source"].astype(str).to_numpy(dtype=object)
    # No own posts (a new account, an export without them): relevance has nothing to compare
    # with; its features are 0 with the indicator topic_no_own_posts and training goes on.
    own = [t for t in tables["own_posts"]["text"].dropna().tolist() if t.strip()]
    counts = {f"n_{s}": int((source == s).sum()) for s in ("explicit", "implicit")}
    counts.update({f"n_{s}_follow_back": int(y[source == s].sum())
                   for s in ("explicit", "implicit")})
    return TrainingData(
        X=decided.drop(columns=["follow_back", "decided_at", "source"]),
        y=y,
        decided_at=decided["decided_at"],
        own_posts=own,
        unknown_decisions=int((~known).sum()),
        tables=tables,
        source=source,
        label_counts=counts,
        cv_folds=cfg.train.cv_folds,
    )


def enough_labels(y: np.ndarray, cfg: Config) -> bool:
    """Whether the decisions can train the personal model (see :func:`check_labels`)."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=2)
    return (len(y) >= max(cfg.train.min_decisions, 2 * cfg.train.cv_folds)
            and counts.min() >= cfg.train.cv_folds)


def follow_places(snapshots: pd.DataFrame) -> pd.Series:
    """account id -> place in the latest follower list that says who is newest (0 = newest);
    empty without such a list."""
    from pipeline.data.undecided import followers_at, has_order

    if not len(snapshots):
        return pd.Series(dtype=float)
    followers = snapshots[snapshots["direction"] == "followers"]
    for when in sorted(followers["taken_at"].unique(), reverse=True):
        if has_order(followers[followers["taken_at"] == when]):
            table = followers_at(snapshots, when)
            return pd.Series(table["rank"].to_numpy(dtype=float),
                             index=table["account_id"].astype(str))
    return pd.Series(dtype=float)


def check_labels(y: np.ndarray, cfg: Config, source: np.ndarray | None = None) -> None:
    """Stop with a message naming the problem when the decisions cannot train a model.

    ``train.min_decisions`` counts explicit and implicit decisions together."""
    n = len(y)
    need = max(cfg.train.min_decisions, 2 * cfg.train.cv_folds)
    n_implicit = 0 if source is None else int((source == "implicit").sum())
    which = (f" ({n - n_implicit} explicit, {n_implicit} implicit)"
             if source is not None else "")
    if n < need:
        hint = ("" if cfg.decisions.implicit else " or switch implicit decisions on "
                "(decisions.implicit)")
        raise FollowbackError(
            f"only {n} decisions{which} match ingested accounts; training needs at least "
            f"{need} (train.min_decisions={cfg.train.min_decisions}, and {cfg.train.cv_folds} "
            "per class for cross-validation). Record more with `followback decide` or "
            f"`review`{hint}."
        )
    counts = np.bincount(y, minlength=2)
    if counts.min() < cfg.train.cv_folds:
        missing = "follow back" if counts[1] < counts[0] else "skip"
        hint = ""
        if missing == "skip" and cfg.decisions.implicit and n_implicit:
            hint = (f"; implicit 'skip' decisions need snapshots at least "
                    f"{cfg.decisions.implicit_after_days:g} days apart "
                    "(decisions.implicit_after_days): fetch again later")
        raise FollowbackError(
            f"the decisions{which} hold {counts[1]} 'follow back' and {counts[0]} 'skip': at "
            f"least {cfg.train.cv_folds} of each class are needed (one per cross-validation "
            f"fold, train.cv_folds); record more '{missing}' decisions{hint}"
        )


def choose_threshold(y: np.ndarray, proba: np.ndarray, policy: str, min_recall: float) -> float:
    """The decision threshold that the policy picks on out-of-fold probabilities.

    ``best_f1``: the threshold with the highest F1. ``precision_at_recall``: the highest
    precision among thresholds whose recall is at least ``min_recall``.
    """
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, proba)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if policy == "best_f1":
        f1 = np.divide(2 * precision * recall, precision + recall,
                       out=np.zeros_like(precision), where=(precision + recall) > 0)
        return float(thresholds[int(np.argmax(f1))])
    ok = recall >= min_recall
    if not ok.any():
        return float(thresholds[0])
    best = np.flatnonzero(ok)[int(np.argmax(precision[ok]))]
    return float(thresholds[best])


def _fit_predict(cfg: Config, data: TrainingData, train_idx, test_idx):
    from pipeline.model.compose import build_model

    model = build_model(cfg, data.own_posts)
    model.fit(data.X.iloc[train_idx], data.y[train_idx])
    return model, model.predict_proba(data.X.iloc[test_idx])[:, 1]


def cross_validate(cfg: Config, data: TrainingData) -> pd.DataFrame:
    """Out-of-fold probabilities of the whole Pipeline, plus the majority baseline's."""
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(cfg.train.cv_folds, shuffle=True, random_state=cfg.base.seed)
    measured = data.measured
    # Rows never measured (implicit decisions when there are enough explicit ones) train in
    # every fold.
    always = np.setdiff1d(np.arange(len(data.y)), measured)
    rows = []
    with progress("folds") as bar:
        task = bar.add_task("cross-validation", total=cfg.train.cv_folds)
        for fold, (tr_m, te_m) in enumerate(folds.split(measured, data.y[measured])):
            tr, te = np.sort(np.concatenate([measured[tr_m], always])), measured[te_m]
            _, proba = _fit_predict(cfg, data, tr, te)
            rows.append(pd.DataFrame({
                "account_id": data.X["account_id"].iloc[te].to_numpy(),
                "split": "cv", "fold": fold, "y": data.y[te], "p_model": proba,
                "p_majority": data.y[tr].mean(), "source": data.source[te],
            }))
            bar.advance(task)
    return pd.concat(rows, ignore_index=True)


def time_holdout(cfg: Config, data: TrainingData) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fit on the older decisions, predict the newest; importance by criterion on the newest.

    The newest are the newest measured decisions (explicit ones, see
    :attr:`TrainingData.measured`); the model fits on every label decided before the first of
    them, so no implicit decision from after the holdout's start trains it. Labels decided at
    the same time (one fetch shows many) are in the follow order (the follower list's place,
    :func:`follow_places`): those before the holdout's first train, the newest are tested.
    """
    measured = data.measured
    n_test = max(1, math.ceil(cfg.train.holdout_fraction * len(measured)))
    te = measured[-n_test:]  # rows are in decided_at order
    start = data.decided_at.iloc[te[0]]
    older = np.arange(len(data.y))
    if pd.notna(start):
        # Decided before the holdout starts; of those decided at its start (one fetch), the
        # ones before it in the follow order.
        before = (data.decided_at < start).fillna(True).to_numpy()
        tied = (data.decided_at == start).fillna(False).to_numpy() & (older < te[0])
        older = older[before | tied]
    else:
        older = older[:te[0]]
    tr = np.setdiff1d(older, te)
    if len(np.unique(data.y[tr])) < 2:
        raise FollowbackError("the older decisions hold a single class: the time-ordered "
                              "holdout cannot train; lower train.holdout_fraction")
    model, proba = _fit_predict(cfg, data, tr, te)
    frame = pd.DataFrame({
        "account_id": data.X["account_id"].iloc[te].to_numpy(), "split": "holdout",
        "fold": -1, "y": data.y[te], "p_model": proba, "p_majority": data.y[tr].mean(),
        "source": data.source[te],
    })
    importance = criterion_importance(model, data.X.iloc[te], data.y[te], cfg.base.seed)
    return frame, importance


def criterion_importance(model, X: pd.DataFrame, y: np.ndarray, seed: int,
                         n_repeats: int = 5) -> dict[str, float]:
    """Drop in ROC-AUC when all features of one criterion are shuffled together.

    Permuting a criterion's features jointly (the 8 bio-embedding dimensions at once) measures
    what the criterion contributes, which per-column importance would split and blur.
    """
    from sklearn.metrics import roc_auc_score

    from pipeline.model.compose import criterion_of

    if len(np.unique(y)) < 2:
        return {}
    features = model[:-1].transform(X)
    names = model[:-1].get_feature_names_out()
    matrix = np.asarray(features, dtype=float)
    clf = model[-1]
    base = roc_auc_score(y, clf.predict_proba(matrix)[:, 1])
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(criterion_of(name), []).append(i)
    out = {}
    for crit, cols in groups.items():
        drops = []
        for _ in range(n_repeats):
            shuffled = matrix.copy()
            shuffled[:, cols] = matrix[rng.permutation(len(matrix))][:, cols]
            drops.append(base - roc_auc_score(y, clf.predict_proba(shuffled)[:, 1]))
        out[crit] = float(np.mean(drops))
    return out


@dataclass
class TrainResult:
    model: object
    threshold: float
    predictions: pd.DataFrame
    importance: dict[str, float]
    run_id: str | None
    model_version: str | None
    summary: dict


def train(cfg: Config, track: bool = True) -> TrainResult:
    """Cross-validate, hold out, fit and save the follow-back model; log it all to MLflow."""
    from pipeline.model import tracking
    from pipeline.model.compose import build_model

    started = time.perf_counter()
    data = load_training_data(cfg)
    if not enough_labels(data.y, cfg):
        return train_prior(cfg, data, track, started)
    counts = data.label_counts
    console.print(f"training on {len(data.y)} decisions "
                  f"({int(data.y.sum())} follow back, {int(len(data.y) - data.y.sum())} skip): "
                  f"{counts['n_explicit']} explicit, {counts['n_implicit']} implicit; "
                  f"measured on {data.measured_on} ({len(data.measured)}); "
                  f"classifier {cfg.train.classifier}")
    if data.measured_on == "all" and counts["n_implicit"]:
        console.print(f"[yellow]fewer than {cfg.train.cv_folds} explicit decisions of each "
                      "class: cross-validation and holdout measure on implicit decisions too, "
                      "which are noisy (see README, 'Implicit decisions')[/]")
    if data.unknown_decisions:
        console.print(f"[yellow]{data.unknown_decisions} decisions name accounts that were not "
                      "ingested; they are left out[/]")
    oof = cross_validate(cfg, data)
    threshold = choose_threshold(oof["y"].to_numpy(), oof["p_model"].to_numpy(),
                                 cfg.train.threshold.policy, cfg.train.threshold.min_recall)
    holdout, importance = time_holdout(cfg, data)
    model = build_model(cfg, data.own_posts, threshold=threshold).fit(data.X, data.y)
    predictions = pd.concat([oof, holdout], ignore_index=True)
    predictions["threshold"] = threshold

    backends = tracking.backends(model)
    summary = {
        "prior": 0,
        "n_decisions": int(len(data.y)),
        "n_follow_back": int(data.y.sum()),
        **counts,
        "measured_on": data.measured_on,
        "n_measured": int(len(data.measured)),
        "threshold": threshold,
        "threshold_policy": cfg.train.threshold.policy,
        "classifier": cfg.train.classifier,
        "cv_roc_auc": _auc(oof),
        "holdout_roc_auc": _auc(holdout),
        "train_seconds": round(time.perf_counter() - started, 1),
        "backends": backends,
    }
    if not data.own_posts:
        summary["note"] = NO_OWN_POSTS
        console.print(f"[yellow]{NO_OWN_POSTS}[/]")
    run_id = version = None
    if track:
        run_id, version = tracking.log_training(cfg, model, data, summary, importance)
        summary["mlflow_run_id"] = run_id
        summary["model_version"] = version
    write_outputs(cfg, model, data, predictions, importance, summary)
    return TrainResult(model, threshold, predictions, importance, run_id, version, summary)


NO_OWN_POSTS = ("no own posts in the ingested data: relevance (your posts against theirs) "
                "could not be compared; its features are 0 with the indicator "
                "topic_no_own_posts (fetch or ingest your own posts to use it)")
PRIOR_THRESHOLD = 0.5  # the prior's probabilities are calibrated: follow back above even odds


def prior_model(cfg: Config, own_posts: list[str], frame: pd.DataFrame, X: pd.DataFrame,
                y: np.ndarray):
    """The prior as the whole model: the six extractors fitted on every ingested account
    (unsupervised: nothing is learnt from your decisions there) and
    :class:`pipeline.prior.PriorClassifier` calibrated on your decisions ``(X, y)``."""
    from sklearn.pipeline import Pipeline

    from pipeline.features.precision import RoundFeatures
    from pipeline.model.compose import build_features
    from pipeline.model.prior import PriorClassifier

    features = build_features(cfg, own_posts).fit(frame)
    names = [str(n) for n in features.get_feature_names_out()]
    rounding = RoundFeatures().fit(features.transform(frame.iloc[:1]))
    F = rounding.transform(features.transform(X)) if len(X) else np.zeros((0, len(names)))
    prior = PriorClassifier(feature_names=names, rules=cfg.evaluate.rules.model_dump(),
                            threshold=PRIOR_THRESHOLD)
    prior.fit(F, y)
    return Pipeline([("features", features), ("round", rounding), ("clf", prior)])


def train_prior(cfg: Config, data: TrainingData, track: bool, started: float) -> TrainResult:
    """Too few decisions (or of one answer only) for the personal model: write the prior
    instead, so that score, report and review work, and say what the personal model needs."""
    from pipeline.data.frame import load_account_frame
    from pipeline.model import tracking
    from pipeline.model.prior import still_needed

    frame = load_account_frame(cfg, data.tables)
    if not len(frame):
        raise FollowbackError("no accounts were ingested: nothing to judge (run `followback "
                              "fetch` or put an export in ingest.sources, then `dvc repro`)")
    needed = still_needed(data.y, max(cfg.train.min_decisions, 2 * cfg.train.cv_folds),
                          cfg.train.cv_folds)
    n_yes = int(data.y.sum())
    console.print(
        f"[yellow]{len(data.y)} decisions ({n_yes} follow back, {len(data.y) - n_yes} skip): "
        f"too few for your own model, which needs {needed['follow_back']} more 'follow back' "
        f"and {needed['skip']} more 'skip' answers. Writing the prior instead: the follower-app "
        "rules' red flags and the bot-likeness model on the log-odds scale, calibrated to your "
        "decisions (see pipeline/prior.py). Answer with `followback review`.[/]")
    model = prior_model(cfg, data.own_posts, frame, data.X, data.y)
    prior = model[-1]
    predictions = pd.DataFrame({
        "account_id": data.X["account_id"].to_numpy(), "split": "cv", "fold": 0,
        "y": data.y, "p_model": model.predict_proba(data.X)[:, 1] if len(data.y) else [],
        "p_majority": data.y.mean() if len(data.y) else 0.5, "source": data.source,
    })
    predictions["threshold"] = PRIOR_THRESHOLD
    summary = {
        "prior": 1,  # 1: the verdicts come from the prior, not your own model (a DVC metric)
        "n_decisions": int(len(data.y)),
        "n_follow_back": n_yes,
        **data.label_counts,
        "needs_follow_back": needed["follow_back"],
        "needs_skip": needed["skip"],
        "threshold": PRIOR_THRESHOLD,
        "prior_intercept": round(prior.intercept_, 4),
        "prior_slope": round(prior.slope_, 4),
        # In sample (two parameters fitted on the same decisions), on both answers only.
        "cv_roc_auc": _auc(predictions),
        "holdout_roc_auc": None,
        "train_seconds": round(time.perf_counter() - started, 1),
        "backends": tracking.backends(model),
    }
    if not data.own_posts:
        summary["note"] = NO_OWN_POSTS
        console.print(f"[yellow]{NO_OWN_POSTS}[/]")
    # The background and input example come from every ingested account: there may be no
    # decided one.
    shown = TrainingData(X=frame, y=np.zeros(len(frame), dtype=int),
                         decided_at=pd.Series(pd.NaT, index=frame.index), own_posts=data.own_posts,
                         tables=data.tables, cv_folds=cfg.train.cv_folds)
    run_id = version = None
    if track:
        run_id, version = tracking.log_training(cfg, model, shown, summary, {})
        summary["mlflow_run_id"] = run_id
        summary["model_version"] = version
    write_outputs(cfg, model, shown, predictions, {}, summary)
    return TrainResult(model, PRIOR_THRESHOLD, predictions, {}, run_id, version, summary)


def write_outputs(cfg: Config, model, data, predictions: pd.DataFrame, importance: dict,
                  summary: dict) -> None:
    """Write the model folder, ``train.eval_dir`` and ``train.metrics`` as one output set.

    The three live in different folders, so no single rename swaps them; they are committed
    together (:class:`pipeline.data.io.OutputSet`): a run killed at any point leaves the old model
    with its old predictions and metrics, or the new ones, never a model beside another run's
    threshold. The MLflow run (``mlflow.db``) is logged before and is not part of the set.
    """
    from pipeline.model import tracking

    with io.OutputSet() as out:
        eval_dir = out.dir(cfg.train.eval_dir)
        io.write_table(predictions, eval_dir / predictions_path(cfg).name)
        io.write_text(eval_dir / importance_path(cfg).name, json.dumps(importance, indent=2))
        tracking.save_local(model, data, cfg.train.model_dir, summary, cfg, out=out)
        io.write_text(out.file(cfg.train.metrics), json.dumps(
            {k: v for k, v in summary.items() if isinstance(v, int | float)}, indent=2))


def _auc(frame: pd.DataFrame) -> float | None:
    from sklearn.metrics import roc_auc_score

    if not len(frame) or frame["y"].nunique() < 2:
        return None
    return round(float(roc_auc_score(frame["y"], frame["p_model"])), 4)


def cli(
    params: ParamsOption = Path("params.yaml"),
    classifier: Annotated[str | None, typer.Option(
        help="Override train.classifier: logreg, hgb or forest.")] = None,
    no_track: Annotated[bool, typer.Option(
        "--no-track", help="Skip MLflow logging and registration (the local model is saved).")]
    = False,
) -> None:
    """Train the follow-back classifier on your past decisions and register it in MLflow.

    Cross-validates the whole feature + classifier Pipeline, picks the decision threshold by
    train.threshold.policy, tests on your newest decisions (time-ordered holdout), then fits on
    all decisions. Writes data/eval/ for `followback evaluate` and the model to
    train.model_dir.
    """
    from rich.table import Table

    cfg = load_config(params)
    if classifier:
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(
            update={"classifier": classifier})})
        cfg = Config.model_validate(cfg.model_dump())  # re-check the overridden value
    result = train(cfg, track=not no_track)
    table = Table(title="followback train", show_header=False)
    for key, value in result.summary.items():
        if key != "backends":
            table.add_row(key, str(value))
    for key, value in result.summary["backends"].items():
        table.add_row(f"backend: {key}", str(value))
    table.add_row("importance by criterion (ROC-AUC drop)",
                  ", ".join(f"{k} {v:+.3f}" for k, v in
                            sorted(result.importance.items(), key=lambda kv: -kv[1])))
    console.print(table)
