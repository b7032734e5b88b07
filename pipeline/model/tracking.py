"""MLflow: one run per training, the model as a registered pyfunc, and loading it back.

The default store is a SQLite file in the project (``mlflow.tracking_uri``); a shared MLflow
server works the same way by changing that URI. The model is a
:class:`~pipeline.model.pyfunc.FollowbackModel` saved as an MLflow *model from code*: the fitted
Pipeline and the bot model as skops files, the explanation background as ``.npy``, settings as
JSON, this package as ``code_paths`` and its dependencies as pinned requirements, so the folder
loads from anywhere. Loading reads those files as data (:func:`read_folder`); nothing is
unpickled and MLFLOW_ALLOW_PICKLE_DESERIALIZATION is left as the user set it.

Which model a command uses is one rule (:func:`model_uri`): ``--model``, else
``score.model_uri``, else ``train.model_dir``, the model this pipeline just trained.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.console import FollowbackError
from pipeline.data import io

# Packages a served model needs that the project lists only as tools (not imported by it).
NOT_AT_SERVING = {"dvc", "pytest", "hypothesis", "ruff", "pytest-timeout", "mastodon-py",
                  "atproto", "matplotlib", "jinja2", "beautifulsoup4", "pyspark"}


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
        # Which runtime computed the embeddings; models fitted before backends: torch.
        out["embedding_backend"] = str(getattr(bio, "backend_note_", "torch"))
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


def pip_requirements(model=None) -> list[str]:
    """The followback package's own dependencies, pinned to the versions installed here.

    The package itself travels as ``code_paths`` (it is not on PyPI), so a served model needs
    these and MLflow; tools that scoring never imports are left out. With ``model`` (the fitted
    Pipeline), the runtime of its embedding backend (openvino, onnxruntime) is added: the
    model embeds with that backend and no other.
    """
    from packaging.requirements import Requirement

    out = []
    for text in metadata.requires("followback") or []:
        req = Requirement(text)
        if req.marker is not None and "extra" in str(req.marker):
            continue
        if req.name.lower() in NOT_AT_SERVING:
            continue
        version = _version(req.name)
        out.append(f"{req.name}=={version}" if version != "unknown" else str(req))
    out.append(f"mlflow=={_version('mlflow')}")
    if model is not None:
        from pipeline.features.backends import requirements_of

        features = model.named_steps["features"] if hasattr(model, "named_steps") else model
        for step in getattr(features, "named_transformers_", {}).values():
            out.extend(requirements_of(str(getattr(step, "backend_", "torch"))))
    return sorted(set(out))


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
    """A few training rows as MLflow's schema carries them: counts and flags as floats, times
    as naive UTC, text as objects.

    MLflow's ``long`` and ``boolean`` hold no nulls, and counts or flags that a platform does
    not publish are null, so both travel as ``double`` (1.0 / 0.0 / NaN for a flag; the model
    casts them back, :func:`pipeline.model.pyfunc.input_frame`). Its ``datetime`` holds only naive
    values (an aware example fails MLflow's serving-input check); the model reads naive times
    as UTC.
    """
    example = X.head(n).reset_index(drop=True).copy()
    for col in example.columns:
        dtype = example[col].dtype
        if str(dtype) in ("Int64", "boolean"):
            example[col] = example[col].astype("float64")
        elif isinstance(dtype, pd.DatetimeTZDtype):
            example[col] = example[col].dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_string_dtype(dtype):
            example[col] = example[col].astype(object).where(example[col].notna(), None)
    return example


def input_schema():
    """The raw account frame, column by column; only ``account_id`` and ``handle`` required.

    Texts are ``string``. Counts, flags and times are ``Any``: MLflow's ``double``, ``long``,
    ``boolean`` and ``datetime`` refuse what :func:`pipeline.data.frame.account_frame` and every
    importer produce (nullable ``Int64`` and ``boolean``, times with a time zone: "Can not
    safely convert Int64 to float64"), while the floats, naive times and JSON values of
    :func:`input_example`, served requests and Spark pass as well; the model casts every column
    back to the contract's dtype (:func:`pipeline.model.pyfunc.input_frame`).
    """
    from mlflow.types.schema import AnyType, Array, ColSpec, DataType, Object, Property, Schema

    from pipeline.data import schema
    from pipeline.data.frame import INPUT_COLUMNS

    dtypes = schema.dtypes("accounts")
    # "language": the platform's language tag of a post, where it has one (pipeline.data.frame)
    post = Object([Property(name, DataType.string, required=False)
                   for name in ("text", "kind", "created_at", "language")])
    specs = []
    for col in INPUT_COLUMNS:
        required = col in ("account_id", "handle")
        if col == "posts":
            specs.append(ColSpec(Array(post), col, required=False))
        elif dtypes.get(col) == "string":
            specs.append(ColSpec(DataType.string, col, required=required))
        else:  # counts, flags, times, and the context counts beside the account columns
            specs.append(ColSpec(AnyType(), col, required=False))
    return Schema(specs)


def background(cfg, model, X: pd.DataFrame) -> np.ndarray:
    """The explanation background: a seeded sample of the training rows, transformed.

    ``score.background_size`` decided accounts, picked by account id with ``base.seed``, through
    the fitted feature step; the model carries them, so every engine explains alike.
    """
    ids = np.sort(X["account_id"].astype(str).unique())
    rng = np.random.default_rng(cfg.base.seed)
    pick = np.sort(rng.choice(len(ids), min(cfg.score.background_size, len(ids)),
                              replace=False))
    chosen = set(ids[pick])
    frame = X[X["account_id"].astype(str).isin(chosen)].drop_duplicates("account_id")
    frame = frame.sort_values("account_id", key=lambda s: s.astype(str)).reset_index(drop=True)
    return np.asarray(model[:-1].transform(frame), dtype=float)


def write_artifacts(cfg, model, data, folder: Path) -> dict[str, str]:
    """The model's files in ``folder``: name -> path, as ``FollowbackModel`` reads them."""
    from pipeline.model import pyfunc, trust

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = pyfunc.ARTIFACTS
    paths = {k: folder / v for k, v in names.items()}
    trust.dump(model, paths["pipeline"])
    with open(paths["background"], "wb") as fh:
        np.save(fh, background(cfg, model, data.X), allow_pickle=False)
    paths["settings"].write_text(json.dumps(pyfunc.settings_of(cfg), indent=2),
                                 encoding="utf-8")
    bot = pyfunc._fitted_step(model, "bot")
    bot_path = getattr(bot, "model_path", None) if bot is not None else None
    if bot_path:
        trust.check(Path(bot_path))
        shutil.copyfile(bot_path, paths["bot_model"])
    else:
        del paths["bot_model"]
    return {k: str(v) for k, v in paths.items()}


def _code_paths(folder: Path) -> list[str]:
    """A copy of this package (without caches) for the model's ``code_paths``."""
    import pipeline

    src = Path(pipeline.__file__).resolve().parent
    dst = Path(folder) / "pipeline"
    # The demo generator (a sixth of the package) is never imported by a model.
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "demo"))
    return [str(dst)]


