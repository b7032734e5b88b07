"""Toxicity: "your posts look offensive", with Detoxify offline and the profanity-check fallback."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer

from pipeline.features.toxicity import BackendUnavailable, Toxicity, load_detoxify

CORE = ["toxicity_max", "toxicity_mean", "toxicity_share", "toxicity_no_texts"]
FRIENDLY = ["What a gorgeous loaf, thanks for sharing the recipe!",
            "Lovely ride today, hope the weather holds for the weekend.",
            "Your tomatoes look amazing, congrats on the harvest."]
OFFENSIVE = ["Shut up you stupid idiot, nobody cares about your crap.",
             "You are a pathetic f***ing moron, go to hell.",
             "What a dumb piece of shit post, kill yourself."]


def _posts(make_accounts):
    return make_accounts([
        {"posts": FRIENDLY},                                              # 0
        {"posts": OFFENSIVE},                                             # 1
        {"posts": FRIENDLY[:2] + [(OFFENSIVE[0], "like")]},               # 2 likes abuse
        {"posts": []},                                                    # 3
        {"is_private": True},                                             # 4
    ])["posts"]


@pytest.mark.slow
def test_offensive_posts_score_higher_than_friendly_ones(profanity_model, make_accounts):
    X = _posts(make_accounts)
    est = Toxicity(backend="profanity-check", show_progress=False)
    out = pd.DataFrame(est.fit_transform(X), columns=est.get_feature_names_out())
    assert list(out.columns) == CORE
    assert out.loc[1, "toxicity_max"] > 0.8 and out.loc[0, "toxicity_max"] < 0.3
    assert out.loc[1, "toxicity_mean"] > out.loc[0, "toxicity_mean"] + 0.5
    assert out.loc[1, "toxicity_share"] == 1.0 and out.loc[0, "toxicity_share"] == 0.0
    # A liked insult counts: liking abuse says something too.
    assert out.loc[2, "toxicity_max"] > 0.8 and out.loc[2, "toxicity_share"] == pytest.approx(1 / 3)


@pytest.mark.slow
def test_no_texts_gives_zeros_and_the_indicator(profanity_model, make_accounts):
    out = Toxicity(backend="profanity-check", show_progress=False).fit_transform(
        _posts(make_accounts))
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[3], [0, 0, 0, 1])
    np.testing.assert_array_equal(out[4], [0, 0, 0, 1])
    assert (out[:3, 3] == 0).all()


@pytest.mark.slow
def test_auto_falls_back_with_a_warning_when_detoxify_cannot_load(profanity_model,
                                                                   make_accounts, caplog,
                                                                   monkeypatch):
    import pipeline.features.toxicity as toxicity

    monkeypatch.setattr(toxicity, "_WARNED", set())
    # No trained model either (the shipped one is tested in test_train_toxicity.py).
    est = Toxicity(backend="auto", model_type="original", model_path=None, show_progress=False)
    with caplog.at_level(logging.INFO, logger="pipeline.features.toxicity"):
        est.fit(_posts(make_accounts))
        clone(est).fit(_posts(make_accounts))  # as in cross-validation: warned once only
    levels = [r.levelno for r in caplog.records if "Detoxify could not be loaded" in r.message]
    assert levels == [logging.WARNING, logging.INFO]
    assert est.backend_kind_ == "profanity-check"
    assert est.backend_.startswith("profanity-check ")
    assert "needs internet" in est.fallback_reason_
    assert "no trained toxicity model" in est.fallback_reason_
    assert "Detoxify could not be loaded" in caplog.text and "profanity-check" in caplog.text
    assert list(est.get_feature_names_out()) == CORE
    ev = est.evidence(_posts(make_accounts))
    assert (ev["backend"] == est.backend_).all()


def test_detoxify_backend_explains_what_is_missing(tmp_path):
    with pytest.raises(BackendUnavailable, match="features.toxicity.checkpoint"):
        Toxicity(backend="detoxify", model_type="original").fit(pd.Series([[]]))
    with pytest.raises(BackendUnavailable, match="not found"):
        Toxicity(backend="detoxify", checkpoint=str(tmp_path / "missing.ckpt")).fit(
            pd.Series([[]]))
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(BackendUnavailable, match="junk.ckpt"):
        Toxicity(backend="detoxify", checkpoint=str(tmp_path / "junk.ckpt")).fit(pd.Series([[]]))


@pytest.mark.slow
def test_detoxify_without_base_model_dir_explains_the_hub_lookup(tiny_detoxify):
    with pytest.raises(BackendUnavailable, match="base_model_dir"):
        Toxicity(backend="detoxify", checkpoint=str(tiny_detoxify.checkpoint)).fit(
            pd.Series([[]]))


@pytest.mark.slow
def test_tiny_checkpoint_loads_through_detoxify_offline(tiny_detoxify, make_accounts):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    est = Toxicity(backend="detoxify", checkpoint=str(tiny_detoxify.checkpoint),
                   base_model_dir=str(tiny_detoxify.base_model_dir), batch_size=2,
                   show_progress=False)
    X = make_accounts([
        {"posts": ["lovely bread thanks friend", "great ride today friend"]},
        {"posts": ["you are a stupid idiot", ("shut up you moron", "like")]},
        {"posts": []},
    ])["posts"]
    out = pd.DataFrame(est.fit_transform(X), columns=est.get_feature_names_out())
    assert est.backend_kind_ == "detoxify"
    assert est.backend_ == f"detoxify:original:{tiny_detoxify.checkpoint.resolve()}"
    assert est.fallback_reason_ is None
    # Detoxify's class names, renamed as Detoxify renames them; the main label first.
    assert est.labels_ == ["toxicity", "severe_toxicity", "obscene", "threat", "insult",
                           "identity_attack"]
    assert list(out.columns) == CORE + [f"{lab}_{stat}" for lab in est.labels_[1:]
                                        for stat in ("max", "mean")]
    # The trained weights were loaded, not a fresh random head: the toy model separates.
    assert out.loc[1, "toxicity_max"] > 0.8 and out.loc[0, "toxicity_max"] < 0.2
    assert out.loc[1, "insult_max"] > 0.8 and out.loc[1, "identity_attack_max"] < 0.2
    np.testing.assert_array_equal(out.loc[2].to_numpy(),
                                  [0, 0, 0, 1] + [0] * 10)

    # Same numbers as running the checkpoint's weights through transformers directly.
    ckpt = torch.load(tiny_detoxify.checkpoint, weights_only=False)
    config = BertConfig.from_pretrained(tiny_detoxify.base_model_dir, num_labels=6)
    ref = BertForSequenceClassification(config)
    ref.load_state_dict(ckpt["state_dict"])
    ref.eval()
    tok = BertTokenizer.from_pretrained(tiny_detoxify.base_model_dir)
    with torch.no_grad():
        probs = torch.sigmoid(ref(**tok(["you are a stupid idiot", "shut up you moron"],
                                        return_tensors="pt", padding=True)).logits).numpy()
    assert out.loc[1, "toxicity_max"] == pytest.approx(probs[:, 0].max(), abs=1e-5)
    assert out.loc[1, "insult_mean"] == pytest.approx(probs[:, 4].mean(), abs=1e-5)


@pytest.mark.slow
def test_detoxify_model_loads_once_per_process(tiny_detoxify):
    args = ("original", str(tiny_detoxify.checkpoint), str(tiny_detoxify.base_model_dir), "cpu")
    assert load_detoxify(*args) is load_detoxify(*args)


@pytest.mark.slow
def test_fitted_backend_is_kept_after_pickling(tiny_detoxify, make_accounts):
    X = make_accounts([{"posts": ["you are a stupid idiot"]}])["posts"]
    est = Toxicity(checkpoint=str(tiny_detoxify.checkpoint),
                   base_model_dir=str(tiny_detoxify.base_model_dir), show_progress=False).fit(X)
    assert est.backend_kind_ == "detoxify"  # auto picks Detoxify when it loads
    blob = pickle.dumps(est)
    assert b"BertForSequenceClassification" not in blob and len(blob) < 10_000
    again = pickle.loads(blob)
    np.testing.assert_allclose(again.transform(X), est.transform(X))
    # A model fitted on Detoxify's scores is never silently fed another backend's.
    again.set_params(base_model_dir=None)
    with pytest.raises(BackendUnavailable, match="fitted with detoxify"):
        again.transform(X)


@pytest.mark.slow
def test_rerun_computes_nothing_new(profanity_model, make_accounts, tmp_path):
    X = _posts(make_accounts)
    first = Toxicity(backend="profanity-check", cache_dir=tmp_path, show_progress=False)
    a = first.fit_transform(X)
    assert first.cache_stats() == {"hits": 0, "misses": 6, "computed": 6}
    second = Toxicity(backend="profanity-check", cache_dir=tmp_path, show_progress=False)
    b = second.fit_transform(X)
    assert second.cache_stats() == {"hits": 6, "misses": 0, "computed": 0}
    np.testing.assert_allclose(a, b, atol=1e-7)


@pytest.mark.slow
def test_backends_do_not_share_cached_scores(tiny_detoxify, profanity_model, make_accounts,
                                             tmp_path):
    X = make_accounts([{"posts": ["you are a stupid idiot"]}])["posts"]
    Toxicity(backend="profanity-check", cache_dir=tmp_path, show_progress=False).fit_transform(X)
    det = Toxicity(backend="detoxify", checkpoint=str(tiny_detoxify.checkpoint),
                   base_model_dir=str(tiny_detoxify.base_model_dir), cache_dir=tmp_path,
                   show_progress=False)
    det.fit_transform(X)
    assert det.cache_stats()["hits"] == 0 and det.cache_stats()["computed"] == 1


@pytest.mark.slow
def test_evidence_shows_the_most_toxic_post(profanity_model, make_accounts):
    X = _posts(make_accounts)
    est = Toxicity(backend="profanity-check", show_progress=False).fit(X)
    ev = est.evidence(X)
    assert ev.loc[2, "most_toxic_text"] == OFFENSIVE[0]
    assert ev.loc[2, "most_toxic_kind"] == "like"
    assert ev.loc[2, "most_toxic_date"].startswith("2024-04-29")
    assert ev.loc[2, "n_texts"] == 3 and ev.loc[2, "n_toxic"] == 1
    assert ev.loc[3, "n_texts"] == 0 and pd.isna(ev.loc[3, "most_toxic_text"])
    assert ev.loc[1, "max_score"] == pytest.approx(est.transform(X)[1, 0])


@pytest.mark.slow
def test_sklearn_conventions(profanity_model, make_accounts):
    X = _posts(make_accounts)
    est = Toxicity(backend="profanity-check", show_progress=False)
    assert clone(est).get_params() == est.get_params()
    est.set_params(threshold=0.9)
    fitted = est.fit(X)
    np.testing.assert_array_equal(clone(est).fit_transform(X), fitted.transform(X))
    assert fitted.transform(X).shape[1] == len(fitted.get_feature_names_out())
    blob = pickle.dumps(fitted)
    assert len(blob) < 5_000
    np.testing.assert_array_equal(pickle.loads(blob).transform(X), fitted.transform(X))
    frame = make_accounts([{"posts": FRIENDLY}, {"posts": []}])
    for spec in ("posts", ["posts"]):
        ct = ColumnTransformer([("toxicity", Toxicity(backend="profanity-check",
                                                      show_progress=False), spec)])
        out = ct.set_output(transform="pandas").fit_transform(frame)
        assert list(out.columns) == [f"toxicity__{c}" for c in CORE]


@pytest.mark.parametrize(
    ("params", "match"),
    [({"backend": "perspective"}, "backend"), ({"threshold": 2.0}, "threshold"),
     ({"batch_size": 0}, "batch_size")],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(ValueError, match=match):
        Toxicity(**params).fit(pd.Series([[]]))


def test_flag_score_takes_the_identity_attack_score_where_the_backend_has_one():
    from pipeline.features.toxicity import flag_score

    one = pd.DataFrame({"toxicity__toxicity_max": [0.2, 0.9, np.nan]})
    pd.testing.assert_series_equal(flag_score(one), one["toxicity__toxicity_max"],
                                   check_names=False)
    two = one.assign(**{"toxicity__identity_attack_max": [0.8, 0.1, 0.7]})
    got = flag_score(two)
    assert got[0] == 0.8 and got[1] == 0.9 and np.isnan(got[2])  # no texts stays unknown
