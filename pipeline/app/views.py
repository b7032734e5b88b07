"""What the templates need beyond the scores: read from the pipeline's files through the
stages' own functions, shaped for a page (numbers for charts, links, tables)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from pipeline.core.console import FollowbackError

VERDICTS = ["follow back", "review", "skip"]
IMAGES = {"evaluation.png": "evaluation", "followers.png": "trends"}


def new_id() -> str:
    return secrets.token_urlsafe(16)


def criteria() -> list[dict]:
    from pipeline.model.attribution import CRITERION_ORDER
    from pipeline.model.compose import CRITERIA

    return [{"name": c, "label": CRITERIA[c]} for c in CRITERION_ORDER]


def query_link(args: dict) -> Callable[..., str]:
    """``link(page=3)``: the followers URL with the current filters and one change."""
    def link(**change: Any) -> str:
        merged = {**args, **change}
        merged["desc"] = "1" if merged.get("desc") in (True, "1") else ""
        return "/followers?" + urlencode({k: v for k, v in merged.items()
                                          if v not in ("", None, False)})
    return link


def bar_chart(bars: list[dict], width: int = 320, row: int = 20) -> dict:
    """Each criterion's push on the log-odds scale as SVG geometry: bars from a centre line,
    right for "follow back", left against, scaled to the largest."""
    half = width / 2
    scale = max([abs(b["value"]) for b in bars] + [1e-9])
    out = []
    for i, b in enumerate(bars):
        length = (half - 4) * abs(b["value"]) / scale
        out.append({"label": b["label"], "criterion": b["criterion"],
                    "value": b["value"], "y": i * row,
                    "x": half if b["value"] >= 0 else half - length,
                    "w": round(length, 1),
                    "side": "for" if b["value"] >= 0 else "against"})
    return {"bars": out, "width": width, "height": max(len(out), 1) * row, "half": half,
            "row": row}


# --------------------------------------------------------------------------- act


def fetched_platforms(cfg) -> list[str]:
    from pipeline.data.fetch._run import completed

    return [p for p in ("mastodon", "bluesky") if completed(Path(cfg.fetch.out_dir) / p)]


def plan_or_error(cfg, platform: str, tricksters: bool, undo: Path | None = None):
    """(the capped plan, None) or (None, the error a person can act on)."""
    from pipeline.stages import apply

    try:
        return apply.capped_plan(cfg, platform, tricksters, undo=undo), None
    except (FollowbackError, FileNotFoundError) as exc:
        return None, str(exc)


def limits(cfg, platform: str | None) -> list[dict]:
    from pipeline.stages import apply

    if platform is None:
        return []
    return apply.limits_left(cfg, platform)


def action_logs(cfg) -> list[dict]:
    """The action logs, newest first, with counts by result."""
    from pipeline.stages.apply import read_log

    folder = Path(cfg.apply.actions_dir)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.jsonl"), reverse=True):
        try:
            entries = read_log(path)
        except FollowbackError:
            entries = []
        results: dict[str, int] = {}
        for e in entries:
            key = str(e.get("result", "?")).split(":")[0]
            results[key] = results.get(key, 0) + 1
        out.append({"name": path.name, "n": len(entries), "results": results,
                    "undo": path.stem.endswith("-undo"),
                    "can_undo": results.get("ok", 0) > 0})
    return out


def log_path(cfg, name: str) -> Path | None:
    """The action log of that name in ``apply.actions_dir`` (a name from the list, no path)."""
    folder = Path(cfg.apply.actions_dir)
    if not folder.is_dir():
        return None
    names = {p.name: p for p in folder.glob("*.jsonl")}
    return names.get(name)


def log_platform(path: Path) -> str:
    return path.name.split("-", 1)[0]


# --------------------------------------------------------------------------- other pages


def _csv(path: Path) -> pd.DataFrame | None:
    from pipeline.data import io

    io.recover(path)
    if not Path(path).is_file():
        return None
    return pd.read_csv(path, dtype={"account_id": str, "handle": str}, keep_default_na=False)


def _day(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return "?"
    try:
        return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d")
    except ValueError:
        return value


def tricksters(cfg) -> dict:
    """The churn tables: each follow-then-unfollow episode, and the unfollow list."""
    events = _csv(cfg.churn.out)
    unfollow = _csv(cfg.churn.unfollow_out)
    rows = []
    if events is not None:
        for e in events.itertuples(index=False):
            rows.append({"handle": e.handle, "episode": e.episode, "status": e.status,
                         "followed": f"{_day(e.followed_after)} – {_day(e.followed_by)}",
                         "followed_back": f"{_day(e.followed_back_after)} – "
                                          f"{_day(e.followed_back_by)}",
                         "unfollowed": f"{_day(e.unfollowed_after)} – {_day(e.unfollowed_by)}",
                         "times": e.times_unfollowed_after_followback,
                         "repeat": str(e.repeat_offender).lower() == "true",
                         "note": e.note})
    listed = []
    if unfollow is not None:
        for u in unfollow.itertuples(index=False):
            listed.append({"handle": u.handle,
                           "unfollowed": f"{_day(u.unfollowed_after)} – "
                                         f"{_day(u.unfollowed_by)}",
                           "times": u.times_unfollowed_after_followback,
                           "repeat": str(u.repeat_offender).lower() == "true"})
    return {"events": rows, "unfollow": listed, "have": events is not None,
            "path": str(cfg.churn.out)}


def trends(cfg) -> dict:
    from pipeline.stages.report import _json

    data = _json(cfg.trends.out)
    topics = []
    for t in data.get("topics") or []:
        if isinstance(t, dict):
            topics.append(t)
    return {"trends": data, "topics": topics, "path": str(cfg.trends.out),
            "plot": Path(cfg.trends.plot).is_file()}


def calibration(cfg, size: int = 240) -> dict | None:
    """The reliability curve (``plots/calibration.csv``) as SVG points in a square."""
    path = Path(cfg.evaluate.plots_dir) / "calibration.csv"
    frame = _csv(path)
    if frame is None or not len(frame):
        return None
    points = []
    for r in frame.itertuples(index=False):
        x, y = float(r.mean_predicted), float(r.fraction_followed_back)
        points.append({"x": round(x * size, 1), "y": round(size - y * size, 1),
                       "p": x, "f": y})
    return {"size": size, "points": points,
            "line": " ".join(f"{p['x']},{p['y']}" for p in points)}


def model(cfg, scores: pd.DataFrame | None) -> dict:
    """The Model page: model against rules, calibration, importance, the MLflow run."""
    from pipeline.model import tracking
    from pipeline.stages.evaluate import details_path
    from pipeline.stages.report import _json, importance, metric_rows

    evaluation = _json(details_path(cfg)) or _json(cfg.evaluate.metrics)
    try:
        identity = tracking.model_identity(cfg)
    except Exception as exc:  # noqa: BLE001 - no model yet: say so on the page
        identity = f"no model ({type(exc).__name__})"
    run_id = tracking.run_id_of(cfg.train.model_dir) if Path(cfg.train.model_dir).exists() \
        else None
    return {
        "metrics": metric_rows(evaluation),
        "metric_names": ["ROC-AUC", "PR-AUC", "F1", "MCC", "accuracy", "Brier"],
        "margin": (evaluation.get("holdout") or {}).get("margin_over_rules") or {},
        "importance": importance(scores, evaluation) if scores is not None and len(scores)
        else [],
        "calibration": calibration(cfg),
        "training": _json(cfg.train.metrics),
        "identity": identity,
        "run_id": run_id,
        "tracking_uri": _redact(cfg.mlflow.tracking_uri),
        "experiment": cfg.mlflow.experiment,
        "evaluation_png": (Path(cfg.evaluate.plots_dir) / "evaluation.png").is_file(),
    }


def _redact(uri: str) -> str:
    """A tracking URI without any password it may hold (``user:pass@host``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def image_path(cfg, name: str) -> Path | None:
    """Only the two plots the pipeline writes can be asked for, by name."""
    if name == "evaluation.png":
        return Path(cfg.evaluate.plots_dir) / "evaluation.png"
    if name == "followers.png":
        return Path(cfg.trends.plot)
    return None
