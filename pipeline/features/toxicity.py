"""Criterion "your posts look offensive": toxicity scores of an account's posts and likes.

Three backends:

- **Detoxify** (``detoxify``): per-label scores (``toxicity``, ``severe_toxicity``, ``obscene``,
  ``threat``, ``insult``, ``identity_attack`` for the ``original`` model; more for others). Its
  own loader downloads the checkpoint and asks the Hugging Face hub for the base model's config
  and tokenizer, which fails without internet. Here it loads from a local checkpoint (or one
  already in torch's hub cache) and a local base-model folder (or one already in the Hugging Face
  cache), through Detoxify's own ``get_model_and_tokenizer``, and never downloads anything.
- **trained** (``models/toxicity.skops``, made by ``followback train-toxicity``): a logistic
  regression on multilingual USE embeddings and character n-grams, trained on English (OLID)
  and German (GermEval 2018) offensive tweets; two scores per text: the probability that it is
  offensive (the ``toxicity`` label) and that it attacks a group or identity
  (``identity_attack``, Detoxify's name; see :mod:`pipeline.stages.train_toxicity`). A model saved
  before that second head gives ``toxicity`` only.
- **profanity-check** (``alt-profanity-check``): a scikit-learn model shipped inside the PyPI
  package, so it always works offline; English only. It gives one score per text: the
  probability that the text is offensive (profane or abusive). That score is output under the
  ``toxicity`` label; labels a backend does not score are *not* output (zeros would claim "no
  threat" where nothing was measured).

``backend="auto"`` tries Detoxify and, when it cannot load, falls back to the trained model,
and to profanity-check when that file is missing too, with a logged warning giving the reason.
The backend that ran is recorded in ``backend_`` (log it with the model), and a fitted
transformer keeps using that backend: a model trained on one backend's scores is never fed
another's.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.core.console import FollowbackError
from pipeline.features import (
    TextInputMixin,
    account_texts,
    column_values,
    output_index,
    run_chunked,
)
from pipeline.features.cache import TextCache, open_cache

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "detoxify", "trained", "profanity-check")
# What each backend's main score means, for the evidence text.
SCORE_MEANING = {
    "detoxify": "Detoxify's toxicity label",
    "trained": "the trained English/German model's probability of offensive language",
    "profanity-check": "profanity-check's probability of English profanity",
}
CONTENT_KINDS = ("post", "repost", "reply", "like")
MAIN_LABEL = "toxicity"
# Detoxify's own renaming of the Jigsaw class names (detoxify.detoxify.load_checkpoint).
_LABEL_NAMES = {"toxic": "toxicity", "identity_hate": "identity_attack",
                "severe_toxic": "severe_toxicity"}
_WARNED: set[str] = set()  # fallback reasons already warned about in this process


class BackendUnavailable(FollowbackError):
    """A toxicity backend cannot be loaded on this machine; the message says why."""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class _Scorer:
    """A loaded backend: ``predict(texts) -> (n, len(labels))`` scores in [0, 1]."""

    def __init__(self, kind: str, name: str, identity: str, labels: list[str], predict) -> None:
        self.kind, self.name, self.identity, self.labels = kind, name, identity, labels
        self.predict = predict


def _detoxify_checkpoint(model_type: str, checkpoint: str | None) -> Path:
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise BackendUnavailable(f"Detoxify checkpoint not found: {path}")
        return path.resolve()
    from detoxify.detoxify import MODEL_URLS

    if model_type not in MODEL_URLS:
        raise BackendUnavailable(f"unknown Detoxify model_type {model_type!r}; known: "
                                 f"{sorted(MODEL_URLS)} (or give a checkpoint file)")
    import torch

    url = MODEL_URLS[model_type]
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if cached.is_file():
        return cached
    raise BackendUnavailable(
        f"no local Detoxify checkpoint for model_type {model_type!r}: Detoxify would download "
        f"{url}, which needs internet. Download it once elsewhere and set "
        "features.toxicity.checkpoint to the .ckpt file"
    )


def _base_model_folder(hub_name: str, base_model_dir: str | None) -> str:
    if base_model_dir is not None:
        path = Path(base_model_dir).expanduser()
        if not (path / "config.json").is_file():
            raise BackendUnavailable(
                f"base_model_dir {path} holds no config.json: it must be a local copy of the "
                f"base model {hub_name!r} (its config.json and tokenizer files)")
        return str(path.resolve())
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(hub_name, "config.json")
    if isinstance(found, str):
        return str(Path(found).parent)
    raise BackendUnavailable(
        f"Detoxify's loader asks the Hugging Face hub for the config and tokenizer of its base "
        f"model {hub_name!r}, which needs internet. Set features.toxicity.base_model_dir to a "
        "local folder holding that model's config.json and tokenizer files"
    )


@functools.lru_cache(maxsize=4)
def load_detoxify(model_type: str, checkpoint: str | None, base_model_dir: str | None,
                  device: str = "cpu") -> _Scorer:
    """Detoxify from local files only (checkpoint and base-model folder), once per process."""
    try:
        import detoxify
        import torch
        from detoxify.detoxify import get_model_and_tokenizer
    except ImportError as exc:
        raise BackendUnavailable(f"detoxify is not installed ({exc})") from exc
    path = _detoxify_checkpoint(model_type, checkpoint)
    try:
        # A checkpoint holds its training config (a dict), hence weights_only=False, as in
        # Detoxify's own loader: only load checkpoints you trust.
        loaded = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:
        raise BackendUnavailable(f"cannot read Detoxify checkpoint {path}: {exc}") from exc
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise BackendUnavailable(f"{path} is not a Detoxify checkpoint: it needs the 'config' it "
                                 "was trained with and a 'state_dict'")
    try:
        args = dict(loaded["config"]["arch"]["args"])
        classes = list(loaded["config"]["dataset"]["args"]["classes"])
    except (KeyError, TypeError) as exc:
        raise BackendUnavailable(f"{path}: unexpected Detoxify config layout ({exc})") from exc
    base = _base_model_folder(str(args["model_type"]), base_model_dir)
    # Detoxify builds the base config with `from_pretrained(arch.args.model_type)`, a hub name:
    # pointing that name at the local folder is what keeps it off the network, and it still
    # passes the checkpoint's number of classes.
    args["model_type"] = base
    try:
        model, tokenizer = get_model_and_tokenizer(**args, state_dict=loaded["state_dict"],
                                                   huggingface_config_path=None)
    except Exception as exc:
        raise BackendUnavailable(f"Detoxify could not build its model from {path} and {base}: "
                                 f"{exc}") from exc
    # Detoxify's own predict() on an instance built from these parts.
    det = detoxify.Detoxify.__new__(detoxify.Detoxify)
    det.model, det.tokenizer = model, tokenizer
    det.class_names = [_LABEL_NAMES.get(c, c) for c in classes]
    det.device = device
    det.model.to(device)
    labels = list(det.class_names)

    def predict(texts: list[str]) -> np.ndarray:
        scores = det.predict(list(texts))
        return np.column_stack([np.atleast_1d(np.asarray(scores[lab], dtype=np.float32))
                                for lab in labels])

    stat = path.stat()
    name = f"detoxify:{model_type}:{path}"
    identity = (f"detoxify=={_version('detoxify')}:{path}:{stat.st_size}:{stat.st_mtime_ns}:"
                f"{base}")
    return _Scorer("detoxify", name, identity, labels, predict)


def load_trained(model_path: str | None, cache_dir: str | None = None) -> _Scorer:
    """The model ``followback train-toxicity`` saved (``models/toxicity.skops``)."""
    from pipeline.features.toxicity_model import (
        load_toxicity_model,
        model_labels,
        predict_scores,
    )

    if model_path is None:
        raise BackendUnavailable("no trained toxicity model configured "
                                 "(features.toxicity.model_path is null)")
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise BackendUnavailable(f"trained toxicity model not found: {path} (make it with "
                                 "`followback train-toxicity`)")
    try:
        model = load_toxicity_model(path, cache_dir)
    except Exception as exc:
        raise BackendUnavailable(f"cannot load the trained toxicity model {path}: {exc}") from exc
    from pipeline.data import io
    from pipeline.features.embedding import model_identity

    digest = io.file_sha256(path)[:16]

    def predict(texts: list[str]) -> np.ndarray:
        return predict_scores(model, texts).astype(np.float32)

    # The file's content and the encoder it embeds with name the cached scores.
    identity = f"toxicity-model:{digest}:{model_identity('use-multilingual-v3')}"
    return _Scorer("trained", f"trained toxicity model {path.name} (sha256 {digest})", identity,
                   model_labels(model), predict)


@functools.lru_cache(maxsize=1)
def load_profanity_check() -> _Scorer:
    """alt-profanity-check's packaged scikit-learn model."""
    try:
        import profanity_check
    except Exception as exc:  # its import unpickles the model: any failure means unusable
        raise BackendUnavailable(f"alt-profanity-check cannot be loaded ({exc})") from exc
    version = _version("alt-profanity-check")

    def predict(texts: list[str]) -> np.ndarray:
        return np.asarray(profanity_check.predict_prob(list(texts)), dtype=np.float32)[:, None]

    return _Scorer("profanity-check", f"profanity-check {version}",
                   f"profanity-check=={version}", [MAIN_LABEL], predict)


