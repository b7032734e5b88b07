"""Train the bot-likeness model on labelled research data: ``followback train-bot``.

Reads research-format ``users.csv`` tables (cresci-2017 and alike) through the importer, one
file per account group: ``genuine_accounts`` are humans, social and traditional spambots and
fake followers are bots. Fits a random forest on the profile features of
:mod:`pipeline.features.bot` (the same function :class:`~pipeline.features.bot.BotLikeness`
scores with) and saves it with skops, beside a JSON sidecar with the command, the data's
provenance (files, rows, sha256), the features and two kinds of validation:

- stratified k-fold cross-validation within the data, which a profile-only forest passes with
  ROC-AUC near 0.99 and which therefore proves little;
- leave-one-group-out: the model is trained without one family of bots (all social spambots,
  say) and tested on that family against held-out genuine accounts, which asks whether it
  recognises a kind of bot it has never seen.

Most platforms publish no likes or listed counts (Mastodon and Bluesky do not), while in the
research data the likes count separates humans from bots best. Each training account is
therefore seen twice, once as is and once with those counts hidden, so that the model still
ranks accounts without them; every metric is also reported with them hidden.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from pipeline import io
from pipeline.config import Source, load_config
from pipeline.console import FollowbackError, ParamsOption, console

# Relative to the repository (the folder of params.yaml), used when no source is configured.
DEFAULT_DATA = Path("../shared/data/bot-research/cresci-2017")
RESEARCH_FORMAT = "twitter-research"
HUMAN_GROUPS = ("genuine",)
BOT_FAMILIES = ("social_spambots", "traditional_spambots", "fake_followers")
# Profile features most platforms do not publish (no likes or listed counts on Mastodon or
# Bluesky): the model learns to do without them, and every metric is reported without them too.
HIDDEN_ON_MOST_PLATFORMS = ["log_likes_count", "log_likes_per_day", "log_listed_count"]
THRESHOLD = 0.5


@dataclass
class GroupTable:
    """The accounts of one research file, its group and label, and where it came from."""

    path: Path
    group: str
    label: int
    sha256: str
    rows_read: int
    accounts: pd.DataFrame
    # When each account was observed (crawled): "now" for its age.
    observed_at: pd.Series


def group_of(path: Path) -> str:
    """``.../social_spambots_1.users.csv`` -> ``social_spambots_1``."""
    return path.name.split(".")[0]


def family_of(group: str) -> str:
    """``social_spambots_1`` -> ``social_spambots``: groups of one kind, numbered by dataset."""
    return re.sub(r"_\d+$", "", group)


def label_of(group: str) -> int:
    """1 for a bot group, 0 for a human one; an unknown group is an error naming the choices."""
    if group.startswith(HUMAN_GROUPS):
        return 0
    if family_of(group) in BOT_FAMILIES:
        return 1
    raise FollowbackError(
        f"cannot tell the label of account group {group!r} from its file name: human groups "
        f"start with {', '.join(HUMAN_GROUPS)}, bot groups are {', '.join(BOT_FAMILIES)} "
        "(optionally numbered, e.g. social_spambots_1.users.csv)"
    )


def research_files(sources: list[Source]) -> list[tuple[Path, str]]:
    """The users tables named by ``sources`` (folders are searched for ``*.users.csv``)."""
    files: list[tuple[Path, str]] = []
    for source in sources:
        fmt = RESEARCH_FORMAT if source.format == "auto" else source.format
        path = Path(source.path)
        if path.is_dir():
            found = sorted(path.glob("*.users.csv"))
            if not found:
                raise FollowbackError(f"no *.users.csv research tables in {path}")
            files.extend((f, fmt) for f in found)
        elif path.is_file():
            files.append((path, fmt))
        else:
            raise FileNotFoundError(
                f"bot training data not found: {path} (set features.bot.train_sources in "
                "params.yaml or pass --data)"
            )
    return files


def _observed_at(accounts: pd.DataFrame, extras: pd.DataFrame) -> pd.Series:
    """When each research account was crawled, from the kept ``crawled_at``/``updated`` fields.

    Age must be measured at the crawl, not today: groups were crawled years apart (2010 to
    2016), and ages to a common "now" would tell the groups apart by crawl date alone. Rows
    without a crawl time take the newest time in their file, as BotLikeness does.
    """
    from pipeline.features.bot import newest_time
    from pipeline.ingest._common import parse_time

    observed: dict[str, object] = {}
    if len(extras) and "extra" in extras.columns:
        for account_id, extra in zip(extras["account_id"], extras["extra"], strict=True):
            fields = json.loads(extra) if isinstance(extra, str) else {}
            for key in ("crawled_at", "updated"):
                when = parse_time(fields.get(key))
                if when is not None:
                    observed[str(account_id)] = when
                    break
    times = pd.to_datetime(accounts["account_id"].astype(str).map(observed), utc=True)
    return times.fillna(newest_time(accounts))


def read_groups(sources: list[Source]) -> list[GroupTable]:
    """Read each research users table through the importer, keeping its group and label."""
    from pipeline import ingest

    tables = []
    for path, fmt in research_files(sources):
        group = group_of(path)
        label = label_of(group)
        result = ingest.load([Source(path=path, format=fmt)])
        accounts = result.tables["accounts"]
        if not len(accounts.frame):
            raise FollowbackError(f"{path}: no accounts could be read ({len(accounts.rejects)} "
                                  "rejected)")
        frame = accounts.frame.reset_index(drop=True)
        tables.append(GroupTable(
            path=path, group=group, label=label, sha256=io.file_sha256(path),
            rows_read=accounts.read,
            accounts=frame, observed_at=_observed_at(frame, accounts.extras),
        ))
    return tables


def training_set(tables: list[GroupTable]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Profile features, labels and group names of every account of ``tables``."""
    from pipeline.features.bot import profile_features

    frames, labels, groups = [], [], []
    for table in tables:
        frames.append(profile_features(table.accounts, table.observed_at))
        labels.append(np.full(len(table.accounts), table.label))
        groups.append(np.full(len(table.accounts), table.group, dtype=object))
    return (pd.concat(frames, ignore_index=True), np.concatenate(labels),
            np.concatenate(groups))


