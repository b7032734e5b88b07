"""Issue 13 section 1: an account's features and probability depend on that account alone.

The extractors' float32 batched products (the bio PCA, the topic cosines) summed in an order that
depended on how many rows shared the call, so chunking changed features by ~3e-8 and, across a
bin edge of the boosted trees, probabilities by up to 0.07. These tests permute the input and
split it into random chunks and ask for bit-identical output.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.features.bio import BioEmbedding
from pipeline.features.precision import RoundFeatures, pca_rows, row_products
from pipeline.features.topic import TopicSimilarity

DIM = 96


class HashEmbedder:
    """A deterministic text -> unit vector map (each text's vector is its own, whatever the
    batch), so that these fast tests see only what the extractors add. The real encoders'
    own behaviour is covered by the slow test at the end."""

    model_path = "hash"
    dimension = DIM

    def encode(self, texts):
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), DIM)


@pytest.fixture()
def hashed(monkeypatch):
    fake = HashEmbedder()
    monkeypatch.setattr(BioEmbedding, "_embedder", lambda self: fake)
    monkeypatch.setattr(TopicSimilarity, "_embedder", lambda self: fake)
    return fake


WORDS = ["sourdough", "rye", "bike", "tour", "tomato", "garden", "Berlin", "news", "crypto",
         "gains", "follow", "me", "cat", "photos", "🍞", "Elbe", "km", "loaf", "starter"]


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(1, 9))) + f" {i}" for i in range(n)]


def _chunked(transform, frame: pd.DataFrame, order: np.ndarray, cuts: list[int]) -> np.ndarray:
    """``transform`` applied to ``frame`` permuted by ``order`` and cut at ``cuts``, put back
    into the original row order."""
    parts = np.split(order, sorted(set(c % max(len(order), 1) for c in cuts)))
    out = None
    for part in parts:
        if len(part) == 0:
            continue
        values = np.asarray(transform(frame.iloc[part]))
        if out is None:
            out = np.empty((len(frame), values.shape[1]), dtype=values.dtype)
        out[part] = values
    return out


chunkings = st.tuples(st.randoms(use_true_random=False),
                      st.lists(st.integers(0, 10_000), min_size=0, max_size=8))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(1, 40), data=st.data())
def test_row_products_of_a_row_do_not_depend_on_the_other_rows(n, k, data):
    rng = np.random.default_rng(n * 1000 + k)
    a = rng.standard_normal((n, 384)).astype(np.float32)
    b = rng.standard_normal((k, 384)).astype(np.float32)
    whole = row_products(a, b)
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=20))
    for i in rows:
        assert np.array_equal(row_products(a[i : i + 1], b)[0], whole[i])
    assert np.allclose(whole, a.astype(np.float64) @ b.astype(np.float64).T)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunking=chunkings)
def test_bio_features_are_the_same_in_any_chunking(hashed, chunking):
    rnd, cuts = chunking
    bios = pd.Series(_texts(400, 1), name="bio")
    bios[::7] = None
    enc = BioEmbedding(n_components=8, show_progress=False).fit(bios)
    whole = enc.transform(bios)
    order = np.arange(len(bios))
    rnd.shuffle(order)
    assert np.array_equal(_chunked(enc.transform, bios.to_frame(), order, cuts), whole)


def test_bio_pca_row_by_row_matches_sklearn_pca(hashed):
    bios = pd.Series(_texts(200, 2), name="bio")
    enc = BioEmbedding(n_components=8, show_progress=False).fit(bios)
    emb = HashEmbedder().encode(list(bios))
    assert np.allclose(pca_rows(enc.pca_, emb), enc.pca_.transform(emb), atol=1e-6)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunking=chunkings)
def test_topic_features_are_the_same_in_any_chunking(hashed, chunking):
    rnd, cuts = chunking
    texts = _texts(900, 3)
    posts = pd.Series([[{"text": t, "kind": "post"} for t in texts[i * 3 : i * 3 + (i % 4)]]
                       for i in range(300)], name="posts")
    topic = TopicSimilarity(own_posts=_texts(40, 4), n_clusters=3, random_state=0,
                            show_progress=False).fit(posts)
    whole = topic.transform(posts)
    order = np.arange(len(posts))
    rnd.shuffle(order)
    assert np.array_equal(_chunked(topic.transform, posts.to_frame(), order, cuts), whole)


def test_round_features_rounds_in_the_pipeline_and_keeps_names():
    frame = pd.DataFrame({"a": [0.123456, 1.00004999], "b": [2.0, -0.00005001]})
    step = RoundFeatures(decimals=4).fit(frame)
    assert step.transform(frame.to_numpy()).tolist() == [[0.1235, 2.0], [1.0, -0.0001]]
    assert step.get_feature_names_out().tolist() == ["a", "b"]
    # Noise far below the precision is gone: the values a classifier sees are equal.
    values = np.array([[0.12343, 0.5], [0.98761, -0.25]])
    assert np.array_equal(step.transform(values + 3e-8), step.transform(values - 3e-8))


def test_the_model_pipeline_rounds_between_features_and_classifier():
    from pipeline.core.config import load_config
    from pipeline.model.compose import build_model

    model = build_model(load_config("params.yaml"), ["own post"])
    names = [name for name, _ in model.steps]
    assert names == ["features", "round", "clf"]
    assert isinstance(model.named_steps["round"], RoundFeatures)


@settings(max_examples=10, deadline=None)
@given(chunking=chunkings)
def test_bot_score_is_the_same_in_any_chunking(chunking):
    """bot_score ranks each follower among the followers BotLikeness was fitted on (its
    population), never among the rows that share the call."""
    from pathlib import Path

    from pipeline.data.frame import account_frame
    from pipeline.features.bot import BotLikeness

    model = Path(__file__).resolve().parents[2] / "models" / "bot_likeness.skops"
    rng = np.random.default_rng(5)
    now = pd.Timestamp("2024-06-01", tz="UTC")
    n = 200
    frame = account_frame(pd.DataFrame({
        "platform": np.where(np.arange(n) % 4, "mastodon", "bluesky"),
        "account_id": [str(i) for i in range(n)],
        "handle": [f"user{i}" if i % 5 else f"x{i:06d}" for i in range(n)],
        "bio": [None if i % 3 == 0 else "bread " * (i % 7) for i in range(n)],
        "followers_count": rng.integers(0, 5000, n),
        "following_count": rng.integers(0, 8000, n),
        "posts_count": rng.integers(0, 20000, n),
        "created_at": [now - pd.Timedelta(days=int(d)) for d in rng.integers(1, 4000, n)],
        "has_default_avatar": rng.random(n) < 0.2,
    }))
    bot = BotLikeness(model_path=str(model), reference_time=now).fit(frame)
    whole = bot.transform(frame)
    rnd, cuts = chunking
    order = np.arange(n)
    rnd.shuffle(order)
    assert np.array_equal(_chunked(bot.transform, frame, order, cuts), whole)
