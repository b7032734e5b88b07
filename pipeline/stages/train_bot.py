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

Several sources (``train_sources``, default the five sets of ``../shared/data/bot-research``:
cresci-2017, caverlee-2011, InstaFake, the Instagram Kaggle set and mastodon-bot-flag) are
validated by leaving one source, and one platform, out. The model does not read the profile
features as they are: bots differ in scale from one platform to another (a declared Mastodon
bot posts more than the dormant accounts around it, a Twitter fake follower less than the
people around it), so it reads how far an account stands out from the other accounts of its
source in each (:mod:`pipeline.features.population`), with each source's bots weighted to a
follower list's share (``--population-bot-share``, 10%), and gradient boosting constrained so
that standing out more never makes an account less bot-like.

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

from pipeline.core.config import Source, load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.data import io
from pipeline.features.population import (
    BOT_SHARE,
    MIN_POPULATION,
    RELATIVE_FEATURES,
    STANDOUT_COLUMNS,
    fit_population,
    population_weights,
    standout,
)

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
    from pipeline.data.ingest._common import parse_time
    from pipeline.features.bot import newest_time

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
    from pipeline.data import ingest

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


# ---------------------------------------------------------------------------------------------
# Several sources: cresci-2017 groups, the length-only research sets and a user's own labels.

# The five public sources of ../shared/data/bot-research, used when none is configured.
SHARED_DATA = Path("../shared/data/bot-research")
DEFAULT_SOURCES = [SHARED_DATA / name for name in (
    "cresci-2017", "caverlee-2011", "instafake-2019", "instagram-kaggle-fake-spammer",
    "mastodon-bot-flag")]
# What the model may use, by family: ablation and selection drop whole families. Each is how
# far an account stands out from the others of its platform (pipeline.features.population).
FEATURE_FAMILIES: dict[str, list[str]] = {
    "age_and_rates": ["standout_log_age_days", "standout_log_posts_per_day",
                      "standout_log_followers_per_day", "standout_log_following_per_day"],
    "posts_count": ["standout_log_posts_count"],
    "audience": ["standout_log_followers_count", "standout_log_following_count",
                 "standout_log_following_follower_ratio"],
    "bio": ["standout_bio_length"],
    "avatar": ["standout_default_avatar"],
    "handle": ["standout_handle_digit_share"],
    "overall": ["standout_mean"],
}
# The families of the profile features as they are, which the models up to issue 25 read
# (bench/bot_transfer.py trains that recipe as the baseline).
ABSOLUTE_FAMILIES: dict[str, list[str]] = {
    "age_and_rates": ["log_age_days", "log_posts_per_day", "log_followers_per_day",
                      "log_following_per_day"],
    "posts_count": ["log_posts_count"],
    "audience": ["log_followers_count", "log_following_count", "log_following_follower_ratio"],
    "likes_listed": ["log_likes_count", "log_likes_per_day", "log_listed_count"],
    "handle": ["handle_length", "handle_digit_share", "handle_entropy"],
    "name": ["name_handle_similarity"],
    "bio_url": ["bio_length", "has_url"],
    "avatar": ["default_avatar"],
    "verified": ["verified"],
}
MODEL_KINDS = ("hgb", "forest")
# What ``--model auto`` chooses from: only gradient boosting takes the monotonic constraint
# (standing out more is never less bot-like) together with missing values.
AUTO_KINDS = ("hgb",)
MIXES = ("equal_sources", "pooled_rows")
LABEL_WORDS = {"bot": 1, "1": 1, "human": 0, "0": 0}


def read_research_set(path: Path, fmt: str = RESEARCH_FORMAT):
    """cresci-2017-style users tables (a folder or one file) as one labelled set."""
    from pipeline.data.ingest._labelled import LabelledSet

    tables = read_groups([Source(path=path, format=fmt)])
    return LabelledSet(
        name=path.name if path.is_dir() else path.parent.name, platform="twitter",
        accounts=pd.concat([t.accounts for t in tables], ignore_index=True),
        labels=np.concatenate([np.full(len(t.accounts), t.label) for t in tables]),
        observed_at=pd.concat([t.observed_at for t in tables], ignore_index=True),
        files=[{"file": str(t.path), "group": t.group, "label": t.label,
                "rows_read": t.rows_read, "accounts": int(len(t.accounts)),
                "sha256": t.sha256} for t in tables],
        groups=np.concatenate([np.full(len(t.accounts), t.group, dtype=object)
                               for t in tables]),
    )