def make_model(n_estimators: int, seed: int, n_jobs: int | None = None):
    """The bot model: a class-balanced random forest, shallow enough to ship (about 2 MB)."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=n_estimators, max_depth=8, min_samples_leaf=5, class_weight="balanced",
        random_state=seed, n_jobs=n_jobs,
    )


def hide_platform_gaps(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with the counts most platforms do not publish set to missing."""
    out = X.copy()
    out[[c for c in HIDDEN_ON_MOST_PLATFORMS if c in out.columns]] = np.nan
    return out


def fit_bot_model(profile: pd.DataFrame, y: np.ndarray, n_estimators: int, seed: int,
                  n_jobs: int | None = None):
    """Fit the bot model on :func:`profile_features` output, with the gaps augmentation."""
    from pipeline.features.bot import bot_model_input

    X = bot_model_input(profile)
    X = pd.concat([X, hide_platform_gaps(X)], ignore_index=True)
    return make_model(n_estimators, seed, n_jobs).fit(X, np.concatenate([y, y]))


def _scores(model, profile: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from pipeline.features.bot import bot_scores

    return bot_scores(model, profile), bot_scores(model, hide_platform_gaps(profile))


def _summary(y: np.ndarray, score: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "bot_recall": float(np.mean(score[y == 1] >= THRESHOLD)),
        "human_false_positive_rate": float(np.mean(score[y == 0] >= THRESHOLD)),
    }


def _mean(runs: list[dict]) -> dict:
    out = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        out[key] = round(float(np.mean(values)), 4)
        if key == "roc_auc":
            out["roc_auc_std"] = round(float(np.std(values)), 4)
    return out


def cross_validate(profile: pd.DataFrame, y: np.ndarray, n_estimators: int, seed: int,
                   folds: int = 5, n_jobs: int | None = None) -> dict:
    """Stratified k-fold within the data: pooled out-of-fold ROC-AUC, PR-AUC and rates."""
    from sklearn.model_selection import StratifiedKFold

    full = np.zeros(len(y))
    hidden = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(profile, y):
        model = fit_bot_model(profile.iloc[train], y[train], n_estimators, seed, n_jobs)
        full[test], hidden[test] = _scores(model, profile.iloc[test])
    return {
        "folds": folds,
        "n_bots": int(y.sum()),
        "n_humans": int((y == 0).sum()),
        **{k: round(v, 4) for k, v in _summary(y, full).items()},
        "without_likes_listed": {k: round(v, 4) for k, v in _summary(y, hidden).items()},
    }


def leave_one_group_out(profile: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                        n_estimators: int, seed: int, folds: int = 5,
                        n_jobs: int | None = None) -> dict:
    """Per bot family: train without it, test on it against held-out genuine accounts.

    The genuine accounts are split in ``folds`` parts; each part is held out once (with the
    whole held-out family) while the model trains on the other parts and the other bot
    families. Figures are means over the parts (``roc_auc_std`` their spread).
    """
    families = np.array([family_of(g) for g in groups], dtype=object)
    humans = np.flatnonzero(y == 0)
    parts = np.array_split(np.random.default_rng(seed).permutation(humans), folds)
    out = {}
    for family in [f for f in BOT_FAMILIES if f in set(families)]:
        bots = np.flatnonzero(families == family)
        full_runs, hidden_runs = [], []
        for part in parts:
            train = np.setdiff1d(np.flatnonzero(families != family), part)
            if len(np.unique(y[train])) < 2:
                continue
            test = np.concatenate([bots, part])
            model = fit_bot_model(profile.iloc[train], y[train], n_estimators, seed, n_jobs)
            full, hidden = _scores(model, profile.iloc[test])
            full_runs.append(_summary(y[test], full))
            hidden_runs.append(_summary(y[test], hidden))
        if not full_runs:
            continue
        out[family] = {
            "held_out_groups": sorted(set(groups[bots])),
            "n_bots": int(len(bots)),
            "n_humans_per_part": int(round(np.mean([len(p) for p in parts]))),
            **_mean(full_runs),
            "without_likes_listed": _mean(hidden_runs),
        }
    return out


def _relative(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), root.resolve())
    except ValueError:  # another drive on Windows
        return str(path)


