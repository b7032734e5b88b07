"""Faster runtimes for a sentence-transformers encoder, checked against torch on this CPU.

``features.embed.backend`` picks how a sentence-transformers model (the packaged
all-MiniLM-L6-v2, a local folder) is run; the embeddings stay those of torch fp32 up to
rounding, which :func:`probe` measures:

- ``torch``: sentence-transformers as it is, fp32; the reference every other backend is
  compared with.
- ``bf16``: a copy of the model with bfloat16 weights (``model.to(torch.bfloat16)``), no new
  package. Fast on CPUs with AMX / avx512-bf16 units, slow on CPUs without them.
- ``openvino``: the model's transformer converted once with ``openvino.convert_model`` and run
  by the ``openvino`` runtime (which picks bf16 inference on CPUs with bf16 units, fp32
  elsewhere); pooling and normalisation stay the model's own torch modules.
- ``onnx-int8``: the transformer exported once with ``torch.onnx.export`` and its MatMul
  weights quantized to int8 per channel (``onnxruntime.quantization.quantize_dynamic``), run
  by ``onnxruntime``. The gain that does not depend on bf16 units, at a visible cost in
  fidelity (cosine about 0.99 to torch), so ``auto`` does not pick it at the 0.999 bar.
- ``auto``: the fastest of these whose embeddings of :data:`PROBE_TEXTS` match torch to a
  cosine of at least :data:`MIN_COSINE` (every text, not the mean), measured on this machine
  the first time and remembered in the cache folder (``probe-*.json``).

Neither sentence-transformers' own ``backend="onnx"|"openvino"`` nor optimum is used: with
sentence-transformers 6 / transformers 5 the ``[onnx]`` extra cannot be resolved, and
optimum-intel pulls torchvision, which breaks loading models with the CPU torch build.

Exported models are written once, atomically and under a file lock, in ``encoders/`` of the
project's cache folder (``base.cache_dir``), never inside site-packages; the folder name holds
the model identity and library versions, so a new version exports anew.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "bf16", "openvino", "onnx-int8")
CHOICES = ("auto", *BACKENDS)
# The packaged multilingual USE is numpy code with no backend choice.
NUMPY = "numpy"
MIN_COSINE = 0.999
# The package each backend needs beyond torch (the `fast` extra installs them).
PACKAGES = {"openvino": ("openvino",), "onnx-int8": ("onnxruntime", "onnx")}
EXPORT_FOLDER = "encoders"
PROBE_VERSION = 1
_TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Fixed probe texts: short and long, several languages and scripts, emoji, links, hashtags.
PROBE_TEXTS = (
    "Fed my sourdough starter and the loaf came out with a gorgeous open crumb",
    "Rode 90 km along the river path, headwind all the way back. Legs are toast!",
    "The balcony tomatoes are finally turning red 🍅 #gardening",
    "Bitcoin is breaking resistance, altcoin season incoming 🚀🚀",
    "lol",
    "ok 👍",
    "What a match last night, that late equaliser was unreal",
    "Spent the day migrating our services to a new database https://example.org/p/12",
    "Heute habe ich zum ersten Mal ein Roggenbrot mit Sauerteig gebacken",
    "Hoy hice pan de masa madre por primera vez y la miga quedó perfecta",
    "J'ai enfin réussi ma baguette au levain ce matin",
    "Сегодня испекла хлеб на закваске, получилось очень вкусно",
    "Bugün ilk kez ekşi mayalı ekmek yaptım",
    "今日は初めてサワードウのパンを焼きました",
    "Shut up you stupid idiot, nobody cares",
    "Home baker, Berlin 🍞 she/her · bikes, bread, beds of kale",
    "🔥🔥🔥",
    "@maya.bakes this is the best crumb shot I have seen all year, what hydration?",
    "Note to self: never again a 36-hour cold proof in July. " * 3,
    "Leverage signals: long ETH with a tight stop loss, not financial advice",
    "Our choir sings in the old church on Sunday, everyone is welcome",
    "Packed the panniers for a three-day tour through the forest #bikepacking",
    "New NFT drop tonight, whitelist spots are going fast",
    "Reading a lovely novel about a family by the sea",
)


class BackendUnavailable(Exception):
    """A backend cannot run here (package missing, export or load failed)."""


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def runtime_of(backend: str) -> str:
    """The library and version that runs ``backend``, e.g. ``"openvino 2026.4.1"``."""
    if backend in ("torch", "bf16"):
        return f"torch {version('torch')}"
    if backend == "openvino":
        return f"openvino {version('openvino')}"
    if backend == "onnx-int8":
        return f"onnxruntime {version('onnxruntime')}"
    return backend


def requirements_of(backend: str) -> list[str]:
    """Pinned packages a model fitted with ``backend`` needs beyond the base install."""
    return [f"{p}=={version(p)}" for p in PACKAGES.get(backend, ()) if version(p) != "unknown"]


def export_root(cache_dir: str | os.PathLike | None) -> Path:
    """Where exported models live: ``encoders/`` of the project's cache folder, or of the
    user's cache folder (``$XDG_CACHE_HOME/followback``) when the text cache is off."""
    if cache_dir is not None and str(cache_dir) != "":
        return Path(cache_dir) / EXPORT_FOLDER
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "followback" / EXPORT_FOLDER