def read_source(source: Source):
    """One training source as a labelled set, by its layout.

    A folder of ``*.users.csv`` tables (cresci-2017 and alike), the caverlee-2011 files, the
    InstaFake files or the Instagram Kaggle files; a single ``*.users.csv`` file.
    """
    from pipeline.data.ingest import caverlee, instafake, instagram_kaggle, mastodon_bot_flag

    path = Path(source.path)
    if not path.exists():
        raise FileNotFoundError(
            f"bot training data not found: {path} (set features.bot.train_sources in "
            "params.yaml or pass --data)")
    if path.is_file() or any(path.glob("*.users.csv")):
        return read_research_set(path, RESEARCH_FORMAT if source.format == "auto"
                                 else source.format)
    for reader in (caverlee, instafake, instagram_kaggle, mastodon_bot_flag):
        if reader.fits(path):
            return reader.read(path)
    raise FollowbackError(
        f"{path}: not a known labelled layout (*.users.csv research tables, caverlee-2011's "
        f"{' and '.join(caverlee.FILES)}, InstaFake's {' and '.join(instafake.FILES)}, the "
        f"Instagram Kaggle {' and '.join(instagram_kaggle.FILES)}, or mastodon-bot-flag's "
        f"{' and '.join(mastodon_bot_flag.FILES)}); for accounts in an ingest format pass "
        "--labels FILE --accounts PATH")


def read_labels(path: Path) -> tuple[dict[str, int], list]:
    """``account_id,label`` rows (``bot``/``human`` or 1/0) and the rejects with their line."""
    from pipeline.data.ingest._common import csv_header, iter_csv
    from pipeline.data.schema import Reject

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file not found: {path}")
    header = csv_header(path)
    if not {"account_id", "label"} <= set(header):
        raise FollowbackError(f"{path}: the labels file needs a header with account_id and "
                              f"label, got {', '.join(header) or 'nothing'}")
    labels: dict[str, int] = {}
    rejects = []
    for row in iter_csv(path):
        where = f"line {row.line}"
        if row.error:
            rejects.append(Reject(str(path), where, "labels", row.error, row.raw))
            continue
        account = (row.cells.get("account_id") or "").strip()
        word = (row.cells.get("label") or "").strip().lower()
        raw = ",".join(row.cells.values())
        if not account:
            rejects.append(Reject(str(path), where, "labels", "account_id is empty", raw))
        elif word not in LABEL_WORDS:
            rejects.append(Reject(str(path), where, "labels",
                                  f"label must be bot, human, 1 or 0, got {word!r}", raw))
        else:
            labels[account] = LABEL_WORDS[word]
    return labels, rejects


def read_user_labels(labels_path: Path, accounts: list[Source]):
    """Accounts in any ingest format labelled by ``labels_path``, as one labelled set."""
    from pipeline.data import ingest
    from pipeline.data.ingest._labelled import LabelledSet, file_entry

    labels, rejects = read_labels(labels_path)
    if not accounts:
        raise FollowbackError("--labels needs the labelled accounts too: pass --accounts "
                              "PATH (an export or fetch in any ingest format)")
    result = ingest.load(accounts)
    table = result.tables["accounts"]
    frame = table.frame.reset_index(drop=True)
    frame = frame[frame["account_id"].astype(str).isin(labels)].reset_index(drop=True)
    if not len(frame):
        raise FollowbackError(f"none of the {len(labels)} labelled accounts of {labels_path} "
                              f"is among the {len(table.frame)} accounts read")
    platforms = frame["platform"].astype(str)
    files = [file_entry(Path(labels_path), len(labels) + len(rejects), len(frame))]
    return LabelledSet(
        name=Path(labels_path).stem, platform=platforms.mode().iloc[0],
        accounts=frame, labels=frame["account_id"].astype(str).map(labels).to_numpy(int),
        observed_at=pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"),
        files=files, rejects=[*rejects, *table.rejects],
    )


