"""Toxicity on the 20 public sets (issue 25): which training data and which head, against the
shipped model's recipe in the same run.

Every candidate is fitted on the same five folds of all the sets (``StratifiedGroupKFold``:
stratified by set and label, grouped by :func:`~pipeline.data.toxicity_sets.near_duplicate_key` so
that copies of a text never sit on both sides) and scored out of fold on *every* text, also on
the sets it does not train on. Reported, per candidate:

- ROC-AUC per language and per set, for the offensive head (target ``label``) and the
  identity-attack head (``attack``, where a set has it);
- HateCheck (English functional tests, never trained on): ROC-AUC of each head and of the
  flag score ``max(offensive, identity attack)`` that the red flag reads, averaged over the
  five fold models, and per functionality the share the flag gets right at the pipeline's cut
  (0.5 after the re-basing to a 10% prior);
- the share of benign STS-B sentences (en, de) the flag raises at that cut;
- texts per second of a fitted model end to end (cleaning, embedding uncached, heads).

Pools of training data: ``today`` (OLID + GermEval 2018, the shipped model's), ``shippable``
(the sets whose licence allows shipping, :data:`pipeline.data.toxicity_sets.SHIPPABLE`) and ``all``.

    PYTHONPATH=. .venv/bin/python bench/toxicity_sets.py --cache-dir /work/cache \
        [--data ../shared/data/text-benchmarks] [--candidates today-lr,ship-lr,...]

USE embeddings come from the text cache (compute them once; about 20 min for 247k texts on 2
cores); the character n-grams and folds are computed in the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.data.toxicity_sets import (  # noqa: E402
    SHIPPABLE,
    grouped_folds,
    read_hatecheck,
    read_sets,
    select_sets,
)

PRIOR = 0.1
CUT = 0.5
FOCUS = ("negate_neg_nh", "negate_pos_h", "counter_quote_nh", "counter_ref_nh", "slur_reclaimed_nh",
         "slur_homonym_nh", "profanity_nh", "ident_neutral_nh", "ident_pos_nh")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def rebase(p: np.ndarray, prior: float = PRIOR) -> np.ndarray:
    return 1 / (1 + np.exp(-(logit(p) + np.log(prior / (1 - prior)))))


def auc(y, s) -> float | None:
    from sklearn.metrics import roc_auc_score

    y, s = np.asarray(y, dtype=float), np.asarray(s, dtype=float)
    ok = ~np.isnan(y) & ~np.isnan(s)
    if ok.sum() < 10 or len(np.unique(y[ok])) < 2:
        return None
    return round(float(roc_auc_score(y[ok], s[ok])), 4)


class Features:
    """USE embeddings (from the text cache) and TF-IDF hashed character n-grams, once per run."""

    def __init__(self, texts: list[str], cache_dir: str) -> None:
        from pipeline.features.embedding import TextEmbedder
        from pipeline.features.toxicity_model import char_ngrams

        t0 = time.perf_counter()
        self.E = TextEmbedder(model="use-multilingual-v3", cache_dir=cache_dir,
                              show_progress=False).encode(texts).astype(np.float32)
        print(f"embeddings {self.E.shape} in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        self.hasher = char_ngrams().steps[0][1]
        self.H = self.hasher.transform(texts).tocsr()
        print(f"char n-grams {self.H.shape} in {time.perf_counter() - t0:.0f} s", flush=True)


def balanced_weight(y: np.ndarray) -> np.ndarray:
    pos = y.mean()
    return np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))


def source_weights(source: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row ``n_s / (2 n_{s,y})``: each set keeps its size in total weight, but its classes
    weigh half each, so that a set's share of offensive texts (83% in Davidson, 11% in Guest)
    teaches nothing about its style."""
    key = pd.Series(source).astype(str) + ":" + pd.Series(y).astype(str)
    n_sy = key.map(key.value_counts()).to_numpy(dtype=float)
    n_s = pd.Series(source).map(pd.Series(source).value_counts()).to_numpy(dtype=float)
    w = n_s / (2 * n_sy)
    return w / w.mean()


