"""The labelled text sets ``followback train-toxicity`` reads, with their licences.

Every set is read in place from the shared text benchmarks (``../shared/data/text-benchmarks``;
``more-training/`` holds 18 public sets, see its README; 11 languages in all) and mapped onto the
model's two targets:

- ``label``: offensive, toxic or hateful (the ``toxicity`` head);
- ``attack``: hateful or degrading towards a group or a social identity (the
  ``identity_attack`` head); NaN where a set does not say (that head then skips the row).

A ``label`` of NaN marks a text whose annotators did not agree on either side (e.g. MLMA's
``offensive_normal``): it trains neither head.

Only sets whose licence lets a model trained on them ship under the project's MIT licence
(:attr:`TextSet.shippable`: MIT, CC BY, or the research data the shipped model was first
trained on) train ``models/toxicity.skops``; the others (non-commercial, share-alike, copyleft,
or no licence stated) serve to measure, and a person may train their own model on them
(``train-toxicity --sets all``).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.console import FollowbackError

MORE = Path("more-training")


@dataclass(frozen=True)
class TextFile:
    """One labelled file: ``read(path)`` gives ``text, label, attack, language``."""

    set: str
    path: Path
    read: Callable[[Path], pd.DataFrame]


@dataclass(frozen=True)
class TextSet:
    name: str
    languages: str
    licence: str
    shippable: bool
    labels: str  # how the set's labels map onto label / attack


def _frame(text, label, attack, language) -> pd.DataFrame:
    n = len(text)
    out = pd.DataFrame({
        "text": pd.Series(text, dtype=object).fillna("").astype(str).to_numpy(),
        "label": np.broadcast_to(np.asarray(label, dtype=float), n).copy(),
        "attack": np.broadcast_to(np.asarray(attack, dtype=float), n).copy(),
        "language": np.broadcast_to(np.asarray(language, dtype=object), n).copy(),
    })
    return out[out["text"].str.strip() != ""].reset_index(drop=True)


def _need(frame: pd.DataFrame, path: Path, columns: set[str]) -> None:
    if not columns <= set(frame.columns):
        raise FollowbackError(f"{path}: expected columns {sorted(columns)}, got "
                              f"{list(frame.columns)}")


def _check(values: pd.Series, allowed: set, path: Path, what: str) -> None:
    bad = ~values.isin(allowed)
    if bad.any():
        raise FollowbackError(f"{path}, record {int(np.flatnonzero(bad)[0]) + 1}: {what} must "
                              f"be one of {sorted(map(str, allowed))}, got "
                              f"{values[bad].iloc[0]!r}")


def _tsv(path: Path, header: bool = True) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str,
                       keep_default_na=False, header=0 if header else None,
                       on_bad_lines="skip", engine="python")


# --- the two sets the model was first trained on --------------------------------------------

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


def read_germeval(path: Path, language: str = "de") -> pd.DataFrame:
    """GermEval 2018/2019 (sub-tasks 1 and 2): ``text, OFFENSE|OTHER, fine`` without header;
    ``attack`` is the fine label ABUSE (degrading a person for belonging to a group)."""
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
                         "attack": int(fields[2] == "ABUSE"), "language": language})
    return pd.DataFrame(rows)


# --- more-training/ -------------------------------------------------------------------------

_ENTITY = re.compile(r"&#(\d+);")


def read_davidson(path: Path) -> pd.DataFrame:
    """class 0 hate speech (offensive and an attack), 1 offensive, 2 neither."""
    frame = pd.read_csv(path, dtype={"tweet": str})
    _need(frame, path, {"tweet", "class"})
    _check(frame["class"], {0, 1, 2}, path, "class")
    text = frame["tweet"].str.replace("&amp;", "&").str.replace("&lt;", "<").str.replace(
        "&gt;", ">").str.replace(_ENTITY, lambda m: chr(int(m.group(1))), regex=True)
    c = frame["class"].to_numpy()
    return _frame(text, c <= 1, c == 0, "en")


def read_ethos(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=";", dtype={"comment": str})
    _need(frame, path, {"comment", "isHate"})
    hate = frame["isHate"].astype(float).to_numpy() >= 0.5
    return _frame(frame["comment"], hate, hate, "en")


def read_hasoc(path: Path, language: str) -> pd.DataFrame:
    """HASOC 2019/2020 (.tsv, .csv or .xlsx): task 1 HOF (hate, offensive or profane) and task 2
    HATE (an attack)."""
    if path.suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=str).fillna("")
    elif path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        frame = _tsv(path)
    frame = frame.rename(columns={"task1": "task_1", "task2": "task_2"})
    _need(frame, path, {"text", "task_1", "task_2"})
    frame["task_1"] = frame["task_1"].str.strip()
    _check(frame["task_1"], {"HOF", "NOT"}, path, "task 1")
    return _frame(frame["text"], frame["task_1"] == "HOF",
                  frame["task_2"].str.strip() == "HATE", language)


def read_offenseval(path: Path, language: str) -> pd.DataFrame:
    """OffensEval 2020 (ar, da, el, tr): subtask_a OFF/NOT; no target labels. Rows that are not
    tab-separated (the Danish file's last line) are skipped."""
    frame = _tsv(path)
    _need(frame, path, {"tweet", "subtask_a"})
    frame = frame[frame["subtask_a"].isin(["OFF", "NOT"])]
    return _frame(frame["tweet"].str.replace("<LF>", " "), frame["subtask_a"] == "OFF",
                  np.nan, language)


def read_hateval(path: Path, language: str) -> pd.DataFrame:
    """HatEval 2019: HS, hate against immigrants or women (both targets)."""
    frame = _tsv(path)
    _need(frame, path, {"text", "HS"})
    _check(frame["HS"], {"0", "1"}, path, "HS")
    hs = frame["HS"] == "1"
    return _frame(frame["text"], hs, hs, language)


def read_trac(path: Path) -> pd.DataFrame:
    """TRAC-1: overtly aggressive (OAG) against not aggressive (NAG); covertly aggressive (CAG)
    trains neither head."""
    frame = pd.read_csv(path, header=None, names=["id", "text", "agg"], dtype=str,
                        keep_default_na=False)
    frame["agg"] = frame["agg"].str.strip()
    _check(frame["agg"], {"OAG", "CAG", "NAG"}, path, "aggression")
    label = np.where(frame["agg"] == "OAG", 1.0, np.where(frame["agg"] == "NAG", 0.0, np.nan))
    return _frame(frame["text"], label, np.nan, "en")


def read_mlma(path: Path) -> pd.DataFrame:
    """MLMA 2019 (en, fr, ar in one zip): ``normal`` is not offensive; any hostility alone is;
    a mix with ``normal`` (annotators disagreed) trains neither head; ``hateful`` is an
    attack (every MLMA tweet is about a group)."""
    parts = []
    with zipfile.ZipFile(path) as zf:
        for lang in ("en", "fr", "ar"):
            frame = pd.read_csv(zf.open(f"hate_speech_mlma/{lang}_dataset.csv"), dtype=str,
                                keep_default_na=False)
            _need(frame, path, {"tweet", "sentiment"})
            kinds = frame["sentiment"].str.split("_")
            normal = kinds.map(lambda k: "normal" in k)
            only_normal = kinds.map(lambda k: k == ["normal"])
            label = np.where(only_normal, 0.0, np.where(normal, np.nan, 1.0))
            hateful = kinds.map(lambda k: "hateful" in k).to_numpy()
            attack = np.where(np.isnan(label), np.nan, np.where(label == 1, 1.0 * hateful, 0.0))
            parts.append(_frame(frame["tweet"], label, attack, lang))
    return pd.concat(parts, ignore_index=True)


def read_told_br(path: Path) -> pd.DataFrame:
    """ToLD-Br: per category, how many of 3 annotators flagged it; toxic where at least 2
    agree on any category, an attack where 2 agree on homophobia, racism, misogyny or
    xenophobia."""
    frame = pd.read_csv(path, keep_default_na=False)
    cats = ["homophobia", "obscene", "insult", "racism", "misogyny", "xenophobia"]
    _need(frame, path, {"text", *cats})
    votes = frame[cats].astype(float)
    identity = votes[["homophobia", "racism", "misogyny", "xenophobia"]].max(axis=1) >= 2
    return _frame(frame["text"], votes.max(axis=1) >= 2, identity, "pt")


def read_arff(path: Path) -> pd.DataFrame:
    """OffComBR: Weka ARFF, ``yes|no,'text'`` after ``@data``."""
    rows, data = [], False
    with open(path, encoding="utf-8", newline="") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not data:
                data = line.lower() == "@data"
                continue
            if not line:
                continue
            label, _, text = line.partition(",")
            if label not in ("yes", "no"):
                raise FollowbackError(f"{path}, line {n}: expected yes|no,'text', got {line!r}")
            rows.append((text.strip().strip("'"), label == "yes"))
    text, label = zip(*rows, strict=True) if rows else ((), ())
    return _frame(list(text), list(label), np.nan, "pt")


def read_fortuna(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"text": str})
    _need(frame, path, {"text", "hatespeech_comb"})
    hate = frame["hatespeech_comb"].astype(int).to_numpy() == 1
    return _frame(frame["text"], hate, hate, "pt")