@dataclass
class Pool:
    """Model input, labels and where each row came from, over all sources."""

    X: pd.DataFrame
    y: np.ndarray
    source: np.ndarray
    platform: np.ndarray
    group: np.ndarray

    def capped(self, per_cell: int, seed: int) -> Pool:
        """At most ``per_cell`` rows of each source and label (a random sample), for the
        many validation fits of selection: with sources weighted equally, a big source's
        40,000 rows teach about what 4,000 do, at a tenth of the time."""
        rng = np.random.default_rng(seed)
        keep = np.zeros(len(self.y), bool)
        # Sorted: a set's order of strings changes with Python's hash seed, and the sample
        # must not.
        for key in sorted(set(zip(self.source, self.y, strict=True))):
            rows = np.flatnonzero((self.source == key[0]) & (self.y == key[1]))
            keep[rng.permutation(rows)[:per_cell]] = True
        return self.take(keep)

    def take(self, mask: np.ndarray) -> Pool:
        return Pool(self.X[mask].reset_index(drop=True), self.y[mask], self.source[mask],
                    self.platform[mask], self.group[mask])


def pool_of(sets: list, bot_share: float | None = BOT_SHARE) -> Pool:
    """Profile features (:func:`profile_features`) of every labelled set and how far each
    account stands out in them among the accounts of its set, stacked.

    Each set is the population of its own accounts, as a person's followers are at scoring
    time, with its bots weighted to ``bot_share`` of it (None: the set as published). The
    weights use the labels, which a follower list does not have: they simulate one with
    about one bot in ten, where most research sets are half bots or more.
    """
    from pipeline.features.bot import bot_model_input, newest_time, profile_features

    frames, y, source, plat, group = [], [], [], [], []
    for s in sets:
        reference = s.observed_at.reset_index(drop=True)
        reference = reference.fillna(newest_time(s.accounts)) if "created_at" in \
            s.accounts.columns else reference
        accounts = s.accounts.reset_index(drop=True)
        profile = profile_features(accounts, reference)
        population = fit_population(profile, s.platform,
                                    population_weights(s.labels, bot_share))
        frames.append(bot_model_input(pd.concat(
            [profile, standout(profile, s.platform, population)], axis=1)))
        n = len(accounts)
        y.append(s.labels)
        source.append(np.full(n, s.name, dtype=object))
        plat.append(np.full(n, s.platform, dtype=object))
        group.append(s.groups if s.groups is not None else np.full(n, s.name, dtype=object))
    return Pool(pd.concat(frames, ignore_index=True), np.concatenate(y),
                np.concatenate(source), np.concatenate(plat), np.concatenate(group))


def sample_weights(pool: Pool, mix: str) -> np.ndarray:
    """``equal_sources``: every source weighs the same, classes balanced within each;
    ``pooled_rows``: classes balanced over the pool, so big sources dominate."""
    w = np.ones(len(pool.y))
    cells = (zip(pool.source, pool.y, strict=True) if mix == "equal_sources"
             else ((None, v) for v in pool.y))
    keys = pd.Series(list(cells), dtype=object)
    sizes = keys.map(keys.value_counts())
    w = len(w) / (keys.nunique() * sizes.to_numpy(dtype=float))
    return w


def make_model(kind: str = "hgb", n_estimators: int = 300, seed: int = 0,
               n_jobs: int | None = None, increasing: list[str] | None = None):
    """The bot model: gradient-boosted trees (``hgb``) or a shallow random forest.

    ``increasing``: features the score of ``hgb`` may only rise with (the standouts).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    if kind == "forest":
        return RandomForestClassifier(n_estimators=n_estimators, max_depth=8,
                                      min_samples_leaf=5, random_state=seed, n_jobs=n_jobs)
    if kind == "hgb":
        return HistGradientBoostingClassifier(
            max_iter=n_estimators, learning_rate=0.05, max_leaf_nodes=15,
            min_samples_leaf=40, l2_regularization=1.0, random_state=seed,
            monotonic_cst={f: 1 for f in increasing} if increasing else None)
    raise FollowbackError(f"unknown bot model {kind!r}: choose one of {', '.join(MODEL_KINDS)}")


def hide_platform_gaps(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with the counts most platforms do not publish set to missing."""
    out = X.copy()
    out[[c for c in HIDDEN_ON_MOST_PLATFORMS if c in out.columns]] = np.nan
    return out


