"""The trained toxicity model's parts (``followback train-toxicity``, ``models/toxicity.skops``).

The model is one scikit-learn Pipeline over cleaned texts (:func:`clean_text`): a FeatureUnion of

- :class:`SentenceEmbedding`: the packaged multilingual Universal Sentence Encoder v3 (the
  pipeline's default encoder, through :class:`~pipeline.features.embedding.TextEmbedder`, so
  the same cache and identity rules hold), which carries meaning across languages;
- hashed character n-grams (``HashingVectorizer(analyzer="char_wb")`` with TF-IDF), which catch
  insults and slurs however they are spelt, in any language, and which the encoder's 512
  dimensions blur;

and a logistic regression on top. Which of these (and which regularisation) is kept is chosen
by cross-validation in :mod:`pipeline.stages.train_toxicity`. The saved file holds no encoder
weights: :class:`SentenceEmbedding` loads the installed encoder lazily, like the feature extractors.

The saved model is a :class:`ToxicityHeads`: one such Pipeline per label, each trained on its
own target from the same texts:

- ``toxicity``: offensive language (OLID ``OFF``, GermEval ``OFFENSE``), the main score;
- ``identity_attack``: an offensive text aimed at a group or a social identity (OLID sub-task C
  ``GRP``, GermEval's fine label ``ABUSE``), Detoxify's name for the same thing. Offensive
  language and hate are not the same: most offensive tweets insult one person or just swear,
  and a model of offensiveness flags profanity while it misses calm hate against a group
  (bench/toxicity_heads.py measures both on HateCheck).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.features.embedding import DEFAULT_MODEL, TextEmbedder

# Both training sets mask or show mentions and links differently (OLID writes "@USER" and "URL",
# GermEval keeps "@name" and writes "|LBR|" for a line break); posts on the platforms show
# real names and links. One cleaning for training and scoring makes them look alike.
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def clean_text(text: Any) -> str:
    """A text as the toxicity model sees it: mentions -> ``@USER``, links -> ``URL``,
    GermEval's ``|LBR|`` line breaks and runs of white space -> one space."""
    text = "" if text is None else str(text)
    text = text.replace("|LBR|", " ")
    text = _URL.sub("URL", text)
    text = _MENTION.sub("@USER", text)
    return _SPACE.sub(" ", text).strip()


def clean_texts(texts: Sequence[Any]) -> list[str]:
    return [clean_text(t) for t in texts]


def _as_texts(X: Any) -> list[str]:
    if hasattr(X, "tolist"):
        X = X.tolist()
    return [str(x[0]) if isinstance(x, list | tuple) else str(x) for x in X]


