"""Real people's follow-backs: a harness that measures followback on them as it ships.

``../shared/data/follow-back-real/mastodon-ego-dev`` (read its README first: development and
evaluation only, aggregate figures only, nothing derived from it committed, no model trained
on it shipped, no bio quoted) holds 70 mastodon.social users ("persons"): their own Account
entity, their followers' Account entities in the API's order (newest follower first) and
whether they followed each back. This module turns one person into the pipeline's own input
through the code that ships, and measures models on it:

- :func:`load_person` writes the person's profile and follower list as a ``followback fetch
  mastodon`` folder (``fetch.json``, ``me/profile.json``, ``followers/page-*.json`` in pages of
  80, ``following/page-*.json`` holding the followers they followed back: the rest of their
  following list is not in the data and changes nothing here) in a temporary folder, and reads
  it with :func:`pipeline.data.ingest.load` (the ``mastodon`` importer) and
  :func:`pipeline.data.frame.load_account_frame` (churn and follower-group columns), as ``dvc
  repro`` would after one fetch. Rows whose ``note`` is non-empty (account moves) are dropped.
  The person's own bio is their only text: it stands in for their own posts (the relevance
  criterion compares followers' *posts*, which the data does not have, so it is constant
  either way), and ``user.languages`` is proposed from it by
  :func:`pipeline.features.language.propose_languages`.
- :func:`person_features`: the six criteria's features of every follower, as ``followback
  featurize`` computes them (extractors fitted on the whole follower list), plus the ``raw__``
  columns the rules read; texts go through the content cache (:data:`CACHE_DIR`).
- :func:`rules_proba` / :func:`majority_proba`: the follower-app rules of ``followback
  evaluate`` (1 - share of red flags) and the majority class.
- :func:`personal_cv`: per-person stratified k-fold CV ROC-AUC (pooled out-of-fold, as
  ``followback train`` reports it) of the personal model (the whole Pipeline of
  :func:`pipeline.model.compose.build_model`, fitted inside each fold), beside the rules and
  the majority; :func:`newest_holdout`: fit on the older followers, test on the newest share.
- :func:`summarize`: median, quartiles, mean and range over persons; :func:`eligible` is the
  usual selection (at least 100 followers with at least 20 of each answer).

Run as a script, it prints the aggregate figures only::

    PYTHONPATH=. python bench/real_people.py               # eligible persons, 5-fold CV + holdout
    PYTHONPATH=. python bench/real_people.py --pipeline    # the whole Pipeline in every fold
    PYTHONPATH=. python bench/real_people.py --min-followers 0 --min-each 5

The data folder is ``$FOLLOWBACK_REAL_DATA`` if set, else the first
``shared/data/follow-back-real/mastodon-ego-dev`` found above this repository.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.core.config import Config, Source, relocate  # noqa: E402

DATA_ENV = "FOLLOWBACK_REAL_DATA"
DATA_REL = Path("shared/data/follow-back-real/mastodon-ego-dev")
# Content-hash cache of the real bios' embeddings and languages: outside the repository, and
# apart from the demo's cache.
CACHE_DIR = Path(os.environ.get("FOLLOWBACK_REAL_CACHE", "/work/cache/real-people"))
FETCHED_AT = "2024-10-22T00:00:00Z"  # the crawl's start; only the order of followers is real
SERVER = "https://mastodon.social"
PAGE = 80  # Mastodon's follower-list page


# --------------------------------------------------------------------------- data


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The ``mastodon-ego-dev`` folder: ``path``, ``$FOLLOWBACK_REAL_DATA``, or the first
    ``shared/data/follow-back-real/mastodon-ego-dev`` above this repository."""
    if path is None:
        path = os.environ.get(DATA_ENV)
    if path is not None:
        found = Path(path)
    else:
        found = next((p / DATA_REL for p in REPO.parents if (p / DATA_REL).is_dir()),
                     REPO.parent / DATA_REL)
    if not (found / "persons.csv").is_file():
        raise FileNotFoundError(f"no persons.csv in {found}: set ${DATA_ENV}")
    return found


def persons_table(data: str | os.PathLike | None = None) -> pd.DataFrame:
    """``persons.csv`` (one row per person: counts, share followed back), ids as strings."""
    return pd.read_csv(data_dir(data) / "persons.csv", dtype={"person_id": str})


def person_ids(data: str | os.PathLike | None = None, min_followers: int = 0) -> list[str]:
    """Ids of the persons with at least ``min_followers`` followers written, largest first."""
    table = persons_table(data)
    table = table[table["n_followers_written"] >= min_followers]
    return table.sort_values("n_followers_written", ascending=False)["person_id"].tolist()


