"""Reading and writing tables safely: atomic writes, the rejects file, and the contract tables.

A file is written to a temporary sibling and renamed into place (:func:`atomic_path`). A stage
that writes several files makes them appear together: :func:`atomic_dir` when they share one
folder that is the stage's alone (``ingest``), else :class:`OutputSet`, which commits files and
folders in different folders with a journal beside each target that :func:`recover` finishes or
drops. Grouping every stage's outputs under one folder would have moved paths that DVC, the
metrics tools and users know (``metrics/train.json`` beside ``models/followback``), so the
journal is the price of keeping them. MLflow's tracking store is not covered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from pipeline.data import schema


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
# the N-th step that makes a write visible (a file renamed into place, a folder swapped, a
# commit journal written or removed), so tests can stop a stage at every point and check what a
# reader then finds. FOLLOWBACK_KILL_LOG=FILE appends each step's kind there (write, swap,
# journal, move, unjournal), so a test can tell where a stage's commit begins.
_steps = 0


def _kill_point(kind: str = "write") -> None:
    global _steps
    log = os.environ.get("FOLLOWBACK_KILL_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(kind + "\n")
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
            _kill_point("swap")
        os.replace(tmp, path)
        _kill_point("swap")
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- output sets
#
# A stage whose outputs live in different folders (models/followback, data/eval/ and
# metrics/train.json) cannot swap them in with one rename. Its files are written to temporary
# siblings, then committed by a journal written beside every target (``.<name>.commit``), each
# naming the whole set. The commit point is the last journal written: after it, the set goes in
# whole (the writer, or whoever reads a target next, finishes the renames); before it, the set
# never goes in (the temporaries are dropped). Every journal carries the same ``id``, so a
# reader of any one target can tell whether all of them were written.

_TXN = ".txn-"


def _journal(path: Path) -> Path:
    return path.with_name(f".{path.name}.commit")


def _read_journal(path: Path) -> dict | None:
    try:
        return json.loads(_journal(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _moves(entry: dict) -> list[tuple[Path, Path, bool]]:
    """The (temporary, target, is_folder) moves a journal names. A target is named by its real
    folder (a symlinked data folder must not send ``..`` elsewhere) and its own name (a target
    that is a symlink, as DVC's symlink cache makes it, is replaced, not followed); its
    temporary lies beside it."""
    return [(Path(target).parent / tmp, Path(target), is_dir)
            for tmp, target, is_dir in entry["moves"]]


@contextlib.contextmanager
def _locked(folders: Iterable[Path]) -> Iterator[None]:
    """Hold an exclusive lock on each folder (sorted: two sets never deadlock), so a reader
    finishing a dead run's commit never races a live writer. Released when the process dies."""
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): a commit is then not guarded
        yield
        return
    fds = []
    try:
        for folder in sorted({str(Path(f).resolve()) for f in folders}):
            fd = os.open(folder, os.O_RDONLY)
            fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _move_in(tmp: Path, target: Path, is_dir: bool) -> None:
    """Rename ``tmp`` over ``target``; a folder goes in as :func:`atomic_dir` swaps it."""
    if not (tmp.exists() or tmp.is_symlink()):
        return  # moved already (a commit finished by a reader, or redone after a kill)
    if is_dir and target.exists():
        os.replace(target, _old_sibling(target))
        _kill_point("move")
    os.replace(tmp, target)
    _kill_point("move")


