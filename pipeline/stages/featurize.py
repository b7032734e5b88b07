"""Turn every ingested account into its feature vector, warming the content-hash cache.

Writes ``features.out`` (Parquet): ``account_id``, a few raw columns (``raw__*``) that the
rule baseline reads, and every named feature of the six extractors (``bio__bio_emb_3``). The
embedding, language and toxicity results land in the cache under ``base.cache_dir``, so training
(which refits the extractors inside each cross-validation fold) computes no text twice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from pipeline.core.config import Config, load_config
from pipeline.core.console import ParamsOption, console
from pipeline.data import io

RAW_COLUMNS = ["followers_count", "following_count", "is_private", "bio"]


def featurize(cfg: Config) -> tuple[pd.DataFrame, dict]:
    """Fit the six extractors on all accounts and return the named feature table."""
    from pipeline.data.frame import load_account_frame
    from pipeline.model import tracking
    from pipeline.model.compose import build_features

    started = time.perf_counter()
    frame = load_account_frame(cfg)
    own = io.read_table(cfg.ingest.out_dir, "own_posts")["text"].dropna().tolist()
    features = build_features(cfg, own).set_output(transform="pandas")
    values = features.fit_transform(frame)
    out = pd.concat(
        [frame[["account_id"]].reset_index(drop=True),
         frame[RAW_COLUMNS].add_prefix("raw__").reset_index(drop=True),
         values.reset_index(drop=True)],
        axis=1,
    )
    summary = {
        "n_accounts": int(len(out)),
        "n_features": int(values.shape[1]),
        "seconds": round(time.perf_counter() - started, 1),
        "backends": tracking.backends(features),
        "cache": cache_report(features),
    }
    # DVC metrics hold only numbers worth comparing across experiments; the backend names and
    # cache counters go beside the features (every one would be a column of `dvc exp show`).
    metrics = {k: v for k, v in summary.items() if k in METRIC_KEYS}
    # The table, its details and its metrics go in together (pipeline.data.io.OutputSet).
    with io.OutputSet() as files:
        io.write_table(out, files.file(cfg.features.out))
        io.write_text(files.file(cfg.features.metrics), json.dumps(metrics, indent=2) + "\n")
        io.write_text(files.file(run_details_path(cfg)), json.dumps(summary, indent=2) + "\n")
    return out, summary


METRIC_KEYS = ("n_accounts", "n_features", "seconds")


def run_details_path(cfg: Config) -> Path:
    """``features.out`` with ``.json``: which backends ran and the cache counters (no metric)."""
    return Path(cfg.features.out).with_suffix(".json")


def cache_report(features) -> dict[str, dict[str, int]]:
    """Cache hits and misses of each text extractor in this run."""
    report = {}
    for name, transformer in features.named_transformers_.items():
        if hasattr(transformer, "cache_stats"):
            report[name] = dict(transformer.cache_stats())
    return report


def cli(params: ParamsOption = Path("params.yaml")) -> None:
    """Compute the six criteria's features for every ingested account (cached by content).

    Reads ingest.out_dir, writes features.out and metrics/featurize.json, and prints which
    backends ran and how many texts came from the cache.
    """
    from rich.table import Table

    cfg = load_config(params)
    out, summary = featurize(cfg)
    table = Table(title="followback featurize", show_header=False)
    table.add_row("accounts", f"{summary['n_accounts']:,}")
    table.add_row("features", str(summary["n_features"]))
    table.add_row("seconds", str(summary["seconds"]))
    for key, value in summary["backends"].items():
        table.add_row(f"backend: {key}", value)
    for key, stats in summary["cache"].items():
        table.add_row(f"cache: {key}", ", ".join(f"{k} {v:,}" for k, v in stats.items()))
    table.add_row("written", str(cfg.features.out))
    console.print(table)
