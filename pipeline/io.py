"""Reading and writing tables safely: atomic writes, the rejects file, and the contract tables."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from pipeline import schema


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Readers never see a half-written file: either the old one or the complete new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); give it the mode an ordinary new file gets.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a frame atomically; the format follows the suffix (.parquet, .csv, .jsonl)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            frame.to_csv(tmp, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            frame.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)
        else:
            raise ValueError(f"unsupported output format {suffix!r} for {path} "
                             "(use .parquet, .csv or .jsonl)")


def write_rejects(rejects: Iterable[schema.Reject], path: str | Path) -> int:
    """Write the rejects file (CSV: source, location, table, reason, raw); return its row count."""
    rows = [r.__dict__ for r in rejects]
    write_table(pd.DataFrame(rows, columns=schema.REJECT_COLUMNS), path)
    return len(rows)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_path(data_dir: str | Path, table: str) -> Path:
    return Path(data_dir) / f"{table}.parquet"


def read_table(data_dir: str | Path, table: str) -> pd.DataFrame:
    """One contract table from an ingest output folder, with the contract's dtypes."""
    path = table_path(data_dir, table)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run `followback ingest` first (or `dvc repro`)"
        )
    return schema.conform(table, pd.read_parquet(path))