def fit_model(pool: Pool, features: list[str], kind: str, mix: str, n_estimators: int,
              seed: int, n_jobs: int | None = None, cap: int | None = None,
              monotone: bool = True):
    """Fit on ``pool``; with likes/listed among the features each row is also seen without.

    ``cap`` limits the rows per source and label (:meth:`Pool.capped`), part of the training
    mix. Features with fewer than two values in ``pool`` (those only a held-out source publishes)
    are left out: there is nothing to learn from them. With ``monotone`` (and ``hgb``), the
    score may only rise with each standout feature.
    """
    if cap:
        pool = pool.capped(cap, seed)
    features = learnable(pool, features)
    if not features:
        raise FollowbackError(
            "no feature varies among the training accounts: a labelled source needs at "
            f"least {MIN_POPULATION} accounts with a value to be a population its accounts "
            "stand out from")
    X = pool.X[features]
    y, w = pool.y, sample_weights(pool, mix)
    if set(HIDDEN_ON_MOST_PLATFORMS) & set(features):
        X = pd.concat([X, hide_platform_gaps(X)], ignore_index=True)
        y, w = np.concatenate([y, y]), np.concatenate([w, w]) / 2
    increasing = [f for f in features if f in STANDOUT_COLUMNS] if monotone else None
    return make_model(kind, n_estimators, seed, n_jobs, increasing).fit(X, y, sample_weight=w)


def learnable(pool: Pool, features: list[str]) -> list[str]:
    """The ``features`` with at least two values in ``pool``: something to learn from."""
    return [f for f in features if pool.X[f].nunique() >= 2]


def _score(model, X: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(X[list(model.feature_names_in_)])[:, 1]


def _summary(y: np.ndarray, score: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "n_bots": int(y.sum()), "n_humans": int((y == 0).sum()),
        "roc_auc": round(float(roc_auc_score(y, score)), 4),
        "pr_auc": round(float(average_precision_score(y, score)), 4),
        "bot_recall": round(float(np.mean(score[y == 1] >= THRESHOLD)), 4),
        "human_false_positive_rate": round(float(np.mean(score[y == 0] >= THRESHOLD)), 4),
    }


def leave_one_out(pool: Pool, by: str, features: list[str], kind: str, mix: str,
                  n_estimators: int, seed: int, n_jobs: int | None = None,
                  cap: int | None = None) -> dict:
    """Train on every ``by`` value (source or platform) but one, test on it; per value."""
    keys = getattr(pool, by)
    out = {}
    for key in sorted(set(keys)):
        test = keys == key
        train = pool.take(~test)
        # One label on a side, or nothing to learn without the held-out value (its sources
        # alone are big enough to rank in): no figure.
        if (len(np.unique(pool.y[test])) < 2 or len(np.unique(train.y)) < 2
                or not learnable(train, features)):
            continue
        model = fit_model(train, features, kind, mix, n_estimators, seed, n_jobs, cap)
        held = pool.take(test)
        out[key] = {"platform": str(held.platform[0]), **_summary(held.y, _score(model, held.X))}
    return out


def _mean_auc(result: dict) -> float:
    return round(float(np.mean([m["roc_auc"] for m in result.values()])), 4)


def within_source_cv(pool: Pool, features: list[str], kind: str, mix: str,
                     n_estimators: int, seed: int, folds: int, n_jobs: int | None = None,
                     cap: int | None = None) -> dict:
    """Stratified k-fold over the pool, ROC-AUC per source: the figure that proves little."""
    from sklearn.model_selection import StratifiedKFold

    score = np.zeros(len(pool.y))
    strata = pd.Series(pool.source).astype(str) + ":" + pd.Series(pool.y).astype(str)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            pool.X, strata):
        mask = np.zeros(len(pool.y), bool)
        mask[train] = True
        model = fit_model(pool.take(mask), features, kind, mix, n_estimators, seed, n_jobs,
                          cap)
        score[test] = _score(model, pool.X.iloc[test])
    return {"folds": folds, **{
        s: _summary(pool.y[pool.source == s], score[pool.source == s])
        for s in sorted(set(pool.source))}}


