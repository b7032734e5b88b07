"""Reading and writing tables safely: atomic writes, the rejects file, and the contract tables."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
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
        _kill_point()
    finally:
        tmp_path.unlink(missing_ok=True)


# Test hook: with FOLLOWBACK_KILL_AFTER=N the process kills itself (SIGKILL, no cleanup) at
# the N-th step that makes a write visible (a file renamed into place, a folder swapped), so
# tests can stop a stage at every point and check what a reader then finds.
_steps = 0


def _kill_point() -> None:
    global _steps
    limit = os.environ.get("FOLLOWBACK_KILL_AFTER")
    if not limit:
        return
    _steps += 1
    if _steps >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def _old_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def recover_dir(path: str | Path) -> None:
    """Finish or undo a folder swap that a killed process left half done.

    :func:`atomic_dir` renames the old folder aside, then the new one into place. Killed
    between the two, the folder is missing and the old one waits beside it: put it back.
    Killed after both, the old one is left over: remove it.
    """
    path = Path(path)
    old = _old_sibling(path)
    if not old.exists():
        return
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(old, path)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; swap it in for ``path`` only if the block succeeds.

    A stage that writes several files writes them all into the temporary folder, so a reader
    of ``path`` finds the whole old output or the whole new one, never new tables beside old
    ones. Files of the old folder that the block does not write are gone afterwards.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        yield tmp
        old = _old_sibling(path)
        if path.exists():
            os.replace(path, old)
            _kill_point()
        os.replace(tmp, path)
        _kill_point()
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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
            # "\r\n" as the csv module's default: a field holding a bare "\r" is then quoted.
            frame.to_csv(tmp, index=False, lineterminator="\r\n")
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
    recover_dir(data_dir)
    path = table_path(data_dir, table)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run `followback ingest` first (or `dvc repro`)"
        )
    return schema.conform(table, pd.read_parquet(path))
