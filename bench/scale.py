"""Local engine vs Spark ``local[2]`` on the same accounts, and what a million followers take.

1. Trains a model with the repository's params.yaml on a small demo in a work folder (or
   ``--model``), and builds ``--accounts`` demo followers (5,000) with ``--posts`` posts each,
   as ``bench/score.py`` does.
2. ``followback score`` with the local engine, then with ``--engine spark --master local[2]``,
   each starting from the same text cache (the one training left: cold for the new accounts).
   Both rates count everything: reading and validating the input, features, explanations,
   writing one CSV. Checks that both wrote the same rows (probabilities to 4 decimals).
3. Spark's fixed cost: the same Spark run on ``--small`` accounts (20), so that
   ``time(n) ~ overhead + n / rate``.
4. An estimate for 1,000,000 followers on N executors of ``--executor-cores`` cores each, from
   the measured per-core rate of the Spark run (its marginal rate / 2 cores) and its fixed
   cost. The driver's reading and spooling of the input does not spread; it is part of both.

    .venv/bin/python bench/scale.py                       # the figures in README.md
    .venv/bin/python bench/scale.py --accounts 300        # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402


def _restore(cache: Path, snapshot: Path) -> None:
    shutil.rmtree(cache, ignore_errors=True)
    if snapshot.exists():
        shutil.copytree(snapshot, cache)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=20, help="posts per account")
    parser.add_argument("--small", type=int, default=20, help="accounts for Spark's overhead")
    parser.add_argument("--train-followers", type=int, default=400)
    parser.add_argument("--model", default=None, help="a model folder (default: train one)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--executor-cores", type=int, default=4)
    parser.add_argument("--workdir", default=None, help="keep the work files here")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from score import bench_params, build_input

    from pipeline import demo
    from pipeline.core.config import Source, load_config
    from pipeline.data import ingest
    from pipeline.data.scores import read_scores
    from pipeline.model.tracking import load_model
    from pipeline.stages import score as scoring
    from pipeline.stages import train
    from pipeline.stages.score import spark

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    cfg = load_config(bench_params(work, args.train_followers))
    started = time.perf_counter()
    demo.generate(cfg)
    ingest.ingest(cfg.ingest.sources, cfg.ingest.out_dir)
    if args.model:
        cfg.train.model_dir = Path(args.model)
    else:
        train.train(cfg, track=False)
    model, model_id = load_model(cfg)
    print(f"model {model_id} ready in {time.perf_counter() - started:,.0f} s; work {work}",
          flush=True)
    folder = build_input(cfg, work, args.accounts, args.posts, args.seed)
    small = build_input(cfg, work / "small", args.small, args.posts, args.seed + 1)
    shutil.move(str(small), work / "small-input")
    folder_small = work / "small-input"
    cache = Path(cfg.base.cache_dir)
    snapshot = work / "cache-after-training"
    if cache.exists():
        shutil.copytree(cache, snapshot)
    print(f"input: {args.accounts:,} accounts x {args.posts} posts; Spark overhead probe: "
          f"{args.small} accounts; cores {os.cpu_count()}", flush=True)

    # Extractor models loaded once before timing (the Spark workers load their own copy; that
    # load is part of Spark's overhead below).
    scoring.score(cfg, work / "warmup.csv", [Source(path=folder_small)], model=model,
                  model_id=model_id)

    _restore(cache, snapshot)
    t = time.perf_counter()
    local = scoring.score(cfg, work / "local.csv", [Source(path=folder)], model=model,
                          model_id=model_id)
    local_s = time.perf_counter() - t
    print(f"local engine: {local.scored:,} accounts in {local_s:,.1f} s = "
          f"{local.scored / local_s:,.2f} accounts/s", flush=True)

    _restore(cache, snapshot)
    t = time.perf_counter()
    probe = spark.score_spark(cfg, work / "spark-small.csv", [Source(path=folder_small)],
                              master=args.master)
    overhead_s = time.perf_counter() - t
    _restore(cache, snapshot)
    t = time.perf_counter()
    big = spark.score_spark(cfg, work / "spark.csv", [Source(path=folder)], master=args.master)
    spark_s = time.perf_counter() - t
    print(f"Spark {args.master}: {big.scored:,} accounts in {spark_s:,.1f} s = "
          f"{big.scored / spark_s:,.2f} accounts/s; {probe.scored} accounts in "
          f"{overhead_s:,.1f} s", flush=True)

    a = read_scores(work / "local.csv").set_index("account_id")
    b = read_scores(work / "spark.csv").set_index("account_id").loc[a.index]
    same = bool((a["verdict"] == b["verdict"]).all()
                and np.allclose(a["probability"], b["probability"], atol=1e-4, rtol=0))
    dp = float((a["probability"] - b["probability"]).abs().max())
    print(f"same rows: {same} (max |dp| {dp:.2g})")

    # time(n) = overhead + n / rate: the marginal rate from the two Spark runs.
    marginal = (big.scored - probe.scored) / max(spark_s - overhead_s, 1e-9)
    fixed = max(overhead_s - probe.scored / marginal, 0.0)
    cores = 2 if args.master == "local[2]" else None
    per_core = marginal / cores if cores else float("nan")
    ratio = (local.scored / local_s) / (big.scored / spark_s)
    print(f"Spark fixed cost ~{fixed:,.0f} s; marginal {marginal:,.2f} accounts/s "
          f"({per_core:,.2f} per core); local / Spark rate {ratio:.2f}x at "
          f"{args.accounts:,} accounts")
    print("estimate for 1,000,000 followers (this CPU's per-core rate, "
          f"{args.executor_cores} cores per executor, plus the fixed cost):")
    print(f"  {'executors':>9} {'cores':>6} {'hours':>8}")
    print(f"  {'local':>9} {os.cpu_count():>6} {1e6 / (local.scored / local_s) / 3600:>8.1f}")
    for n in (1, 10, 50, 100):
        c = n * args.executor_cores
        print(f"  {n:>9} {c:>6} {(fixed + 1e6 / (per_core * c)) / 3600:>8.2f}")


if __name__ == "__main__":
    main()