def read_germeval2021(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"comment_text": str})
    _need(frame, path, {"comment_text", "Sub1_Toxic"})
    return _frame(frame["comment_text"], frame["Sub1_Toxic"].astype(int) == 1, np.nan, "de")


def read_ross(path: Path) -> pd.DataFrame:
    """Ross et al. 2016: hate speech where both experts say YES, not where both say NO."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    e1, e2 = frame.columns[1], frame.columns[2]
    yes = (frame[e1] == "YES") & (frame[e2] == "YES")
    no = (frame[e1] == "NO") & (frame[e2] == "NO")
    label = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
    return _frame(frame[frame.columns[0]], label, label, "de")


def read_germs(path: Path) -> pd.DataFrame:
    """GerMS 2024 (sexism and misogyny): the binary majority of the annotators (training file)
    or the organisers' ``bin_maj`` target (test file with the targets file beside it)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    if records and "annotations" in records[0]:
        label = [np.mean([a["label"] != "0-Kein" for a in r["annotations"]]) > 0.5
                 for r in records]
    else:
        targets_path = path.with_name("germeval-competition-targets.json.gz")
        with gzip.open(targets_path, "rt", encoding="utf-8") as fh:
            targets = {t["id"]: t["bin_maj"] == "1" for t in json.load(fh)}
        label = [targets[r["id"]] for r in records]
    return _frame([r["text"] for r in records], label, label, "de")


