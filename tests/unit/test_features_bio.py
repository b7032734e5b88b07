"""BioEmbedding: "your bio doesn't say who you are"."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer

from pipeline.features.bio import BioEmbedding, bio_says_something, bio_status
from pipeline.features.embedding import TextEmbedder

BIOS = pd.Series(
    [
        "Home baker in Berlin. Sourdough, rye and far too much flour.",
        None,
        "   ",
        "🍞🚲🌱 #sourdough @maya.bakes linktr.ee/maya",
        "Crypto trader | NFTs | DM for signals",
        "Radfahrerin und Gärtnerin aus Leipzig",
    ],
    index=[10, 11, 12, 13, 14, 15],
    name="bio",
    dtype="string",
)


@pytest.mark.parametrize(
    ("bio", "says"),
    [
        ("Home baker in Berlin", True),
        ("🍞🍞🍞", False),
        ("https://example.com/me", False),
        ("linktr.ee/maya bit.ly/x", False),
        ("#sourdough #bread #cycling", False),
        ("@bakery @other.account", False),
        ("🍞 #sourdough baker", True),
        ("he/him", True),
        ("パン職人", True),
        ("Пеку хлеб", True),
        ("12345 !!! ...", False),
        ("", False),
        (None, False),
    ],
)
def test_says_something(bio, says):
    assert bio_says_something(bio) is says


def test_status_words():
    assert bio_status(None) == "empty"
    assert bio_status("🍞 #bread") == "only emoji/links/hashtags/mentions"
    assert bio_status("I bake bread") == "says something"


@pytest.mark.slow
def test_bio_on_the_persons_topic_is_closer_than_an_unrelated_one(minilm, own_posts):
    bios = pd.Series(["Sourdough baker and weekend bike tourer, growing kale on my balcony",
                      "Crypto trader | NFTs | DM for signals"], name="bio")
    out = BioEmbedding(show_progress=False).fit_transform(bios)
    emb = out[:, 3:]
    assert emb.shape[1] == 512  # the default encoder: multilingual USE v3
    centroid = TextEmbedder(show_progress=False).encode(own_posts).mean(axis=0)
    on_topic, unrelated = emb @ centroid
    assert on_topic > unrelated + 0.15


@pytest.mark.slow
def test_missing_and_blank_bios_get_defined_values(minilm):
    enc = BioEmbedding(n_components=3, show_progress=False)
    out = enc.fit_transform(BIOS)
    assert np.isfinite(out).all()
    names = list(enc.get_feature_names_out())
    frame = pd.DataFrame(out, columns=names, index=BIOS.index)
    assert frame.loc[[11, 12], "bio_present"].eq(0).all()
    assert frame.loc[[11, 12], "bio_length"].eq(0).all()
    assert frame.loc[[11, 12], ["bio_emb_0", "bio_emb_1", "bio_emb_2"]].eq(0).all().all()
    assert frame.loc[10, "bio_present"] == 1 and frame.loc[10, "bio_meaningful"] == 1
    assert frame.loc[13, "bio_present"] == 1 and frame.loc[13, "bio_meaningful"] == 0
    assert frame.loc[10, "bio_length"] == len(BIOS[10])
    # Present bios are spread over the components, not collapsed to zero.
    assert frame.loc[[10, 13, 14, 15], "bio_emb_0"].std() > 0.05


@pytest.mark.slow
def test_pca_width_and_all_dims(minilm):
    full = BioEmbedding(show_progress=False).fit(BIOS)
    assert len(full.get_feature_names_out()) == 3 + 512 and full.pca_ is None  # USE: 512
    reduced = BioEmbedding(n_components=2, show_progress=False).fit(BIOS)
    assert list(reduced.get_feature_names_out()) == [
        "bio_present", "bio_length", "bio_meaningful", "bio_emb_0", "bio_emb_1"]
    assert reduced.pca_.n_components_ == 2


@pytest.mark.slow
def test_fewer_bios_than_components_keeps_the_width(minilm, caplog):
    enc = BioEmbedding(n_components=8, show_progress=False)
    with caplog.at_level(logging.WARNING):
        out = enc.fit_transform(pd.Series(["Sourdough baker", "Bike tourer", None], name="bio"))
    assert out.shape == (3, 3 + 8)
    assert enc.pca_.n_components_ == 1  # two bios span one direction
    assert np.all(out[:, 4:] == 0) and np.any(out[:2, 3] != 0)
    assert "support only 1 of the 8 components" in caplog.text


@pytest.mark.slow
def test_no_bio_at_all(minilm):
    enc = BioEmbedding(n_components=4, show_progress=False)
    out = enc.fit_transform(pd.Series([None, "", pd.NA], name="bio", dtype="object"))
    assert out.shape == (3, 7) and np.all(out == 0)


@pytest.mark.slow
def test_sklearn_conventions(minilm):
    enc = BioEmbedding(n_components=3, show_progress=False)
    assert clone(enc).get_params() == enc.get_params()
    enc.set_params(n_components=2)
    assert enc.n_components == 2
    fitted = enc.fit(BIOS)
    np.testing.assert_allclose(clone(enc).fit_transform(BIOS), fitted.transform(BIOS), atol=1e-6)
    assert fitted.transform(BIOS).shape[1] == len(fitted.get_feature_names_out())


@pytest.mark.slow
def test_pickle_round_trip_without_weights(minilm):
    enc = BioEmbedding(n_components=3, show_progress=False).fit(BIOS)
    before = enc.transform(BIOS)
    blob = pickle.dumps(enc)
    assert b"SentenceTransformer" not in blob and b"BertModel" not in blob
    assert len(blob) < 50_000
    again = pickle.loads(blob)
    assert "_text_embedder" not in again.__dict__
    np.testing.assert_allclose(again.transform(BIOS), before, atol=1e-6)


@pytest.mark.slow
def test_skops_round_trip(minilm):
    import skops.io as sio

    enc = BioEmbedding(n_components=2, show_progress=False).fit(BIOS)
    blob = sio.dumps(enc)
    untrusted = sio.get_untrusted_types(data=blob)
    assert untrusted == ["pipeline.features.bio.BioEmbedding"]
    again = sio.loads(blob, trusted=untrusted)
    np.testing.assert_allclose(again.transform(BIOS), enc.transform(BIOS), atol=1e-6)


@pytest.mark.slow
def test_pandas_output_and_column_transformer(minilm):
    frame = pd.DataFrame({"bio": BIOS, "handle": [f"u{i}" for i in range(len(BIOS))]})
    enc = BioEmbedding(n_components=2, show_progress=False).set_output(transform="pandas")
    out = enc.fit_transform(frame["bio"])
    assert list(out.index) == list(BIOS.index) and out.columns[0] == "bio_present"
    for spec in ("bio", ["bio"]):  # a Series or a one-column DataFrame
        ct = ColumnTransformer([("bio", BioEmbedding(n_components=2, show_progress=False), spec)])
        res = ct.set_output(transform="pandas").fit_transform(frame)
        assert list(res.columns)[:3] == ["bio__bio_present", "bio__bio_length",
                                         "bio__bio_meaningful"]
        assert res.shape == (len(frame), 5) and np.isfinite(res.to_numpy()).all()


@pytest.mark.slow
def test_rerun_hits_the_cache(minilm, tmp_path):
    BioEmbedding(cache_dir=tmp_path, show_progress=False).fit_transform(BIOS)
    again = BioEmbedding(cache_dir=tmp_path, show_progress=False)
    again.fit_transform(BIOS)
    assert again.cache_stats() == {"hits": 4, "misses": 0, "computed": 0}


def test_bad_n_components_is_rejected():
    with pytest.raises(ValueError, match="n_components"):
        BioEmbedding(n_components=0).fit(BIOS)
    with pytest.raises(ValueError, match="batch_size"):
        BioEmbedding(batch_size=0).fit(BIOS)


def test_evidence_reads_text_only():
    ev = BioEmbedding().evidence(BIOS)
    assert list(ev.index) == list(BIOS.index)
    assert ev.loc[11, "bio_status"] == "empty" and ev.loc[12, "bio_status"] == "empty"
    assert ev.loc[13, "bio_status"] == "only emoji/links/hashtags/mentions"
    assert ev.loc[10, "bio_status"] == "says something"


@pytest.mark.slow
def test_evidence_says_how_you_decided_on_the_most_similar_bios(minilm):
    decided = pd.Series([
        "Home baker in Berlin, sourdough every weekend",
        "Bread nerd. Rye, spelt and long cold proofs",
        "Pastry chef and weekend cyclist",
        "I bake bread and grow tomatoes",
        "Crypto trader | NFTs | DM for signals",
        "Forex signals daily, 10x your money",
        "Bitcoin maximalist. Trading tips in DMs",
        "Passive income coach, ask me how",
        None,
    ], name="bio", dtype="string")
    follow = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1])
    enc = BioEmbedding(n_components=2, show_progress=False).fit(decided, follow)
    assert enc.decided_emb_.shape == (8, enc.embedding_dim_)  # the empty bio has no embedding
    assert enc.decided_follow_.tolist() == [True] * 4 + [False] * 4
    new = pd.Series(["Sourdough baker from Hamburg", "Crypto signals and trading tips", None,
                     "Bread nerd. Rye, spelt and long cold proofs"], name="bio", dtype="string")
    ev = enc.evidence(new, k=3)
    assert ev["similar_decided"].iloc[:2].tolist() == [3, 3]
    assert ev.loc[0, "similar_followed"] == 3 and ev.loc[1, "similar_followed"] == 0
    assert np.isnan(ev.loc[2, "similar_followed"])  # no bio, nothing to compare
    # A decided account's own bio is not its own evidence: the same text is left out.
    assert ev.loc[3, "similar_decided"] == 3 and ev.loc[3, "similar_followed"] == 3
    sims = (enc._embed_present([new[3]])[1] @ enc.decided_emb_.T).ravel()
    assert sims.max() >= 0.9999
    # Fitted without decisions (featurize): the evidence has no comparison.
    plain = BioEmbedding(n_components=2, show_progress=False).fit(decided)
    assert plain.evidence(new)["similar_decided"].isna().all()


# --------------------------------------------------------------------------- profile metadata


def _profiles() -> pd.DataFrame:
    """Generated rows with the profile columns as account_frame gives them (nullable)."""
    return pd.DataFrame({
        "bio": pd.Series(["Home baker in Berlin", None, "Radfahrerin aus Leipzig"],
                         dtype="string"),
        "fields_count": pd.array([3, pd.NA, 12], dtype="Int64"),
        "verified_links_count": pd.array([1, pd.NA, 0], dtype="Int64"),
        "is_local": pd.array([True, pd.NA, False], dtype="boolean"),
        "is_discoverable": pd.array([True, False, pd.NA], dtype="boolean"),
        "is_indexable": pd.array([pd.NA, pd.NA, True], dtype="boolean"),
    }, index=[7, 8, 9])


def test_profile_features_values():
    from pipeline.features.bio import MAX_FIELDS, PROFILE_FEATURES, profile_features

    out = pd.DataFrame(profile_features(_profiles()), columns=PROFILE_FEATURES)
    assert np.isfinite(out.to_numpy()).all()
    assert out["bio_fields"].tolist() == [3, 0, MAX_FIELDS]  # unknown 0, capped
    assert out["bio_verified_links"].tolist() == [1, 0, 0]
    assert out["bio_fields_missing"].tolist() == [0, 1, 0]
    # Flags: 1 yes, -1 no, 0 not known (Bluesky has no servers or directory).
    assert out["bio_local"].tolist() == [1, 0, -1]
    assert out["bio_discoverable"].tolist() == [1, -1, 0]
    assert out["bio_indexable"].tolist() == [0, 0, 1]


def test_profile_sentences():
    from pipeline.features.bio import profile_sentences

    said = profile_sentences(_profiles())
    assert said[0] == "3 profile fields, 1 link verified, on your server"
    assert said[1] == "not in the directory"
    assert said[2] == "12 profile fields, on another server"
    unknown = _profiles().iloc[[1]].assign(is_discoverable=pd.array([pd.NA], dtype="boolean"))
    assert profile_sentences(unknown) == [None]


@pytest.mark.slow
def test_profile_columns_add_their_features_and_bio_alone_does_not(minilm):
    from pipeline.features.bio import PROFILE_FEATURES

    frame = _profiles()
    with_profile = BioEmbedding(n_components=1, show_progress=False).fit(frame)
    names = list(with_profile.get_feature_names_out())
    assert with_profile.profile_ and names[-len(PROFILE_FEATURES):] == PROFILE_FEATURES
    out = with_profile.transform(frame)
    assert out.shape == (3, len(names)) and np.isfinite(out).all()
    np.testing.assert_allclose(clone(with_profile).fit_transform(frame), out, atol=1e-6)
    # The bio column alone (a model fitted before the profile columns): no profile part.
    alone = BioEmbedding(n_components=1, show_progress=False).fit(frame["bio"])
    assert not alone.profile_ and alone.transform(frame["bio"]).shape == (3, 4)
    # A model pickled before the attribute existed reads as "no profile part".
    del alone.__dict__["profile_"]
    assert alone.transform(frame["bio"]).shape == (3, 4)
    assert "profile" in with_profile.evidence(frame).columns


def test_evidence_tells_the_profile_metadata():
    ev = BioEmbedding().evidence(_profiles())
    assert ev.loc[7, "profile"] == "3 profile fields, 1 link verified, on your server"
    assert BioEmbedding().evidence(BIOS)["profile"].isna().all()