def _model_code(folder: Path) -> str:
    from pipeline.model import pyfunc

    path = Path(folder) / pyfunc.CODE_FILE
    path.write_text(pyfunc.MODEL_CODE, encoding="utf-8")
    return str(path)


def signature(model, example: pd.DataFrame, cfg):
    """Inputs (the raw account frame), outputs (a score row) and the predict params."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, DataType, ParamSchema, ParamSpec, Schema

    from pipeline.model import pyfunc

    params = pyfunc.params_of(cfg)
    output = model.predict(None, example, params=params)
    numbers = {"probability", "threshold"}
    outputs = Schema([
        ColSpec(DataType.double if c in numbers or c.startswith("contrib_") else
                DataType.string, c, required=c in ("account_id", "handle", "probability",
                                                   "threshold", "verdict"))
        for c in output.columns])
    param_schema = ParamSchema([
        ParamSpec("allow_list", DataType.string, params["allow_list"], shape=(-1,)),
        ParamSpec("never_list", DataType.string, params["never_list"], shape=(-1,)),
        ParamSpec("review_margin", DataType.double, params["review_margin"]),
        ParamSpec("attribution", DataType.string, params["attribution"]),
    ])
    return ModelSignature(inputs=input_schema(), outputs=outputs, params=param_schema)


def _pyfunc_kwargs(cfg, model, data, folder: Path) -> dict:
    from pipeline.model import pyfunc

    artifacts = write_artifacts(cfg, model, data, Path(folder) / "artifacts")
    loaded = pyfunc.FollowbackModel()
    loaded.load_artifacts(artifacts)
    example = input_example(data.X)
    return dict(python_model=_model_code(folder), artifacts=artifacts,
                code_paths=_code_paths(Path(folder) / "code"),
                signature=signature(loaded, example, cfg), input_example=example,
                pip_requirements=pip_requirements(model))


def log_training(cfg, model, data, summary: dict, importance: dict) -> tuple[str, str | None]:
    """Log one training run and register its model; move the alias if it is at least as good."""
    import mlflow
    from mlflow.tracking import MlflowClient

    setup(cfg)
    with tempfile.TemporaryDirectory(prefix="followback-model-") as tmp, \
            mlflow.start_run(run_name=f"train-{cfg.train.classifier}") as run:
        params = _flatten("", cfg.model_dump(mode="json"), {})
        mlflow.log_params({k: v for k, v in params.items() if v is not None})
        # How many labels of each source trained the model and what CV and holdout measured.
        mlflow.log_params({f"labels.{k}": v for k, v in summary.items()
                           if k.startswith("n_") or k == "measured_on"})
        mlflow.log_metrics({k: v for k, v in summary.items()
                            if isinstance(v, int | float) and not isinstance(v, bool)})
        mlflow.log_metrics({f"importance.{k}": v for k, v in importance.items()})
        mlflow.set_tags({**data_tags(cfg),
                         **{f"backend.{k}": v for k, v in summary["backends"].items()}})
        info = mlflow.pyfunc.log_model(name="model", **_pyfunc_kwargs(cfg, model, data, tmp),
                                       registered_model_name=cfg.mlflow.registered_model)
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


def save_local(model, data, model_dir: Path, summary: dict, cfg=None, out=None) -> None:
    """Save the model as an MLflow pyfunc folder (a DVC output), replacing the old one whole.

    With ``out`` (a :class:`pipeline.data.io.OutputSet`) the folder goes in with the rest of that
    set; without, it is a set of its own.
    """
    import mlflow

    from pipeline.core.config import Config
    from pipeline.data import io

    if out is None:
        with io.OutputSet() as own:
            return save_local(model, data, model_dir, summary, cfg, out=own)
    cfg = cfg or Config()
    target = out.dir(model_dir)
    with tempfile.TemporaryDirectory(prefix="followback-model-") as src:
        mlflow.pyfunc.save_model(str(target), **_pyfunc_kwargs(cfg, model, data, Path(src)))
    (target / "run.json").write_text(json.dumps(summary, indent=2, default=str))


# --------------------------------------------------------------------------- loading


def model_uri(cfg, uri: str | None = None) -> str:
    """One rule for every command: ``uri`` (``--model``), else ``score.model_uri``, else the
    model this pipeline just trained (``train.model_dir``)."""
    return str(uri or cfg.score.model_uri or cfg.train.model_dir)


default_model_uri = model_uri


def _local_folder(cfg, uri: str) -> Path:
    """A local copy of the model folder: the folder itself, or MLflow's download of the URI.

    Downloading copies files only; nothing in them is read as code.
    """
    path = Path(uri)
    io.recover(path)  # a `train` killed while committing its outputs
    if path.exists():
        return path
    if "://" not in uri and not uri.startswith(("models:/", "runs:/")):
        raise FileNotFoundError(f"model {uri} not found: run `followback train` first, or "
                                "name a model folder or MLflow URI with --model")
    import mlflow

    setup(cfg)
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:
        raise FollowbackError(f"cannot fetch model {uri!r}: {exc}") from exc


def _inside(folder: Path, relative: str) -> Path:
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise trust_refused(f"{folder}: artifact {relative!r} is not a file inside the model "
                            "folder")
    return path


def trust_refused(message: str):
    from pipeline.model.trust import ModelRefused

    return ModelRefused(message)


def read_folder(folder: Path):
    """A :class:`~pipeline.model.pyfunc.FollowbackModel` from a model folder, read as data.

    Accepted: a pyfunc folder whose code file is exactly :data:`pipeline.model.pyfunc.MODEL_CODE`
    and whose artifacts lie inside the folder; the artifacts are loaded by ``load_artifacts``
    (skops with the fixed trust list). Anything else (a cloudpickled model, another code file,
    the sklearn flavour with its own trust list) is refused before anything in it is run.
    """
    import yaml

    from pipeline.model import pyfunc

    folder = Path(folder)
    mlmodel = folder / "MLmodel"
    if not mlmodel.is_file():
        raise trust_refused(f"{folder} is not an MLflow model folder (no MLmodel file)")
    try:
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise trust_refused(f"{mlmodel} is not valid YAML: {exc}") from exc
    flavor = (spec.get("flavors") or {}).get("python_function") or {}
    code = flavor.get("model_code_path")
    if not code or Path(str(code)).name != pyfunc.CODE_FILE:
        kind = ("a cloudpickled Python model" if flavor.get("python_model") else
                "a scikit-learn model with its own trust list" if "sklearn" in
                (spec.get("flavors") or {}) else "not a followback model")
        raise trust_refused(
            f"refusing to load {folder}: {kind}. followback loads only the models "
            "`followback train` writes (MLflow pyfunc from code, artifacts in skops); "
            "retrain with `followback train`")
    code_file = _inside(folder, pyfunc.CODE_FILE)
    if code_file.read_text(encoding="utf-8", errors="replace") not in (
            pyfunc.MODEL_CODE, *pyfunc.LEGACY_MODEL_CODES):
        raise trust_refused(f"refusing to load {folder}: its {pyfunc.CODE_FILE} is not the "
                            "code followback writes, and followback never runs a model's own "
                            "code")
    artifacts = {}
    for name, info in (flavor.get("artifacts") or {}).items():
        if name not in pyfunc.ARTIFACTS:
            raise trust_refused(f"refusing to load {folder}: unknown artifact {name!r}")
        artifacts[name] = str(_inside(folder, str((info or {}).get("path", ""))))
    for name in ("pipeline", "background", "settings"):
        if name not in artifacts:
            raise trust_refused(f"refusing to load {folder}: artifact {name!r} is missing")
    model = pyfunc.FollowbackModel()
    model.load_artifacts(artifacts)
    return model


def load_model(cfg, uri: str | None = None):
    """The followback model named by :func:`model_uri`, and where it came from.

    Returns ``(model, identity)``: the identity names the folder or URI and a digest of its
    files (the score resume manifest keys on it), and is what every command prints.
    MLFLOW_ALLOW_PICKLE_DESERIALIZATION is never touched: nothing here unpickles.
    """
    uri = model_uri(cfg, uri)
    folder = _local_folder(cfg, uri)
    model = read_folder(folder)
    identity = uri if Path(uri).exists() else _registry_identity(cfg, uri)
    return model, f"{identity}#{dir_digest(folder)}"


def model_identity(cfg, uri: str | None = None) -> str:
    """What :func:`load_model` would report for :func:`model_uri`, without loading it."""
    uri = model_uri(cfg, uri)
    if Path(uri).is_dir():
        return f"{uri}#{dir_digest(Path(uri))}"
    return uri


def dir_digest(path: Path) -> str:
    import hashlib

    path = Path(path)
    digest = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        digest.update(str(p.relative_to(path)).encode())
        digest.update(io.file_sha256(p).encode())
    return digest.hexdigest()[:16]


def _registry_identity(cfg, uri: str) -> str:
    """``models:/name@alias`` -> ``models:/name/3 (run …)``: the version that ran."""
    if uri.startswith("models:/") and "@" in uri:
        try:
            from mlflow.tracking import MlflowClient

            name, alias = uri.removeprefix("models:/").split("@", 1)
            version = MlflowClient().get_model_version_by_alias(name, alias)
            return f"models:/{name}/{version.version} (run {version.run_id})"
        except Exception:  # an unreachable registry still loaded the files: name the URI
            return uri
    return uri


def run_id_of(model_dir: Path) -> str | None:
    path = Path(model_dir) / "run.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("mlflow_run_id")