def threads() -> int:
    """Math threads for the exported runtimes: ``$FOLLOWBACK_ENCODER_THREADS``, else torch's."""
    from pipeline.features.encoders import ENCODER_THREADS_ENV

    value = os.environ.get(ENCODER_THREADS_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    import torch

    return max(1, torch.get_num_threads())


def cpu_flags() -> str:
    """The CPU's matrix and vector extensions that decide which backend is fastest."""
    wanted = ("amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx_vnni", "avx512f", "avx2")
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown"
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    return ",".join(f for f in wanted if f in flags) or "none"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- runtimes


class Bf16Encoder:
    """A sentence-transformers model with bfloat16 weights; float32 unit vectors out."""

    def __init__(self, path: str, device: str) -> None:
        import torch

        from pipeline.features.encoders import load_sentence_transformer

        reference = load_sentence_transformer(path, device)
        import copy

        # A copy: the fp32 model is shared by every torch user in this process.
        self.model = copy.deepcopy(reference).to(torch.bfloat16)

    def get_embedding_dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               normalize_embeddings: bool = True, convert_to_numpy: bool = True,
               show_progress_bar: bool = False) -> np.ndarray:
        out = self.model.encode(list(texts), batch_size=batch_size, convert_to_tensor=True,
                                normalize_embeddings=False, show_progress_bar=False)
        out = out.float().cpu().numpy().reshape(len(texts), -1)
        return _normalized(out) if normalize_embeddings else out


