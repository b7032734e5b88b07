"""``followback report``: one self-contained HTML page to review the verdicts.

The page holds the accounts sorted by uncertainty (closest to the threshold first) with their
verdict, override, reasons and evidence and each criterion's push; filters by verdict, by the
criterion that counts against, by override and decision, and by name; importance by criterion
and the latest model metrics with the evaluation plots. Everything is inline (CSS, JS, plots
as base64 PNG), so the file can be mailed or opened offline.

All account-supplied text (handles, names, bios, posts quoted in the evidence) reaches the
page through Jinja2 autoescaping only, never inside the script. As a second line, a Content
Security Policy allows only the page's own script (by its SHA-256) and no other source.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from pipeline.core.config import Config, load_config
from pipeline.core.console import ParamsOption, console
from pipeline.data import io
from pipeline.model.reasons import review_band

VERDICT_CLASS = {"follow back": "follow", "review": "review", "skip": "skip"}


def _resource(name: str) -> str:
    from importlib.resources import files

    return files("pipeline").joinpath("templates", name).read_text(encoding="utf-8")


def _png(path: Path | None) -> str | None:
    if path is not None:
        io.recover(path)  # a killed stage's half-done commit is finished or dropped first
    if path is None or not Path(path).is_file():
        return None
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _json(path: Path) -> dict:
    path = Path(path)
    io.recover(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}


def _num(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def account_rows(scores: pd.DataFrame, decided: pd.DataFrame, limit: int,
                 implicit: dict[str, str] | None = None) -> list[dict]:
    """The accounts as the template shows them, the most uncertain first; ``implicit`` maps
    account id -> the note of its implicit decision (see :mod:`pipeline.stages.decisions`)."""
    import shlex

    from pipeline.model.attribution import CRITERION_ORDER
    from pipeline.model.compose import CRITERIA_NEUTRAL
    from pipeline.model.reasons import MIN_REASON, criterion_of_phrase
    from pipeline.stages.review import uncertainty

    decisions = dict(zip(decided["account_id"].astype(str), decided["follow_back"],
                         strict=True))
    # The copy-paste command names the account for the shell: quoted, and by account id
    # where two accounts share the handle (decide would ask which).
    handles = scores["handle"].astype(str).str.lstrip("@").str.casefold()
    shared = set(handles[handles.duplicated(keep=False)])
    # Your newest undecided followers first (score's undecided_rank), then by uncertainty.
    newest = (scores["undecided_rank"] if "undecided_rank" in scores.columns
              else pd.Series(pd.NA, index=scores.index))
    key = pd.DataFrame({"tier": newest.isna().astype(int),
                        "rank": pd.to_numeric(newest, errors="coerce").fillna(0),
                        "u": uncertainty(scores)}, index=scores.index)
    order = key.sort_values(["tier", "rank", "u"], kind="stable").index[:limit]
    rows = []
    for rank, i in enumerate(order, start=1):
        s = scores.loc[i]
        contrib = {c: _num(s.get(f"contrib_{c}")) for c in CRITERION_ORDER}
        against = [c for c, v in contrib.items() if v is not None and v <= -MIN_REASON]
        reasons = []
        for k in (1, 2, 3):
            text = s.get(f"reason_{k}")
            if isinstance(text, str) and text:
                crit = criterion_of_phrase(text)
                value = contrib.get(crit) if crit else None
                reasons.append({"text": text, "criterion": crit or "",
                                "direction": "" if value is None else
                                ("against" if value < 0 else "for")})
        scale = max([abs(v) for v in contrib.values() if v is not None] + [1e-9])
        bars = [{"criterion": c, "label": CRITERIA_NEUTRAL[c], "value": v,
                 "width": round(50 * abs(v) / scale, 1)}
                for c, v in contrib.items() if v is not None]
        decision = decisions.get(str(s["account_id"]))
        verdict = str(s["verdict"])
        rows.append({
            "rank": rank,
            "account_id": str(s["account_id"]),
            "handle": str(s["handle"]),
            "decide_arg": shlex.quote(str(s["account_id"]) if str(s["handle"]).lstrip("@")
                                      .casefold() in shared else "@" + str(s["handle"])
                                      .lstrip("@")),
            "display_name": s["display_name"] if isinstance(s["display_name"], str) else "",
            "bio": s["bio"] if isinstance(s["bio"], str) else "",
            "probability": float(s["probability"]),
            "threshold": float(s["threshold"]),
            "verdict": verdict,
            "verdict_class": VERDICT_CLASS.get(verdict, "review"),
            "override": s["override"] if isinstance(s["override"], str) else "",
            "decided": None if decision is None else ("follow back" if decision else "skip"),
            "implicit": (implicit or {}).get(str(s["account_id"])) if decision is None else None,
            "newest": None if pd.isna(newest.loc[i]) else int(newest.loc[i]) + 1,
            "reasons": reasons,
            "against": against,
            "bars": bars,
            "search": " ".join(str(v) for v in (s["handle"], s["display_name"])
                               if isinstance(v, str)).casefold(),
        })
    return rows


def implicit_notes(cfg: Config) -> dict[str, str]:
    """account id -> note of each implicit decision in ``decisions.out`` (empty without it)."""
    path = Path(cfg.decisions.out)
    if not path.is_file():
        return {}
    labels = pd.read_parquet(path, columns=["account_id", "note", "source"])
    labels = labels[labels["source"] == "implicit"]
    return dict(zip(labels["account_id"].astype(str), labels["note"].fillna("implicit"),
                    strict=True))


def importance(scores: pd.DataFrame, evaluation: dict) -> list[dict]:
    """Per criterion: the holdout ROC-AUC drop when shuffled, and the mean |push| over the
    scored accounts (log-odds)."""
    from pipeline.model.attribution import CRITERION_ORDER
    from pipeline.model.compose import CRITERIA_NEUTRAL

    drop = evaluation.get("importance") or {}
    mean_abs = {c: float(scores[f"contrib_{c}"].abs().mean())
                for c in CRITERION_ORDER if scores[f"contrib_{c}"].notna().any()}
    top_drop = max([abs(v) for v in drop.values()] + [1e-9])
    top_abs = max(list(mean_abs.values()) + [1e-9])
    rows = []
    for c in CRITERION_ORDER:
        d, a = _num(drop.get(c)), mean_abs.get(c)
        rows.append({"criterion": c, "label": CRITERIA_NEUTRAL[c], "drop": d, "mean_abs": a,
                     "drop_width": 0 if d is None else round(100 * max(d, 0) / top_drop, 1),
                     "abs_width": 0 if a is None else round(100 * a / top_abs, 1)})
    return sorted(rows, key=lambda r: -(r["mean_abs"] or 0))


def metric_rows(evaluation: dict) -> list[dict]:
    names = ("roc_auc", "pr_auc", "f1", "mcc", "accuracy", "brier")
    rows = []
    for split in ("cv", "holdout"):
        for who in ("model", "rules", "majority"):
            values = (evaluation.get(split) or {}).get(who)
            if values:
                rows.append({"split": split, "who": who,
                             "values": [_num(values.get(k)) for k in names]})
    return rows


def _model_identity(cfg: Config) -> str:
    """The model ``score`` uses by the same rule (``score.model_uri``, else train.model_dir)."""
    from pipeline.model import tracking

    return tracking.model_identity(cfg)


def build(cfg: Config, scores: pd.DataFrame) -> str:
    """The page as one HTML string."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from pipeline.model.attribution import CRITERION_ORDER
    from pipeline.model.compose import CRITERIA
    from pipeline.model.reasons import ALLOW, NEVER, VERDICTS
    from pipeline.stages import decide

    decided = decide.known_decisions(cfg)
    from pipeline.stages.evaluate import details_path

    evaluation = _json(details_path(cfg)) or _json(cfg.evaluate.metrics)
    training = _json(cfg.train.metrics)
    from pipeline.stages.featurize import run_details_path

    # Which models and runtimes computed the features (featurize's run details).
    backends = (_json(run_details_path(cfg)) or {}).get("backends") or {}
    accounts = account_rows(scores, decided, cfg.report.max_accounts, implicit_notes(cfg))
    script = _resource("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    env = Environment(loader=PackageLoader("pipeline", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    template = env.get_template("report.html.j2")
    verdict_counts = scores["verdict"].value_counts()
    override_counts = scores["override"].fillna("").value_counts()
    threshold = _num(scores["threshold"].iloc[0]) if len(scores) else None
    return template.render(
        handle=cfg.user.handle,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        n_scored=len(scores),
        accounts=accounts,
        verdicts=[{"name": v, "css": VERDICT_CLASS[v], "n": int(verdict_counts.get(v, 0))}
                  for v in VERDICTS],
        overrides={ALLOW: int(override_counts.get(ALLOW, 0)),
                   NEVER: int(override_counts.get(NEVER, 0))},
        allow_list=list(cfg.user.allow_list), never_list=list(cfg.user.never_list),
        n_decided=int(scores["account_id"].isin(set(decided["account_id"])).sum()),
        criteria=[{"name": c, "label": CRITERIA[c]} for c in CRITERION_ORDER],
        importance=importance(scores, evaluation) if len(scores) else [],
        metrics=metric_rows(evaluation),
        metric_names=["ROC-AUC", "PR-AUC", "F1", "MCC", "accuracy", "Brier"],
        margin=((evaluation.get("holdout") or {}).get("margin_over_rules") or {}),
        training=training,
        backends=backends,
        model=_model_identity(cfg),
        threshold=threshold,
        review_band=(None if threshold is None else
                     review_band(threshold, cfg.train.threshold.review_margin)),
        implicit_after_days=f"{cfg.decisions.implicit_after_days:g}",
        evaluation_png=_png(Path(cfg.evaluate.plots_dir) / "evaluation.png"),
        followers_png=_png(cfg.trends.plot),
        css=_resource("report.css"),
        script=script,
        script_hash=digest,
    )


def report(cfg: Config, scores_path: Path | None = None, out: Path | None = None) -> Path:
    """Write the review page; return its path."""
    from pipeline.data.scores import read_scores

    scores = read_scores(scores_path or cfg.score.out)
    out = Path(out or cfg.report.out)
    io.write_text(out, build(cfg, scores))
    return out


def cli(
    params: ParamsOption = Path("params.yaml"),
    scores: Annotated[Path | None, typer.Option(
        help="The scores file to show (default: score.out).", dir_okay=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where to write the page (default: report.out).",
        dir_okay=False)] = None,
) -> None:
    """Write the review page: verdicts by uncertainty with reasons, filters, metrics, plots.

    One self-contained HTML file (report.out) built from score.out, evaluate.metrics,
    the evaluation plots and the follower trend plot when present.
    """
    cfg = load_config(params)
    path = report(cfg, scores, out)
    console.print(f"model: {_model_identity(cfg)}", highlight=False, markup=False)
    console.print(f"review page: {path} ({path.stat().st_size / 1024:,.0f} KiB)",
                  highlight=False)
