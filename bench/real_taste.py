"""Real follow-back taste (issue 25 §1): what profiles carry, and classifier settings, measured
per person on real follow-backs against the shipped baseline, in one run.

Builds on :mod:`bench.real_people` (read its docstring and the data's README first: development
and evaluation only, aggregate figures only, nothing derived from the data written into the
repository). Every eligible person (at least 100 followers, 20 of each answer) is read through
the shipping Mastodon ingest and frame code; then, per person:

- the feature step of :func:`pipeline.model.compose.build_model` with every feature group on
  (``features.profile``, ``features.bio_topic``) is fitted once on the whole follower list and
  transforms it, as ``followback featurize`` does. Feature extraction learns nothing from the
  answers (PCA of the bio embeddings and the reference time are fitted on the followers
  without their labels), so fitting it once instead of inside each fold changes no label
  leakage; ``--check-in-fold N`` refits the whole Pipeline inside each fold for the N smallest
  persons and prints both figures, to show the shortcut does not move them;
- each variant is a feature subset (the baseline's columns are exactly those of the feature
  step built with ``profile`` and ``bio_topic`` off, as on main; checked by name and value) and
  a classifier head (``round`` + calibrated ``clf`` of :func:`build_model` from the variant's
  ``train`` settings), measured by stratified 5-fold CV ROC-AUC (pooled out of fold) and on the
  newest 20% of followers fitted on the older ones; the follower-app rules and the majority
  class beside them.

Summaries over persons: median, quartiles, range, how many persons each variant puts above the
rules, and the per-person difference to the baseline (median and how many persons gain).

A crawl control (``--control``): most follower profiles come from an earlier pass of the crawl
that lacks ``last_status_at`` and ``indexable`` (see the data's README), and which pass a
profile came from is not the person's taste. The control blanks both fields for every follower
and measures the baseline and the chosen variant again, so that no figure rests on the crawl.

Run (aggregate figures only)::

    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/real_taste.py --control --demo --check-in-fold 4

``--demo`` measures the same variants on the demo (generated, ingested and labelled as ``dvc
repro`` does, in a temporary folder), the way ``followback train`` measures it.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import real_people as rp  # noqa: E402

# Feature groups of issue 25, and the baseline without them (main before this work).
ALL_ON = {"profile": True, "bio_topic": True}
BASELINE_FEATURES = {"profile": False, "bio_topic": False}
# The fields only the later crawl pass wrote (blanked by --control).
LATER_PASS = ("last_post_at", "is_indexable")


@dataclass(frozen=True)
class Variant:
    """A feature subset and classifier settings, as params.yaml would set them."""

    name: str
    features: dict
    train: dict
    about: str


VARIANTS = [
    Variant("baseline", BASELINE_FEATURES, {"classifier": "hgb"},
            "main: no profile metadata, hgb (200 iterations, lr 0.1), sigmoid calibration"),
    Variant("profile", {"profile": True, "bio_topic": False}, {"classifier": "hgb"},
            "+ fields, verified links, own server, directory/search, group, header"),
    Variant("bio_topic", {"profile": False, "bio_topic": True}, {"classifier": "hgb"},
            "+ the bio against the person's own texts"),
    Variant("profile+bio_topic", ALL_ON, {"classifier": "hgb"}, "both feature groups, hgb"),
    Variant("forest", BASELINE_FEATURES, {"classifier": "forest"},
            "baseline features, random forest (300 trees), sigmoid calibration"),
    Variant("all+forest", ALL_ON, {"classifier": "forest"},
            "both feature groups, random forest"),
]


def variant_config(base_cfg, variant: Variant):
    """``base_cfg`` with the variant's ``features`` and ``train`` settings."""
    cfg = base_cfg.model_copy(deep=True)
    cfg.features = cfg.features.model_copy(update=variant.features)
    cfg.train = cfg.train.model_copy(update=variant.train)
    return cfg


def head(cfg, own_posts):
    """The classifier head of the shipped Pipeline (``round`` and the calibrated ``clf``)."""
    from sklearn.pipeline import Pipeline

    from pipeline.model.compose import build_model

    return Pipeline(build_model(cfg, own_posts).steps[1:])


def feature_table(person: rp.Person, cfg) -> pd.DataFrame:
    """Every feature of every follower, the feature step fitted on the whole list."""
    from pipeline.model.compose import build_features

    step = build_features(cfg, person.own_posts).set_output(transform="pandas")
    return step.fit_transform(person.frame).reset_index(drop=True)


