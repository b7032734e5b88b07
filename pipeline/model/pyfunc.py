"""The followback model as MLflow sees it: raw accounts in, verdicts with their reasons out.

:class:`FollowbackModel` is an MLflow ``PythonModel`` around the fitted scikit-learn Pipeline.
Its ``predict`` takes the raw account frame (:func:`pipeline.data.frame.account_frame`) and returns
what a row of ``followback score`` holds: probability, threshold, verdict, override, reason_1..3
and the contribution of each criterion. The explanation background (transformed training rows
that stand in for an "absent" criterion), the review margin, the allow and never-follow lists
and the red-flag rules travel with it, so ``followback score``, ``followback explain``,
``mlflow models serve`` and Spark all compute the same rows from the same folder.

The folder is data, not code (see :mod:`pipeline.model.trust`). MLflow normally cloudpickles a
``PythonModel``; this one is saved as a *model from code*: the folder's ``followback_model.py``
is :data:`MODEL_CODE`, three lines that import this class from the installed package, and
``load_context`` reads the artifacts with skops (fixed trust list), numpy (``allow_pickle``
off) and JSON. ``followback`` itself never runs the folder's code file: it checks that the file
is :data:`MODEL_CODE` byte for byte and builds the class from the installed package.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from pipeline.core.console import FollowbackError

CODE_FILE = "followback_model.py"
# The whole of the code file in every followback model folder.
MODEL_CODE = '''"""A followback model: its code is the installed package (pipeline.model.pyfunc)."""
import mlflow.models

from pipeline.model.pyfunc import FollowbackModel

mlflow.models.set_model(FollowbackModel())
'''
# Code files of folders written before the package was arranged in layers (the class was
# pipeline.pyfunc.FollowbackModel). followback never runs a folder's code, so reading such a
# folder stays as safe; `mlflow models serve` on it needs a retrain (the old path is gone).
LEGACY_MODEL_CODES = (MODEL_CODE.replace("pipeline.model.pyfunc", "pipeline.pyfunc"),)
ARTIFACTS = {"pipeline": "pipeline.skops", "background": "background.npy",
             "settings": "settings.json", "bot_model": "bot_likeness.skops"}
DECIMALS = 4
SETTINGS_VERSION = 1


def output_columns() -> list[str]:
    from pipeline.model.attribution import CRITERION_ORDER, contrib_column
    from pipeline.model.reasons import N_REASONS

    return ["account_id", "handle", "display_name", "bio", "probability", "threshold",
            "verdict", "override", *[f"reason_{k + 1}" for k in range(N_REASONS)],
            *[contrib_column(c) for c in CRITERION_ORDER]]


def settings_of(cfg) -> dict:
    """What the model needs besides the Pipeline, from the training run's config."""
    return {
        "version": SETTINGS_VERSION,
        "review_margin": float(cfg.train.threshold.review_margin),
        "allow_list": sorted(cfg.user.allow_list),
        "never_list": sorted(cfg.user.never_list),
        "rules": cfg.evaluate.rules.model_dump(mode="json"),
    }


def params_of(cfg) -> dict:
    """The predict ``params`` that make the model follow the current config's lists and margin."""
    return {"allow_list": sorted(cfg.user.allow_list), "never_list": sorted(cfg.user.never_list),
            "review_margin": float(cfg.train.threshold.review_margin),
            "attribution": cfg.score.attribution}


