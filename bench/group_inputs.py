"""What the follower-group counts add as inputs of the follow-back model, on the demo.

``features.bot.groups`` makes the counts of :mod:`pipeline.data.groups` (computed over every
ingested
account) inputs of the bot criterion. This runs, in one process on the same demo and the same
labels, what ``followback train`` measures with ``groups: true`` and with ``groups: false``:

1. cross-validated ROC-AUC of the whole Pipeline (``train.cross_validate``, measured on the
   explicit decisions as ``train`` measures);
2. ROC-AUC on the time-ordered holdout (``train.time_holdout``: fit on the older decisions,
   test on the newest explicit ones), and the importance of each criterion on it (drop in
   ROC-AUC when the criterion's features are shuffled together);
3. the mean out-of-fold probability of the planted group members (``groups`` in
   ``demo_truth.json``) that the person decided on, beside the other decided bots'.

Every data path goes under ``--work``; the feature cache is the repository's ``data/cache``
(content-hashed), so the first setting embeds the demo's texts and the second reads them back.

    nice .venv/bin/python bench/group_inputs.py --n-followers 600
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from implicit import demo_parser, make_config  # noqa: E402  (bench/implicit.py)

from pipeline.core.config import Config  # noqa: E402


def with_groups_setting(cfg: Config, groups: bool) -> Config:
    bot = cfg.features.bot.model_copy(update={"groups": groups})
    return cfg.model_copy(update={"features": cfg.features.model_copy(update={"bot": bot})})


def build(cfg: Config) -> None:
    """demo -> ingest -> labels (what `dvc repro` runs before train)."""
    from pipeline import demo
    from pipeline.data import io
    from pipeline.data.ingest import ingest
    from pipeline.stages.decisions import build_labels

    demo.generate(cfg)
    ingest(cfg.ingest.sources, cfg.ingest.out_dir)
    tables = {name: io.read_table(cfg.ingest.out_dir, name)
              for name in ("accounts", "posts", "snapshots", "decisions", "own_posts")}
    io.write_table(build_labels(cfg, tables).frame, cfg.decisions.out)


def measure(cfg: Config, truth: dict) -> dict:
    from sklearn.metrics import roc_auc_score

    from pipeline.stages.train import cross_validate, load_training_data, time_holdout

    started = time.perf_counter()
    data = load_training_data(cfg)
    oof = cross_validate(cfg, data)
    holdout, importance = time_holdout(cfg, data)
    planted = {a for g in truth["groups"] for a in g["account_ids"]}
    archetype = {a: v["archetype"] for a, v in truth["accounts"].items()}
    ids = oof["account_id"].astype(str)
    in_group = ids.isin(planted).to_numpy()
    other_bot = ids.map(archetype).isin(["spam_bot", "fake_follower"]).to_numpy() & ~in_group
    return {
        "n_decisions": int(len(data.y)),
        "n_measured": int(len(data.measured)),
        "cv_roc_auc": round(float(roc_auc_score(oof["y"], oof["p_model"])), 4),
        "holdout_n": int(len(holdout)),
        "holdout_roc_auc": round(float(roc_auc_score(holdout["y"], holdout["p_model"])), 4),
        "importance": {k: round(v, 4) for k, v in sorted(importance.items())},
        "oof_planted": {"n": int(in_group.sum()),
                        "mean_p": round(float(oof["p_model"][in_group].mean()), 4)
                        if in_group.any() else None},
        "oof_other_bots": {"n": int(other_bot.sum()),
                           "mean_p": round(float(oof["p_model"][other_bot].mean()), 4)
                           if other_bot.any() else None},
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    args = demo_parser(__doc__, Path("/tmp/followback-bench-groups")).parse_args()

    cfg = make_config(args.work.resolve(), args.n_followers, args.seed)
    build(cfg)
    truth = json.loads(Path(cfg.demo.truth_out).read_text())
    planted = ", ".join(f"{g['kind']} {g['size']}" for g in truth["groups"])
    print(f"demo: {truth['n_followers']} followers, seed {cfg.demo.seed or cfg.base.seed}, "
          f"planted groups {planted}; "
          f"classifier {cfg.train.classifier}, {cfg.train.cv_folds}-fold CV")
    results = {}
    for groups in (True, False):
        results[f"groups={groups}"] = measure(with_groups_setting(cfg, groups), truth)

    on, off = results["groups=True"], results["groups=False"]
    print(f"\n{'':<36} {'groups=True':>12} {'groups=False':>13} {'difference':>11}")
    rows = [("CV ROC-AUC (explicit decisions)", on["cv_roc_auc"], off["cv_roc_auc"]),
            (f"holdout ROC-AUC (newest {on['holdout_n']})", on["holdout_roc_auc"],
             off["holdout_roc_auc"])]
    for crit in sorted(set(on["importance"]) | set(off["importance"])):
        rows.append((f"importance on holdout: {crit}", on["importance"].get(crit, np.nan),
                     off["importance"].get(crit, np.nan)))
    rows.append((f"mean OOF p, planted members (n={on['oof_planted']['n']})",
                 on["oof_planted"]["mean_p"], off["oof_planted"]["mean_p"]))
    rows.append((f"mean OOF p, other bots (n={on['oof_other_bots']['n']})",
                 on["oof_other_bots"]["mean_p"], off["oof_other_bots"]["mean_p"]))
    for name, a, b in rows:
        if a is None or b is None:
            print(f"{name:<36} {'-':>12} {'-':>13}")
            continue
        print(f"{name:<36} {a:>12.4f} {b:>13.4f} {a - b:>+11.4f}")
    print(f"\n{on['n_decisions']} decisions ({on['n_measured']} measured); "
          f"{on['seconds']:.0f} s with groups, {off['seconds']:.0f} s without")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