def baseline_columns(person: rp.Person, cfg, table: pd.DataFrame) -> list[str]:
    """The baseline feature step's columns, checked to be the same values in ``table``."""
    base = feature_table(person, variant_config(cfg, VARIANTS[0]))
    missing = [c for c in base.columns if c not in table.columns]
    if missing:
        raise AssertionError(f"baseline columns absent from the full table: {missing}")
    np.testing.assert_allclose(table[base.columns].to_numpy(float), base.to_numpy(float),
                               atol=1e-9, err_msg="baseline features moved")
    return list(base.columns)


def columns_for(variant: Variant, table: pd.DataFrame, base_cols: list[str]) -> list[str]:
    """The columns a variant's feature step yields: the baseline's plus its groups'."""
    from pipeline.features.bio import PROFILE_FEATURES
    from pipeline.features.bot import PLATFORM_FLAG_COLUMNS, PLATFORM_FLAGS
    from pipeline.features.topic import BIO_FEATURES

    extra = []
    if variant.features.get("profile"):
        extra += [f"bio__{f}" for f in PROFILE_FEATURES]
        extra += [f"bot__{f}" for f in PLATFORM_FLAGS]
        extra += [f"bot__{c}_missing" for c in PLATFORM_FLAG_COLUMNS]
    if variant.features.get("bio_topic"):
        extra += [f"topic__{f}" for f in BIO_FEATURES]
    # In the feature step's own order.
    wanted = set(base_cols) | set(extra)
    return [c for c in table.columns if c in wanted]


def _auc(y, p):
    return rp.auc(y, p)


def cv_auc(X: pd.DataFrame, y: np.ndarray, cfg, own, folds: int = 5, seed: int = 42):
    from sklearn.model_selection import StratifiedKFold

    p = np.zeros(len(y))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        model = head(cfg, own).fit(X.iloc[tr], y[tr])
        p[te] = model.predict_proba(X.iloc[te])[:, 1]
    return _auc(y, p)


def holdout_auc(X: pd.DataFrame, y: np.ndarray, rank: np.ndarray, cfg, own,
                fraction: float = 0.2):
    n_test = max(1, math.ceil(fraction * len(y)))
    te, tr = np.flatnonzero(rank < n_test), np.flatnonzero(rank >= n_test)
    if len(np.unique(y[tr])) < 2:
        return None
    model = head(cfg, own).fit(X.iloc[tr], y[tr])
    return _auc(y[te], model.predict_proba(X.iloc[te])[:, 1])


def rules_and_majority(person: rp.Person, table: pd.DataFrame, cfg, fraction: float = 0.2):
    """The follower-app rules' ROC-AUC (CV: all followers; holdout: the newest share)."""
    from pipeline.stages.evaluate import rule_flags
    from pipeline.stages.featurize import RAW_COLUMNS

    named = pd.concat([person.frame[["account_id"]].reset_index(drop=True),
                       person.frame[RAW_COLUMNS].add_prefix("raw__").reset_index(drop=True),
                       table], axis=1).set_index("account_id")
    score = 1.0 - rule_flags(named, cfg.evaluate.rules).mean(axis=1).to_numpy()
    n_test = max(1, math.ceil(fraction * person.n))
    te = person.rank < n_test
    return {"cv": _auc(person.y, score), "holdout": _auc(person.y[te], score[te])}


def blank_later_pass(person: rp.Person) -> rp.Person:
    """The person with :data:`LATER_PASS` blanked for every follower (the crawl control)."""
    out = copy.copy(person)
    frame = person.frame.copy()
    frame["last_post_at"] = pd.Series(pd.NaT, index=frame.index, dtype=frame["last_post_at"].dtype)
    frame["is_indexable"] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    out.frame, out.features = frame, None
    return out


_BASE_COLUMNS: list[str] = []


def measure(person: rp.Person, cfg, variants: Sequence[Variant]) -> dict[str, dict]:
    """Per variant: CV and holdout ROC-AUC; plus ``rules`` and ``majority``."""
    table = feature_table(person, variant_config(cfg, Variant("all", ALL_ON, {}, "")))
    if not _BASE_COLUMNS:  # checked by value on the first person, by name on the others
        _BASE_COLUMNS.extend(baseline_columns(person, cfg, table))
    base_cols = list(_BASE_COLUMNS)
    absent = [c for c in base_cols if c not in table.columns]
    if absent:
        raise AssertionError(f"baseline columns absent: {absent}")
    out = {"rules": rules_and_majority(person, table, cfg)}
    from sklearn.model_selection import StratifiedKFold

    p_major = np.zeros(person.n)
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=42).split(table, person.y):
        p_major[te] = person.y[tr].mean()
    out["majority"] = {"cv": _auc(person.y, p_major), "holdout": 0.5}
    for variant in variants:
        vcfg = variant_config(cfg, variant)
        X = table[columns_for(variant, table, base_cols)]
        out[variant.name] = {
            "cv": cv_auc(X, person.y, vcfg, person.own_posts),
            "holdout": holdout_auc(X, person.y, person.rank, vcfg, person.own_posts),
            "n_features": X.shape[1],
        }
    return out