def leave_one_group_out(pool: Pool, features: list[str], kind: str, mix: str,
                        n_estimators: int, seed: int, folds: int = 5,
                        n_jobs: int | None = None, cap: int | None = None) -> dict:
    """Per cresci-2017 bot family: train without it, test on it against held-out genuine
    accounts (``folds`` parts, each held out once); the other sources stay in training."""
    families = np.array([family_of(g) if g.split("_")[0] in ("social", "traditional",
                                                              "fake", "genuine") else ""
                         for g in pool.group.astype(str)], dtype=object)
    humans = np.flatnonzero(families == "genuine_accounts")
    if not len(humans):
        return {}
    parts = np.array_split(np.random.default_rng(seed).permutation(humans), folds)
    out = {}
    for family in [f for f in BOT_FAMILIES if f in set(families)]:
        bots = np.flatnonzero(families == family)
        runs = []
        for part in parts:
            train = np.ones(len(pool.y), bool)
            train[bots] = train[part] = False
            test = np.zeros(len(pool.y), bool)
            test[bots] = test[part] = True
            model = fit_model(pool.take(train), features, kind, mix, n_estimators, seed,
                              n_jobs, cap)
            runs.append(_summary(pool.y[test], _score(model, pool.X[test])))
        aucs = [r["roc_auc"] for r in runs]
        out[family] = {"held_out_groups": sorted(set(pool.group[bots])),
                       "n_bots": int(len(bots)),
                       "n_humans_per_part": int(round(np.mean([len(p) for p in parts]))),
                       **{k: round(float(np.mean([r[k] for r in runs])), 4)
                          for k in ("roc_auc", "pr_auc", "bot_recall",
                                    "human_false_positive_rate")},
                       "roc_auc_std": round(float(np.std(aucs)), 4)}
    return out


def _features_of(families: list[str], pool: Pool) -> list[str]:
    present = set(pool.X.columns[pool.X.notna().any()])
    return [f for fam in families for f in FEATURE_FAMILIES[fam] if f in present]


def select(pool: Pool, kind: str, mix: str, n_estimators: int, seed: int,
           n_jobs: int | None = None, min_gain: float = 0.002, progress=None,
           cap: int | None = None) -> dict:
    """Ablation and selection of feature families by leave-one-source-out ROC-AUC.

    Each family is removed in turn from all of them (the ablation: what each family adds
    across sources, per source). Every family whose removal raises the mean
    leave-one-source-out ROC-AUC by at least ``min_gain`` is dropped at once (one round keeps
    the cost at one validation per family), and the result is validated again: if it is not
    better than all families together, all are kept. Families that only one source
    publishes are left out first: no held-out source can show what they are worth.
    """
    def loso(families):
        if progress:
            progress()
        return leave_one_out(pool, "source", _features_of(families, pool), kind, mix,
                             n_estimators, seed, n_jobs, cap)

    families = [f for f in FEATURE_FAMILIES if _features_of([f], pool)]
    # A family only one source publishes cannot be tested on a source it was not learnt
    # from: whatever it adds is that dataset's own (cresci-2017's verified flag, say).
    single = [fam for fam in families if len({
        src for src in set(pool.source)
        if pool.X.loc[pool.source == src, _features_of([fam], pool)].notna().any().any()}) < 2]
    families = [f for f in families if f not in single] or families
    base = loso(families)
    trials = {fam: loso([f for f in families if f != fam]) for fam in families}
    ablation = {fam: {
        "mean_roc_auc_change": round(_mean_auc(r) - _mean_auc(base), 4),
        **{s: round(r[s]["roc_auc"] - base[s]["roc_auc"], 4) for s in base if s in r}}
        for fam, r in trials.items()}
    drop = [fam for fam in families if ablation[fam]["mean_roc_auc_change"] >= min_gain]
    kept = [f for f in families if f not in drop] or families
    result = loso(kept) if drop else base
    rounds = [{"families": families, "mean_roc_auc": _mean_auc(base)}]
    if drop:
        rounds.append({"families": kept, "dropped": drop, "mean_roc_auc": _mean_auc(result)})
        if _mean_auc(result) <= _mean_auc(base):
            kept, result = families, base
    return {"families": kept, "loso": result, "ablation": ablation, "rounds": rounds,
            "single_source": single}