def train_bot(
    sources: list[Source],
    out_path: str | Path,
    n_estimators: int = 300,
    seed: int = 42,
    folds: int = 5,
    command: str | None = None,
    root: str | Path = ".",
    n_jobs: int | None = -1,
) -> dict:
    """Train, validate and save the bot-likeness model; return the sidecar's content.

    Parameters
    ----------
    sources : research users tables or folders of them.
    out_path : the skops file to write; the JSON sidecar goes beside it (``.json``).
    n_estimators : trees in the forest.
    seed : random state of the forest and of the validation splits.
    folds : folds of the cross-validation and genuine parts of leave-one-group-out.
    command : the command line to record in the sidecar.
    root : paths in the sidecar are written relative to this folder (the repository).
    n_jobs : parallel jobs for training (the saved model predicts with one).
    """
    import sklearn
    import skops
    import skops.io as sio

    from pipeline.features.bot import BOT_MODEL_FEATURES

    started = time.perf_counter()
    root = Path(root)
    tables = read_groups(sources)
    profile, y, groups = training_set(tables)
    if len(np.unique(y)) < 2:
        raise FollowbackError("bot training needs both human and bot groups; got only "
                              f"{'bots' if y[0] else 'humans'} ({', '.join(sorted(set(groups)))})")
    cv = cross_validate(profile, y, n_estimators, seed, folds, n_jobs)
    logo = leave_one_group_out(profile, y, groups, n_estimators, seed, folds, n_jobs)
    model = fit_bot_model(profile, y, n_estimators, seed, n_jobs)
    model.set_params(n_jobs=None)  # it scores inside other stages' parallel work

    out_path = Path(out_path)
    with io.atomic_path(out_path) as tmp:
        # Deflate: forest node arrays shrink about fivefold.
        sio.dump(model, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    sidecar = {
        "model": out_path.name,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "estimator": type(model).__name__,
        "params": {k: v for k, v in model.get_params().items()
                   if k in ("n_estimators", "max_depth", "min_samples_leaf", "class_weight",
                            "random_state")},
        "features": list(BOT_MODEL_FEATURES),
        # Impurity-based, on the training data: which features the forest leans on.
        "feature_importances": {
            name: round(float(v), 4) for name, v in sorted(
                zip(BOT_MODEL_FEATURES, model.feature_importances_, strict=True),
                key=lambda item: -item[1])
        },
        "hidden_on_most_platforms": HIDDEN_ON_MOST_PLATFORMS,
        "labels": {"0": "human (genuine_accounts)",
                   "1": "bot (" + ", ".join(BOT_FAMILIES) + ")"},
        "data": [
            {"file": _relative(t.path, root), "group": t.group, "label": t.label,
             "rows_read": t.rows_read, "accounts": int(len(t.accounts)), "sha256": t.sha256}
            for t in tables
        ],
        "versions": {"scikit-learn": sklearn.__version__, "skops": skops.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__,
                     "python": platform.python_version()},
        "metrics": {
            "threshold": THRESHOLD,
            "cross_validation": cv,
            "leave_one_group_out": logo,
        },
        "size_bytes": out_path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 1),
    }
    io.write_text(out_path.with_suffix(".json"), json.dumps(sidecar, indent=2) + "\n")
    return sidecar


