"""Does the bot score transfer to a platform it never saw? Before and after, in one run.

Both recipes are trained here, on the same labelled sources of ../shared/data/bot-research
(cresci-2017, caverlee-2011, InstaFake, Instagram Kaggle, mastodon-bot-flag), and validated the
same way: leave one source out and leave one platform out (twitter, instagram, mastodon).

- before: the recipe of the model shipped up to issue 25: the profile features as they are
  (the 13 of its sidecar), a random forest (150 trees, depth 8), classes balanced over the
  pooled rows; once on the four sources it was trained on (mastodon-bot-flag only held out,
  as the shipped model saw it) and once on all five;
- after: ``followback train-bot``'s recipe now: how far an account stands out among the
  accounts of its source in each feature (bots weighted to 10% of each source's population),
  gradient boosting constrained to rise with each standout; and the same without the
  constraint, to show what it does.

Then the sensitivity of "after" to the share of bots in the population the held-out accounts
are ranked in (training stays at 10%): 5%, 20%, 30% and each source as published (cresci-2017
is 76% bots). And the demo's followers (spam bots and fake followers against the rest) scored
by both recipes, the population being the demo's followers themselves.

``--same-week-only``: whether a follower-group signal transfers (the share of the population
created the same week as the account, per source), in seconds.

    .venv/bin/python bench/bot_transfer.py [--out metrics.json]
    .venv/bin/python bench/bot_transfer.py --same-week-only
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
# The features of models/bot_likeness.skops before issue 25 (its sidecar, commit 1e4a001).
BEFORE_FEATURES = [
    "log_age_days", "log_posts_per_day", "log_followers_per_day", "log_following_per_day",
    "log_posts_count", "log_followers_count", "log_following_count",
    "log_following_follower_ratio", "handle_length", "handle_digit_share", "handle_entropy",
    "bio_length", "has_url",
]
N_ESTIMATORS = 150
CAP = 3000
SEED = 42


def held_out(train_pool, test_pool, by: str, features: list[str], kind: str, mix: str,
             monotone: bool = True) -> dict[str, np.ndarray]:
    """Out-of-source (or -platform) scores: train on ``train_pool`` without one value of
    ``by``, score that value's rows of ``test_pool`` (the same accounts, their features
    possibly computed against another population)."""
    from pipeline.stages.train_bot import _score, fit_model

    keys = getattr(train_pool, by)
    scores = {}
    for key in sorted(set(keys)):
        test = keys == key
        model = fit_model(train_pool.take(~test), features, kind, mix, N_ESTIMATORS, SEED,
                          n_jobs=1, cap=CAP, monotone=monotone)
        scores[key] = _score(model, test_pool.X[test])
    return scores


def aucs(pool, by: str, scores: dict[str, np.ndarray]) -> dict[str, float]:
    """ROC-AUC per held-out value, and per source within a held-out platform."""
    from sklearn.metrics import roc_auc_score

    out = {}
    keys = getattr(pool, by)
    for key, s in scores.items():
        test = keys == key
        y, sources = pool.y[test], pool.source[test]
        out[key] = round(float(roc_auc_score(y, s)), 3)
        if by == "platform" and len(set(sources)) > 1:
            for src in sorted(set(sources)):
                out[f"{key} / {src}"] = round(float(roc_auc_score(y[sources == src],
                                                                  s[sources == src])), 3)
    return out


def demo_followers(n_followers: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The demo's followers as an account frame, and 1 for its spam bots and fake followers."""
    from pipeline.core.config import Source, load_config
    from pipeline.data import ingest
    from pipeline.data.frame import account_frame
    from pipeline.demo import demo_config, generate

    cfg = load_config(ROOT / "params.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        dcfg = demo_config(cfg, out_dir=Path(tmp) / "raw", n_followers=n_followers)
        generate(dcfg)
        truth = json.loads(Path(dcfg.demo.truth_out).read_text())
        tables = ingest.load([Source(path=Path(tmp) / "raw")]).tables
        frame = account_frame(tables["accounts"].frame, tables["posts"].frame)
    followers = frame[frame["account_id"].map(
        lambda a: truth["accounts"].get(a, {}).get("follower", False))].reset_index(drop=True)
    archetype = followers["account_id"].map(lambda a: truth["accounts"][a]["archetype"])
    return followers, archetype.isin(["spam_bot", "fake_follower"]).to_numpy(int)


def demo_scores(followers: pd.DataFrame, before, after) -> dict[str, float]:
    """ROC-AUC of each recipe's model (trained on all sources) on the demo's followers."""
    from sklearn.metrics import roc_auc_score

    from pipeline.features.bot import BotLikeness, bot_model_input, profile_features
    from pipeline.features.population import standout

    bot = BotLikeness().fit(followers)  # the population: the demo's followers
    profile = profile_features(followers, pd.Timestamp(bot.reference_time_))
    stand = standout(profile, followers["platform"].astype(str).to_numpy(), bot.population_)
    X = bot_model_input(pd.concat([profile, stand], axis=1))
    y = followers.attrs["y"]
    return {name: round(float(roc_auc_score(
        y, model.predict_proba(X[list(model.feature_names_in_)])[:, 1])), 3)
        for name, model in (("before", before), ("after", after))}


def same_week(sets: list) -> dict[str, float]:
    """ROC-AUC, per source with creation dates, of the follower-group signal "share of the
    population created the same ISO week" (bots weighted to 10% of the population, as the
    standouts are): does a group signal transfer across sources?"""
    from sklearn.metrics import roc_auc_score

    from pipeline.features.population import population_weights

    out = {}
    for s in sets:
        if "created_at" not in s.accounts.columns:
            continue
        w = population_weights(s.labels)
        week = pd.to_datetime(s.accounts["created_at"], utc=True).dt.strftime("%G-%V")
        total = pd.Series(w).groupby(week.to_numpy()).sum()
        share = (week.map(total).to_numpy() - w) / w.sum()
        out[s.name] = round(float(roc_auc_score(s.labels, share)), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--demo-followers", type=int, default=1000)
    parser.add_argument("--same-week-only", action="store_true",
                        help="only the same-week group signal per source (seconds)")
    args = parser.parse_args()
    if args.same_week_only:
        from pipeline.core.config import Source
        from pipeline.stages.train_bot import DEFAULT_SOURCES, read_source

        sets = [read_source(Source(path=ROOT / p)) for p in DEFAULT_SOURCES]
        print(f"same-week share ROC-AUC per source: {json.dumps(same_week(sets))}")
        return

    from pipeline.core.config import Source
    from pipeline.features.population import STANDOUT_COLUMNS
    from pipeline.stages.train_bot import (
        DEFAULT_SOURCES,
        FEATURE_FAMILIES,
        _features_of,
        fit_model,
        pool_of,
        read_source,
    )

    started = time.perf_counter()
    sets = [read_source(Source(path=ROOT / p)) for p in DEFAULT_SOURCES]
    pool = pool_of(sets)  # profile features and standouts at a 10% bot share
    old = pool.take(pool.platform != "mastodon")
    # "after" is what train-bot chose for the shipped model (its sidecar), where that model
    # reads standouts; else every standout family, sources weighted equally.
    sidecar = json.loads((ROOT / "models" / "bot_likeness.json").read_text())
    if set(sidecar["features"]) <= set(STANDOUT_COLUMNS):
        after_features, after_mix = sidecar["features"], sidecar["training_mix"]["weighting"]
    else:
        after_features, after_mix = _features_of(list(FEATURE_FAMILIES), pool), "equal_sources"
    print(f"after: {len(after_features)} features, {after_mix}", flush=True)
    recipes = {
        # name: (training pool, features, kind, mix, monotone)
        "before, 4 sources": (old, BEFORE_FEATURES, "forest", "pooled_rows", False),
        "before, 5 sources": (pool, BEFORE_FEATURES, "forest", "pooled_rows", False),
        "after, not monotone": (pool, after_features, "hgb", after_mix, False),
        "after": (pool, after_features, "hgb", after_mix, True),
    }
    figures: dict[str, dict] = {}
    for name, (train, features, kind, mix, monotone) in recipes.items():
        t0 = time.perf_counter()
        figures[name] = {"sources": {}, "platforms": {}}
        for by in ("source", "platform"):
            scores = held_out(train, train, by, features, kind, mix, monotone)
            if name == "before, 4 sources":
                # mastodon-bot-flag is never in its training: scored by the model on all four.
                model = fit_model(old, features, kind, mix, N_ESTIMATORS, SEED, 1, CAP)
                masto = pool.take(pool.platform == "mastodon")
                key = "mastodon-bot-flag" if by == "source" else "mastodon"
                scores_all = {**scores, key: model.predict_proba(
                    masto.X[list(model.feature_names_in_)])[:, 1]}
                figures[name][f"{by}s"] = {**aucs(old, by, scores),
                                           **aucs(masto, by, {key: scores_all[key]})}
            else:
                figures[name][f"{by}s"] = aucs(train, by, scores)
        figures[name]["seconds"] = round(time.perf_counter() - t0, 1)
        print(f"{name}: {json.dumps(figures[name])}", flush=True)

    sensitivity = {}
    for share in (0.05, 0.2, 0.3, None):
        test = pool_of(sets, share)
        scores = held_out(pool, test, "platform", after_features, "hgb", after_mix)
        label = "as published" if share is None else f"{share:.0%}"
        sensitivity[label] = aucs(test, "platform", scores)
        print(f"after, held-out population with {label} bots: "
              f"{json.dumps(sensitivity[label])}", flush=True)
    sensitivity["10%"] = figures["after"]["platforms"]

    followers, y = demo_followers(args.demo_followers)
    followers.attrs["y"] = y
    before_model = fit_model(old, BEFORE_FEATURES, "forest", "pooled_rows", N_ESTIMATORS, SEED,
                             1, CAP)
    after_model = fit_model(pool, after_features, "hgb", after_mix, N_ESTIMATORS, SEED, 1, CAP)
    demo = {"n_bots": int(y.sum()), "n_others": int((y == 0).sum()),
            **demo_scores(followers, before_model, after_model)}
    print(f"demo followers (spam bots and fake followers vs the rest): {json.dumps(demo)}")

    result = {"recipes": figures, "sensitivity_after": sensitivity, "demo": demo,
              "seconds": round(time.perf_counter() - started, 1)}
    print_tables(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


def print_tables(result: dict) -> None:
    """The figures as markdown tables: rows held out, columns recipes."""
    recipes = result["recipes"]
    names = list(recipes)
    for by in ("platforms", "sources"):
        keys = sorted({k for r in recipes.values() for k in r[by]})
        print(f"\n| held out ({by[:-1]}) | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for key in keys:
            print(f"| {key} | " + " | ".join(
                f"{recipes[n][by][key]:.3f}" if key in recipes[n][by] else "" for n in names)
                + " |")
    sens = result["sensitivity_after"]
    cols = ["5%", "10%", "20%", "30%", "as published"]
    keys = sorted({k for v in sens.values() for k in v})
    print("\n| after, held out | " + " | ".join(f"{c} bots" for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{sens[c][key]:.3f}" for c in cols) + " |")
    print(f"\ndemo: {result['demo']}; {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