def _relative(path: Path, root: Path) -> str:
    # Absolute, not resolved: a data folder reached through a symbolic link (a worktree's
    # ../shared) is recorded as it was given, not as where the link points.
    try:
        return os.path.relpath(Path(path).absolute(), root.absolute())
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
    labels: Path | None = None,
    accounts: list[Source] | None = None,
    kind: str = "auto",
    mix: str = "auto",
    selection: bool = True,
    cap: int | None = 3000,
    progress=None,
    bot_share: float | None = BOT_SHARE,
) -> dict:
    """Train, validate and save the bot-likeness model; return the sidecar's content.

    Parameters
    ----------
    sources : labelled research folders or files (see :func:`read_source`).
    out_path : the skops file to write; the JSON sidecar goes beside it (``.json``).
    n_estimators : boosting iterations or trees.
    seed : random state of the model and of the validation splits.
    folds : folds of the within-source cross-validation and genuine parts of
        leave-one-group-out.
    command : the command line to record in the sidecar.
    root : paths in the sidecar are written relative to this folder (the repository).
    n_jobs : parallel jobs for a forest (the saved model predicts with one).
    labels, accounts : a user's ``account_id,label`` file and the accounts it labels.
    kind, mix : the model and training mix; ``auto`` chooses by leave-one-source-out.
    selection : drop feature families by leave-one-source-out (else keep all).
    cap : at most this many accounts of each source and label train a model (a random
        sample; None for all): part of the training mix, the same in validation and in the
        saved model.
    progress : called before each leave-one-out validation (a progress bar's advance).
    bot_share : each source is the population its accounts stand out from, with its bots
        weighted to this share of it (None: as published); see :func:`pool_of`.
    """
    import sklearn
    import skops
    import skops.io as sio

    started = time.perf_counter()
    root = Path(root)
    sets = [read_source(s) for s in sources]
    if labels is not None:
        sets.append(read_user_labels(labels, accounts or []))
    pool = pool_of(sets, bot_share)
    if len(np.unique(pool.y)) < 2:
        raise FollowbackError("bot training needs both human and bot accounts; got only "
                              f"{'bots' if pool.y[0] else 'humans'} "
                              f"({', '.join(sorted(set(pool.group)))})")
    multi = len(set(pool.source)) > 1
    kinds = AUTO_KINDS if kind == "auto" else (kind,)
    mixes = MIXES if mix == "auto" else (mix,)
    all_features = _features_of(list(FEATURE_FAMILIES), pool)
    choice: dict[str, dict] = {"mixes": {}, "kinds": {}}
    chosen_kind, chosen_mix = kinds[0], mixes[0]

    def held_out(by, features, k, m):
        if progress:
            progress()
        return leave_one_out(pool, by, features, k, m, n_estimators, seed, n_jobs, cap)

    if multi and len(mixes) > 1:
        choice["mixes"] = {m: _mean_auc(held_out("source", all_features, chosen_kind, m))
                           for m in mixes}
        chosen_mix = max(choice["mixes"], key=choice["mixes"].get)
    features, sel = all_features, None
    if multi and selection:
        sel = select(pool, chosen_kind, chosen_mix, n_estimators, seed, n_jobs,
                     progress=progress, cap=cap)
        features = _features_of(sel["families"], pool)
    if multi and len(kinds) > 1:
        choice["kinds"] = {k: _mean_auc(held_out("source", features, k, chosen_mix))
                           for k in kinds}
        chosen_kind = max(choice["kinds"], key=choice["kinds"].get)
    loso = held_out("source", features, chosen_kind, chosen_mix) if multi else {}
    lopo = (held_out("platform", features, chosen_kind, chosen_mix)
            if len(set(pool.platform)) > 1 else {})
    cv = within_source_cv(pool, features, chosen_kind, chosen_mix, n_estimators, seed, folds,
                          n_jobs, cap)
    logo = leave_one_group_out(pool, features, chosen_kind, chosen_mix, n_estimators, seed,
                               min(folds, 3), n_jobs, cap)
    model = fit_model(pool, features, chosen_kind, chosen_mix, n_estimators, seed, n_jobs, cap)
    features = list(model.feature_names_in_)
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=None)  # it scores inside other stages' parallel work

    out_path = Path(out_path)
    # The model and its sidecar go in together (pipeline.data.io.OutputSet).
    outputs = io.OutputSet()
    with io.atomic_path(outputs.file(out_path)) as tmp:
        # Deflate: tree node arrays shrink about fivefold.
        sio.dump(model, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    dropped = [f for f in all_features if f not in features]
    sidecar = {
        "model": out_path.name,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "estimator": type(model).__name__,
        "params": {k: v for k, v in model.get_params().items()
                   if k in ("n_estimators", "max_iter", "max_depth", "min_samples_leaf",
                            "learning_rate", "max_leaf_nodes", "l2_regularization",
                            "random_state")},
        "training_mix": {"weighting": chosen_mix, "max_per_source_and_label": cap},
        "population": {"bot_share": bot_share, "relative_features": RELATIVE_FEATURES,
                       "monotonic_increasing": [f for f in features
                                                if f in STANDOUT_COLUMNS
                                                and chosen_kind == "hgb"]},
        "features": list(features),
        "dropped_features": dropped,
        "feature_families": {k: v for k, v in FEATURE_FAMILIES.items()},
        "hidden_on_most_platforms": [c for c in HIDDEN_ON_MOST_PLATFORMS if c in features],
        "labels": {"0": "human", "1": "bot (spambots, fake followers, content polluters, "
                   "fake accounts, accounts that declare themselves bots)"},
        "sources": [
            {"name": s.name, "platform": s.platform, "accounts": int(len(s.labels)),
             "bots": int(s.labels.sum()), "humans": int((s.labels == 0).sum()),
             "rejected": len(s.rejects),
             "published_features": sorted(pool.X.columns[
                 pool.X[pool.source == s.name].notna().any()]),
             "files": [{**f, "file": _relative(Path(f["file"]), root)} for f in s.files]}
            for s in sets
        ],
        "versions": {"scikit-learn": sklearn.__version__, "skops": skops.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__,
                     "python": platform.python_version()},
        "metrics": {
            "threshold": THRESHOLD,
            "leave_one_source_out": loso,
            "leave_one_platform_out": lopo,
            "within_source_cv": cv,
            "leave_one_group_out": logo,
            "ablation": sel["ablation"] if sel else {},
            "selection_rounds": sel["rounds"] if sel else [],
            "single_source_families": sel["single_source"] if sel else [],
            "model_choice": choice,
        },
        "size_bytes": outputs.temporary(out_path).stat().st_size,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if hasattr(model, "feature_importances_"):
        sidecar["feature_importances"] = {
            name: round(float(v), 4) for name, v in sorted(
                zip(features, model.feature_importances_, strict=True),
                key=lambda item: -item[1])}
    io.write_text(outputs.file(out_path.with_suffix(".json")),
                  json.dumps(sidecar, indent=2) + "\n")
    outputs.commit()
    return sidecar


def _default_sources(configured: list[Source], data: list[Path] | None, root: Path
                     ) -> list[Source]:
    if data:
        return [Source(path=p) for p in data]
    if configured:
        return [Source(path=s.path if s.path.is_absolute() else root / s.path, format=s.format)
                for s in configured]
    return [Source(path=root / p) for p in DEFAULT_SOURCES]


def cli(
    params: ParamsOption = Path("params.yaml"),
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Labelled research data: a folder of *.users.csv tables "
                     "(cresci-2017), the caverlee-2011, InstaFake, Instagram Kaggle or "
                     "mastodon-bot-flag folder, or one users table; repeat for several. "
                     "Default: features.bot.train_sources, else the five sets in "
                     f"{SHARED_DATA} beside the repository."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Your own labels: a CSV with account_id,label (bot or "
                     "human, 1 or 0) for accounts given by --accounts; trained on beside "
                     "--data as one more source.", dir_okay=False),
    ] = None,
    accounts: Annotated[
        list[Path] | None,
        typer.Option("--accounts", help="The accounts --labels names, in any ingest format "
                     "(an export, a fetch folder); repeat for several."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The model file to write (a .json sidecar goes beside it). "
                     "Default: features.bot.model_path.", dir_okay=False),
    ] = None,
    n_estimators: Annotated[
        int | None,
        typer.Option("--n-estimators", min=1, help="Boosting iterations (or trees). "
                     "Default: features.bot.n_estimators."),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="auto (hgb, the only one constrained to score an "
                          "account that stands out more as no less bot-like), hgb or forest."),
    ] = "auto",
    selection: Annotated[
        bool, typer.Option("--select/--no-select", help="Drop feature families that do not "
                           "help on unseen sources (leave-one-source-out)."),
    ] = True,
    cap: Annotated[
        int, typer.Option("--max-per-class", min=0, help="At most this many accounts of each "
                          "source and label train a model (a random sample; 0 for all)."),
    ] = 3000,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed. Default: base.seed."),
    ] = None,
    bot_share: Annotated[
        float, typer.Option("--population-bot-share", min=0.0, max=0.9,
                            help="Each source is the population its accounts stand out from, "
                            "with its bots weighted to this share of it, as in a follower "
                            "list (0: the source as published)."),
    ] = BOT_SHARE,
) -> None:
    """Train the bot-likeness model on labelled accounts from several sources.

    Validates it leave-one-source-out and leave-one-platform-out (train on all sources but
    one, test on that one), drops feature families that only help within one dataset, and
    prints how it does on each source it did not see.

    Writes the model and a JSON sidecar: data provenance, the command and these metrics.
    """
    cfg = load_config(params)
    root = params.resolve().parent
    sources = _default_sources(cfg.features.bot.train_sources, data, root)
    if labels is not None and not data and not cfg.features.bot.train_sources:
        sources = [s for s in sources if Path(s.path).exists()]
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
        *([f"--labels {_relative(labels, root)}"] if labels else []),
        *(f"--accounts {_relative(a, root)}" for a in accounts or []),
        f"--out {out}", f"--n-estimators {n_estimators}", f"--model {model}",
        *([] if selection else ["--no-select"]), f"--max-per-class {cap}", f"--seed {seed}",
        f"--population-bot-share {bot_share:g}",
    ])
    with console.status("training the bot model (leave-one-source-out, selection)") as status:
        runs = iter(range(1, 10_000))

        def progress() -> None:
            status.update(f"training the bot model: leave-one-out validation {next(runs)}")

        sidecar = train_bot(sources, out, n_estimators=n_estimators, seed=seed,
                            command=command, root=root, labels=labels,
                            accounts=[Source(path=a) for a in accounts or []],
                            kind=model, selection=selection, cap=cap or None,
                            progress=progress, bot_share=bot_share or None)

    console.print(summary_table(sidecar))
    console.print(f"[green]wrote[/] {out} ({sidecar['size_bytes'] / 1e6:.1f} MB) and "
                  f"{Path(out).with_suffix('.json')} in {sidecar['seconds']:.0f} s",
                  highlight=False)


