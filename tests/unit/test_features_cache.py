"""The content-hash text cache: round trips, namespaces, counters and two processes at once."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import sqlite3

import numpy as np
import pytest

from pipeline.features.cache import DEFAULT_FILENAME, TextCache, open_cache, text_key


def test_vectors_round_trip_float32(tmp_path):
    cache = TextCache(tmp_path, "model-a")
    vectors = {"fresh sourdough": np.array([0.1, -0.2, 0.3]), "bike tour": np.arange(3.0)}
    assert cache.put_many(vectors) == 2
    got = cache.get_many(["bike tour", "fresh sourdough"])
    assert set(got) == set(vectors)
    for text, vec in vectors.items():
        assert got[text].dtype == np.float32
        np.testing.assert_allclose(got[text], vec.astype(np.float32))
    got["bike tour"][0] = 99.0  # a result is a writable copy, not a view of the stored bytes
    assert cache.get_many(["bike tour"])["bike tour"][0] == 0.0


def test_json_kind_round_trip(tmp_path):
    cache = TextCache(tmp_path / "c.sqlite", "lingua", kind="json")
    cache.put_many([("Hola", ["es", 0.91]), ("🍞", [None, 0.0])])
    assert cache.get_many(["Hola", "🍞"]) == {"Hola": ["es", 0.91], "🍞": [None, 0.0]}
    assert (tmp_path / "c.sqlite").is_file()


def test_folder_path_gets_default_file(tmp_path):
    TextCache(tmp_path / "cache", "m").put_many({"x": np.zeros(2)})
    assert (tmp_path / "cache" / DEFAULT_FILENAME).is_file()


def test_hits_and_misses_count_distinct_texts(tmp_path):
    cache = TextCache(tmp_path, "m")
    cache.put_many({"a": np.ones(2), "b": np.ones(2)})
    found = cache.get_many(["a", "a", "b", "c", "c", "d"])
    assert sorted(found) == ["a", "b"]
    assert (cache.hits, cache.misses) == (2, 2)
    assert cache.stats() == {"hits": 2, "misses": 2}


def test_namespaces_never_share_results(tmp_path):
    TextCache(tmp_path, "st:model-a").put_many({"same text": np.ones(4)})
    other = TextCache(tmp_path, "st:model-b")
    assert other.get_many(["same text"]) == {}
    assert other.misses == 1
    assert other.count() == 0


def test_existing_entries_are_kept(tmp_path):
    cache = TextCache(tmp_path, "m")
    cache.put_many({"t": np.array([1.0, 2.0])})
    cache.put_many({"t": np.array([5.0, 5.0])})  # same text, same producer: first result stays
    np.testing.assert_array_equal(cache.get_many(["t"])["t"], [1.0, 2.0])
    assert cache.count() == 1


def test_keys_are_sha256_of_utf8():
    assert text_key("é") != text_key("e")
    assert len(text_key("anything")) == 32
    assert text_key("Brot 🍞") == text_key("Brot 🍞")


def test_many_texts_beyond_one_sql_statement(tmp_path):
    cache = TextCache(tmp_path, "m")
    texts = [f"text number {i}" for i in range(2500)]
    cache.put_many((t, np.full(2, i, dtype=np.float32)) for i, t in enumerate(texts))
    got = cache.get_many(texts)
    assert len(got) == 2500 and got["text number 2499"][0] == 2499


def test_wal_mode_and_busy_timeout(tmp_path):
    cache = TextCache(tmp_path, "m", timeout=12.5)
    cache.put_many({"x": np.zeros(1)})
    conn = cache._connect()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 12500


def test_pickle_drops_the_connection(tmp_path):
    cache = TextCache(tmp_path, "m")
    cache.put_many({"x": np.ones(3)})
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._conn is None
    np.testing.assert_array_equal(clone.get_many(["x"])["x"], np.ones(3))


def test_open_cache_none_disables():
    assert open_cache(None, "m") is None
    assert open_cache("", "m") is None


def test_bad_kind_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        TextCache(tmp_path, "m", kind="pickle")


def test_two_connections_interleave(tmp_path):
    first, second = TextCache(tmp_path, "m"), TextCache(tmp_path, "m")
    first.put_many({"a": np.ones(2)})
    # The second connection reads while the first holds an open read transaction.
    first._connect().execute("BEGIN")
    first._connect().execute("SELECT COUNT(*) FROM results").fetchone()
    second.put_many({"b": np.ones(2)})
    first._connect().execute("COMMIT")
    assert sorted(first.get_many(["a", "b"])) == ["a", "b"]


def _writer(path: str, worker: int, n: int, queue, barrier) -> None:
    try:
        cache = TextCache(path, "shared-model", timeout=60)
        barrier.wait(timeout=60)  # both start writing at the same moment
        for start in range(0, n, 50):
            # Overlapping ranges: both processes write some of the same texts.
            batch = {f"text {i}": np.full(8, i, dtype=np.float32)
                     for i in range(start, start + 50)}
            batch.update({f"worker {worker} text {i}": np.full(8, -i, dtype=np.float32)
                          for i in range(start, start + 50)})
            cache.put_many(batch)
            cache.get_many(list(batch)[:20])
        queue.put(("ok", worker))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(("error", repr(exc)))


def test_two_processes_write_the_same_file_at_once(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(path, w, 1000, queue, barrier)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    results = [queue.get(timeout=5) for _ in procs]
    assert all(r[0] == "ok" for r in results), results
    assert all(p.exitcode == 0 for p in procs)

    cache = TextCache(path, "shared-model")
    assert cache.count() == 1000 + 2 * 1000
    got = cache.get_many([f"text {i}" for i in range(1000)])
    assert len(got) == 1000 and float(got["text 999"][0]) == 999.0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