def _default_sources(configured: list[Source], data: list[Path] | None, root: Path
                     ) -> list[Source]:
    if data:
        return [Source(path=p) for p in data]
    if configured:
        return [Source(path=s.path if s.path.is_absolute() else root / s.path, format=s.format)
                for s in configured]
    return [Source(path=root / DEFAULT_DATA)]


def cli(
    params: ParamsOption = Path("params.yaml"),
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Research users tables (*.users.csv) or folders of them; "
                     "repeat for several. Default: features.bot.train_sources, else "
                     f"{DEFAULT_DATA} beside the repository."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The model file to write (a .json sidecar goes beside it). "
                     "Default: features.bot.model_path.", dir_okay=False),
    ] = None,
    n_estimators: Annotated[
        int | None,
        typer.Option("--n-estimators", min=1,
                     help="Trees in the forest. Default: features.bot.n_estimators."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed. Default: base.seed."),
    ] = None,
) -> None:
    """Train the bot-likeness model on labelled research data and report how well it transfers.

    Prints cross-validation within the data and on bot families held out of training.

    Writes the model and a JSON sidecar: data provenance, the command and these metrics.
    """
    cfg = load_config(params)
    root = params.resolve().parent
    sources = _default_sources(cfg.features.bot.train_sources, data, root)
    if out is None:
        if cfg.features.bot.model_path is None:
            raise FollowbackError("features.bot.model_path is null: pass --out to say where "
                                  "the model goes")
        out = cfg.features.bot.model_path
    n_estimators = n_estimators or cfg.features.bot.n_estimators
    seed = cfg.base.seed if seed is None else seed
    command = " ".join([
        "followback train-bot",
        *(f"--data {_relative(s.path, root)}" for s in sources),
        f"--out {out}", f"--n-estimators {n_estimators}", f"--seed {seed}",
    ])
    with console.status("training the bot model (cross-validation, leave-one-group-out)"):
        sidecar = train_bot(sources, out, n_estimators=n_estimators, seed=seed,
                            command=command, root=root)

    console.print(summary_table(sidecar["metrics"]))
    console.print(f"[green]wrote[/] {out} ({sidecar['size_bytes'] / 1e6:.1f} MB) and "
                  f"{Path(out).with_suffix('.json')} in {sidecar['seconds']:.0f} s",
                  highlight=False)


def summary_table(metrics: dict):
    """The validation figures as a rich table: one row per validation, transfer rows last."""
    from rich.table import Table

    table = Table(title="followback train-bot", caption=(
        f"recall: bots scored >= {THRESHOLD}; FPR: humans scored >= {THRESHOLD}; "
        "no likes: ROC-AUC with likes and listed counts hidden"))
    table.add_column("validation")
    for name in ("bots", "humans", "ROC-AUC", "PR-AUC", "recall", "FPR", "no likes"):
        table.add_column(name, justify="right")
    cv = metrics["cross_validation"]
    rows = [(f"within data, {cv['folds']}-fold CV", cv["n_bots"], cv["n_humans"], cv)]
    rows += [(f"unseen {family.replace('_', ' ')}", m["n_bots"], m["n_humans_per_part"], m)
             for family, m in metrics["leave_one_group_out"].items()]
    for name, bots, humans, m in rows:
        table.add_row(name, f"{bots:,}", f"{humans:,}", f"{m['roc_auc']:.3f}",
                      f"{m['pr_auc']:.3f}", f"{m['bot_recall']:.0%}",
                      f"{m['human_false_positive_rate']:.1%}",
                      f"{m['without_likes_listed']['roc_auc']:.3f}")
    return table