def read_haspeede(path: Path) -> pd.DataFrame:
    frame = _tsv(path, header=False)
    if frame.shape[1] != 3:
        raise FollowbackError(f"{path}: expected id, text, 0|1 separated by tabs")
    frame.columns = ["id", "text", "hs"]
    frame["hs"] = frame["hs"].str.strip()
    _check(frame["hs"], {"0", "1"}, path, "hs")
    hs = frame["hs"] == "1"
    return _frame(frame["text"], hs, hs, "it")


def read_guest(path: Path) -> pd.DataFrame:
    """Guest et al. 2021 (Reddit): misogynistic is an attack and offensive; a personal attack
    that is not misogynistic is offensive only; counter-speech and the rest are neither."""
    frame = pd.read_csv(path, dtype={"body": str})
    _need(frame, path, {"body", "level_1", "level_2"})
    miso = frame["level_1"] == "Misogynistic"
    offensive = miso | (frame["level_2"] == "Nonmisogynistic_personal_attack")
    return _frame(frame["body"], offensive, miso, "en")


def read_stormfront(path: Path) -> pd.DataFrame:
    """de Gibert et al. 2018: ``hate`` / ``noHate`` sentences (``relation`` and ``idk/skip``
    need context and are left out); the text of each is in ``all_files/<file_id>.txt``."""
    meta = pd.read_csv(path, dtype=str)
    _need(meta, path, {"file_id", "label"})
    meta = meta[meta["label"].isin(["hate", "noHate"])]
    folder = path.parent / "all_files"
    text = [(folder / f"{fid}.txt").read_text(encoding="utf-8") for fid in meta["file_id"]]
    hate = (meta["label"] == "hate").to_numpy()
    return _frame(text, hate, hate, "en")