@dataclass
class Person:
    """One person as the pipeline sees them after one fetch, with what they really did."""

    person_id: str
    frame: pd.DataFrame          # model input (pipeline.data.frame), newest follower first
    y: np.ndarray                # 1: followed back (the crawl's following list), 0: not
    rank: np.ndarray             # position in the follower list, 0 = newest (API order)
    own_posts: list[str]         # the person's bio (their only text), or nothing
    languages: list[str]         # user.languages as proposed from the bio
    tables: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)
    n_moves_dropped: int = 0
    n_rejected: int = 0          # followers the contract rejected (see the ingest's rejects)
    features: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def n_follow_back(self) -> int:
        return int(self.y.sum())

    @property
    def n_skip(self) -> int:
        return int(self.n - self.y.sum())


def eligible(person: Person, min_followers: int = 100, min_each: int = 20) -> bool:
    """At least ``min_followers`` followers, ``min_each`` of them followed back and not."""
    return person.n >= min_followers and min(person.n_follow_back, person.n_skip) >= min_each


def _read_person(folder: Path) -> tuple[dict, list[dict], pd.DataFrame]:
    me = json.loads((folder / "me.json").read_text(encoding="utf-8"))
    followers = json.loads((folder / "followers.json").read_text(encoding="utf-8"))
    decisions = pd.read_csv(folder / "decisions.csv", dtype={"account_id": str, "note": str},
                            keep_default_na=False)
    return me, followers, decisions


def write_fetch_folder(root: Path, me: dict, followers: Sequence[dict],
                       following: Sequence[dict], fetched_at: str = FETCHED_AT) -> Path:
    """``followers`` and ``following`` (Account entities, newest first) as one complete
    ``followback fetch mastodon`` folder under ``root``; returns the platform folder."""
    from datetime import datetime

    from pipeline.data.fetch._run import FORMAT, MANIFEST, stamp

    platform_dir = Path(root) / "mastodon"
    folder = platform_dir / stamp(datetime.fromisoformat(fetched_at.replace("Z", "+00:00")))
    for sub in ("me", "followers", "following"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "me" / "profile.json").write_text(json.dumps(me), encoding="utf-8")
    lists = {}
    for direction, accounts in (("followers", followers), ("following", following)):
        pages = max(1, math.ceil(len(accounts) / PAGE))
        for k in range(pages):
            page = list(accounts[k * PAGE:(k + 1) * PAGE])
            (folder / direction / f"page-{k + 1:04d}.json").write_text(
                json.dumps(page), encoding="utf-8")
        lists[direction] = {"expected": len(accounts), "received": len(accounts),
                            "pages": pages, "complete": True, "note": ""}
    manifest = {"format": FORMAT, "version": 1, "platform": "mastodon", "server": SERVER,
                "account": {"id": str(me["id"]), "handle": me.get("acct")},
                "fetched_at": fetched_at, "finished_at": fetched_at, "full": True,
                "max_posts": 0, "lists": lists, "gone": [], "accounts": {}}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return platform_dir


def person_config(work: Path, languages: Sequence[str] = ("en",),
                  sources: Sequence[Path] = (), cache_dir: Path | None = CACHE_DIR) -> Config:
    """The repository's params.yaml with every data path under ``work``, the shipped bot and
    toxicity models, ``user.languages`` and ``ingest.sources`` set for one person."""
    params = relocate(yaml.safe_load((REPO / "params.yaml").read_text()), work)
    params["base"]["cache_dir"] = str(cache_dir) if cache_dir else None
    params["features"]["bot"]["model_path"] = str(REPO / "models" / "bot_likeness.skops")
    params["features"]["toxicity"]["model_path"] = str(REPO / "models" / "toxicity.skops")
    params["user"]["languages"] = list(languages)
    params["ingest"]["sources"] = [{"path": str(s), "format": "mastodon"} for s in sources]
    return Config.model_validate(params)


