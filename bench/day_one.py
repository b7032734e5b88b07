"""Day one on your own account, measured on real people's follow-backs (aggregates only).

Uses the real-people harness (``bench/real_people.py``: each person of
``../shared/data/follow-back-real/mastodon-ego-dev`` read as one ``followback fetch mastodon``
through the shipping ingest and frame code, features as ``followback featurize`` computes them)
and prints, over persons, in one run:

``order``      is the follower list newest first? Where in the list (0 = first, 1 = last) the
               followers whose accounts were created in the 30 days before the crawl sit, and
               the rank correlation of list position with account creation date.
``window``     the share followed back among the newest followers, by position, against the
               person's own share: how far down the list the "not looked at yet" reaches; the
               undecided window is chosen from it (the first position after which the deficit
               stays under ``--tolerance``).
``agreement``  the first-fetch labels (``pipeline.stages.decisions.implicit_decisions`` with
               the window) against what the person did, per kind, and how many "skip" labels
               are estimated premature (followers not looked at yet) from the deficit.
``day-one``    per person whose newest 10% hold at least 10 of each answer: ROC-AUC on the newest
               10% when the model learns only from one fetch in which their follow-backs are
               hidden (first-fetch labels from the shipping rule, the shipping window), beside
               the rules, the majority, the prior, and the model when the window is the hidden
               10% (it then learns only the older followers' true answers).
``window-sweep``  the day-one ROC-AUC with other undecided windows (by count and by share).
``queue``      learning curves: ROC-AUC on the remaining followers after 10, 20, 40, 80 answers
               asked in the queue's order (``pipeline.model.queue``), at random, newest first;
               starting from the first-fetch labels (questions about the hidden newest 10%) and
               from nothing (questions about anyone).

    PYTHONPATH=. python bench/day_one.py                 # everything
    PYTHONPATH=. python bench/day_one.py order window agreement

Models are refitted on the cached feature table (the extractors fitted once per person on all
followers, unsupervised, as ``featurize`` does): the personal model's calibrated classifier, or
the prior (``pipeline.model.prior``) when the labels are too few, as
``pipeline.model.queue.refit`` does.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import real_people as rp  # noqa: E402

from pipeline.model.queue import feature_columns  # noqa: E402

EDGES = [0, 5, 10, 20, 40, 80, 160, 320, 640, 100_000]
STEPS = (10, 20, 40, 80)
HIDDEN = 0.1


def _mean(values) -> str:
    stats = rp.summarize(values)
    return f"{stats['mean']:.3f} (n={stats['n']})" if stats.get("n") else "-"


def _fmt(stats: dict) -> str:
    return rp.format_summary("", stats).strip()


# --------------------------------------------------------------------------- order


def order_check(persons: Sequence[rp.Person], crawl: str = rp.FETCHED_AT) -> dict:
    """Where recently created accounts sit in the list, and rank vs creation date."""
    from scipy.stats import spearmanr

    when = pd.Timestamp(crawl)
    positions, rhos = [], []
    for person in persons:
        created = pd.to_datetime(person.frame["created_at"], utc=True)
        rel = person.rank / max(1, person.n - 1)
        new = (when - created) < pd.Timedelta(days=30)
        positions.extend(rel[new.to_numpy()].tolist())
        ok = created.notna().to_numpy()
        if ok.sum() >= 20:
            rhos.append(spearmanr(person.rank[ok], -created[ok].astype("int64")).statistic)
    return {"n_new_accounts": len(positions),
            "new_position": rp.summarize(positions),
            "spearman_rank_vs_newness": rp.summarize(rhos)}


# --------------------------------------------------------------------------- window


def deficit_curve(persons: Sequence[rp.Person], edges: Sequence[int] = EDGES) -> pd.DataFrame:
    """Per position bucket: persons, followers, the mean over persons of (share followed back
    in the bucket - the person's share over the whole list), and the pooled share."""
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        diffs, n, yes = [], 0, 0
        for p in persons:
            part = p.y[(p.rank >= lo) & (p.rank < hi)]
            if len(part):
                diffs.append(part.mean() - p.y.mean())
                n += len(part)
                yes += int(part.sum())
        rows.append({"from": lo, "to": hi, "persons": len(diffs), "followers": n,
                     "mean_deficit": float(np.mean(diffs)) if diffs else np.nan,
                     "median_deficit": float(np.median(diffs)) if diffs else np.nan,
                     "pooled_share": yes / n if n else np.nan})
    return pd.DataFrame(rows)


def choose_window(curve: pd.DataFrame, tolerance: float = 0.05) -> int:
    """The first bucket start after which every bucket's mean deficit is within
    ``tolerance`` of the person's own share."""
    # A bucket no person reaches (NaN) says nothing either way.
    ok = (curve["mean_deficit"].isna() | (curve["mean_deficit"] >= -tolerance)).to_numpy()
    for i in range(len(curve)):
        if ok[i:].all():
            return int(curve["from"].iloc[i])
    return int(curve["from"].iloc[-1])


# --------------------------------------------------------------------------- labels


def first_fetch_labels(person: rp.Person, window, hidden: int = 0) -> pd.DataFrame:
    """The shipping implicit decisions of one fetch of the person, with the follow-backs of
    the newest ``hidden`` followers removed from the following list (not looked at yet)."""
    from pipeline.stages.decisions import implicit_decisions

    snaps = person.tables["snapshots"]
    newest = set(person.frame["account_id"].astype(str).iloc[:hidden])
    keep = ~((snaps["direction"] == "following") & snaps["account_id"].astype(str).isin(newest))
    labels = implicit_decisions(snaps[keep].reset_index(drop=True), 14.0, window)
    return labels.set_index(labels["account_id"].astype(str))


def agreement(persons: Sequence[rp.Person], window, curve: pd.DataFrame) -> dict:
    """First-fetch labels against the crawl's truth per kind, and premature skips estimated
    from the deficit curve (share of not-followed followers at that position who would be
    followed back at the person's settled share)."""
    per_kind: dict[str, list[int]] = {}
    premature, n_skip = 0.0, 0
    settled = curve[curve["from"] >= window.count]
    for p in persons:
        labels = first_fetch_labels(p, window)
        truth = pd.Series(p.y, index=p.frame["account_id"].astype(str))
        for kind, part in labels.groupby("kind"):
            agree = (part["follow_back"].astype(int) == truth.reindex(part.index)).sum()
            per_kind.setdefault(str(kind), [0, 0])
            per_kind[str(kind)][0] += int(agree)
            per_kind[str(kind)][1] += len(part)
        skips = labels[labels["kind"] == "first_fetch"]
        rank = pd.Series(p.rank, index=p.frame["account_id"].astype(str)).reindex(skips.index)
        for _, row in settled.iterrows():
            in_bucket = ((rank >= row["from"]) & (rank < row["to"])).sum()
            share = row["pooled_share"]
            deficit = max(0.0, -float(row["mean_deficit"]))
            if in_bucket and share < 1:
                premature += in_bucket * deficit / (1 - share)
        n_skip += len(skips)
    out = {k: {"n": v[1], "agree": round(v[0] / v[1], 4) if v[1] else None}
           for k, v in per_kind.items()}
    out["first_fetch_estimated_premature"] = round(premature / n_skip, 4) if n_skip else None
    return out


# --------------------------------------------------------------------------- models


def scores(model, kind: str, X: np.ndarray, cols: list[str]) -> np.ndarray:
    if kind == "prior":
        return model.predict_proba(pd.DataFrame(X, columns=cols))[:, 1]
    return model.predict_proba(X)[:, 1]


def prior_proba(person: rp.Person, cfg, train_idx=None) -> np.ndarray:
    from pipeline.model.prior import PriorClassifier
    from pipeline.model.queue import feature_columns

    cols = feature_columns(person.features)
    X = person.features[cols]
    prior = PriorClassifier(feature_names=cols, rules=cfg.evaluate.rules.model_dump())
    if train_idx is None:
        prior.fit(X.iloc[:0], np.zeros(0))
    else:
        prior.fit(X.iloc[train_idx], person.y[train_idx])
    return prior.predict_proba(X)[:, 1]


def day_one(person: rp.Person, cfg, window) -> dict:
    """ROC-AUC on the newest 10% after one fetch with their follow-backs hidden."""
    from pipeline.model.queue import feature_columns, refit

    hidden = math.ceil(HIDDEN * person.n)
    test = np.flatnonzero(person.rank < hidden)
    ids = person.frame["account_id"].astype(str)
    cols = feature_columns(person.features)
    X = person.features[cols].to_numpy(dtype=float)
    y_test = person.y[test]
    out = {}
    labels = first_fetch_labels(person, window, hidden)["follow_back"].astype(int)
    model, kind = refit(cfg, person.features, labels)
    out["model"] = rp.auc(y_test, scores(model, kind, X[test], cols))
    out["model_kind"] = kind
    out["n_labels"] = len(labels)
    # The window as wide as the hidden share: only the older followers' true answers.
    older = pd.Series(person.y[person.rank >= hidden], index=ids[person.rank >= hidden])
    model, kind = refit(cfg, person.features, older)
    out["model_window_hidden"] = rp.auc(y_test, scores(model, kind, X[test], cols))
    # Diagnostics: logistic regression instead of the boosted trees; and the test set without
    # the newest ``window.count`` followers, most of whom were not looked at yet (their crawl
    # label "not followed back" is often not a decision).
    logreg = cfg.model_copy(update={"train": cfg.train.model_copy(
        update={"classifier": "logreg"})})
    model, kind = refit(logreg, person.features, labels)
    out["model_logreg"] = rp.auc(y_test, scores(model, kind, X[test], cols))
    settled = test[person.rank[test] >= window.count]
    model, kind = refit(cfg, person.features, labels)
    out["model_beyond_window"] = (rp.auc(person.y[settled],
                                         scores(model, kind, X[settled], cols))
                                  if len(settled) else None)
    out["rules"] = rp.auc(y_test, rp.rules_proba(person.features, cfg)[test])
    out["majority"] = rp.auc(y_test, np.full(len(test), labels.mean()))
    out["prior"] = rp.auc(y_test, prior_proba(person, cfg)[test])
    out["bot_only"] = rp.auc(y_test, 1 - person.features["bot__bot_score"].to_numpy()[test])
    return out


# --------------------------------------------------------------------------- queue


def learning_curve(person: rp.Person, cfg, start: str, strategy: str,
                   steps: Sequence[int] = STEPS, seed: int = 0) -> dict[str, float | None]:
    """ROC-AUC after each number of answers in ``steps``, on the followers not asked yet
    (``remaining_<k>``) and on a fixed 30% of the question pool that is never asked
    (``held_out_<k>``: asking the hard cases first makes "the remaining" easier by itself).

    ``start="first_fetch"``: one fetch with the newest 10% hidden and the window as wide as
    them: the older followers' answers are known (first-fetch labels), questions are about the
    newest 10%. ``start="nothing"``: no label, questions about anyone."""
    from pipeline.data.undecided import Window
    from pipeline.model.queue import ask_order, feature_columns, groups, refit

    cols = feature_columns(person.features)
    X = person.features[cols].to_numpy(dtype=float)
    ids = person.frame["account_id"].astype(str).to_numpy()
    truth = pd.Series(person.y, index=ids)
    hidden = math.ceil(HIDDEN * person.n)
    if start == "first_fetch":
        known = first_fetch_labels(person, Window(hidden), hidden)["follow_back"].astype(int)
        pool = np.flatnonzero(person.rank < hidden)
    else:
        known = pd.Series(dtype=int)
        pool = np.arange(person.n)
    pool = pool[~pd.Index(ids[pool]).isin(known.index)]
    split = np.random.default_rng(1000 + seed).permutation(pool)
    test = np.sort(split[:int(0.3 * len(pool))])
    askable = np.sort(split[int(0.3 * len(pool)):])
    group = groups(X, seed=seed) if strategy == "queue" else None
    rng = np.random.default_rng(seed)
    asked: list[int] = []
    out: dict[str, float | None] = {}
    model, kind = refit(cfg, person.features, known)
    for step in steps:
        want = step - len(asked)
        left = np.setdiff1d(askable, asked)
        if want > 0 and len(left):
            if strategy == "random":
                new = rng.permutation(left)[:want]
            elif strategy == "newest":
                new = left[np.argsort(person.rank[left], kind="stable")][:want]
            else:
                proba = scores(model, kind, X, cols)
                mask = np.ones(person.n, dtype=bool)
                mask[left] = False
                answered = pd.concat([known, truth.iloc[asked]])
                threshold = 0.5 if kind == "prior" else float(answered.mean())
                new = ask_order(proba, group, mask, threshold, n=want)
            asked.extend(int(i) for i in new)
            model, kind = refit(cfg, person.features, pd.concat([known, truth.iloc[asked]]))
        rest = np.setdiff1d(pool, asked)
        out[f"remaining_{step}"] = rp.auc(person.y[rest], scores(model, kind, X[rest], cols))
        out[f"held_out_{step}"] = rp.auc(person.y[test], scores(model, kind, X[test], cols))
    return out


def config_for(person: rp.Person, settings: Sequence[str] = ()):
    """The person's configuration with ``SECTION.KEY=VALUE`` settings (YAML values) applied."""
    import yaml

    cfg = rp.config_for(person)
    for setting in settings:
        key, _, value = setting.partition("=")
        section, _, name = key.partition(".")
        part = getattr(cfg, section)
        setattr(cfg, section, part.model_copy(update={name: yaml.safe_load(value)}))
    return cfg


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    from pipeline.data.undecided import Window

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="*", default=["order", "window", "agreement", "day-one",
                                                    "queue"])
    parser.add_argument("--data", help="the mastodon-ego-dev folder")
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--window", type=int, help="undecided window (default: measured)")
    parser.add_argument("--seeds", type=int, default=3, help="random orders per person")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="a params.yaml setting for this run, e.g. train.min_decisions=60")
    parser.add_argument("--starts", nargs="+", default=["first_fetch", "nothing"],
                        choices=["first_fetch", "nothing"],
                        help="queue: the learning curves' starting points")
    parser.add_argument("--min-followers", type=int, default=100)
    parser.add_argument("--min-each", type=int, default=20)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    what = set(args.what)
    need_features = bool(what & {"day-one", "queue", "window-sweep"})
    ids = rp.person_ids(args.data)
    persons = []
    for pid in ids:
        person = rp.load_person(pid, args.data)
        if need_features and person.n >= args.min_followers:  # day-one and queue need them
            person = rp.featured_person(pid, args.data)
        persons.append(person)
    eligible = [p for p in persons if rp.eligible(p, args.min_followers, args.min_each)]
    print(f"{len(persons)} persons read, {len(eligible)} with >= {args.min_followers} followers "
          f"and >= {args.min_each} of each answer ({time.perf_counter() - started:.0f} s)")

    curve = deficit_curve(eligible)
    window = Window(args.window if args.window is not None else
                    choose_window(curve, args.tolerance))
    if "order" in what:
        res = order_check(persons)
        print(f"\n[order] {res['n_new_accounts']} followers whose accounts are < 30 days old at "
              f"the crawl: relative list position {_fmt(res['new_position'])}")
        print(f"[order] Spearman(list position, account newness) per person: "
              f"{_fmt(res['spearman_rank_vs_newness'])}")
    if "window" in what:
        print("\n[window] share followed back by list position (0 = newest), persons with "
              f">= {args.min_followers} followers, minus the person's own share:")
        print(curve.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        for name, part in (("< 500 followers", [p for p in eligible if p.n < 500]),
                           (">= 500 followers", [p for p in eligible if p.n >= 500])):
            sub = deficit_curve(part)
            print(f"[window] {name} ({len(part)} persons): mean deficit by bucket "
                  + ", ".join(f"{a}-{b}: {d:+.3f}" for a, b, d in
                              zip(sub["from"], sub["to"], sub["mean_deficit"], strict=True)
                              if not np.isnan(d))
                  + f"; window {choose_window(sub, args.tolerance)}")
        print(f"[window] chosen: the newest {window.count} followers (every bucket from there "
              f"on within {args.tolerance:.2f} of the person's share)")
    if "agreement" in what:
        res = agreement(eligible, window, curve)
        print(f"\n[agreement] first-fetch labels vs what the {len(eligible)} persons did "
              f"(window {window.count}):")
        for kind, v in res.items():
            print(f"  {kind}: {v}")
    if "day-one" in what:
        cfg_of = {p.person_id: config_for(p, args.set) for p in eligible}
        rows = []
        for p in persons:
            if p.features is None:
                continue
            hidden = math.ceil(HIDDEN * p.n)
            t = p.y[p.rank < hidden]
            if t.sum() < 10 or len(t) - t.sum() < 10:
                continue
            rows.append(day_one(p, cfg_of.get(p.person_id) or config_for(p, args.set), window))
        print(f"\n[day-one] ROC-AUC on the newest {HIDDEN:.0%}, {len(rows)} persons whose newest "
              f"{HIDDEN:.0%} hold >= 10 of each answer:")
        for who in ("model", "model_window_hidden", "model_logreg", "model_beyond_window",
                    "rules", "majority", "prior", "bot_only"):
            print(f"  {who:<20} {_fmt(rp.summarize(r[who] for r in rows))}")
        print(f"  model above rules for {rp.compare(rows)} of {len(rows)}; model kinds: "
              f"{pd.Series([r['model_kind'] for r in rows]).value_counts().to_dict()}; "
              f"below 0.70: {sum(1 for r in rows if r['model'] is not None and r['model'] < .7)}")
        print("  per-person day-one ROC-AUC, sorted: "
              + ", ".join(f"{r['model']:.2f}" for r in sorted(rows, key=lambda r: r["model"])))
    if "window-sweep" in what:
        # The day-one ROC-AUC (the newest 10% hidden) as the window varies: a window too narrow
        # trains on followers not looked at yet as "skip", one too wide drops real decisions.
        from pipeline.data.undecided import Window as W
        from pipeline.model.queue import refit as _refit

        print("\n[window-sweep] day-one ROC-AUC on the newest 10% by undecided window:")
        sweep = [(f"newest {c}", W(c, 0.0, 0.0)) for c in (0, 10, 20, 40, 80, 160)] + [
            (f"newest {sh:.0%}", W(0, sh, 0.0)) for sh in (0.05, 0.1)]
        for name, win in sweep:
            values = []
            for p in persons:
                if p.features is None:
                    continue
                hidden = math.ceil(HIDDEN * p.n)
                test = np.flatnonzero(p.rank < hidden)
                t = p.y[test]
                if t.sum() < 10 or len(t) - t.sum() < 10:
                    continue
                cfg = config_for(p, args.set)
                labels = first_fetch_labels(p, win, hidden)["follow_back"].astype(int)
                model, kind = _refit(cfg, p.features, labels)
                cols = feature_columns(p.features)
                X = p.features[cols].to_numpy(dtype=float)
                values.append(rp.auc(t, scores(model, kind, X[test], cols)))
            print(f"  {name:<12} {_fmt(rp.summarize(values))}")
    if "queue" in what:
        for start in args.starts:
            group = eligible if start == "nothing" else [
                p for p in eligible if math.ceil(HIDDEN * p.n) >= 100]
            print(f"\n[queue] from {start}: ROC-AUC on the followers not asked yet "
                  f"({len(group)} persons)")
            for strategy in ("queue", "random", "newest"):
                seeds = range(args.seeds) if strategy == "random" else range(1)
                curves = [learning_curve(p, config_for(p, args.set), start, strategy, seed=s)
                          for p in group for s in seeds]
                for metric in ("remaining", "held_out"):
                    print(f"  {strategy:<7} {metric:<9} " + "; ".join(
                        f"{k}: {_mean(c[f'{metric}_{k}'] for c in curves)}" for k in STEPS))
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