def in_fold_check(person: rp.Person, cfg, variant: Variant) -> float | None:
    """The variant's CV ROC-AUC with the whole Pipeline refitted inside each fold."""
    return rp.personal_cv(person, variant_config(cfg, variant))["model"]


# --------------------------------------------------------------------------- demo


def demo_rows(variants: Sequence[Variant], cache_dir: str | None, work: Path) -> dict:
    """The demo (params.yaml's demo section, seed 42) measured as ``followback train``
    measures it: CV on the explicit decisions with the implicit ones training every fold, and
    the newest 20% of explicit decisions fitted on the older labels; the feature step fitted
    once on the decided accounts (see the module docstring)."""
    import yaml
    from sklearn.model_selection import StratifiedKFold

    from pipeline.core.config import Config, relocate
    from pipeline.data.ingest import ingest
    from pipeline.demo import generate
    from pipeline.stages.train import load_training_data

    params = relocate(yaml.safe_load((REPO / "params.yaml").read_text()), work)
    params["base"]["cache_dir"] = cache_dir
    params["features"]["bot"]["model_path"] = str(REPO / "models" / "bot_likeness.skops")
    params["features"]["toxicity"]["model_path"] = str(REPO / "models" / "toxicity.skops")
    cfg = Config.model_validate(params)
    generate(cfg)
    ingest(cfg.ingest.sources, cfg.ingest.out_dir)
    data = load_training_data(cfg)
    table = feature_table(rp.Person("demo", data.X, data.y, np.arange(len(data.y)),
                                    data.own_posts, list(cfg.user.languages)),
                          variant_config(cfg, Variant("all", ALL_ON, {}, "")))
    if not _BASE_COLUMNS:
        raise RuntimeError("measure a real person first: the baseline columns come from there")
    base = list(_BASE_COLUMNS)
    measured = data.measured
    always = np.setdiff1d(np.arange(len(data.y)), measured)
    n_test = max(1, math.ceil(cfg.train.holdout_fraction * len(measured)))
    te_h = measured[-n_test:]
    start = data.decided_at.iloc[te_h[0]]
    older = np.arange(len(data.y))[(data.decided_at < start).fillna(True).to_numpy()]
    tr_h = np.setdiff1d(older, te_h)
    out = {"n": len(data.y), "n_measured": len(measured)}
    for variant in variants:
        vcfg = variant_config(cfg, variant)
        X = table[columns_for(variant, table, base)]
        p = np.zeros(len(data.y))
        folds = StratifiedKFold(cfg.train.cv_folds, shuffle=True, random_state=cfg.base.seed)
        for tr_m, te_m in folds.split(measured, data.y[measured]):
            tr, te = np.sort(np.concatenate([measured[tr_m], always])), measured[te_m]
            p[te] = head(vcfg, data.own_posts).fit(X.iloc[tr], data.y[tr]).predict_proba(
                X.iloc[te])[:, 1]
        model = head(vcfg, data.own_posts).fit(X.iloc[tr_h], data.y[tr_h])
        out[variant.name] = {
            "cv": _auc(data.y[measured], p[measured]),
            "holdout": _auc(data.y[te_h], model.predict_proba(X.iloc[te_h])[:, 1]),
            "n_features": X.shape[1]}
    return out


# --------------------------------------------------------------------------- report


def summary_lines(rows: list[dict], names: Sequence[str], key: str) -> list[str]:
    lines = []
    base = [r["baseline"][key] for r in rows]
    rules = [r["rules"][key] for r in rows]
    for name in names:
        values = [r[name][key] for r in rows]
        line = rp.format_summary(name, rp.summarize(values))
        if name not in ("rules", "majority"):
            above = sum(1 for v, q in zip(values, rules, strict=True)
                        if v is not None and q is not None and v > q)
            known = sum(1 for v, q in zip(values, rules, strict=True)
                        if v is not None and q is not None)
            line += f"; above rules {above}/{known}"
            if name != "baseline":
                diffs = [v - b for v, b in zip(values, base, strict=True)
                         if v is not None and b is not None]
                if diffs:
                    line += (f"; vs baseline median {np.median(diffs):+.3f}, "
                             f"better for {sum(d > 0 for d in diffs)}/{len(diffs)}")
        lines.append("  " + line)
    return lines


