"""How good are implicit decisions? Agreement with the persona's truth, and what they train.

On the demo (``demo_truth.json`` knows what the persona decided, and what she would decide on the
followers she never looked at) this prints, in one run:

1. agreement of the implicit decisions read from the snapshots (``pipeline.stages.decisions``, every
   follower, no explicit decision overriding them) with her explicit decisions, and with her
   true decisions (``implicit.would_follow_back`` in the truth file), by kind of implicit
   decision and by the noise the demo plants (followed first, undone follow-backs, followers
   she never looked at);
2. the ROC-AUC on a time-ordered holdout of her explicit decisions (the newest
   ``train.holdout_fraction``) of the followback Pipeline trained on labels decided before the
   holdout starts: explicit decisions only (the baseline), implicit decisions only, implicit
   decisions of accounts she never decided on explicitly, and explicit + implicit (what
   ``followback train`` learns from).

Every data path goes under ``--work``; the feature cache is the repository's ``data/cache``
(content-hashed, shared with ``make demo``), so the first run embeds the demo's texts (~3 min on
2 cores) and later runs read them back.

    nice .venv/bin/python bench/implicit.py                    # the demo of params.yaml (2,000)
    nice .venv/bin/python bench/implicit.py --n-followers 600  # a quicker look
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.core.config import Config, relocate  # noqa: E402


def make_config(work: Path, n_followers: int | None, seed: int | None) -> Config:
    params = relocate(yaml.safe_load((REPO / "params.yaml").read_text()), work)
    params["base"]["cache_dir"] = str(REPO / "data" / "cache")
    params["features"]["bot"]["model_path"] = str(REPO / "models" / "bot_likeness.skops")
    params["ingest"]["sources"] = [{"path": str(work / "data/raw/demo"), "format": "auto"}]
    if n_followers:
        params["demo"]["n_followers"] = n_followers
    if seed is not None:
        params["demo"]["seed"] = seed
    return Config.model_validate(params)


def build(cfg: Config) -> dict[str, pd.DataFrame]:
    """demo -> ingest, returning the ingested tables."""
    from pipeline import demo
    from pipeline.data import io
    from pipeline.data.ingest import ingest

    demo.generate(cfg)
    ingest(cfg.ingest.sources, cfg.ingest.out_dir)
    return {name: io.read_table(cfg.ingest.out_dir, name)
            for name in ("accounts", "posts", "snapshots", "decisions", "own_posts")}


def agreement(implicit: pd.DataFrame, explicit: pd.DataFrame, truth: dict) -> dict:
    """Agreement of implicit labels with explicit decisions and with the persona's truth."""
    would = pd.Series(truth["implicit"]["would_follow_back"], dtype=bool)
    imp = implicit.set_index("account_id")
    known = imp[imp.index.isin(would.index)]
    ok = known["follow_back"].astype(bool) == would.reindex(known.index)
    out = {"n_implicit": int(len(imp)),
           "truth": {"n": int(len(known)), "agree": round(float(ok.mean()), 4)}}
    exp = explicit.set_index("account_id")["follow_back"].astype(bool)
    both = imp.index.intersection(exp.index)
    out["explicit"] = {"n": int(len(both)), "agree": round(float(
        (imp.loc[both, "follow_back"].astype(bool) == exp.loc[both]).mean()), 4)
        if len(both) else None}
    undecided = known.index.difference(exp.index)
    out["truth_undecided"] = {"n": int(len(undecided)), "agree": round(float(
        ok.loc[undecided].mean()), 4) if len(undecided) else None}
    out["by_kind"] = {kind: {"n": int(len(part)), "follow_back": int(part["follow_back"].sum()),
                             "agree_truth": round(float(ok.loc[part.index].mean()), 4)}
                      for kind, part in known.groupby("kind")}
    noise = truth["implicit"]
    planted = {
        "followed_first": [r["account_id"] for r in noise["followed_first"]],
        "undone, decided before": [r["account_id"] for r in noise["undone"] if r["recorded"]],
        "undone, courtesy": [r["account_id"] for r in noise["undone"] if not r["recorded"]],
        "never looked at, would follow back": noise["never_looked_at_would_follow_back"],
    }
    out["planted"] = {}
    for name, ids in planted.items():
        seen = known.index.intersection(ids)
        out["planted"][name] = {
            "planted": len(ids), "labelled": int(len(seen)),
            "labelled_follow_back": int(known.loc[seen, "follow_back"].sum()),
            "agree_truth": round(float(ok.loc[seen].mean()), 4) if len(seen) else None}
    return out


