"""Files already in the contract's columns: CSV (or TSV), JSON Lines, a JSON array, or Parquet.

The table comes from the file name (``accounts*.csv``, ``posts*.jsonl``, ``own_posts*``,
``decisions*``, ``snapshots*``) or, for a file whose name does not say it, from the ``table``
option (``--table``). Columns outside the contract are kept as ``Record.extra``. Empty CSV cells
mean "not given". Dates in JSON may also be epoch numbers (seconds, or milliseconds as
pandas writes them by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.core.console import FollowbackError
from pipeline.data import schema
from pipeline.data.ingest._common import (
    iter_csv,
    iter_json,
    parse_epoch,
    to_raw,
    unwrap,
)
from pipeline.data.schema import Record, Reject

SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet")
# own_posts first: "own_posts.csv" must not be taken for posts.
_PREFIXES = ("own_posts", "accounts", "posts", "decisions", "snapshots")
_DATE_COLUMNS = {"created_at", "last_post_at", "decided_at", "taken_at"}
# The fields without which a row of each table cannot exist: used to recognise generic files.
REQUIRED = {
    table: {name for name, f in model.model_fields.items() if f.is_required()}
    for table, model in schema.MODELS.items()
}


def table_from_name(path: Path) -> str | None:
    """The table a file's name says it holds (``own_posts_2024.csv`` -> own_posts), or None."""
    stem = path.name.lower().split(".", 1)[0]
    for prefix in _PREFIXES:
        if stem.startswith(prefix):
            return prefix
    return None


def resolve_table(path: Path, table: str | None = None) -> str:
    """The file's name decides; ``table`` (``--table``) covers names that do not say it."""
    found = table_from_name(path) or table
    if found is None:
        raise FollowbackError(
            f"cannot tell which table {path} holds: name it after the table "
            f"({', '.join(_PREFIXES)}) or pass --table"
        )
    if found not in schema.TABLES:
        raise FollowbackError(
            f"unknown table {found!r} for {path}; choose one of: {', '.join(schema.TABLES)}"
        )
    return found


def _record(table: str, source: str, location: str, row: dict[str, Any],
            from_text: bool) -> Record:
    columns = schema.columns(table)
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (from_text and value == ""):
            continue  # not given (an empty CSV cell, a JSON null, a Parquet null)
        if key in columns:
            if key in _DATE_COLUMNS:
                value = parse_epoch(value)  # the same epoch rule for CSV text and JSON numbers
            data[key] = value
        else:
            extra[key] = value
    return Record(table, source, location, data, extra=extra)


def _read_parquet(path: Path, table: str, source: str) -> Iterator[Record | Reject]:
    import pyarrow.parquet as pq

    number = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                number += 1
                yield _record(table, source, f"row {number}", row, from_text=False)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        # A corrupt or half-downloaded file: one reject naming it; the other files go on.
        where = "file" if number == 0 else f"after row {number}"
        yield Reject(source, where, table, f"unreadable Parquet file: {exc}", "")


def read(path: Path, table: str | None = None, **opts: Any) -> Iterator[Record | Reject]:
    """Records of the one table ``path`` holds, streamed row by row."""
    path = Path(path)
    table = resolve_table(path, table)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _read_parquet(path, table, source)
        return
    if suffix in (".csv", ".tsv"):
        for row in iter_csv(path):
            if row.error:
                yield Reject(source, f"line {row.line}", table, row.error, row.raw)
            else:
                yield _record(table, source, f"line {row.line}", row.cells, from_text=True)
        return
    yield from _read_json(path, table, source)


def _read_json(path: Path, table: str, source: str) -> Iterator[Record | Reject]:
    for item in iter_json(path):
        if item.error:
            yield Reject(source, item.location, table, item.error, item.raw)
            continue
        for location, value in unwrap(item, ()):
            if isinstance(value, dict):
                yield _record(table, source, location, value, from_text=False)
            else:
                yield Reject(source, location, table,
                             f"expected a JSON object, got {type(value).__name__}",
                             to_raw(value))