def read_hatecheck(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    return pd.DataFrame({"text": frame["test_case"].str.strip(),
                         "label": (frame["label_gold"] == "hateful").astype(int),
                         "functionality": frame["functionality"]})


def _lang(reader, language: str):
    return lambda path: reader(path, language)


SETS: dict[str, TextSet] = {s.name: s for s in (
    TextSet("olid2019", "en", "research data (no licence file; cite Zampieri et al. 2019)",
            True, "subtask_a OFF; attack: TIN and GRP"),
    TextSet("germeval2018", "de", "CC BY 4.0", True, "OFFENSE; attack: ABUSE"),
    TextSet("davidson2017", "en", "MIT", True, "hate or offensive; attack: hate"),
    TextSet("mlma2019", "en fr ar", "MIT", True,
            "any hostility without 'normal'; attack: hateful"),
    TextSet("guest2021-misogyny", "en", "MIT", True,
            "misogynistic or a personal attack; attack: misogynistic"),
    TextSet("ethos", "en", "GPL-3.0", False, "isHate >= 0.5 (both)"),
    TextSet("germeval2019-task2", "de", "none stated", False, "OFFENSE; attack: ABUSE"),
    TextSet("hasoc2019", "en de hi", "none stated", False, "HOF; attack: HATE"),
    TextSet("hasoc2020", "en de hi", "none stated", False, "HOF; attack: HATE"),
    TextSet("offenseval2020", "ar da el tr", "none stated", False, "OFF; no attack label"),
    TextSet("hateval2019", "en es", "CC BY-NC 4.0", False, "HS (both)"),
    TextSet("trac1-en", "en", "CC BY-NC-SA 4.0", False, "OAG vs NAG; no attack label"),
    TextSet("told-br", "pt", "CC BY-SA 4.0", False,
            "2 of 3 annotators on any category; attack: on an identity category"),
    TextSet("offcombr", "pt", "none stated", False, "yes; no attack label"),
    TextSet("fortuna2019-pt", "pt", "none stated (research only)", False,
            "hatespeech_comb (both)"),
    TextSet("germeval2021", "de", "none stated", False, "Sub1_Toxic; no attack label"),
    TextSet("ross2016-refugees-de", "de", "CC BY-SA 3.0", False, "both experts agree (both)"),
    TextSet("germeval2024-germs", "de", "CC BY-NC-SA 4.0", False,
            "sexism by annotator majority (both)"),
    TextSet("haspeede2018", "it", "CC BY-NC-SA 4.0", False, "hs (both)"),
    TextSet("stormfront2018", "en", "CC BY-SA 3.0 ES", False, "hate vs noHate (both)"),
)}

OLID = Path("olid-2019/olid-training-v1.0.tsv")
GERMEVAL = Path("germeval-2018/germeval2018.training.txt")

FILES: tuple[TextFile, ...] = (
    TextFile("olid2019", OLID, read_olid),
    TextFile("germeval2018", GERMEVAL, read_germeval),
    TextFile("davidson2017", MORE / "davidson2017/labeled_data.csv", read_davidson),
    TextFile("mlma2019", MORE / "mlma2019/hate_speech_mlma.zip", read_mlma),
    TextFile("guest2021-misogyny", MORE / "guest2021-misogyny/final_labels.csv", read_guest),
    TextFile("ethos", MORE / "ethos/Ethos_Dataset_Binary.csv", read_ethos),
    *(TextFile("germeval2019-task2", MORE / "germeval2019-task2" / f, read_germeval)
      for f in ("germeval2019.training_subtask1_2_korrigiert.txt",
                "germeval2019GoldLabelsSubtask1_2.txt")),
    *(TextFile("hasoc2019", MORE / "hasoc2019" / f, _lang(read_hasoc, lang)) for f, lang in (
        ("english_dataset.tsv", "en"), ("hasoc2019_en_test-2919.tsv", "en"),
        ("german_dataset.tsv", "de"), ("hasoc_de_test_gold.tsv", "de"),
        ("hindi_dataset.tsv", "hi"), ("hasoc2019_hi_test_gold_2919.tsv", "hi"))),
    *(TextFile("hasoc2020", MORE / "hasoc2020" / f, _lang(read_hasoc, lang)) for f, lang in (
        ("hasoc_2020_en_train_new_a.xlsx", "en"), ("english_test_1509.csv", "en"),
        ("hasoc_2020_de_train_new_a.xlsx", "de"), ("german_test_1509.csv", "de"),
        ("hasoc_2020_hi_train_a.xlsx", "hi"), ("hindi_test_1509.csv", "hi"))),
    *(TextFile("offenseval2020", MORE / "offenseval2020" / f, _lang(read_offenseval, lang))
      for f, lang in (("offenseval-ar-training-v1.tsv", "ar"), ("offenseval-ar-dev-v1.tsv", "ar"),
                      ("offenseval-da-training-v1.tsv", "da"),
                      ("offenseval-greek-training-v1.tsv", "el"),
                      ("offenseval-tr-training-v1.tsv", "tr"))),
    *(TextFile("hateval2019", MORE / "hateval2019" / f, _lang(read_hateval, lang))
      for f, lang in (("train_en.tsv", "en"), ("dev_en.tsv", "en"), ("train_es.tsv", "es"),
                      ("dev_es.tsv", "es"))),
    *(TextFile("trac1-en", MORE / "trac1-en" / f, read_trac)
      for f in ("agr_en_train.csv", "agr_en_dev.csv", "agr_en_fb_gold.csv",
                "agr_en_tw_gold.csv")),
    TextFile("told-br", MORE / "told-br/ToLD-BR.csv", read_told_br),
    # OffComBR3 is the unanimous subset of OffComBR2's texts: reading both would count them twice.
    TextFile("offcombr", MORE / "offcombr/OffComBR2.arff", read_arff),
    TextFile("fortuna2019-pt", MORE / "fortuna2019-pt/"
             "2019-05-28_portuguese_hate_speech_binary_classification.csv", read_fortuna),
    *(TextFile("germeval2021", MORE / "germeval2021" / f, read_germeval2021)
      for f in ("GermEval21_TrainData.csv", "GermEval21_TestData.csv")),
    TextFile("ross2016-refugees-de", MORE / "ross2016-refugees-de/german hatespeech refugees.csv",
             read_ross),
    *(TextFile("germeval2024-germs", MORE / "germeval2024-germs" / f, read_germs)
      for f in ("germeval-competition-traindev.jsonl.gz", "germeval-competition-test.jsonl.gz")),
    *(TextFile("haspeede2018", MORE / "haspeede2018" / f, read_haspeede)
      for f in ("haspeede_FB-train.tsv", "haspeede_TW-train.tsv")),
    TextFile("stormfront2018", MORE / "stormfront2018/annotations_metadata.csv", read_stormfront),
)

SHIPPABLE = tuple(name for name, s in SETS.items() if s.shippable)


# The sets the shipped model is trained on, the default of ``train-toxicity``: adding the other
# shippable sets lowered OLID, GermEval and HateCheck in grouped cross-validation
# (bench/toxicity_sets.py, docs/results/toxicity.md), so the recipe stays these two.
SHIPPED = ("olid2019", "germeval2018")


def select_sets(spec: str) -> list[str]:
    """``"shipped"`` (the default of ``train-toxicity``: the shipped model's sets),
    ``"shippable"`` (every set whose licence lets a model ship under MIT), ``"all"``, or set
    names separated by commas."""
    spec = spec.strip()
    if spec == "shipped":
        return list(SHIPPED)
    if spec == "shippable":
        return list(SHIPPABLE)
    if spec == "all":
        return list(SETS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown or not names:
        raise FollowbackError(f"unknown text set(s) {unknown or spec!r}: choose 'shipped', "
                              f"'shippable', 'all' or names among {', '.join(SETS)}")
    return names


_MASKED = re.compile(r"@\w+|https?://\S+|\bURL\b|\bUSER\b", re.IGNORECASE)
_NON_WORD = re.compile(r"[\W_]+")


def near_duplicate_key(text: str) -> str:
    """What two copies of a text share: lower case, without mentions, links and non-word
    characters (the rule the shared README's overlap check used). Cross-validation keeps
    texts with one key in one fold."""
    return _NON_WORD.sub(" ", _MASKED.sub(" ", str(text)).lower()).strip()


def read_sets(data_dir: str | Path, names: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """The texts of the named sets (``text, label, attack, language, source, file, group``)
    and, per file read, its path and row count."""
    data_dir = Path(data_dir)
    parts, files = [], []
    for f in FILES:
        if f.set not in names:
            continue
        path = data_dir / f.path
        if not path.is_file():
            raise FollowbackError(f"{f.set} data not found at {path}: train-toxicity reads the "
                                  "text-benchmarks folder beside the repository (or --data)")
        frame = f.read(path)
        frame["source"] = f.set
        frame["file"] = str(f.path)
        parts.append(frame)
        files.append({"set": f.set, "path": path, "rows": int(len(frame))})
    data = pd.concat(parts, ignore_index=True)
    data["label"] = data["label"].astype(float)
    data["attack"] = data["attack"].astype(float)
    data["group"] = data["text"].map(near_duplicate_key)
    return data, files


def grouped_folds(data: pd.DataFrame, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k-1) of each row: every near-duplicate group (``data["group"]``) in one
    fold, groups spread over the folds stratified by set and label (of the group's first
    row). Much faster than ``StratifiedGroupKFold`` on 200,000 rows, and as leak-free."""
    from sklearn.model_selection import StratifiedKFold

    codes, uniques = pd.factorize(data["group"])
    strata = (data["source"] + ":" + data["label"].fillna(-1).astype(int).astype(str)).to_numpy()
    first = np.unique(codes, return_index=True)[1]
    group_strata = strata[first]
    # StratifiedKFold needs k members per stratum: rare strata share one bucket.
    values, counts = np.unique(group_strata, return_counts=True)
    rare = set(values[counts < k])
    group_strata = np.array(["rare" if s in rare else s for s in group_strata], dtype=object)
    group_fold = np.empty(len(uniques), dtype=int)
    skf = StratifiedKFold(k, shuffle=True, random_state=seed)
    for i, (_, te) in enumerate(skf.split(np.zeros(len(uniques)), group_strata)):
        group_fold[te] = i
    return group_fold[codes]