def holdout_aucs(cfg: Config, tables: dict[str, pd.DataFrame], implicit: pd.DataFrame) -> dict:
    """ROC-AUC on the newest explicit decisions of models trained on each label set."""
    import math

    from sklearn.metrics import roc_auc_score

    from pipeline.data.frame import load_account_frame
    from pipeline.model.compose import build_model
    from pipeline.stages.decisions import build_labels

    explicit = tables["decisions"].sort_values(["decided_at", "account_id"], kind="stable")
    n_test = max(1, math.ceil(cfg.train.holdout_fraction * len(explicit)))
    test = explicit.tail(n_test)
    start = test["decided_at"].min()
    both = build_labels(cfg, tables).frame
    sets = {
        "explicit only": explicit[explicit["decided_at"] < start],
        "implicit only": implicit[(implicit["decided_at"] < start)
                                  & ~implicit["account_id"].isin(test["account_id"])],
        "implicit, never decided explicitly": implicit[
            (implicit["decided_at"] < start)
            & ~implicit["account_id"].isin(explicit["account_id"])],
        "explicit + implicit (train)": both[(both["decided_at"] < start)
                                            & ~both["account_id"].isin(test["account_id"])],
    }
    own = [t for t in tables["own_posts"]["text"].dropna() if t.strip()]

    def frame_of(labels: pd.DataFrame):
        as_of = labels.set_index("account_id")["decided_at"]
        frame = load_account_frame(cfg, tables, as_of=as_of)
        joined = frame.merge(labels[["account_id", "follow_back"]], on="account_id")
        return joined.drop(columns=["follow_back"]), joined["follow_back"].astype(int).to_numpy()

    X_test, y_test = frame_of(test)
    out = {"holdout": {"n": int(len(y_test)), "follow_back": int(y_test.sum()),
                       "from": str(start)}}
    for name, labels in sets.items():
        started = time.perf_counter()
        X, y = frame_of(labels)
        model = build_model(cfg, own).fit(X, y)
        auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
        out[name] = {"n_train": int(len(y)), "train_follow_back": int(y.sum()),
                     "roc_auc": round(float(auc), 4),
                     "seconds": round(time.perf_counter() - started, 1)}
    return out


def demo_parser(doc: str, work: Path) -> argparse.ArgumentParser:
    """The options of a bench that generates the demo in a work folder (this one and
    bench/group_inputs.py)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=work)
    parser.add_argument("--n-followers", type=int, default=None,
                        help="demo size (default: demo.n_followers of params.yaml)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser


def main() -> None:
    args = demo_parser(__doc__, Path("/tmp/followback-bench-implicit")).parse_args()
    from pipeline.stages.decisions import implicit_decisions

    cfg = make_config(args.work.resolve(), args.n_followers, args.seed)
    started = time.perf_counter()
    tables = build(cfg)
    truth = json.loads(Path(cfg.demo.truth_out).read_text())
    implicit = implicit_decisions(tables["snapshots"], cfg.decisions.implicit_after_days)
    agree = agreement(implicit, tables["decisions"], truth)

    print(f"demo: {truth['n_followers']} followers, {len(tables['decisions'])} explicit "
          f"decisions, {len(truth['snapshots'])} monthly snapshots; "
          f"implicit_after_days={cfg.decisions.implicit_after_days:g}")
    print(f"\nimplicit decisions read from the snapshots: {agree['n_implicit']}")
    print(f"  agree with her explicit decisions : {agree['explicit']['agree']:.1%} "
          f"of {agree['explicit']['n']}")
    print(f"  agree with her true decisions     : {agree['truth']['agree']:.1%} "
          f"of {agree['truth']['n']}")
    print(f"    on followers she never decided  : {agree['truth_undecided']['agree']:.1%} "
          f"of {agree['truth_undecided']['n']}")
    print("  by kind (n, of which follow back, agreement with truth):")
    for kind, row in agree["by_kind"].items():
        print(f"    {kind:<16} {row['n']:>5} {row['follow_back']:>5}  {row['agree_truth']:.1%}")
    print("  planted noise (planted, labelled, labelled follow back, agreement with truth):")
    for name, row in agree["planted"].items():
        share = "-" if row["agree_truth"] is None else f"{row['agree_truth']:.1%}"
        print(f"    {name:<36} {row['planted']:>4} {row['labelled']:>4} "
              f"{row['labelled_follow_back']:>4}  {share}")

    aucs = holdout_aucs(cfg, tables, implicit)
    hold = aucs["holdout"]
    print(f"\nholdout: the newest {hold['n']} explicit decisions ({hold['follow_back']} follow "
          f"back, from {hold['from'][:10]}); models trained on labels decided before it "
          f"(classifier {cfg.train.classifier})")
    base = aucs["explicit only"]["roc_auc"]
    for name, row in aucs.items():
        if name == "holdout":
            continue
        print(f"  {name:<36} n={row['n_train']:>5} ({row['train_follow_back']:>4} follow back)"
              f"  ROC-AUC {row['roc_auc']:.3f}  ({row['roc_auc'] - base:+.3f} vs explicit only,"
              f" {row['seconds']:.0f} s)")
    print(f"\ntook {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"agreement": agree, "holdout": aucs}, indent=2))


if __name__ == "__main__":
    main()