def load_person(person_id: str, data: str | os.PathLike | None = None,
                cache_dir: Path | None = CACHE_DIR) -> Person:
    """One person read through the shipping ingest and frame code (see the module docstring).

    The fetch folder lives in a temporary folder removed before returning."""
    from pipeline.data.frame import load_account_frame
    from pipeline.data.ingest import load
    from pipeline.data.ingest._common import html_to_text
    from pipeline.features.language import propose_languages

    me, followers, decisions = _read_person(data_dir(data) / "persons" / str(person_id))
    moved = set(decisions.loc[decisions["note"].str.strip() != "", "account_id"])
    followed = dict(zip(decisions["account_id"],
                        decisions["follow_back"].astype(str).str.lower() == "true", strict=True))
    followers = [a for a in followers if str(a["id"]) not in moved and str(a["id"]) in followed]
    # A crawl's overlapping pages can list an account twice: keep its newest place.
    seen: set[str] = set()
    followers = [a for a in followers if not (str(a["id"]) in seen or seen.add(str(a["id"])))]
    following = [a for a in followers if followed[str(a["id"])]]
    bio = html_to_text(me.get("note")) or ""
    own = [bio] if bio.strip() else []
    cache = str(cache_dir) if cache_dir else None
    languages = propose_languages(own, cache_dir=cache).languages
    with tempfile.TemporaryDirectory(prefix="real-people-") as tmp:
        platform_dir = write_fetch_folder(Path(tmp), me, followers, following)
        cfg = person_config(Path(tmp), languages, [platform_dir], cache_dir)
        result = load([Source(path=platform_dir, format="mastodon")])
        tables = {name: res.frame for name, res in result.tables.items()}
        frame = load_account_frame(cfg, tables)
    # An account the contract rejects (see the ingest's rejects) is not in the frame.
    ingested = set(frame["account_id"].astype(str))
    order = [str(a["id"]) for a in followers if str(a["id"]) in ingested]
    frame = frame.set_index(frame["account_id"].astype(str)).loc[order].reset_index(drop=True)
    y = np.array([int(followed[i]) for i in order], dtype=int)
    rank = np.array([i for i, a in enumerate(followers) if str(a["id"]) in ingested], dtype=int)
    return Person(str(person_id), frame, y, rank, own, languages, tables,
                  n_moves_dropped=len(moved), n_rejected=len(followers) - len(order))


def load_persons(ids: Iterable[str] | None = None, data: str | os.PathLike | None = None,
                 min_followers: int = 100, min_each: int = 20) -> list[Person]:
    """The eligible persons (see :func:`eligible`), largest first."""
    ids = list(ids) if ids is not None else person_ids(data, min_followers)
    out = []
    for pid in ids:
        person = load_person(pid, data)
        if eligible(person, min_followers, min_each):
            out.append(person)
    return out


# --------------------------------------------------------------------------- models


def config_for(person: Person, work: Path | None = None) -> Config:
    """The person's run configuration (paths under a throwaway ``work`` folder)."""
    return person_config(work or Path(tempfile.gettempdir()) / "real-people-work",
                         person.languages)


def person_features(person: Person, cfg: Config | None = None) -> pd.DataFrame:
    """The ``followback featurize`` table of the person's followers (cached on ``person``):
    ``account_id``, ``raw__*`` and every named feature, rows in follower order."""
    from pipeline.model.compose import build_features
    from pipeline.stages.featurize import RAW_COLUMNS

    if person.features is None:
        cfg = cfg or config_for(person)
        features = build_features(cfg, person.own_posts).set_output(transform="pandas")
        values = features.fit_transform(person.frame)
        person.features = pd.concat(
            [person.frame[["account_id"]].reset_index(drop=True),
             person.frame[RAW_COLUMNS].add_prefix("raw__").reset_index(drop=True),
             values.reset_index(drop=True)], axis=1)
    return person.features


FEATURE_CACHE = Path(os.environ.get("FOLLOWBACK_REAL_FEATURES",
                                    Path(tempfile.gettempdir()) / "real-people-features"))


