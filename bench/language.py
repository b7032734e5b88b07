"""How often readability comes out "unknown": language of each text alone, against platform tags
and pooling over the account, on the demo and on real short texts, in one run.

- **Demo** (``data/ingested`` after ``dvc repro`` or ``followback demo && followback ingest``):
  the share of accounts whose readability is unknown (no post and no bio identified), of
  accounts whose bio is unknown, and of texts (posts and bios) unknown; and how far the
  readable share is from the generator's truth (``data/raw/demo_truth.json``), which shows
  what the planted wrong tags (clients stuck on English) cost.
- **Real short texts**: the bios of real people are not public here, so short real texts stand
  in for them: every text of at most ``--max-words`` words from OLID (English tweets), GermEval
  2018 (German tweets) and STS-B dev (English and German sentences), each as the bio of an
  account whose ``--posts`` posts are other texts of the same file (``../shared/data/
  text-benchmarks``, read in place). None carries a platform tag, so only pooling is measured.

Each is run three ways: each text alone (before), with tags only, and with tags and pooling
(the default).

    .venv/bin/python bench/language.py
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "text-benchmarks"
WAYS = {"alone (before)": dict(use_tags=False, pool=False),
        "tags": dict(use_tags=True, pool=False),
        "tags + pooling (default)": dict(use_tags=True, pool=True)}


def shares(est, X: pd.DataFrame) -> dict[str, float]:
    """Unknown shares of accounts, bios and texts under one fitted Readability."""
    from pipeline.features.language import FEATURES

    out = pd.DataFrame(est.transform(X), columns=FEATURES)
    has_bio = X["bio"].notna().to_numpy()
    bio_known = (out["lang_bio_readable"] + out["lang_bio_unreadable"]).to_numpy() > 0
    posts_known = (out["lang_readable_share"] + out["lang_unreadable_share"]).to_numpy() > 0
    n_posts = np.array([len(p) for p in X["posts"]])
    unknown_posts = (out["lang_unknown_share"].to_numpy() * n_posts).sum()
    visible = ~X["is_private"].fillna(False).astype(bool).to_numpy() | has_bio
    return {
        "accounts unknown": float(np.mean(~(bio_known | posts_known)[visible])),
        "bios unknown": float(np.mean(~bio_known[has_bio])) if has_bio.any() else float("nan"),
        "texts unknown": float((unknown_posts + (~bio_known & has_bio).sum())
                               / (n_posts.sum() + has_bio.sum())),
        "readable share": out["lang_readable_share"].to_numpy(),
    }


def real_short_accounts(folder: Path, max_words: int, n_posts: int, seed: int) -> pd.DataFrame:
    """Accounts of real texts: a short text as the bio, other texts of its file as posts."""
    files = {
        "OLID (en)": pd.read_csv(folder / "olid-2019/olid-training-v1.0.tsv", sep="\t",
                                 quoting=csv.QUOTE_NONE, keep_default_na=False)["tweet"],
        "GermEval 2018 (de)": pd.read_csv(folder / "germeval-2018/germeval2018.training.txt",
                                          sep="\t", header=None, quoting=csv.QUOTE_NONE,
                                          keep_default_na=False)[0],
        "STS-B dev (en)": pd.read_csv(folder / "stsb-multi-mt/stsb-en-dev.csv", header=None,
                                      keep_default_na=False)[0],
        "STS-B dev (de)": pd.read_csv(folder / "stsb-multi-mt/stsb-de-dev.csv", header=None,
                                      keep_default_na=False)[0],
    }
    rng = np.random.default_rng(seed)
    rows = []
    for name, texts in files.items():
        texts = [t.replace("|LBR|", " ").replace("@USER", "").replace("URL", "").strip()
                 for t in texts]
        texts = [t for t in texts if t]
        short = [t for t in texts if len(t.split()) <= max_words]
        for bio in short:
            posts = [texts[i] for i in rng.choice(len(texts), n_posts, replace=False)]
            rows.append({"source": name, "bio": bio, "is_private": False,
                         "posts": [{"text": p, "kind": "post"} for p in posts]})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--benchmarks", type=Path, default=BENCHMARKS)
    parser.add_argument("--max-words", type=int, default=3)
    parser.add_argument("--posts", type=int, default=5, help="posts per real-text account")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from pipeline.core.config import load_config
    from pipeline.data.frame import load_account_frame
    from pipeline.features.language import Readability

    cfg = load_config(args.params)
    lang = cfg.features.language

    def readability(**way) -> Readability:
        return Readability(languages=list(cfg.user.languages), candidates=list(lang.candidates),
                           min_confidence=lang.min_confidence, cache_dir=cfg.base.cache_dir,
                           show_progress=False, **way)

    table = Table(title="Readability unknown: each text alone, with platform tags, with "
                        "tags and pooling over the account")
    for col in ("data", "way", "accounts unknown", "bios unknown", "texts unknown",
                "readable share vs truth (MAE)"):
        table.add_column(col, justify="left" if col in ("data", "way") else "right")

    frame = load_account_frame(cfg)
    truth_path = Path(cfg.demo.truth_out)
    truth = json.loads(truth_path.read_text())["accounts"] if truth_path.is_file() else {}
    latent = frame["account_id"].map(lambda a: (truth.get(a, {}).get("latent") or {})
                                     .get("readable"))
    if not len(frame):
        raise SystemExit("no ingested accounts: run `followback demo && followback ingest` "
                         "(or `make demo`) first")
    followers = latent.notna().to_numpy()
    for way, kwargs in WAYS.items():
        s = shares(readability(**kwargs).fit(frame), frame)
        has_posts = np.array([len(p) > 0 for p in frame["posts"]]) & followers
        mae = np.abs(s["readable share"][has_posts] - latent[has_posts].astype(float)).mean()
        table.add_row(f"demo ({len(frame):,} accounts)", way, f"{s['accounts unknown']:.1%}",
                      f"{s['bios unknown']:.1%}", f"{s['texts unknown']:.1%}", f"{mae:.3f}")
    real = real_short_accounts(args.benchmarks, args.max_words, args.posts, args.seed)
    for source, group in real.groupby("source", sort=False):
        group = group.reset_index(drop=True)
        for way, kwargs in WAYS.items():
            if kwargs["use_tags"] and not kwargs["pool"]:
                continue  # no tags in these files: the same as alone
            s = shares(readability(**kwargs).fit(group), group)
            table.add_row(f"{source}: {len(group):,} texts of <= {args.max_words} words",
                          way, "", f"{s['bios unknown']:.1%}", "", "")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
