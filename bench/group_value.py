"""Follower-group features: their cost on 100,000 followers and what they add to the bot criterion.

1. Cost: :func:`pipeline.data.groups.group_features` on synthetic follower sets of growing size
   (realistic bios and names from the demo's word lists, 1% of accounts in planted groups),
   wall time and the process's peak resident memory, against the baseline in the same run: exact
   pairwise Jaccard of the bios on a sample, extrapolated quadratically to the same size.
2. Value on the demo: the demo's followers (with its planted follow-farm and bio-template
   network, truth in demo_truth.json), bots = spam bots and fake followers. ROC-AUC of the
   shipped bot model's score alone against a logistic regression on the score plus the group
   features (5-fold cross-validated), and how many planted group members each ranks among the
   top-scored accounts.
3. Value on cresci-2017: its genuine accounts and the social spambots (coordinated campaigns)
   as one follower set; the bot model is trained here without cresci-2017 (the other shared
   sources, as in leave-one-source-out), so that its score has not seen these bots.

    .venv/bin/python bench/group_value.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def synthetic_followers(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` followers: bios and names from the demo's word lists, 1% in planted groups."""
    from pipeline.demo.text import people

    rng = np.random.default_rng(seed)
    firsts = [x for v in people.FIRST_NAMES.values() for x in v]
    lasts = [x for v in people.LAST_NAMES.values() for x in v]
    words = ("bread baking sourdough cycling touring garden tomatoes coffee books music "
             "photography travel hiking climbing teacher nurse developer designer mother "
             "father student berlin leipzig hamburg vienna runner cats dogs jazz film "
             "science politics football chess yoga cooking wine beer art history").split()
    created = pd.Timestamp("2012-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 12 * 365, n), unit="D")
    bios = [" ".join(rng.choice(words, rng.integers(3, 12))) for _ in range(n)]
    names = [f"{rng.choice(firsts)} {rng.choice(lasts)}" for _ in range(n)]
    for g in range(n // 100 // 25):  # groups of 25
        rows = rng.choice(n, 25, replace=False)
        week = created[rows[0]]
        for r in rows:
            bios[r] = f"Crypto signals {rng.integers(10, 999)}% | DM for VIP group {g}"
            created = created.where(np.arange(n) != r, week)
    return pd.DataFrame({"account_id": [str(i) for i in range(n)], "created_at": created,
                         "bio": bios, "display_name": names})


def pairwise_baseline(bios: list[str]) -> float:
    """Seconds of exact all-pairs Jaccard over word shingles (what LSH avoids)."""
    from pipeline.data.groups import _word_shingles

    sets = [_word_shingles(b) for b in bios]
    started = time.perf_counter()
    hits = 0
    for i in range(len(sets)):
        a = sets[i]
        for j in range(i + 1, len(sets)):
            b = sets[j]
            if a and b and len(a & b) >= 0.7 * len(a | b):
                hits += 1
    return time.perf_counter() - started


def cost(sizes: list[int], baseline_n: int) -> None:
    from pipeline.data.groups import group_features

    print("1. cost of group_features (bios, names, creation weeks)")
    sample = synthetic_followers(baseline_n, seed=1)["bio"].tolist()
    base = pairwise_baseline(sample)
    print(f"   baseline: exact pairwise Jaccard on {baseline_n:,} bios: {base:.2f} s")
    group_features(synthetic_followers(200))  # imports and first-call costs out of the timing
    for n in sorted(sizes):
        frame = synthetic_followers(n)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        started = time.perf_counter()
        features = group_features(frame)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        pairwise = base * (n / baseline_n) ** 2
        planted = (features["group_week_and_text"] >= 20).sum()
        print(f"   {n:>7,} followers: {seconds:6.1f} s, process peak {peak:6.0f} MB "
              f"(was {before:.0f} MB before); "
              f"pairwise baseline extrapolated: {pairwise:,.0f} s ({pairwise / seconds:,.0f}x); "
              f"planted members found (>= 20 alike): {planted:,} of {n // 100 // 25 * 25:,}")


def _cv_auc(X: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
    return cross_val_predict(model, X, y, cv=StratifiedKFold(5, shuffle=True,
                                                             random_state=seed),
                             method="predict_proba")[:, 1]


def compare(name: str, y: np.ndarray, score: np.ndarray, groups: pd.DataFrame,
            planted: np.ndarray | None = None) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    X = np.column_stack([score, np.log1p(groups.to_numpy(dtype=float))])
    with_groups = _cv_auc(X, y)
    alone = _cv_auc(score.reshape(-1, 1), y)
    print(f"   {name}: {int(y.sum()):,} bots, {int((y == 0).sum()):,} humans")
    for label, s in (("bot score alone", alone), ("bot score + group features", with_groups)):
        line = (f"     {label:<28} ROC-AUC {roc_auc_score(y, s):.3f}  "
                f"PR-AUC {average_precision_score(y, s):.3f}")
        if planted is not None:
            top = np.argsort(-s)[: int(y.sum())]
            line += f"  planted group members in the top {int(y.sum())}: " \
                    f"{int(planted[top].sum())} of {int(planted.sum())}"
        print(line)


def demo_value(n_followers: int) -> None:
    import json

    from pipeline.core.config import Source, load_config
    from pipeline.data import ingest
    from pipeline.data.frame import account_frame
    from pipeline.data.groups import group_features
    from pipeline.demo import demo_config, generate
    from pipeline.features.bot import BotLikeness

    print(f"2. demo ({n_followers:,} followers, shipped bot model)")
    cfg = load_config(ROOT / "params.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        dcfg = demo_config(cfg, out_dir=Path(tmp) / "raw", n_followers=n_followers)
        generate(dcfg)
        truth = json.loads(Path(dcfg.demo.truth_out).read_text())
        tables = ingest.load([Source(path=Path(tmp) / "raw")]).tables
        frame = account_frame(tables["accounts"].frame, tables["posts"].frame)
        snapshots = tables["snapshots"].frame
    followers = frame[frame["account_id"].map(
        lambda a: truth["accounts"].get(a, {}).get("follower", False))].reset_index(drop=True)
    arche = followers["account_id"].map(lambda a: truth["accounts"][a]["archetype"])
    y = arche.isin(["spam_bot", "fake_follower"]).to_numpy(int)
    members = {a for g in truth["groups"] for a in g["account_ids"]}
    planted = followers["account_id"].isin(members).to_numpy(int)
    bot = BotLikeness(model_path=str(ROOT / cfg.features.bot.model_path)).set_output(
        transform="pandas").fit(followers)
    score = bot.transform(followers)["bot_score"].to_numpy()
    started = time.perf_counter()
    groups = group_features(followers, snapshots)
    print(f"   group features: {time.perf_counter() - started:.1f} s; planted groups: "
          + ", ".join(f"{g['kind']} of {g['size']}" for g in truth["groups"]))
    compare("spam bots and fake followers vs everyone else", y, score, groups, planted)


def cresci_value() -> None:
    from pipeline.core.config import Source
    from pipeline.data.groups import group_features
    from pipeline.features.bot import bot_model_input, load_bot_model
    from pipeline.stages.train_bot import (
        DEFAULT_SOURCES,
        fit_model,
        pool_of,
        read_research_set,
        read_source,
    )

    print("3. cresci-2017 genuine accounts + social spambots (coordinated campaigns)")
    shipped = load_bot_model(ROOT / "models/bot_likeness.skops")
    features = list(shipped.feature_names_in_)
    others = [read_source(Source(path=ROOT / p)) for p in DEFAULT_SOURCES[1:]]
    model = fit_model(pool_of(others), features, "hgb", "pooled_rows", 150, 0, cap=3000)
    cresci = read_research_set(ROOT / DEFAULT_SOURCES[0])
    keep = np.array([g.startswith(("genuine", "social_spambots")) for g in cresci.groups])
    cresci.accounts = cresci.accounts[keep].reset_index(drop=True)
    cresci.labels, cresci.groups = cresci.labels[keep], cresci.groups[keep]
    cresci.observed_at = cresci.observed_at[keep].reset_index(drop=True)
    X = pool_of([cresci]).X
    score = model.predict_proba(bot_model_input(X)[list(model.feature_names_in_)])[:, 1]
    groups = group_features(cresci.accounts)
    compare("bot model trained without cresci-2017", cresci.labels, score, groups)
    for g in sorted(set(cresci.groups) - {"genuine_accounts"}):
        m = (cresci.groups == g) | (cresci.groups == "genuine_accounts")
        compare(f"  {g} only", cresci.labels[m], score[m], groups[m].reset_index(drop=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--baseline-n", type=int, default=2_000)
    parser.add_argument("--demo-followers", type=int, default=2_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["cost", "demo", "cresci"])
    args = parser.parse_args()
    if "cost" not in args.skip:
        cost(args.sizes, args.baseline_n)
    if "demo" not in args.skip:
        demo_value(args.demo_followers)
    if "cresci" not in args.skip:
        cresci_value()


if __name__ == "__main__":
    main()