def _finish(targets: list[Path], entries: dict[Path, dict | None]) -> None:
    """Complete or drop the set the journals of ``targets`` describe (lock held)."""
    ident = next(e["id"] for e in entries.values() if e)
    moves = _moves(next(e for e in entries.values() if e))
    committed = all(e is not None and e["id"] == ident for e in entries.values())
    if committed:
        for tmp, target, is_dir in moves:
            _move_in(tmp, target, is_dir)
    for tmp, target, is_dir in moves:
        if not committed:
            _remove(tmp)
        if is_dir and target.exists():
            _remove(_old_sibling(target))
    # Journals go last: while one is left, the set is known to be committed or not.
    for target in targets:
        if entries[target] is not None and entries[target]["id"] == ident:
            _journal(target).unlink(missing_ok=True)
            _kill_point("unjournal")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def recover(path: str | Path) -> None:
    """Make ``path`` wholly old or wholly new after a run that was killed writing it.

    Finishes an output set committed by :class:`OutputSet` (or drops one that never was) and
    undoes a half-done :func:`atomic_dir` swap. Every reader calls it before reading; it costs
    one ``stat`` when nothing was interrupted.
    """
    path = Path(path)
    if _journal(path).exists():
        entry = _read_journal(path)
        targets = [path] if entry is None else [t for _, t, _ in _moves(entry)]
        with _locked(t.parent for t in targets):
            entries = {t: _read_journal(t) for t in targets}
            if any(entries.values()):
                _finish(targets, entries)
            else:
                _journal(path).unlink(missing_ok=True)  # unreadable: written by no commit
    recover_dir(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(target: Path) -> None:
    """Drop the temporaries a killed run of an output set left beside ``target``."""
    pattern = re.compile(rf"^\.+{re.escape(target.name)}{re.escape(_TXN)}(\d+)-")
    if not target.parent.is_dir():
        return
    for entry in target.parent.iterdir():
        found = pattern.match(entry.name)
        if found and int(found.group(1)) != os.getpid() and not _pid_alive(int(found.group(1))):
            _remove(entry)


class OutputSet:
    """Files and folders of one stage that appear together or not at all.

    >>> with io.OutputSet() as out:                              # doctest: +SKIP
    ...     io.write_table(frame, out.file("data/features.parquet"))
    ...     io.write_text(out.file("metrics/featurize.json"), text)

    :meth:`file` and :meth:`dir` give a temporary sibling of each target to write; when the
    block ends without an error, the whole set replaces the old outputs (the comment at the
    head of this section says how a kill at any moment leaves the old set or the new one). Readers
    call :func:`recover` on a target first. Targets may live in different folders of one file
    system. A folder target loses the old folder's files that the block does not write.
    """

    def __init__(self) -> None:
        self._moves: list[tuple[Path, Path, bool]] = []

    def _temp(self, target: str | Path, is_dir: bool) -> Path:
        target = Path(target)
        if any(t == target for _, t, _ in self._moves):
            raise ValueError(f"{target} is already in this output set")
        target.parent.mkdir(parents=True, exist_ok=True)
        recover(target)
        _sweep(target)
        prefix = f".{target.name}{_TXN}{os.getpid()}-"
        if is_dir:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=target.parent))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)
        else:
            # The target's suffix: writers pick the format from it (write_table, savefig).
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=target.suffix or ".tmp",
                                        dir=target.parent)
            os.close(fd)
            tmp = Path(name)
            tmp.unlink()  # writers create it (io.write_* rename their own temporary onto it)
        self._moves.append((tmp, target, is_dir))
        return tmp

    def file(self, target: str | Path) -> Path:
        """A temporary path to write ``target``'s new content to."""
        return self._temp(target, False)

    def dir(self, target: str | Path) -> Path:
        """A temporary empty folder to write ``target``'s new files into."""
        return self._temp(target, True)

    def temporary(self, target: str | Path) -> Path:
        """The temporary path of ``target`` given earlier by :meth:`file` or :meth:`dir`."""
        return next(tmp for tmp, t, _ in self._moves if t == Path(target))

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.commit()
        else:
            for tmp, _, _ in self._moves:
                _remove(tmp)

    def commit(self) -> None:
        for tmp, target, _ in self._moves:
            if not (tmp.exists() or tmp.is_symlink()):
                raise FileNotFoundError(f"nothing was written for {target} (expected {tmp})")
        targets = [t for _, t, _ in self._moves]
        ident = uuid.uuid4().hex
        entry = {"id": ident, "moves": [
            [tmp.name, str(Path(os.path.realpath(target.parent)) / target.name), is_dir]
            for tmp, target, is_dir in self._moves]}
        with _locked(t.parent for t in targets):
            for target in targets:
                journal = _journal(target)
                tmp = journal.with_name(f"{journal.name}.{ident}.tmp")
                tmp.write_text(json.dumps(entry, indent=1) + "\n", encoding="utf-8")
                os.replace(tmp, journal)
                _kill_point("journal")
            _finish(targets, {t: _read_journal(t) for t in targets})


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
    recover(data_dir)
    path = table_path(data_dir, table)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run `followback ingest` first (or `dvc repro`)"
        )
    return schema.conform(table, pd.read_parquet(path))