class SentenceEmbedding(TransformerMixin, BaseEstimator):
    """Sentence embeddings of texts, as a scikit-learn step of the toxicity model.

    Parameters
    ----------
    model : str, default="use-multilingual-v3"
        The encoder (see :class:`~pipeline.features.embedding.TextEmbedder`).
    cache_dir : str or None, default=None
        Folder of the shared text cache; None disables caching. Not saved with the model:
        :func:`load_toxicity_model` sets it where the model is used.
    batch_size : int, default=64

    Examples
    --------
    >>> SentenceEmbedding().fit(["hello"]).transform(["hello"]).shape  # doctest: +SKIP
    (1, 512)
    """

    def __init__(self, model: str = DEFAULT_MODEL, cache_dir: str | os.PathLike | None = None,
                 batch_size: int = 64) -> None:
        self.model = model
        self.cache_dir = cache_dir
        self.batch_size = batch_size

    # The encoder (and its cache connection) stays out of the saved model.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_embedder", None)
        return state

    def _embedder_for(self) -> TextEmbedder:
        key = (self.model, None if self.cache_dir is None else str(self.cache_dir),
               self.batch_size)
        held = self.__dict__.get("_embedder")
        if held is None or held[0] != key:
            held = (key, TextEmbedder(model=self.model, batch_size=self.batch_size,
                                      cache_dir=self.cache_dir, show_progress=False))
            self.__dict__["_embedder"] = held
        return held[1]

    def fit(self, X: Any, y: Any = None) -> SentenceEmbedding:
        self.n_features_out_ = int(self._embedder_for().dimension)
        return self

    def transform(self, X: Any) -> np.ndarray:
        return self._embedder_for().encode(_as_texts(X)).astype(np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"emb_{i}" for i in range(self.n_features_out_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        return tags


def char_ngrams(n_features: int = 2**18, ngram_range: tuple[int, int] = (2, 5)):
    """Hashed character n-grams within word boundaries, TF-IDF weighted (sublinear)."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("hash", HashingVectorizer(analyzer="char_wb", ngram_range=ngram_range,
                                   n_features=n_features, alternate_sign=False, norm=None,
                                   lowercase=True)),
        ("tfidf", TfidfTransformer(sublinear_tf=True)),
    ])


def build_toxicity_model(features: str = "embeddings+chars", C: float = 1.0,
                         embed_model: str = DEFAULT_MODEL, cache_dir: str | None = None,
                         seed: int = 42):
    """The toxicity Pipeline: ``features`` is ``"embeddings"``, ``"chars"`` or both (``+``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    parts = []
    if "embeddings" in features:
        parts.append(("embeddings", SentenceEmbedding(model=embed_model, cache_dir=cache_dir)))
    if "chars" in features:
        parts.append(("chars", char_ngrams()))
    if not parts:
        raise ValueError(f"features must name embeddings and/or chars, got {features!r}")
    return Pipeline([
        ("features", FeatureUnion(parts)),
        ("logreg", LogisticRegression(C=C, class_weight="balanced", max_iter=3000,
                                      solver="liblinear", random_state=seed)),
    ])


def set_cache_dir(model: Any, cache_dir: str | os.PathLike | None) -> Any:
    """Point every :class:`SentenceEmbedding` in ``model`` at ``cache_dir`` (in place)."""
    for step in _walk(model):
        if isinstance(step, SentenceEmbedding):
            step.cache_dir = None if cache_dir is None else str(cache_dir)
    return model


class ToxicityHeads(BaseEstimator):
    """One classifier per label over the same cleaned texts: the saved toxicity model.

    Parameters
    ----------
    heads : list of (label, estimator)
        Each estimator has ``predict_proba`` over an array of texts; the first label is the
        main score. ``fit`` fits a clone of each on its own column of ``y``.
    prior : float, default=0.5
        The share of positive texts the scores are stated for. Heads trained with balanced
        class weights estimate each probability as if half of all texts were positive; a
        person's feed holds far fewer offensive texts, and an account's *highest* score over
        dozens of posts then crosses 0.5 on one false alarm. ``predict_scores`` re-bases each
        probability to ``prior`` (the standard prior-shift correction: ``logit(p) +
        logit(prior) - logit(0.5)``), which keeps every ranking (ROC-AUC) and moves the cut at
        0.5 to a raw probability of ``1 - prior``. 0.5 leaves the scores as trained.

    Attributes
    ----------
    heads_ : list of (label, fitted estimator)
    labels_ : list of str

    Examples
    --------
    >>> from sklearn.feature_extraction.text import CountVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> texts = np.array(["you idiot", "nice bread", "those people are vermin", "lovely ride"])
    >>> y = np.array([[1, 0], [0, 0], [1, 1], [0, 0]])
    >>> m = ToxicityHeads([(lab, make_pipeline(CountVectorizer(), LogisticRegression()))
    ...                    for lab in ("toxicity", "identity_attack")]).fit(texts, y)
    >>> m.labels_, m.predict_scores(texts).shape
    (['toxicity', 'identity_attack'], (4, 2))
    """

    def __init__(self, heads: list[tuple[str, Any]] | None = None, prior: float = 0.5) -> None:
        self.heads = heads
        self.prior = prior

    def fit(self, X: Any, y: Any) -> ToxicityHeads:
        from sklearn.base import clone

        heads = list(self.heads or [])
        if not heads:
            raise ValueError("ToxicityHeads needs at least one (label, estimator)")
        y = np.asarray(y)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[1] != len(heads):
            raise ValueError(f"y has {y.shape[1]} columns for {len(heads)} heads")
        if not 0.0 < float(self.prior) < 1.0:
            raise ValueError(f"prior must be within (0, 1), got {self.prior!r}")
        self.heads_ = [(label, clone(est).fit(X, y[:, j]))
                       for j, (label, est) in enumerate(heads)]
        self.labels_ = [label for label, _ in heads]
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        """``(n_texts, n_labels)`` probabilities at ``prior``, columns in ``labels_`` order."""
        raw = np.column_stack([est.predict_proba(X)[:, 1] for _, est in self.heads_])
        return rebase(raw, float(self.prior))


def rebase(p: np.ndarray, prior: float) -> np.ndarray:
    """Probabilities estimated under a 50/50 prior, re-based to ``prior`` (prior shift)."""
    if prior == 0.5:
        return np.asarray(p, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    z = np.log(p / (1 - p)) + np.log(prior / (1 - prior))
    return 1.0 / (1.0 + np.exp(-z))


def model_labels(model: Any) -> list[str]:
    """The labels a saved toxicity model scores: ``ToxicityHeads.labels_``, or ``["toxicity"]``
    for a single Pipeline (models saved before the identity-attack head)."""
    return list(getattr(model, "labels_", None) or ["toxicity"])


def _walk(est: Any):
    yield est
    for attr in ("steps", "transformer_list", "heads_"):
        for _, sub in getattr(est, attr, []) or []:
            yield from _walk(sub)


TRUSTED_TYPES = [
    "pipeline.features.toxicity_model.SentenceEmbedding",
    "pipeline.features.toxicity_model.ToxicityHeads",
]


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    unexpected = [t for t in untrusted if t not in TRUSTED_TYPES]
    if unexpected:
        raise ValueError(f"{path} holds types outside the toxicity model's own: {unexpected}")
    return sio.load(path, trusted=untrusted)


def load_toxicity_model(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None
                        ) -> Any:
    """The saved toxicity Pipeline at ``path`` (loaded once per file version and process)."""
    path = os.fspath(path)
    model = _load(os.path.abspath(path), os.stat(path).st_mtime_ns)
    return set_cache_dir(model, cache_dir)


def predict_scores(model: Any, texts: Sequence[Any]) -> np.ndarray:
    """``(n_texts, len(model_labels(model)))`` scores of the saved model on cleaned texts."""
    texts = clean_texts(texts)
    n_labels = len(model_labels(model))
    if not texts:
        return np.zeros((0, n_labels), dtype=np.float64)
    X = np.asarray(texts, dtype=object)
    if hasattr(model, "predict_scores"):
        return np.asarray(model.predict_scores(X), dtype=np.float64)
    return np.asarray(model.predict_proba(X)[:, 1:2], dtype=np.float64)


def predict_toxicity(model: Any, texts: Sequence[Any]) -> np.ndarray:
    """Probability that each text is offensive (the main label), from the saved model."""
    return predict_scores(model, texts)[:, 0]