# Labels that raise the toxicity red flag beside the main one: an attack on a group in calm words
# ("<group> are vermin") scores low as *offensive language* and high as *identity attack*.
FLAG_LABELS = ("identity_attack",)


def flag_score(features: pd.DataFrame, prefix: str = "toxicity__") -> pd.Series:
    """Per account, the score the toxicity red flag is read from: the highest of
    ``toxicity_max`` and ``{label}_max`` for the :data:`FLAG_LABELS` the backend has (NaN where
    ``toxicity_max`` is missing)."""
    cols = [f"{prefix}toxicity_max"] + [f"{prefix}{lab}_max" for lab in FLAG_LABELS
                                        if f"{prefix}{lab}_max" in features.columns]
    main = features[cols[0]].astype(float)
    return features[cols].astype(float).max(axis=1).where(main.notna())


class Toxicity(TextInputMixin, TransformerMixin, BaseEstimator):
    """Toxicity scores of an account's texts: max and mean per label, and the toxic share.

    Takes the ``posts`` column (a Series of lists of ``{"text", "kind", "created_at"}``
    dicts, or a DataFrame with a ``posts`` column). All kinds count, likes included: liking
    abuse says something about an account too.

    Output columns (finite for every row; 0.0 where an account has no text):

    - ``toxicity_max``, ``toxicity_mean``: the main score over the account's texts. Under
      Detoxify it is its ``toxicity`` label (a custom checkpoint without one: its first
      label); under profanity-check it is that model's probability that the text is
      offensive, its only score;
    - ``toxicity_share``: share of texts with a main score of at least ``threshold``;
    - ``toxicity_no_texts``: 1.0 when the account has no text to score;
    - ``{label}_max`` and ``{label}_mean`` for each of the backend's other labels: Detoxify's
      (e.g. ``insult_max``), the trained model's ``identity_attack``; profanity-check has no
      such labels and they are left out, not zero-filled.

    Parameters
    ----------
    backend : {"auto", "detoxify", "trained", "profanity-check"}, default="auto"
        ``"auto"`` tries Detoxify, then the trained model at ``model_path``, then
        profanity-check (with a warning saying why); ``"detoxify"`` and ``"trained"`` fail with
        the reason instead.
    model_type : str, default="original"
        Detoxify model type (``original``, ``unbiased``, ``multilingual``, ...); names the
        checkpoint in torch's hub cache when ``checkpoint`` is None.
    checkpoint : str or None, default=None
        Local Detoxify checkpoint file (``.ckpt``).
    base_model_dir : str or None, default=None
        Local folder with the base model's ``config.json`` and tokenizer files (e.g. a copy of
        ``bert-base-uncased`` for ``original``); None looks in the Hugging Face cache.
    model_path : str or None, default="models/toxicity.skops"
        The trained model (``followback train-toxicity``); None leaves it out.
    device : str, default="cpu"
    batch_size : int, default=32
        Texts per Detoxify forward pass.
    threshold : float, default=0.5
        Score from which a text counts as toxic in ``toxicity_share``.
    cache_dir : str or None, default=None
        Folder of the shared text cache; None disables caching.
    show_progress : bool, default=True

    Attributes
    ----------
    backend_ : str
        The backend that ran, e.g. ``"detoxify:original:/models/toxic_original.ckpt"`` or
        ``"profanity-check 1.9.1"``.
    backend_kind_ : str
        ``"detoxify"``, ``"trained"`` or ``"profanity-check"``.
    labels_ : list of str
        The backend's labels, the main one first.
    fallback_reason_ : str or None
        Why Detoxify was not used under ``backend="auto"``, or None.

    Examples
    --------
    >>> import pandas as pd
    >>> posts = pd.Series([[{"text": "Lovely loaf!", "kind": "post"}], []], name="posts")
    >>> tox = Toxicity(backend="profanity-check").fit(posts)
    >>> tox.get_feature_names_out().tolist()
    ['toxicity_max', 'toxicity_mean', 'toxicity_share', 'toxicity_no_texts']
    """

    def __init__(
        self,
        backend: str = "auto",
        model_type: str = "original",
        checkpoint: str | os.PathLike | None = None,
        base_model_dir: str | os.PathLike | None = None,
        model_path: str | os.PathLike | None = "models/toxicity.skops",
        device: str = "cpu",
        batch_size: int = 32,
        threshold: float = 0.5,
        cache_dir: str | os.PathLike | None = None,
        show_progress: bool = True,
    ) -> None:
        self.backend = backend
        self.model_type = model_type
        self.checkpoint = checkpoint
        self.base_model_dir = base_model_dir
        self.model_path = model_path
        self.device = device
        self.batch_size = batch_size
        self.threshold = threshold
        self.cache_dir = cache_dir
        self.show_progress = show_progress

    # The loaded model and the cache connection stay out of pickles; they load again lazily.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_scorer_held", None)
        state.pop("_cache_held", None)
        return state

    def _load(self, kind: str) -> _Scorer:
        if kind == "detoxify":
            return load_detoxify(
                str(self.model_type),
                None if self.checkpoint is None else str(self.checkpoint),
                None if self.base_model_dir is None else str(self.base_model_dir),
                str(self.device),
            )
        if kind == "trained":
            return load_trained(None if self.model_path is None else str(self.model_path),
                                None if self.cache_dir is None else str(self.cache_dir))
        return load_profanity_check()

    def _held_key(self) -> tuple:
        return (self.backend_kind_, self.model_type, str(self.checkpoint),
                str(self.base_model_dir), str(self.model_path), self.device)

    def _scorer(self) -> _Scorer:
        key = self._held_key()
        held = self.__dict__.get("_scorer_held")
        if held is None or held[0] != key:
            try:
                scorer = self._load(self.backend_kind_)
            except BackendUnavailable as exc:
                raise BackendUnavailable(
                    f"this Toxicity step was fitted with {self.backend_} and needs the same "
                    f"backend to score: {exc}") from exc
            held = (key, scorer)
            self.__dict__["_scorer_held"] = held
        return held[1]

    def _cache(self) -> TextCache | None:
        scorer = self._scorer()
        key = (scorer.identity, None if self.cache_dir is None else str(self.cache_dir))
        held = self.__dict__.get("_cache_held")
        if held is None or held[0] != key:
            held = (key, open_cache(self.cache_dir, scorer.identity, kind="vector"))
            self.__dict__["_cache_held"] = held
        return held[1]

    def cache_stats(self) -> dict[str, int]:
        """Cache hits and misses (distinct texts) and texts computed so far."""
        held = self.__dict__.get("_cache_held")
        cache = held[1] if held else None
        computed = self.__dict__.get("_computed", 0)
        return {"hits": cache.hits if cache else 0,
                "misses": cache.misses if cache else computed, "computed": computed}

    def fit(self, X: Any, y: Any = None) -> Toxicity:
        """Choose and load the backend (nothing is learnt from ``X``)."""
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {self.threshold!r}")
        self.fallback_reason_ = None
        if self.backend in ("profanity-check", "trained", "detoxify"):
            scorer = self._load(self.backend)
        else:
            reasons = []
            scorer = None
            for kind in ("detoxify", "trained"):
                try:
                    scorer = self._load(kind)
                    break
                except BackendUnavailable as exc:
                    reasons.append(str(exc))
            if scorer is None:
                scorer = load_profanity_check()
            if reasons:
                self.fallback_reason_ = "; ".join(reasons)
                # Cross-validation refits this step many times: say it loudly once.
                level = logging.INFO if self.fallback_reason_ in _WARNED else logging.WARNING
                _WARNED.add(self.fallback_reason_)
                logger.log(
                    level,
                    "Detoxify could not be loaded, so toxicity is scored by %s instead "
                    "(labels: %s). Reason: %s",
                    scorer.name, ", ".join(scorer.labels), self.fallback_reason_)
        self.backend_kind_ = scorer.kind
        self.backend_ = scorer.name
        labels = list(scorer.labels)
        main = MAIN_LABEL if MAIN_LABEL in labels else labels[0]
        self.labels_ = [main] + [lab for lab in labels if lab != main]
        self._label_order_ = [labels.index(lab) for lab in self.labels_]
        self.__dict__["_scorer_held"] = (self._held_key(), scorer)
        return self

    def _compute(self, texts: list[str]) -> list[np.ndarray]:
        scorer = self._scorer()
        # Detoxify pads a call's texts to its longest one: keep calls batch-sized.
        step = int(self.batch_size) if scorer.kind == "detoxify" else max(len(texts), 1)
        parts = [scorer.predict(texts[i : i + step]) for i in range(0, len(texts), step)]
        return list(np.asarray(np.vstack(parts), dtype=np.float32))

    def _scores(self, texts: list[str]) -> dict[str, np.ndarray]:
        """``{text: scores in labels_ order}`` for the distinct texts, via the cache."""
        unique = list(dict.fromkeys(texts))
        cache = self._cache()
        found = cache.get_many(unique) if cache is not None else {}
        todo = [t for t in unique if t not in found]
        if todo:
            chunk = int(self.batch_size) * 4 if self.backend_kind_ == "detoxify" else 1000
            results = run_chunked(self._compute, todo, chunk, "toxicity", self.show_progress)
            self.__dict__["_computed"] = self.__dict__.get("_computed", 0) + len(todo)
            new = dict(zip(todo, results, strict=True))
            if cache is not None:
                cache.put_many(new)
            found.update(new)
        logger.info("toxicity (%s): %d distinct texts, %d cached, %d computed",
                    self.backend_, len(unique), len(unique) - len(todo), len(todo))
        order = self._label_order_
        return {t: np.asarray(v, dtype=np.float64)[order] for t, v in found.items()}

    def _per_account(self, X: Any) -> tuple[list[list[dict]], list[np.ndarray]]:
        posts = [account_texts(v, CONTENT_KINDS) for v in column_values(X, "posts")]
        scores = self._scores([p["text"] for ps in posts for p in ps])
        n_labels = len(self.labels_)
        mats = [np.array([scores[p["text"]] for p in ps]).reshape(len(ps), n_labels)
                for ps in posts]
        return posts, mats

    def transform(self, X: Any) -> np.ndarray:
        """The features of each account (see the class docstring for the columns)."""
        check_is_fitted(self, "backend_")
        _, mats = self._per_account(X)
        n_labels = len(self.labels_)
        out = np.zeros((len(mats), 4 + 2 * (n_labels - 1)), dtype=np.float64)
        for i, m in enumerate(mats):
            if len(m) == 0:
                out[i, 3] = 1.0
                continue
            out[i, 0] = m[:, 0].max()
            out[i, 1] = m[:, 0].mean()
            out[i, 2] = float((m[:, 0] >= float(self.threshold)).mean())
            out[i, 4::2] = m[:, 1:].max(axis=0)
            out[i, 5::2] = m[:, 1:].mean(axis=0)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "backend_")
        names = ["toxicity_max", "toxicity_mean", "toxicity_share", "toxicity_no_texts"]
        for lab in self.labels_[1:]:
            names += [f"{lab}_max", f"{lab}_mean"]
        return np.asarray(names, dtype=object)

    def _flag_columns(self) -> list[int]:
        return [self.labels_.index(lab) for lab in FLAG_LABELS if lab in self.labels_[1:]]

    def evidence(self, X: Any) -> pd.DataFrame:
        """Per account: the highest score and the text, kind and date of the most toxic post.

        The most toxic text is the one with the highest main score or :data:`FLAG_LABELS` score
        (an identity attack in calm words counts), as the red flag reads them
        (:func:`flag_score`).

        Columns: ``n_texts``, ``n_toxic`` (main or flag-label score at least ``threshold``),
        ``max_score`` (that text's main score),
        ``most_toxic_text``, ``most_toxic_kind``, ``most_toxic_date``, ``backend``,
        ``score_meaning`` (what the score is, for the explanation) and ``labels`` (that text's
        other labels at 0.1 or more, e.g. ``"insult 0.91, obscene 0.40"`` under Detoxify or
        ``"identity attack 0.73"`` under the trained model; None for profanity-check).
        """
        check_is_fitted(self, "backend_")
        posts, mats = self._per_account(X)
        meaning = SCORE_MEANING.get(self.backend_kind_, self.backend_kind_)
        rows = []
        for ps, m in zip(posts, mats, strict=True):
            if len(m) == 0:
                rows.append({"n_texts": 0, "n_toxic": 0, "max_score": 0.0,
                             "most_toxic_text": None, "most_toxic_kind": None,
                             "most_toxic_date": None, "backend": self.backend_,
                             "score_meaning": meaning, "labels": None})
                continue
            flag = m[:, [0, *self._flag_columns()]].max(axis=1)
            top = int(np.argmax(flag))
            others = sorted(((lab, float(m[top, j + 1])) for j, lab in
                             enumerate(self.labels_[1:])), key=lambda item: -item[1])
            labels = ", ".join(f"{lab.replace('_', ' ')} {v:.2f}" for lab, v in others
                               if v >= 0.1) or None
            rows.append({
                "n_texts": len(ps),
                "n_toxic": int((flag >= float(self.threshold)).sum()),
                "max_score": float(m[top, 0]),
                "most_toxic_text": ps[top]["text"],
                "most_toxic_kind": ps[top].get("kind"),
                "most_toxic_date": ps[top].get("created_at"),
                "backend": self.backend_,
                "score_meaning": meaning,
                "labels": labels,
            })
        return pd.DataFrame(rows, index=output_index(X),
                            columns=["n_texts", "n_toxic", "max_score", "most_toxic_text",
                                     "most_toxic_kind", "most_toxic_date", "backend",
                                     "score_meaning", "labels"])