def print_report(rows: list[dict], names: Sequence[str], title: str) -> None:
    print(title)
    print("per-person 5-fold CV ROC-AUC:")
    print("\n".join(summary_lines(rows, names, "cv")))
    print("newest 20% of followers, fitted on the older ones:")
    print("\n".join(summary_lines(rows, names, "holdout")))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help=f"the mastodon-ego-dev folder (default ${rp.DATA_ENV})")
    parser.add_argument("--min-followers", type=int, default=100)
    parser.add_argument("--min-each", type=int, default=20)
    parser.add_argument("--limit", type=int, help="at most this many persons (largest first)")
    parser.add_argument("--variants", nargs="*", help="variant names (default: all)")
    parser.add_argument("--control", action="store_true",
                        help="also measure with the later crawl pass's fields blanked")
    parser.add_argument("--check-in-fold", type=int, default=0, metavar="N",
                        help="refit the whole Pipeline in each fold for the N smallest persons")
    parser.add_argument("--demo", action="store_true",
                        help="also measure every variant on the demo (params.yaml, seed 42)")
    parser.add_argument("--demo-cache", default="/work/cache",
                        help="text cache for the demo's embeddings (default /work/cache)")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    # One thread: OpenMP's spinning threads make the gradient boosting many times slower on a
    # machine whose cores other jobs share, and the figures do not depend on it.
    threadpool_limits(1)
    variants = [v for v in VARIANTS if not args.variants or v.name in args.variants]
    if variants[0].name != "baseline":
        variants = [VARIANTS[0], *variants]
    names = ["majority", "rules", *[v.name for v in variants]]
    started = time.perf_counter()
    persons, rows, controls = [], [], []
    for pid in rp.person_ids(args.data, args.min_followers):
        person = rp.load_person(pid, args.data)
        if not rp.eligible(person, args.min_followers, args.min_each):
            continue
        cfg = rp.config_for(person)
        rows.append(measure(person, cfg, variants))
        if args.control:
            controls.append(measure(blank_later_pass(person), cfg,
                                    [variants[0], variants[-1]]))
        persons.append(person)
        print(f"  {len(persons)} persons done ({time.perf_counter() - started:.0f} s)",
              file=sys.stderr)
        if args.limit and len(persons) >= args.limit:
            break
    n_rejected = sum(p.n_rejected for p in persons)
    print(f"{len(persons)} persons with >= {args.min_followers} followers and >= "
          f"{args.min_each} of each answer; {sum(p.n for p in persons)} followers "
          f"({n_rejected} refused by the ingest, left out); "
          f"{time.perf_counter() - started:.0f} s")
    for v in variants:
        print(f"  {v.name}: {v.about} ({rows[0][v.name]['n_features']} features)")
    print_report(rows, names, "== all fields ==")
    if controls:
        print_report(controls, ["majority", "rules", variants[0].name, variants[-1].name],
                     f"== crawl control: {', '.join(LATER_PASS)} blanked ==")
    if args.demo:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="real-taste-demo-") as tmp:
            demo = demo_rows(variants, args.demo_cache, Path(tmp))
        print(f"== demo: {demo['n']} decided followers, {demo['n_measured']} explicit "
              "(measured) ==")
        for v in variants:
            r = demo[v.name]
            print(f"  {v.name:<22} CV ROC-AUC {r['cv']:.4f}, newest 20% {r['holdout']:.4f}")
    if args.check_in_fold:
        check = sorted(persons, key=lambda p: p.n)[:args.check_in_fold]
        print(f"in-fold check on the {len(check)} smallest persons (whole Pipeline refitted "
              "in each fold vs feature step fitted once):")
        for variant in (variants[0], variants[-1]):
            for person in check:
                cfg = rp.config_for(person)
                full = in_fold_check(person, cfg, variant)
                once = measure(person, cfg, [variant])[variant.name]["cv"]
                print(f"  {variant.name:<20} n={person.n:<5} in fold {full:.4f}, "
                      f"fitted once {once:.4f}")


if __name__ == "__main__":
    main()