def summary_table(sidecar: dict):
    """The validation figures as a rich table: unseen sources and platforms first."""
    from rich.table import Table

    metrics = sidecar["metrics"]
    table = Table(title="followback train-bot", caption=(
        f"{sidecar['estimator']} on {len(sidecar['features'])} features; recall: bots scored "
        f">= {THRESHOLD}; FPR: humans scored >= {THRESHOLD}"))
    table.add_column("validation")
    for name in ("bots", "humans", "ROC-AUC", "PR-AUC", "recall", "FPR"):
        table.add_column(name, justify="right")
    rows = [(f"unseen source {s}", m) for s, m in metrics["leave_one_source_out"].items()]
    rows += [(f"unseen platform {p}", m) for p, m in metrics["leave_one_platform_out"].items()]
    rows += [(f"unseen cresci {f.replace('_', ' ')}", {**m, "n_humans": m["n_humans_per_part"]})
             for f, m in metrics["leave_one_group_out"].items()]
    rows += [(f"within data {metrics['within_source_cv']['folds']}-fold CV: {s}", m)
             for s, m in metrics["within_source_cv"].items() if s != "folds"]
    for name, m in rows:
        table.add_row(name, f"{m['n_bots']:,}", f"{m['n_humans']:,}", f"{m['roc_auc']:.3f}",
                      f"{m['pr_auc']:.3f}", f"{m['bot_recall']:.0%}",
                      f"{m['human_false_positive_rate']:.1%}")
    return table
