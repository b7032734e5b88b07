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
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

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
                         seed: int = 42, class_weight: str | None = "balanced"):
    """One head of the toxicity model, by ``features``:

    - ``"embeddings"``, ``"chars"`` or ``"embeddings+chars"``: a logistic regression (strength
      ``C``) on those features (one FeatureUnion);
    - ``"mlp"``: a :class:`BalancedMLP` on the sentence embeddings;
    - ``"mlp+chars"``: a :class:`LogitBlend` of that perceptron and a logistic regression
      (strength ``C``) on character n-grams.

    ``class_weight=None`` leaves the balancing of the classes to sample weights given to
    ``fit`` (:class:`ToxicityHeads` ``sample_weight``).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    def logreg():
        # dual: the same optimum as the primal problem, about 4x faster with more features
        # (2**18 hashed n-grams) than texts.
        return LogisticRegression(C=C, class_weight=class_weight, max_iter=3000,
                                  solver="liblinear", dual=True, random_state=seed)

    if features.startswith("mlp"):
        mlp = Pipeline([("embeddings", SentenceEmbedding(model=embed_model, cache_dir=cache_dir)),
                        ("mlp", BalancedMLP(random_state=seed))])
        if features == "mlp":
            return mlp
        if features == "mlp+chars":
            return LogitBlend([("mlp", mlp),
                               ("chars", Pipeline([("chars", char_ngrams()),
                                                   ("logreg", logreg())]))])
    parts = []
    if "embeddings" in features:
        parts.append(("embeddings", SentenceEmbedding(model=embed_model, cache_dir=cache_dir)))
    if "chars" in features:
        parts.append(("chars", char_ngrams()))
    if not parts or features not in ("embeddings", "chars", "embeddings+chars"):
        raise ValueError("features must be embeddings, chars, embeddings+chars, mlp or "
                         f"mlp+chars, got {features!r}")
    return Pipeline([("features", FeatureUnion(parts)), ("logreg", logreg())])


class BalancedMLP(ClassifierMixin, BaseEstimator):
    """A one-hidden-layer perceptron on dense features, trained with balanced class weights.

    scikit-learn's ``MLPClassifier`` has no ``class_weight``; this fits it with per-sample
    weights that give both classes half the total weight, like ``class_weight="balanced"``
    in the logistic regressions, so that its probabilities share their 50/50 prior (which
    :func:`rebase` shifts).

    Parameters
    ----------
    hidden : int, default=256
    alpha : float, default=1e-3
        L2 penalty.
    max_iter : int, default=40
        Epochs at most; 10% of the rows are held out to stop early.
    random_state : int, default=42
    """

    def __init__(self, hidden: int = 256, alpha: float = 1e-3, max_iter: int = 40,
                 random_state: int = 42) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> BalancedMLP:
        from sklearn.neural_network import MLPClassifier

        y = np.asarray(y).astype(int)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"BalancedMLP needs two classes, got {self.classes_.tolist()}")
        pos = float(y.mean())
        weight = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
        self.mlp_ = MLPClassifier(hidden_layer_sizes=(int(self.hidden),), alpha=self.alpha,
                                  batch_size=min(256, max(1, int(0.9 * len(y)))),
                                  max_iter=int(self.max_iter),
                                  early_stopping=True, n_iter_no_change=4,
                                  random_state=self.random_state)
        self.mlp_.fit(np.asarray(X, dtype=np.float32), y, sample_weight=weight)
        # The optimiser's state only serves further training; skops does not trust its type,
        # and a saved toxicity model holds no type outside its own and scikit-learn's.
        self.mlp_._optimizer = None
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.mlp_.predict_proba(np.asarray(X, dtype=np.float32))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


class LogitBlend(ClassifierMixin, BaseEstimator):
    """Several classifiers over the same texts, their log-odds averaged.

    Each part sees the raw texts and computes its own features, so a part on sentence
    embeddings and a part on character n-grams share no work and no input.

    Parameters
    ----------
    estimators : list of (name, estimator)
    weights : list of float or None, default=None
        Weights of the parts' log-odds (normalised to sum to 1); None weighs them equally.
    """

    def __init__(self, estimators: list[tuple[str, Any]] | None = None,
                 weights: list[float] | None = None) -> None:
        self.estimators = estimators
        self.weights = weights

    def fit(self, X: Any, y: Any) -> LogitBlend:
        from sklearn.base import clone

        parts = list(self.estimators or [])
        if not parts:
            raise ValueError("LogitBlend needs at least one (name, estimator)")
        self.estimators_ = [(name, clone(est).fit(X, y)) for name, est in parts]
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        w = np.ones(len(self.estimators_)) if self.weights is None else np.asarray(
            self.weights, dtype=float)
        w = w / w.sum()
        z = sum(wi * _logit(est.predict_proba(X)[:, 1])
                for wi, (_, est) in zip(w, self.estimators_, strict=True))
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


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
        main score. ``fit`` fits a clone of each on its own column of ``y``, on the rows where
        that column is not NaN (a training set may label one target and not the other).
    prior : float, default=0.5
        The share of positive texts the scores are stated for. Heads trained with balanced
        class weights estimate each probability as if half of all texts were positive; a
        person's feed holds far fewer offensive texts, and an account's *highest* score over
        dozens of posts then crosses 0.5 on one false alarm. ``predict_scores`` re-bases each
        probability to ``prior`` (the standard prior-shift correction: ``logit(p) +
        logit(prior) - logit(0.5)``), which keeps every ranking (ROC-AUC) and moves the cut at
        0.5 to a raw probability of ``1 - prior``. 0.5 leaves the scores as trained.
    set_weighted : tuple of str, default=()
        Labels whose heads are trained with :func:`set_balanced_weights` when ``fit`` is given
        each text's training set (``groups``).

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

    def __init__(self, heads: list[tuple[str, Any]] | None = None, prior: float = 0.5,
                 set_weighted: tuple[str, ...] = ()) -> None:
        self.heads = heads
        self.prior = prior
        self.set_weighted = set_weighted

    def fit(self, X: Any, y: Any, groups: Any = None) -> ToxicityHeads:
        """Fit a clone of each head on its column of ``y`` (NaN rows left out). With
        ``groups`` (each text's training set), each head's last step gets the sample weights
        :func:`set_balanced_weights` computes from its own target, for the heads named in
        ``set_weighted`` (give those no class weights: ``build_toxicity_model(class_weight=None)``).
        """
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
        X = np.asarray(X, dtype=object) if isinstance(X, list) else X
        y = y.astype(float)
        self.heads_ = []
        for j, (label, est) in enumerate(heads):
            known = ~np.isnan(y[:, j])
            if len(np.unique(y[known, j])) < 2:
                raise ValueError(f"head {label!r} needs both classes among its known labels")
            params = {}
            if groups is not None and label in tuple(self.set_weighted):
                if not hasattr(est, "steps"):
                    raise ValueError(f"head {label!r}: weighting by set needs a Pipeline head")
                params[f"{est.steps[-1][0]}__sample_weight"] = set_balanced_weights(
                    np.asarray(groups, dtype=object)[known], y[known, j])
            self.heads_.append((label, clone(est).fit(X[known], y[known, j].astype(int),
                                                      **params)))
        self.labels_ = [label for label, _ in heads]
        return self

    def predict_scores(self, X: Any) -> np.ndarray:
        """``(n_texts, n_labels)`` probabilities at ``prior``, columns in ``labels_`` order."""
        raw = np.column_stack([est.predict_proba(X)[:, 1] for _, est in self.heads_])
        return rebase(raw, float(self.prior))


def set_balanced_weights(sets: Sequence[Any], y: Any) -> np.ndarray:
    """Per text ``n_s / (2 n_{s,y})`` (``n_s`` texts in its set, ``n_{s,y}`` of its class
    there), scaled to mean 1: each training set keeps its size in total weight, but its two
    classes weigh half each. Pooled sets differ in their share of offensive texts (83% in
    Davidson et al., 11% in Guest et al.); unweighted, a model learns a set's style as a sign
    of offence. The classes are balanced overall too, so the 50/50 prior :func:`rebase`
    assumes still holds."""
    import pandas as pd

    sets = pd.Series(np.asarray(sets, dtype=object)).astype(str)
    key = sets + ":" + pd.Series(np.asarray(y)).astype(str)
    w = (sets.map(sets.value_counts()).to_numpy(dtype=float)
         / (2 * key.map(key.value_counts()).to_numpy(dtype=float)))
    return w / w.mean()


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
    for attr in ("steps", "transformer_list", "heads_", "estimators_"):
        for _, sub in getattr(est, attr, []) or []:
            yield from _walk(sub)


TRUSTED_TYPES = [
    "pipeline.features.toxicity_model.BalancedMLP",
    "pipeline.features.toxicity_model.LogitBlend",
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