def featured_person(person_id: str, data: str | os.PathLike | None = None,
                    cache: Path | None = FEATURE_CACHE) -> Person:
    """:func:`load_person` with :func:`person_features` filled, the table kept in ``cache``
    (a temporary folder outside the repository: derived from the real data, never committed)
    keyed by the repository's feature code and settings."""
    person = load_person(person_id, data)
    if cache is None:
        person_features(person)
        return person
    import hashlib

    cfg = config_for(person)
    code = "".join(p.read_text() for p in sorted((REPO / "pipeline" / "features").glob("*.py")))
    key = hashlib.sha256((code + cfg.features.model_dump_json() + ",".join(person.languages)
                          + "|".join(person.own_posts)).encode()).hexdigest()[:16]
    path = Path(cache) / f"{person_id}-{key}.parquet"
    if path.is_file():
        person.features = pd.read_parquet(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        person_features(person, cfg).to_parquet(path, index=False)
    return person


def head(cfg: Config):
    """The personal model without its feature step (rounding and the calibrated classifier):
    what ``build_model`` fits after the features, to refit on a cached feature table."""
    from pipeline.model.compose import build_model

    return build_model(cfg, [])[1:]


def fit_head(features: pd.DataFrame, y: np.ndarray, train_idx: np.ndarray, cfg: Config):
    """:func:`head` fitted on the rows ``train_idx`` of a :func:`person_features` table."""
    return head(cfg).fit(feature_matrix(features)[train_idx], np.asarray(y)[train_idx])


def fast_cv(person: Person, cfg: Config | None = None, folds: int = 5,
            seed: int = 42) -> dict[str, float | None]:
    """:func:`personal_cv` on the cached feature table: the extractors are fitted once on all
    followers (unsupervised, as ``followback featurize`` does), only the classifier in each
    fold."""
    from sklearn.model_selection import StratifiedKFold

    cfg = cfg or config_for(person)
    features = person_features(person, cfg)
    X = feature_matrix(features)
    p_model = np.zeros(person.n)
    p_major = np.zeros(person.n)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, person.y):
        p_model[te] = fit_head(features, person.y, tr, cfg).predict_proba(X[te])[:, 1]
        p_major[te] = majority_proba(person.y[tr], len(te))
    return {"model": auc(person.y, p_model), "rules": auc(person.y, rules_proba(features, cfg)),
            "majority": auc(person.y, p_major)}


def fast_holdout(person: Person, cfg: Config | None = None,
                 fraction: float = 0.2) -> dict[str, float | None]:
    """:func:`newest_holdout` on the cached feature table (see :func:`fast_cv`)."""
    cfg = cfg or config_for(person)
    features = person_features(person, cfg)
    n_test = max(1, math.ceil(fraction * person.n))
    te = np.flatnonzero(person.rank < n_test)
    tr = np.flatnonzero(person.rank >= n_test)
    if len(np.unique(person.y[tr])) < 2:
        return {"model": None, "rules": None, "majority": None}
    model = fit_head(features, person.y, tr, cfg)
    return {"model": auc(person.y[te], model.predict_proba(feature_matrix(features)[te])[:, 1]),
            "rules": auc(person.y[te], rules_proba(features, cfg)[te]),
            "majority": auc(person.y[te], majority_proba(person.y[tr], len(te)))}


def feature_matrix(features: pd.DataFrame) -> np.ndarray:
    """The model's feature columns of a :func:`person_features` table, as floats."""
    cols = [c for c in features.columns if c != "account_id" and not c.startswith("raw__")]
    return features[cols].to_numpy(dtype=float)


def rules_proba(features: pd.DataFrame, cfg: Config) -> np.ndarray:
    """The follower-app rules' score (1 - share of red flags), as ``followback evaluate``."""
    from pipeline.stages.evaluate import rule_flags

    return 1.0 - rule_flags(features.set_index("account_id"),
                            cfg.evaluate.rules).mean(axis=1).to_numpy()


def majority_proba(y_train: np.ndarray, n: int) -> np.ndarray:
    return np.full(n, float(np.mean(y_train)))


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None


def fit_pipeline(person: Person, cfg: Config, train_idx: np.ndarray,
                 y: np.ndarray | None = None):
    """The personal model (the whole shipped Pipeline) fitted on ``train_idx``."""
    from pipeline.model.compose import build_model

    y = person.y if y is None else y
    model = build_model(cfg, person.own_posts)
    return model.fit(person.frame.iloc[train_idx], y[train_idx])


def personal_cv(person: Person, cfg: Config | None = None, folds: int = 5,
                seed: int = 42) -> dict[str, float | None]:
    """Stratified k-fold CV ROC-AUC (pooled out of fold) of the personal model, the rules and
    the majority class on the person's real follow-backs."""
    from sklearn.model_selection import StratifiedKFold

    cfg = cfg or config_for(person)
    p_model = np.zeros(person.n)
    p_major = np.zeros(person.n)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for tr, te in splitter.split(person.frame, person.y):
        model = fit_pipeline(person, cfg, tr)
        p_model[te] = model.predict_proba(person.frame.iloc[te])[:, 1]
        p_major[te] = majority_proba(person.y[tr], len(te))
    p_rules = rules_proba(person_features(person, cfg), cfg)
    return {"model": auc(person.y, p_model), "rules": auc(person.y, p_rules),
            "majority": auc(person.y, p_major)}