class ExportedEncoder:
    """A sentence-transformers model whose transformer runs in another runtime.

    The model's own tokenizer prepares each batch (texts sorted by length, as
    sentence-transformers does), ``run`` maps the token arrays to token embeddings, and the
    model's remaining torch modules (pooling, dense, normalisation) finish the job, so any
    Transformer + Pooling model works, not only mean pooling.
    """

    def __init__(self, st: Any, run: Callable[[dict[str, np.ndarray]], np.ndarray],
                 inputs: Sequence[str], name: str) -> None:
        self.st = st
        self.run = run
        self.inputs = tuple(inputs)
        self.name = name

    def get_embedding_dimension(self) -> int:
        return int(self.st.get_embedding_dimension())

    def _features(self, texts: list[str]) -> dict[str, Any]:
        prepare = getattr(self.st, "preprocess", None) or self.st.tokenize
        return prepare(texts)

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               normalize_embeddings: bool = True, convert_to_numpy: bool = True,
               show_progress_bar: bool = False) -> np.ndarray:
        import torch

        texts = [str(t) for t in texts]
        dim = self.get_embedding_dimension()
        out = np.zeros((len(texts), dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        modules = list(self.st)[1:]
        with torch.inference_mode():
            for start in range(0, len(texts), int(batch_size)):
                idx = order[start : start + int(batch_size)]
                features = self._features([texts[i] for i in idx])
                arrays = {k: features[k].cpu().numpy().astype(np.int64) for k in self.inputs}
                features["token_embeddings"] = torch.from_numpy(
                    np.ascontiguousarray(self.run(arrays), dtype=np.float32))
                for module in modules:
                    features = module(features)
                out[idx] = features["sentence_embedding"].float().cpu().numpy()
        return _normalized(out) if normalize_embeddings else out


def _normalized(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def _transformer_parts(st: Any) -> tuple[Any, list[str]]:
    """The first module's Hugging Face model and the token inputs it takes."""
    first = st[0]
    model = getattr(first, "model", None) or getattr(first, "auto_model", None)
    if model is None or not hasattr(first, "tokenizer"):
        raise BackendUnavailable(f"the model's first module ({type(first).__name__}) is not a "
                                 "sentence-transformers Transformer, which export needs")
    sample = (getattr(st, "preprocess", None) or st.tokenize)(["an example", "and another one"])
    inputs = [k for k in _TOKEN_INPUTS if k in sample]
    if "input_ids" not in inputs or "attention_mask" not in inputs:
        raise BackendUnavailable("the model's tokenizer gives no input_ids / attention_mask")
    return model, inputs


class _Hidden:
    """The transformer as a module of positional token tensors returning the hidden states."""

    @staticmethod
    def build(model: Any, inputs: Sequence[str]):
        import torch

        names = tuple(inputs)

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *tensors):
                kwargs = dict(zip(names, tensors, strict=True))
                return self.model(**kwargs, return_dict=True).last_hidden_state

        return Hidden().eval()


def _export_dir(path: str, backend: str, cache_dir: str | os.PathLike | None) -> Path:
    from pipeline.features.encoders import identity

    runtime = "+".join(f"{p}=={version(p)}" for p in PACKAGES.get(backend, ()))
    key = _digest(identity(path), backend, f"torch=={version('torch')}",
                  f"transformers=={version('transformers')}", runtime)
    return export_root(cache_dir) / f"{_slug(path)}-{backend}-{key}"


def _slug(path: str) -> str:
    """A readable folder name for the model: the packaged model's package name, else the
    folder's or hub name's last part."""
    from pipeline.features.encoders import PACKAGED_MODEL, resolve_model_path

    try:
        if path == resolve_model_path(PACKAGED_MODEL):
            return PACKAGED_MODEL
    except Exception:  # the package is not installed: not the packaged model
        pass
    name = Path(str(path).rstrip("/")).name or "model"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def _exported(path: str, backend: str, cache_dir: str | os.PathLike | None,
              write: Callable[[Path], None]) -> Path:
    """The folder of ``backend``'s export of ``path``, written once (atomic, file-locked)."""
    from filelock import FileLock

    from pipeline.features.encoders import identity

    folder = _export_dir(path, backend, cache_dir)
    done = folder / "export.json"
    if done.is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if done.is_file():  # another process exported it while we waited
            return folder
        started = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            write(tmp)
            (tmp / "export.json").write_text(json.dumps({
                "model": identity(path),
                "backend": backend, "torch": version("torch"),
                "transformers": version("transformers"),
                **{p: version(p) for p in PACKAGES.get(backend, ())},
                "seconds": round(time.perf_counter() - started, 1)}, indent=2) + "\n")
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logger.info("exported %s for %s to %s in %.0f s", path, backend, folder,
                    time.perf_counter() - started)
    return folder


def _onnx_export(st: Any, target: Path) -> None:
    import torch

    model, inputs = _transformer_parts(st)
    sample = (getattr(st, "preprocess", None) or st.tokenize)(["an example text", "another"])
    args = tuple(sample[k] for k in inputs)
    axes = {k: {0: "batch", 1: "sequence"} for k in (*inputs, "last_hidden_state")}
    fp32 = target / "model_fp32.onnx"
    import warnings

    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        # The TorchScript exporter: the dynamo one needs onnxscript and gains nothing here.
        torch.onnx.export(_Hidden.build(model, inputs), args, str(fp32), input_names=inputs,
                          output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # MatMul weights only, one scale per output channel: per-tensor scales or quantizing the
    # embedding table lose far more (measured mean cosine 0.977 and 0.949 against 0.991).
    quantize_dynamic(str(fp32), str(target / "model_int8.onnx"), per_channel=True,
                     op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    fp32.unlink()
    (target / "inputs.json").write_text(json.dumps(inputs))


def _openvino_export(st: Any, target: Path) -> None:
    import warnings

    import openvino as ov
    import torch

    model, inputs = _transformer_parts(st)
    sample = (getattr(st, "preprocess", None) or st.tokenize)(["an example text", "another"])
    example = tuple(sample[k] for k in inputs)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        converted = ov.convert_model(_Hidden.build(model, inputs), example_input=example)
    for port, name in zip(converted.inputs, inputs, strict=True):
        port.get_tensor().set_names({name})
    # fp32 weights on disk: the runtime decides the inference precision for this CPU.
    ov.save_model(converted, str(target / "model.xml"), compress_to_fp16=False)
    (target / "inputs.json").write_text(json.dumps(inputs))


def _load_exported(path: str, device: str, cache_dir: str | os.PathLike | None, backend: str,
                   export, runner) -> ExportedEncoder:
    """The model's tokenizer and pooling from sentence-transformers around an exported
    transformer: ``export(st, folder)`` writes it once into the cache folder, ``runner(folder)``
    returns the function that maps the tokenizer's arrays to token embeddings."""
    from pipeline.features.encoders import load_sentence_transformer

    st = load_sentence_transformer(path, device)
    folder = _exported(path, backend, cache_dir, lambda t: export(st, t))
    inputs = json.loads((folder / "inputs.json").read_text())
    return ExportedEncoder(st, runner(folder), inputs, backend)


def _load_onnx(path: str, device: str, cache_dir: str | os.PathLike | None) -> ExportedEncoder:
    try:
        import onnx  # noqa: F401  (quantization needs it)
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailable(f"onnx-int8 needs onnxruntime and onnx "
                                 f"(pip install 'followback[fast]'): {exc}") from exc

    def runner(folder: Path):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads()
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(folder / "model_int8.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        return lambda arrays: session.run(None, arrays)[0]

    return _load_exported(path, device, cache_dir, "onnx-int8", _onnx_export, runner)


def _load_openvino(path: str, device: str,
                   cache_dir: str | os.PathLike | None) -> ExportedEncoder:
    try:
        import openvino as ov
    except ImportError as exc:
        raise BackendUnavailable(f"openvino needs the openvino package "
                                 f"(pip install 'followback[fast]'): {exc}") from exc

    def runner(folder: Path):
        compiled = ov.Core().compile_model(str(folder / "model.xml"), "CPU", {
            "INFERENCE_NUM_THREADS": threads(), "PERFORMANCE_HINT": "LATENCY"})
        request = compiled.create_infer_request()
        return lambda arrays: request.infer(arrays)[0]

    return _load_exported(path, device, cache_dir, "openvino", _openvino_export, runner)


@functools.lru_cache(maxsize=8)
def load(path: str, backend: str, device: str = "cpu",
         cache_dir: str | None = None) -> Any:
    """The encoder at ``path`` run by ``backend``, once per process; raises
    :class:`BackendUnavailable` with the reason when it cannot run here."""
    from pipeline.features.encoders import load_sentence_transformer

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(CHOICES)}, got {backend!r}")
    if backend == "torch":
        return load_sentence_transformer(path, device)
    if device != "cpu":
        raise BackendUnavailable(f"{backend} runs on the CPU only (device is {device!r})")
    try:
        if backend == "bf16":
            return Bf16Encoder(path, device)
        if backend == "openvino":
            return _load_openvino(path, device, cache_dir)
        return _load_onnx(path, device, cache_dir)
    except BackendUnavailable:
        raise
    except Exception as exc:  # an export or runtime failure: say which and why
        raise BackendUnavailable(f"{backend} failed to load: {type(exc).__name__}: "
                                 f"{str(exc)[:300]}") from exc


# --------------------------------------------------------------------------- probe


@dataclass
class Measure:
    """One backend on :data:`PROBE_TEXTS`: texts/s and cosine to torch, or why it did not run."""

    backend: str
    texts_per_s: float = 0.0
    mean_cosine: float = 0.0
    min_cosine: float = 0.0
    error: str = ""

    @property
    def matches(self) -> bool:
        return not self.error and self.min_cosine >= MIN_COSINE

    def describe(self) -> str:
        if self.error:
            return f"{self.backend} unavailable ({self.error})"
        return (f"{self.backend} {self.texts_per_s:,.0f}/s, min cosine {self.min_cosine:.5f}"
                + ("" if self.matches else f" < {MIN_COSINE}"))


@dataclass
class Probe:
    """What :func:`probe` measured and chose."""

    chosen: str
    measures: list[Measure] = field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(m.describe() for m in self.measures)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two ``(n, d)`` arrays."""
    a, b = _normalized(np.asarray(a, np.float32)), _normalized(np.asarray(b, np.float32))
    return (a * b).sum(axis=1)


def measure(encoders: dict[str, Any], texts: Sequence[str], repeat: int = 3,
            batch_size: int = 64) -> dict[str, Measure]:
    """Best-of-``repeat`` texts/s of each encoder on ``texts``, interleaved (other work on the
    machine slows every backend alike), and each one's cosine to ``encoders["torch"]``."""
    texts = list(texts)

    def run(enc: Any) -> np.ndarray:
        return np.asarray(enc.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False), np.float32)

    outputs = {name: run(enc) for name, enc in encoders.items()}  # also the warm-up
    best = dict.fromkeys(encoders, float("inf"))
    for _ in range(max(1, repeat)):
        for name, enc in encoders.items():
            start = time.perf_counter()
            run(enc)
            best[name] = min(best[name], time.perf_counter() - start)
    reference = outputs["torch"]
    out = {}
    for name in encoders:
        cos = cosines(outputs[name], reference)
        out[name] = Measure(name, len(texts) / max(best[name], 1e-9), float(cos.mean()),
                            float(cos.min()))
    return out


def _probe_file(path: str, device: str, cache_dir: str | os.PathLike | None) -> Path:
    from pipeline.features.encoders import identity

    key = _digest(str(PROBE_VERSION), identity(path), device, cpu_flags(),
                  str(threads()), *(f"{p}=={version(p)}" for p in
                                    ("torch", "transformers", "openvino", "onnxruntime")))
    return export_root(cache_dir) / f"probe-{key}.json"


@functools.lru_cache(maxsize=8)
def probe(path: str, device: str = "cpu", cache_dir: str | None = None) -> Probe:
    """Measure every backend on :data:`PROBE_TEXTS` and choose the fastest matching torch.

    Remembered in the cache folder per model, CPU flags, thread count and library versions,
    so a machine probes once and every later run (featurize, train, score) agrees.
    """
    file = _probe_file(path, device, cache_dir)
    if file.is_file():
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            return Probe(data["chosen"], [Measure(**m) for m in data["measures"]])
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: probe again
    encoders, failed = {}, {}
    for backend in BACKENDS:
        try:
            encoders[backend] = load(path, backend, device, cache_dir)
        except BackendUnavailable as exc:
            failed[backend] = str(exc)
    measures = measure(encoders, PROBE_TEXTS)
    measures.update({b: Measure(b, error=e) for b, e in failed.items()})
    ordered = [measures[b] for b in BACKENDS]
    chosen = max((m for m in ordered if m.matches), key=lambda m: m.texts_per_s).backend
    result = Probe(chosen, ordered)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"chosen": chosen, "cpu": cpu_flags(),
                                   "min_cosine": MIN_COSINE,
                                   "measures": [m.__dict__ for m in ordered]}, indent=2) + "\n")
        os.replace(tmp, file)
    except OSError as exc:
        logger.warning("could not remember the backend probe in %s: %s", file, exc)
    logger.info("embedding backend auto: %s (%s)", chosen, result.describe())
    return result


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class Resolved:
    """Which backend runs and what the run records about it."""

    backend: str
    requested: str
    note: str = ""

    def describe(self) -> str:
        """The backend as the run's backends name it (metrics, MLflow tags, the report)."""
        if self.backend == NUMPY:
            return "numpy only, backend n/a"
        said = f"{self.backend} ({runtime_of(self.backend)})"
        if self.requested == "auto":
            said += f"; auto: fastest matching torch to cosine {MIN_COSINE} on this CPU"
        return said + (f"; {self.note}" if self.note else "")


@functools.lru_cache(maxsize=16)
def resolve(path: str, requested: str, device: str = "cpu", cache_dir: str | None = None,
            strict: bool = False) -> Resolved:
    """The backend that runs for ``requested``.

    ``auto`` probes (once per machine, see :func:`probe`). An explicit backend that cannot run
    falls back to torch with a warning naming both (which loads it to find out), unless
    ``strict`` (a fitted model's backend: its features were computed with it, so another one
    must not stand in): then it is taken as is, loaded only when a text needs it, and a
    failure to load is an error (:func:`pipeline.features.embedding.load_encoder`).
    """
    if requested not in CHOICES:
        raise ValueError(f"backend must be one of {', '.join(CHOICES)}, got {requested!r}")
    if requested == "torch" or (strict and requested != "auto"):
        return Resolved(requested, requested)
    if requested == "auto":
        result = probe(path, device, cache_dir)
        return Resolved(result.chosen, requested, result.describe())
    try:
        load(path, requested, device, cache_dir)
        return Resolved(requested, requested)
    except BackendUnavailable as exc:
        note = f"{requested} could not run ({exc}); torch ran instead"
        logger.warning("embedding backend: %s", note)
        return Resolved("torch", requested, note)
