"""Labelled bot-research sets that publish counts and lengths instead of profiles.

caverlee-2011, InstaFake and the Instagram Kaggle set give no handle, name or bio, only some
counts, a few lengths and flags, and the label. They cannot become contract accounts (a
handle's length is not a handle), so their readers return a :class:`LabelledSet`: one row per
account with the contract columns the source has (counts, ``created_at``, flags) and, where
it publishes a length instead of a text, the length columns :func:`pipeline.features.bot.
profile_features` reads in place of the text (``handle_length``, ``handle_digit_share``,
``bio_length``, ``has_url``). A column the source does not publish is absent: the feature
stays missing, never a guessed value. Rows that cannot be read become rejects with their line
(or record) and reason, and the other rows are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.ingest._common import iter_json, unwrap
from pipeline.data.schema import Reject

# The length and flag columns a labelled set may carry in place of text (see module doc).
LENGTH_COLUMNS = ("handle_length", "handle_digit_share", "bio_length", "has_url")


@dataclass
class LabelledSet:
    """The labelled accounts of one source: what it publishes, labels, provenance, rejects."""

    name: str
    platform: str
    accounts: pd.DataFrame
    labels: np.ndarray
    # "Now" for each account's age: when it was observed (NaT where the source does not say).
    observed_at: pd.Series
    # One entry per file read: path, rows read, accounts kept, sha256.
    files: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # Sub-groups within the source (cresci-2017's account groups), one per account.
    groups: np.ndarray | None = None


class RowError(ValueError):
    """One row of a labelled set that cannot be used; the message is the reason."""


def count(cells: dict[str, Any], column: str) -> float:
    """A non-negative count from ``cells[column]``; NaN for an empty cell; else RowError."""
    value = cells.get(column)
    if value is None or (isinstance(value, str) and value.strip() in ("", "NULL")):
        return np.nan
    try:
        number = float(str(value).strip().replace(",", "")) if isinstance(value, str) \
            else float(value)
    except (TypeError, ValueError):
        raise RowError(f"{column}: not a number: {value!r}") from None
    if not np.isfinite(number) or number < 0:
        raise RowError(f"{column}: not a non-negative count: {value!r}")
    return number


def share(cells: dict[str, Any], column: str) -> float:
    """A share in [0, 1] from ``cells[column]``; NaN for an empty cell; else RowError."""
    value = count(cells, column)
    if value > 1:
        raise RowError(f"{column}: a share must be between 0 and 1, got {cells[column]!r}")
    return value


def flag(cells: dict[str, Any], column: str) -> float:
    """1.0 / 0.0 from ``1``/``0`` (or true/false); NaN for an empty cell; else RowError."""
    value = cells.get(column)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return np.nan
    text = str(value).strip().lower()
    if text in ("1", "1.0", "true"):
        return 1.0
    if text in ("0", "0.0", "false"):
        return 0.0
    raise RowError(f"{column}: not 0 or 1: {value!r}")


def label(cells: dict[str, Any], column: str) -> int:
    """The 0 (human) / 1 (bot) label; a missing or other value is a RowError."""
    value = flag(cells, column)
    if np.isnan(value):
        raise RowError(f"{column}: the label is missing")
    return int(value)


def build(name: str, platform: str, rows: list[dict[str, Any]], labels: list[int],
          files: list[dict[str, Any]], rejects: list[Reject],
          observed: list[Any] | None = None) -> LabelledSet:
    """A :class:`LabelledSet` from parsed rows (dicts of the same keys)."""
    from pipeline.core.console import FollowbackError

    if not rows:
        where = ", ".join(f["file"] for f in files)
        raise FollowbackError(f"{name}: no account could be read from {where} "
                              f"({len(rejects)} rejected)")
    frame = pd.DataFrame(rows)
    frame.insert(0, "platform", platform)
    if "created_at" in frame.columns:
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    observed_at = (pd.to_datetime(pd.Series(observed), utc=True) if observed is not None
                   else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"))
    return LabelledSet(name=name, platform=platform, accounts=frame,
                       labels=np.asarray(labels, dtype=int), observed_at=observed_at,
                       files=files, rejects=rejects)


@dataclass
class Record:
    """One record of a labelled file: where it is, its cells, or why it could not be read.

    ``raw`` is the record as text for the rejects file; None where it is made from the cells
    only if the record is rejected (``raw_of`` of :func:`read_files`).
    """

    where: str
    cells: Any = None
    error: str | None = None
    raw: str | None = None


def json_records(path: Path, cells: Callable[[Any], Any] = lambda obj: obj) -> Iterator[Record]:
    """The objects of a JSON or JSON Lines file as records (``cells(obj)`` of each; a
    malformed part as one error record), for the labelled readers of JSON sources."""
    for item in iter_json(path):
        if item.error:
            yield Record(item.location, error=item.error, raw=item.raw)
            continue
        for where, obj in unwrap(item, ()):
            yield Record(where, cells(obj))


# A row parser: (row, label) or (row, label, observed_at) from one record's cells.
Parser = Callable[[Any], tuple]


def read_files(name: str, platform: str, paths: Iterable[Path],
               records: Callable[[Path], Iterator[Record]], parse: Parser,
               raw_of: Callable[[Any], str]) -> LabelledSet:
    """The labelled set of ``paths``: each record parsed, or kept aside as a reject.

    The one reading loop of the labelled readers. ``records(path)`` yields a file's records;
    ``parse`` turns a record's cells into its row and label (and, where the source says when
    the account was observed, that time) or raises :class:`RowError`. A row without an
    ``account_id`` gets ``<file stem>:<where>``. Each file's rows read and accounts kept go into
    its provenance entry.
    """
    rows: list[dict[str, Any]] = []
    labels: list[int] = []
    observed: list[Any] = []
    rejects: list[Reject] = []
    files: list[dict[str, Any]] = []
    for path in paths:
        before, read_rows = len(rows), 0
        for record in records(path):
            read_rows += 1
            error = record.error
            if error is None:
                try:
                    row, y, *seen = parse(record.cells)
                except RowError as exc:
                    error = str(exc)
            if error is not None:
                raw = record.raw if record.raw is not None else raw_of(record.cells)
                rejects.append(Reject(str(path), record.where, "accounts", error, raw))
                continue
            if "account_id" not in row:
                row = {"account_id": f"{path.stem}:{record.where}", **row}
            rows.append(row)
            labels.append(y)
            observed.append(seen[0] if seen else None)
        files.append(file_entry(path, read_rows, len(rows) - before))
    timed = any(o is not None for o in observed)
    return build(name, platform, rows, labels, files, rejects, observed if timed else None)


def file_entry(path: Path, rows_read: int, kept: int) -> dict[str, Any]:
    from pipeline.data import io

    return {"file": str(path), "rows_read": rows_read, "accounts": kept,
            "sha256": io.file_sha256(path)}