def fit_predict(kind: str, F: Features, tr: np.ndarray, y: np.ndarray, pred: np.ndarray,
                C: float, seed: int, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Fit ``kind`` on rows ``tr`` (target ``y``); raw probabilities on ``pred`` of the model
    and, for a blend, of each part (``"mlp"``, ``"chars"``) and of blends at other weights."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    from pipeline.features.toxicity_model import BalancedMLP

    out = {}
    if kind in ("lr", "mlp+chars"):
        tfidf = TfidfTransformer(sublinear_tf=True).fit(F.H[tr])
        Htr, Hte = tfidf.transform(F.H[tr]), tfidf.transform(F.H[pred])
        if kind == "lr":  # the shipped recipe: one LR on [embeddings, char n-grams]
            Htr = sp.hstack([sp.csr_matrix(F.E[tr].astype(np.float64)), Htr]).tocsr()
            Hte = sp.hstack([sp.csr_matrix(F.E[pred].astype(np.float64)), Hte]).tocsr()
        # dual=True: the same optimum as the primal, 4x faster with more features than rows.
        lr = LogisticRegression(C=C, class_weight="balanced" if weights is None else None,
                                max_iter=3000, solver="liblinear", dual=True,
                                random_state=seed).fit(Htr, y, sample_weight=weights)
        out["lr" if kind == "lr" else "chars"] = lr.predict_proba(Hte)[:, 1]
    if kind in ("mlp", "mlp+chars"):
        mlp = BalancedMLP(random_state=seed).fit(F.E[tr], y)
        out["mlp"] = mlp.predict_proba(F.E[pred])[:, 1]
    if kind == "mlp+chars":
        for w in (0.3, 0.5, 0.7):
            z = w * logit(out["mlp"]) + (1 - w) * logit(out["chars"])
            out[f"mlp+chars w={w}"] = 1 / (1 + np.exp(-z))
    return out


# name: (training pool, model kind, C of the offensive head, C of the attack head, languages)
CANDIDATES = {
    "today-lr": ("today", "lr", 4.0, 1.0, None),
    "ship-lr": ("shippable", "lr", 4.0, 1.0, None),
    # the same, each set's classes weighted half and half (source_weights)
    "ship-lr-sw": ("shippable", "lr-sw", 4.0, 1.0, None),
    "all-lr-sw": ("all", "lr-sw", 4.0, 1.0, None),
    "ship-mlp+chars": ("shippable", "mlp+chars", 4.0, 1.0, None),
    "all-lr": ("all", "lr", 4.0, 1.0, None),
    "all-mlp+chars": ("all", "mlp+chars", 4.0, 1.0, None),
    # per-language heads: each language's rows of the shippable pool train its own model
    "ship-mlp+chars-per-language": ("shippable", "mlp+chars", 4.0, 1.0, ("en", "de")),
}


def pools(data: pd.DataFrame) -> dict[str, np.ndarray]:
    return {"today": data["source"].isin(["olid2019", "germeval2018"]).to_numpy(),
            "shippable": data["source"].isin(SHIPPABLE).to_numpy(),
            "all": np.ones(len(data), dtype=bool)}


def run_candidate(name: str, data: pd.DataFrame, F: Features, n_data: int, fold: np.ndarray,
                  k: int, seed: int) -> dict[str, dict]:
    """Per variant (the model, or each part and weight of a blend): out-of-fold scores on the
    data and fold-averaged scores on the extra rows (HateCheck, benign), for both heads."""
    base, _, only = name.partition("@")
    pool_name, kind, c_off, c_att, languages = CANDIDATES[base]
    pool = pools(data)[pool_name]
    run_folds = [int(f) for f in only.split("+")] if only else list(range(k))
    n_all = F.E.shape[0]
    extra = np.arange(n_data, n_all)
    lang_of = data["language"].to_numpy()
    variants: dict[str, dict] = {}
    t0 = time.perf_counter()
    for head, target, C in (("offensive", "label", c_off), ("attack", "attack", c_att)):
        y_all = data[target].to_numpy()
        oof: dict[str, np.ndarray] = {}
        ext: dict[str, np.ndarray] = {}
        for f in run_folds:
            for lang in [None] if languages is None else list(languages):
                use = pool & (fold != f) & ~np.isnan(y_all)
                test = np.flatnonzero(fold == f)
                if lang is not None:
                    use &= lang_of == lang
                    test = test[lang_of[test] == lang]
                tr = np.flatnonzero(use)
                if len(np.unique(y_all[tr])) < 2:
                    continue
                pred = np.concatenate([test, extra]) if lang in (None, "en") else test
                w = (source_weights(data["source"].to_numpy()[tr], y_all[tr].astype(int))
                     if kind.endswith("-sw") else None)
                for part, p in fit_predict(kind.removesuffix("-sw"), F, tr, y_all[tr].astype(int),
                                           pred, C or 1.0, seed, w).items():
                    oof.setdefault(part, np.full(n_data, np.nan))[test] = p[:len(test)]
                    ext.setdefault(part, np.zeros(len(extra)))
                    if len(pred) > len(test):
                        ext[part] += p[len(test):] / len(run_folds)
        for part in oof:
            label = name if part in ("lr", kind.removesuffix("-sw")) else f"{name} [{part}]"
            variants.setdefault(label, {})[head] = (oof[part], ext[part])
        print(f"  {name} {head}: {time.perf_counter() - t0:.0f} s", flush=True)
    return variants


def report(name: str, scores: dict, data: pd.DataFrame, hc: pd.DataFrame, n_benign: int,
           fold: np.ndarray) -> dict:
    out: dict = {"candidate": name}
    off, off_x = scores["offensive"]
    att, att_x = scores["attack"]
    lang = data["language"].to_numpy()
    src = data["source"].to_numpy()
    y, ya = data["label"].to_numpy(), data["attack"].to_numpy()
    out["language"] = {lg: {"offensive": auc(y[lang == lg], off[lang == lg]),
                            "attack": auc(ya[lang == lg], att[lang == lg]),
                            "n": int((lang == lg).sum())}
                       for lg in sorted(set(lang))}
    zero = fold == 0
    out["language_fold0"] = {}
    for lg in sorted(set(lang)):
        m = zero & (lang == lg)
        out["language_fold0"][lg] = {"offensive": auc(y[m], off[m]), "attack": auc(ya[m], att[m])}
    out["set"] = {f"{s}:{lg}": {"offensive": auc(y[(src == s) & (lang == lg)],
                                                 off[(src == s) & (lang == lg)]),
                                "attack": auc(ya[(src == s) & (lang == lg)],
                                              att[(src == s) & (lang == lg)])}
                  for s, lg in sorted(set(zip(src, lang, strict=True)))}
    nh = len(hc)
    yh = hc["label"].to_numpy()
    ho, ha = off_x[:nh], att_x[:nh]
    flag = np.maximum(rebase(ho), rebase(ha))
    out["hatecheck"] = {"offensive": auc(yh, ho), "attack": auc(yh, ha), "flag": auc(yh, flag)}
    out["hatecheck_functionality"] = {
        f: round(float(np.mean((flag[i] >= CUT) == (yh[i] == 1))), 3)
        for f, i in hc.groupby("functionality").indices.items()}
    bo, ba = off_x[nh:nh + n_benign], att_x[nh:nh + n_benign]
    out["benign_flagged"] = round(float((np.maximum(rebase(bo), rebase(ba)) >= CUT).mean()), 4)
    return out


def saved_model(path: Path, hc: pd.DataFrame, benign: list[str], texts: list[str],
                speed_only: bool = False) -> dict:
    """A saved toxicity model on HateCheck and the benign sentences, and its speed: texts per
    second end to end (cleaning, USE embedding without cache, heads) on ``texts``."""
    from pipeline.features.toxicity_model import (
        load_toxicity_model,
        model_labels,
        predict_scores,
        set_cache_dir,
    )

    model = set_cache_dir(load_toxicity_model(path), None)
    if speed_only:
        predict_scores(model, texts[:50])  # loads the encoder
        t0 = time.perf_counter()
        predict_scores(model, texts)
        return {"candidate": f"file {path.name}",
                "texts_per_second": round(len(texts) / (time.perf_counter() - t0), 1)}
    labels = model_labels(model)
    yh = hc["label"].to_numpy()
    s = predict_scores(model, hc["text"].tolist())
    flag = s.max(axis=1)
    out = {"candidate": f"file {path.name}", "hatecheck": {
        "offensive": auc(yh, s[:, 0]),
        "attack": auc(yh, s[:, labels.index("identity_attack")]) if len(labels) > 1 else None,
        "flag": auc(yh, flag)}}
    out["hatecheck_functionality"] = {
        f: round(float(np.mean((flag[i] >= CUT) == (yh[i] == 1))), 3)
        for f, i in hc.groupby("functionality").indices.items()}
    out["hateful_flagged"] = round(float((flag[yh == 1] >= CUT).mean()), 3)
    out["non_hateful_right"] = round(float((flag[yh == 0] < CUT).mean()), 3)
    out["benign_flagged"] = round(float((predict_scores(model, benign).max(axis=1) >= CUT)
                                        .mean()), 4)
    predict_scores(model, texts[:50])  # loads the encoder
    t0 = time.perf_counter()
    predict_scores(model, texts)
    out["texts_per_second"] = round(len(texts) / (time.perf_counter() - t0), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=root / "../shared/data/text-benchmarks")
    parser.add_argument("--cache-dir", default=str(root / "data/cache"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--candidates", default="today-lr,ship-mlp+chars,all-mlp+chars")
    parser.add_argument("--sets", default="all", help="the sets read: all (default), "
                        "shippable or names separated by commas")
    parser.add_argument("--cap", type=int, default=3000,
                        help="at most this many texts per set and language outside the "
                        "shippable sets (0: all)")
    parser.add_argument("--cached-only", action="store_true",
                        help="outside the shippable sets, keep only texts already embedded")
    parser.add_argument("--speed-only", action="store_true",
                        help="only time the --models (no HateCheck, no benign sentences)")
    parser.add_argument("--speed-texts", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--models", type=Path, nargs="*", default=[],
                        help="saved toxicity models to check on HateCheck and the benign "
                        "sentences, and to time on 2,000 uncached texts (e.g. the shipped one "
                        "before and after retraining)")
    args = parser.parse_args()

    from pipeline.features.toxicity_model import clean_texts
    from pipeline.stages.train_toxicity import BENIGN, read_benign

    t0 = time.perf_counter()
    data, _ = read_sets(args.data, select_sets(args.sets))
    data = data[data["label"].notna()].reset_index(drop=True)
    if args.cached_only:
        # Outside the shippable sets, only the texts whose embedding is in the cache (a random
        # subset of the --cap sample when the cache was filled in the sample's order).
        from pipeline.features.embedding import TextEmbedder

        cache = TextEmbedder(model="use-multilingual-v3", cache_dir=args.cache_dir,
                             show_progress=False).cache
        cleaned = clean_texts(data["text"])
        found = cache.get_many(cleaned)
        keep = data["source"].isin(SHIPPABLE).to_numpy() | np.array([t in found
                                                                     for t in cleaned])
        data = data[keep].reset_index(drop=True)
    if args.cap:
        # At most --cap texts of each set and language outside the shippable sets (seeded):
        # embedding all 240,000 texts takes hours on a busy 2-core machine.
        rest = data[~data["source"].isin(SHIPPABLE)]
        index = rest.groupby(["source", "language"], group_keys=False).apply(
            lambda g: g.sample(n=min(len(g), args.cap), random_state=42)).index
        data = pd.concat([data[data["source"].isin(SHIPPABLE)], rest.loc[index]],
                         ignore_index=True)
    hc = read_hatecheck(args.data / "hatecheck/test_suite_cases.csv")
    benign = read_benign([args.data / p for p in BENIGN])
    texts = clean_texts(data["text"]) + clean_texts(hc["text"]) + clean_texts(benign)
    print(f"{len(data):,} labelled texts in {data['source'].nunique()} sets, "
          f"{len(hc):,} HateCheck cases, "
          f"{len(benign):,} benign sentences ({time.perf_counter() - t0:.0f} s)", flush=True)
    names = [n for n in args.candidates.split(",") if n]
    if names:
        F = Features(texts, args.cache_dir)
        t0 = time.perf_counter()
        fold = grouped_folds(data, args.folds, args.seed)
        print(f"folds in {time.perf_counter() - t0:.0f} s", flush=True)
    results = []
    for name in names:
        for variant, scores in run_candidate(name, data, F, len(data), fold, args.folds,
                                             args.seed).items():
            results.append(report(variant, scores, data, hc, len(benign), fold))
        if args.out:
            args.out.write_text(json.dumps(results, indent=1) + "\n")
    if results:
        print_tables(results)
    sample = [t for t in dict.fromkeys(texts[:len(data)]) if t][-args.speed_texts:]
    saved = [saved_model(path, hc, benign, sample, args.speed_only) for path in args.models]
    if saved and args.speed_only:
        print("\nSaved models, texts/s end to end (embedding uncached, in the order given):")
        for r in saved:
            print(f"  {r['candidate']}: {r['texts_per_second']}")
    elif saved:
        print("\nSaved models: HateCheck ROC-AUC, STS-B false alarms, texts/s (2,000 uncached "
              "texts from the sets, embedding included):")
        print(pd.DataFrame({r["candidate"]: {**{f"HateCheck {k}": v for k, v in
                                                r["hatecheck"].items()},
                                             "HateCheck hateful flagged at the cut":
                                                 r["hateful_flagged"],
                                             "HateCheck non-hateful right at the cut":
                                                 r["non_hateful_right"],
                                             "benign flagged": r["benign_flagged"],
                                             "texts/s": r["texts_per_second"]}
                            for r in saved}).to_string())
        print("\nSaved models, HateCheck share right at the cut per functionality:")
        print(pd.DataFrame({r["candidate"]: r["hatecheck_functionality"] for r in saved})
              .to_string())
        if args.out:
            args.out.write_text(json.dumps(results + saved, indent=1) + "\n")


def print_tables(results: list[dict]) -> None:
    langs = list(results[0]["language"])
    rows = {r["candidate"]: {lg: r["language"][lg]["offensive"] for lg in langs} for r in results}
    print("\nCV ROC-AUC, offensive head, per language (out of fold; sets not trained on "
          "count as unseen):")
    print(pd.DataFrame(rows).to_string())
    rows = {r["candidate"]: {lg: r["language"][lg]["attack"] for lg in langs} for r in results}
    print("\nCV ROC-AUC, identity-attack head, per language (where sets have the label):")
    print(pd.DataFrame(rows).to_string())
    rows = {r["candidate"]: {f"{lg} {h}": v[h] for lg, v in r["language_fold0"].items()
                             for h in ("offensive", "attack")} for r in results}
    print("\nROC-AUC on fold 0 only (every candidate scored there; a candidate@0 ran fold 0 only):")
    print(pd.DataFrame(rows).to_string())
    rows = {r["candidate"]: {k: v["offensive"] for k, v in r["set"].items()} for r in results}
    print("\nCV ROC-AUC, offensive head, per set:")
    print(pd.DataFrame(rows).to_string())
    rows = {r["candidate"]: {**{f"HateCheck {k}": v for k, v in r["hatecheck"].items()},
                             "benign flagged": r["benign_flagged"]} for r in results}
    print("\nHateCheck ROC-AUC (fold models averaged) and STS-B false alarms at the cut:")
    print(pd.DataFrame(rows).to_string())
    rows = {r["candidate"]: r["hatecheck_functionality"] for r in results}
    print("\nHateCheck, share the flag gets right at the cut, per functionality:")
    print(pd.DataFrame(rows).to_string())


if __name__ == "__main__":
    main()