def newest_holdout(person: Person, cfg: Config | None = None,
                   fraction: float = 0.2) -> dict[str, float | None]:
    """ROC-AUC on the newest ``fraction`` of followers of the personal model fitted on the
    older ones (their real follow-backs), of the rules and of the majority."""
    cfg = cfg or config_for(person)
    n_test = max(1, math.ceil(fraction * person.n))
    te = np.flatnonzero(person.rank < n_test)
    tr = np.flatnonzero(person.rank >= n_test)
    if len(np.unique(person.y[tr])) < 2:
        return {"model": None, "rules": None, "majority": None}
    model = fit_pipeline(person, cfg, tr)
    p_rules = rules_proba(person_features(person, cfg), cfg)[te]
    return {"model": auc(person.y[te], model.predict_proba(person.frame.iloc[te])[:, 1]),
            "rules": auc(person.y[te], p_rules),
            "majority": auc(person.y[te], majority_proba(person.y[tr], len(te)))}


# --------------------------------------------------------------------------- summaries


def summarize(values: Iterable[float | None]) -> dict[str, float | int | None]:
    """n, mean, median, quartiles, min and max of the values that are not None."""
    v = np.array([x for x in values if x is not None and not np.isnan(x)], dtype=float)
    if not len(v):
        return {"n": 0}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"n": int(len(v)), "mean": round(float(v.mean()), 4), "median": round(float(med), 4),
            "q1": round(float(q1), 4), "q3": round(float(q3), 4),
            "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}


def compare(rows: Sequence[dict], who: str = "model", against: str = "rules") -> int:
    """How many rows have ``who`` above ``against`` (both known)."""
    return sum(1 for r in rows if r.get(who) is not None and r.get(against) is not None
               and r[who] > r[against])


def format_summary(name: str, stats: dict) -> str:
    if not stats.get("n"):
        return f"{name:<22} n=0"
    return (f"{name:<22} n={stats['n']:<3} median {stats['median']:.3f} "
            f"(quartiles {stats['q1']:.3f}-{stats['q3']:.3f}), mean {stats['mean']:.3f}, "
            f"range {stats['min']:.3f}-{stats['max']:.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help=f"the mastodon-ego-dev folder (default ${DATA_ENV})")
    parser.add_argument("--min-followers", type=int, default=100)
    parser.add_argument("--min-each", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--holdout", type=float, default=0.2,
                        help="newest share held out (0: skip the holdout)")
    parser.add_argument("--limit", type=int, help="at most this many persons (largest first)")
    parser.add_argument("--pipeline", action="store_true",
                        help="refit the whole Pipeline (extractors too) in every fold, as "
                        "`followback train` does; default: the classifier on the cached "
                        "feature table (extractors fitted once per person, unsupervised)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    ids = person_ids(args.data, args.min_followers)
    cv_rows, holdout_rows = [], []
    n_persons = 0
    for pid in ids:
        person = load_person(pid, args.data)
        if not eligible(person, args.min_followers, args.min_each):
            continue
        n_persons += 1
        if args.pipeline:
            cfg = config_for(person)
            cv_rows.append(personal_cv(person, cfg, args.folds))
            if args.holdout:
                holdout_rows.append(newest_holdout(person, cfg, args.holdout))
        else:
            person = featured_person(pid, args.data)
            cfg = config_for(person)
            cv_rows.append(fast_cv(person, cfg, args.folds))
            if args.holdout:
                holdout_rows.append(fast_holdout(person, cfg, args.holdout))
        print(f"  {n_persons} persons done ({time.perf_counter() - started:.0f} s)",
              file=sys.stderr)
        if args.limit and n_persons >= args.limit:
            break
    print(f"{n_persons} persons with >= {args.min_followers} followers and >= {args.min_each} "
          f"of each answer ({time.perf_counter() - started:.0f} s)")
    print(f"per-person {args.folds}-fold CV ROC-AUC:")
    for who in ("model", "rules", "majority"):
        print("  " + format_summary(who, summarize(r[who] for r in cv_rows)))
    print(f"  model above rules for {compare(cv_rows)} of {len(cv_rows)}")
    if holdout_rows:
        print(f"newest {args.holdout:.0%} of followers, fitted on the older ones:")
        for who in ("model", "rules", "majority"):
            print("  " + format_summary(who, summarize(r[who] for r in holdout_rows)))
        print(f"  model above rules for {compare(holdout_rows)} of "
              f"{sum(r['model'] is not None for r in holdout_rows)}")


if __name__ == "__main__":
    main()