class FollowbackModel(mlflow.pyfunc.PythonModel):
    """Verdicts with reasons from the raw account frame.

    Parameters
    ----------
    pipeline : fitted followback Pipeline (features + thresholded classifier), or None until
        ``load_context`` reads it.
    background : (B, d) transformed rows for the explanations, or None (then
        :meth:`with_background` must give one before ``predict``).
    settings : :func:`settings_of` output.
    """

    def __init__(self, pipeline=None, background: np.ndarray | None = None,
                 settings: dict | None = None) -> None:
        self.pipeline = pipeline
        self.background = background
        self.settings = dict(settings or {})

    # ----------------------------------------------------------------- loading

    def load_context(self, context) -> None:
        """Read the artifacts as data: skops with the fixed trust list, numpy, JSON."""
        self.load_artifacts(context.artifacts)

    def load_artifacts(self, artifacts: dict[str, str]) -> None:
        from pipeline.model import trust

        settings = json.loads(Path(artifacts["settings"]).read_text(encoding="utf-8"))
        pipeline = trust.load(Path(artifacts["pipeline"]))
        background = np.load(artifacts["background"], allow_pickle=False)
        bot_path = artifacts.get("bot_model")
        bot = _fitted_step(pipeline, "bot")
        if bot is not None and getattr(bot, "model_path", None) is not None:
            if not bot_path:
                raise trust.ModelRefused("the model's bot step needs bot_likeness.skops, "
                                         "which the model folder does not hold")
            trust.check(Path(bot_path))
            # The bot model is read from the folder, wherever the folder is now.
            bot.model_path = str(Path(bot_path).resolve())
            bot.__dict__.pop("_bot_model", None)
        self.pipeline, self.background, self.settings = pipeline, background, settings

    def with_background(self, background: np.ndarray) -> FollowbackModel:
        return FollowbackModel(self.pipeline, np.asarray(background, dtype=float), self.settings)

    # ----------------------------------------------------------------- scoring

    @property
    def threshold(self) -> float:
        return float(self.pipeline[-1].threshold)

    def overrides(self, params: dict | None = None):
        from pipeline.core.config import UserConfig
        from pipeline.model.reasons import Overrides

        p = {**self.settings, **{k: v for k, v in (params or {}).items() if v is not None}}
        user = UserConfig.model_construct(allow_list=list(p.get("allow_list") or []),
                                          never_list=list(p.get("never_list") or []))
        return Overrides.from_user(user)

    def predict(self, context, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        """One score row per account of ``model_input`` (the raw account frame).

        ``params`` may replace the model's ``allow_list``, ``never_list`` and
        ``review_margin`` (``followback score`` passes the current config's), and choose the
        ``attribution`` method (``structure``, the default, or ``hybrid``: the same values).
        """
        from pipeline.core.config import RulesConfig
        from pipeline.model import reasons

        if self.pipeline is None or self.background is None:
            raise FollowbackError("the model has no Pipeline or explanation background loaded")
        frame = input_frame(model_input)
        self._warn_uncounted(frame)
        margin = (params or {}).get("review_margin")
        margin = float(self.settings.get("review_margin", 0.1) if margin is None else margin)
        rules = RulesConfig(**self.settings.get("rules", {}))
        method = (params or {}).get("attribution") or "structure"
        rows = reasons.explain_frame(self.pipeline, frame, self.background, margin,
                                     self.overrides(params), rules=rules, attribution=method)
        return conform(rows)


    def _warn_uncounted(self, frame: pd.DataFrame) -> None:
        """Warn when a model that reads the follower-group counts gets accounts without them.

        They are scored, as "not counted" (``group_counts_missing``), never refused: a caller
        of ``mlflow models serve`` or of this class may not have the whole follower list.
        """
        from pipeline.data.frame import GROUP_COLUMNS

        bot = _fitted_step(self.pipeline, "bot")
        if not getattr(bot, "groups", False) or not len(frame):
            return
        uncounted = int(frame[GROUP_COLUMNS].isna().any(axis=1).sum())
        if uncounted:
            warnings.warn(
                f"{uncounted} of {len(frame)} accounts come without follower-group counts "
                f"({', '.join(GROUP_COLUMNS)}): they are scored as not counted. Compute the "
                "counts over the whole follower list (pipeline.data.frame.follower_groups and "
                "with_groups), as `followback score` does.", GroupCountsMissing, stacklevel=3)


class GroupCountsMissing(UserWarning):
    """The model input lacks the follower-group counts the model reads."""


def _fitted_step(pipeline, name: str):
    features = pipeline.named_steps.get("features") if hasattr(pipeline, "named_steps") else None
    steps = getattr(features, "named_transformers_", None)
    return None if steps is None else steps.get(name)


def input_frame(model_input) -> pd.DataFrame:
    """The account frame as the extractors read it, from pandas or from MLflow's schema.

    MLflow's schema turns the frame's nullable counts into floats and its times into naive
    UTC (see ``tracking.input_example``); served JSON gives posts as lists of dicts. The
    account columns go back to the contract's dtypes and the posts to plain dicts, so every
    engine feeds the Pipeline alike.
    """
    from pipeline.data import schema
    from pipeline.data.frame import CONTEXT_COLUMNS, INPUT_COLUMNS

    frame = pd.DataFrame(model_input).reset_index(drop=True)
    missing = [c for c in ("account_id", "handle") if c not in frame.columns]
    if missing:
        raise FollowbackError(f"the model input lacks the columns {missing}")
    out = schema.conform("accounts", frame)
    out["posts"] = ([_posts(v) for v in frame["posts"]] if "posts" in frame.columns
                    else [[] for _ in range(len(frame))])
    for col in CONTEXT_COLUMNS:
        values = frame[col] if col in frame.columns else pd.Series(pd.NA, index=frame.index)
        out[col] = pd.to_numeric(values, errors="coerce").round().astype("Int64")
    return out[INPUT_COLUMNS]


def _posts(value) -> list[dict]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [{"text": p.get("text"), "kind": p.get("kind"),
             "created_at": _iso(p.get("created_at"))} for p in list(value)]


def _iso(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value
    ts = pd.Timestamp(value)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts).isoformat()


def conform(rows: pd.DataFrame) -> pd.DataFrame:
    """Columns in score order, text as strings, numbers rounded to :data:`DECIMALS`."""
    out = rows.reindex(columns=output_columns()).copy()
    for col in out.columns:
        if col == "threshold" or col == "probability" or col.startswith("contrib_"):
            out[col] = out[col].astype(float).round(DECIMALS)
        else:
            out[col] = out[col].astype("string")
    out["override"] = out["override"].fillna("")
    return out
