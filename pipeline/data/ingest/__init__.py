"""``followback ingest``: read exports and API dumps into the contract's five tables.

One module per source format, each a streaming reader ``read(path, **opts)`` that yields
:class:`~pipeline.data.schema.Record` objects for whichever tables the file holds, and a
:class:`~pipeline.data.schema.Reject` for anything it cannot parse (a malformed JSON line, a CSV row
with the wrong number of fields), with the file and the line or record. Whether a record fits the
contract is decided afterwards, once, by :func:`pipeline.data.schema.validate_records`, which also
keeps the most recent of duplicate ids. Nothing is dropped silently: every row read is accepted,
rejected (with the reason, in ``rejects.csv``) or counted as a duplicate.

Formats (``--format``): ``generic`` (the contract's own columns as CSV, JSON Lines or Parquet),
``mastodon``, ``bluesky``, ``twitter`` (API v1.1 JSON), ``twitter-research`` (the flat CSVs of
bot-research datasets), ``twitter-archive``, ``instagram`` and ``facebook`` (follower and
following lists).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from pipeline.core.config import Source
from pipeline.core.console import FollowbackError, ParamsOption, console, progress
from pipeline.data import io, schema
from pipeline.data.ingest import (
    archive,
    bluesky,
    facebook,
    generic,
    instagram,
    mastodon,
    research,
    twitter,
)
from pipeline.data.ingest._common import csv_header, decoded_as, fetch_context, peek
from pipeline.data.schema import Record, Reject, TableResult

Reader = Callable[..., Iterator[Record | Reject]]

FORMATS: dict[str, Reader] = {
    "generic": generic.read,
    "mastodon": mastodon.read,
    "bluesky": bluesky.read,
    "twitter": twitter.read,
    "twitter-research": research.read,
    "twitter-archive": archive.read,
    "instagram": instagram.read,
    "facebook": facebook.read,
}
# The file suffixes each format reads; with an explicit --format, other files in a folder are
# skipped (and listed) rather than fed to a reader that cannot parse them.
SUFFIXES: dict[str, tuple[str, ...]] = {
    "generic": generic.SUFFIXES,
    "mastodon": mastodon.SUFFIXES,
    "bluesky": bluesky.SUFFIXES,
    "twitter": twitter.SUFFIXES,
    "twitter-research": research.SUFFIXES,
    "twitter-archive": archive.SUFFIXES,
    "instagram": instagram.SUFFIXES,
    "facebook": facebook.SUFFIXES,
}
FormatName = Literal[
    "auto", "generic", "mastodon", "bluesky", "twitter", "twitter-research", "twitter-archive",
    "instagram", "facebook",
]
TableName = Literal["accounts", "posts", "own_posts", "decisions", "snapshots"]

# A JSON key (not one inside a string value, whose quotes are escaped).
_JSON_KEY = re.compile(r'(?<!\\)"([A-Za-z_$][\w$]*)"\s*:')
_AT_URI = re.compile(r'"uri"\s*:\s*"at://')


# --------------------------------------------------------------------------- detection


def _choices() -> str:
    return ", ".join(FORMATS)


def _unknown(path: Path, why: str) -> FollowbackError:
    return FollowbackError(
        f"cannot tell the format of {path} ({why}); pass --format with one of: {_choices()}"
    )


def _generic_fits(path: Path, columns: Iterable[str]) -> bool:
    columns = set(columns)
    if generic.table_from_name(path):
        return True
    return any(required <= columns for required in generic.REQUIRED.values())


_MAGIC = {b"\x1f\x8b": "compressed (gzip)", b"PK\x03\x04": "compressed (zip)",
          b"BZh": "compressed (bzip2)", b"\xfd7zXZ\x00": "compressed (xz)",
          b"7z\xbc\xaf\x27\x1c": "compressed (7z)", b"(\xb5/\xfd": "compressed (zstd)"}


def binary_kind(path: Path) -> str | None:
    """``"compressed (gzip)"`` etc. or ``"binary"`` for a file no text reader can use; None for
    text and for Parquet (binary, but read by its own reader)."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith(b"PAR1") or Path(path).suffix.lower() == ".parquet":
        return None
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    return None


def detect_format(path: Path) -> str:
    """The format of one file, from its name, suffix and a look at its first bytes.

    Raises :class:`~pipeline.core.console.FollowbackError` naming the file and the ``--format``
    choices when the format cannot be told.
    """
    path = Path(path)
    if path.is_dir():
        raise FollowbackError(f"{path} is a folder: detect_format takes one file")
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    name, suffix = path.name.lower(), path.suffix.lower()
    if suffix == ".js":
        kind = archive.data_type(peek(path, 256))
        if kind in archive.DATA_TYPES or kind == "manifest":
            return "twitter-archive"
        raise _unknown(path, "a .js file that is not a follower, following, tweets or manifest "
                       "file of a Twitter archive")
    packed = binary_kind(path)
    if packed:
        raise FollowbackError(f"{path} looks {packed}: unpack it first, or give the file "
                              "inside it")
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except (OSError, ValueError) as exc:
            # Corrupt or truncated: the generic reader rejects it with one row naming it.
            if generic.table_from_name(path):
                return "generic"
            raise _unknown(path, f"unreadable Parquet file: {exc}") from None
        if _generic_fits(path, names):
            return "generic"
        raise _unknown(path, "its columns are not the contract's")
    if suffix in (".csv", ".tsv"):
        header = csv_header(path)
        if research.kind_of(header):
            return "twitter-research"
        if _generic_fits(path, header):
            return "generic"
        raise _unknown(path, f"an unknown CSV header: {', '.join(header[:8]) or 'none'}")
    if suffix in (".json", ".jsonl", ".ndjson"):
        fetched = fetch_context(path)
        if fetched is not None and fetched.platform in FORMATS:
            return fetched.platform  # a file of a `followback fetch` folder
        text = peek(path)
        keys = set(_JSON_KEY.findall(text))
        if keys & set(facebook.KEYS):
            return "facebook"
        if keys & {"relationships_following", "relationships_followers"} or (
            instagram.FILE_NAMES.match(name) and "string_list_data" in keys
        ):
            return "instagram"
        if {"did", "handle"} <= keys or _AT_URI.search(text):
            return "bluesky"
        if "acct" in keys:
            return "mastodon"
        if "screen_name" in keys or "id_str" in keys:
            return "twitter"
        if _generic_fits(path, keys):
            return "generic"
        raise _unknown(path, "its records match none of the known platforms")
    raise _unknown(path, f"unknown file type {suffix or '(no suffix)'}")


# --------------------------------------------------------------------------- reading


def source_files(path: Path, fmt: str = "auto") -> tuple[list[tuple[Path, str]],
                                                         list[tuple[Path, str]]]:
    """The (file, format) pairs to read for one source, and the (file, reason) pairs skipped.

    A folder means every file in it and its subfolders, sorted, hidden ones left out. In a
    folder, a file whose format cannot be detected (an archive's other data, a README) is
    skipped and listed; a single file given by name must be readable or it is an error.
    """
    path = Path(path)
    if fmt != "auto" and fmt not in FORMATS:
        raise FollowbackError(f"unknown format {fmt!r}; choose auto or one of: {_choices()}")
    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    if path.is_file():
        packed = binary_kind(path)
        if packed:
            raise FollowbackError(f"{path} looks {packed}, not like an export followback "
                                  "reads: unpack it first, or give the file inside it")
        return [(path, detect_format(path) if fmt == "auto" else fmt)], []
    files: list[tuple[Path, str]] = []
    skipped: list[tuple[Path, str]] = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in file.relative_to(path).parts):
            continue
        packed = binary_kind(file)
        if packed:
            skipped.append((file, f"looks {packed}"))
            continue
        if fmt != "auto":
            if file.suffix.lower() in SUFFIXES[fmt]:
                files.append((file, fmt))
            else:
                skipped.append((file, f"not a {fmt} file"))
            continue
        try:
            files.append((file, detect_format(file)))
        except FollowbackError:
            skipped.append((file, "format not recognised"))
    return files, skipped


def read_source(path: Path, fmt: str = "auto", **opts: Any) -> Iterator[Record | Reject]:
    """Records and parse failures of one file, or of every file in a folder.

    ``opts`` go to the readers: ``table`` (generic files whose name does not say the table),
    ``taken_at`` (snapshot time for follower lists that carry none).
    """
    files, skipped = source_files(path, fmt)
    if skipped:
        console.print(f"[yellow]skipped {len(skipped)} file(s) in {path}:[/] "
                      + ", ".join(str(f) for f, _ in skipped[:5])
                      + (" ..." if len(skipped) > 5 else ""), highlight=False)
    for file, file_format in files:
        yield from FORMATS[file_format](file, **opts)


# --------------------------------------------------------------------------- loading


@dataclass
class FileSummary:
    """What one input file gave: rows read (records and parse failures) and rows rejected."""

    path: str
    format: str
    read: int = 0
    rejected: int = 0
    encoding: str | None = None  # set when the file was not UTF-8 (e.g. cp1252)


@dataclass
class IngestResult:
    """The validated tables, every reject, and what each input file gave."""

    tables: dict[str, TableResult]
    rejects: list[Reject]
    files: list[FileSummary] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> list[tuple[str, int, int, int, int]]:
        """One row per table: (table, read, accepted, rejected, duplicates)."""
        return [(t, r.read, r.accepted, len(r.rejects), r.duplicates)
                for t, r in self.tables.items()]

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        rows = self.summary()
        names = ("read", "accepted", "rejected", "duplicates")
        return {
            "tables": {t: dict(zip(names, counts, strict=True)) for t, *counts in rows},
            "total": {n: sum(row[i + 1] for row in rows) for i, n in enumerate(names)},
            "files": [f.__dict__ for f in self.files],
            "skipped": [{"path": p, "reason": why} for p, why in self.skipped],
        }


def _natural(reject: Reject) -> tuple:
    numbers = tuple(int(n) for n in re.findall(r"\d+", reject.location))
    return reject.source, numbers, reject.location


def _counted(items: Iterable[Record], bar, task) -> Iterator[Record]:
    for number, item in enumerate(items, 1):
        if number % 1000 == 0:
            bar.advance(task, 1000)
        yield item


def load(sources: list[Source], show_progress: bool = False, missing_ok: bool = False,
         **opts: Any) -> IngestResult:
    """Read every source, validate each table, and account for every row read.

    Per table, ``read == accepted + rejected + duplicates``; parse failures count as read and
    rejected in the table their file holds. Sources are read in order, so of two records with
    the same id and no observation time the later source's wins. ``missing_ok``: a source that
    does not exist is listed in ``skipped`` instead of raising FileNotFoundError (for sources
    from params.yaml that fill up later, such as the decisions folder).
    """
    records: dict[str, list[Record]] = {t: [] for t in schema.TABLES}
    failed: dict[str, list[Reject]] = {t: [] for t in schema.TABLES}
    files: list[FileSummary] = []
    skipped: list[tuple[str, str]] = []
    plan = []
    for src in sources:
        io.recover(src.path)  # e.g. the demo export, if `followback demo` was killed
        if missing_ok and not Path(src.path).exists():
            skipped.append((str(src.path), "does not exist"))
            continue
        pairs, skip = source_files(src.path, src.format)
        plan.extend(pairs)
        skipped.extend((str(p), why) for p, why in skip)
    with progress("records", disable=None if show_progress else True) as bar:
        for file, fmt in plan:
            summary = FileSummary(str(file), fmt)
            if file.suffix.lower() not in (".parquet",):
                summary.encoding = decoded_as(file)
                if summary.encoding:
                    console.print(f"[yellow]{file} is not UTF-8: read as {summary.encoding}[/]",
                                  highlight=False)
            task = bar.add_task(f"reading {file.name}", total=None)
            for item in FORMATS[fmt](file, **opts):
                summary.read += 1
                if summary.read % 1000 == 0:
                    bar.advance(task, 1000)
                bucket = failed if isinstance(item, Reject) else records
                if item.table not in bucket:
                    raise ValueError(f"{fmt} reader gave unknown table {item.table!r}")
                bucket[item.table].append(item)
            bar.update(task, total=summary.read, completed=summary.read)
            files.append(summary)
        tables: dict[str, TableResult] = {}
        for table in schema.TABLES:
            rows = records.pop(table)
            task = bar.add_task(f"validating {table}", total=len(rows))
            result = schema.validate_records(table, _counted(rows, bar, task))
            del rows  # rejected and duplicate raw records can go before the next table
            bar.update(task, completed=result.read)
            result.read += len(failed[table])
            result.rejects = failed[table] + result.rejects
            tables[table] = result
    rejects = sorted((r for res in tables.values() for r in res.rejects), key=_natural)
    by_source: dict[str, int] = {}
    for reject in rejects:
        by_source[reject.source] = by_source.get(reject.source, 0) + 1
    for summary in files:
        summary.rejected = by_source.get(summary.path, 0)
    return IngestResult(tables, rejects, files, skipped)


def ingest(sources: list[Source], out_dir: Path, **opts: Any) -> IngestResult:
    """Load the sources and write the tables, extras, rejects and counts under ``out_dir``.

    Writes ``<table>.parquet`` for all five tables (empty with the contract's dtypes when no
    record came), ``<table>_extra.parquet`` for tables with fields outside the contract,
    ``rejects.csv`` (always, possibly empty) and ``summary.json``, all into a temporary
    sibling folder swapped in for ``out_dir`` at the end (:func:`pipeline.data.io.atomic_dir`).
    """
    result = load(sources, **opts)
    # Every file goes into a temporary sibling folder that replaces out_dir at the end: a run
    # killed half way leaves the whole old output, never new accounts beside old posts.
    with io.atomic_dir(out_dir) as tmp:
        for table, res in result.tables.items():
            io.write_table(res.frame, io.table_path(tmp, table))
            if len(res.extras):
                io.write_table(res.extras, tmp / f"{table}_extra.parquet")
        io.write_rejects(result.rejects, tmp / "rejects.csv")
        io.write_text(tmp / "summary.json",
                      json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return result


# --------------------------------------------------------------------------- command


def _parse_when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or time (e.g. 2024-05-01 or 2024-05-01T09:30:00Z)",
            param_hint="--taken-at",
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def cli(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to import; a folder means every file in it, "
                       "each format detected. Default: ingest.sources in params.yaml.",
                       metavar="SOURCE", show_default=False),
    ] = None,
    fmt: Annotated[
        FormatName,
        typer.Option("--format", "-f", metavar="FORMAT",
                     help="Format of the sources: auto (detect it per file from the name and "
                     "the first bytes), generic, mastodon, bluesky, twitter, twitter-research, "
                     "twitter-archive, instagram or facebook."),
    ] = "auto",
    table: Annotated[
        TableName | None,
        typer.Option("--table", metavar="TABLE",
                     help="Table of generic files whose name does not say it: accounts, posts, "
                     "own_posts, decisions or snapshots."),
    ] = None,
    taken_at: Annotated[
        str | None,
        typer.Option("--taken-at", metavar="WHEN",
                     help="When follower/following lists that carry no time "
                     "were exported (ISO, e.g. 2024-05-01T09:30:00Z; no zone means UTC). A "
                     "Twitter archive's manifest.js takes precedence.", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for the tables, rejects.csv and summary.json. "
                     "Default: ingest.out_dir in params.yaml.", file_okay=False,
                     show_default=False),
    ] = None,
    params: ParamsOption = Path("params.yaml"),
) -> None:
    """Import exports and API dumps into the contract's tables (Parquet).

    Every row read is accepted, rejected (reason in rejects.csv) or counted as a duplicate
    (the most recent record of an id is kept). Exits 1 only when nothing usable was read.
    """
    when = _parse_when(taken_at)
    if sources and out is not None and not params.is_file():
        config = None  # everything given on the command line: no params.yaml needed
    else:
        from pipeline.core.config import load_config

        config = load_config(params)
    if sources:
        plan = [Source(path=p, format=fmt) for p in sources]
    else:
        plan = [s if fmt == "auto" else Source(path=s.path, format=fmt)
                for s in config.ingest.sources]
    out_dir = out if out is not None else config.ingest.out_dir
    # A path typed on the command line must exist; one from params.yaml may not exist yet
    # (the decisions folder before the first `followback decide`): it is listed as skipped.
    result = ingest(plan, out_dir, table=table, taken_at=when, show_progress=True,
                    missing_ok=not sources)
    _print_summary(result, out_dir)
    if result.accepted == 0:
        console.print("[bold red]nothing usable was read[/]: no record was accepted; see "
                      f"{out_dir / 'rejects.csv'}", highlight=False)
        raise typer.Exit(1)


def _print_summary(result: IngestResult, out_dir: Path) -> None:
    from rich.table import Table

    grid = Table(title=f"ingested into {out_dir}", title_justify="left")
    grid.add_column("table")
    for name in ("read", "accepted", "rejected", "duplicates"):
        grid.add_column(name, justify="right")
    for table, *counts in result.summary():
        grid.add_row(table, *(f"{n:,}" for n in counts))
    total = result.to_dict()["total"]
    grid.add_row("total", *(f"{total[n]:,}" for n in total), style="bold")
    console.print(grid)
    console.print(f"rejects: {out_dir / 'rejects.csv'} ({len(result.rejects):,} rows)",
                  highlight=False)
    if result.skipped:
        shown = ", ".join(f"{p} ({why})" for p, why in result.skipped[:5])
        more = f" and {len(result.skipped) - 5} more" if len(result.skipped) > 5 else ""
        console.print(f"[yellow]skipped {len(result.skipped)}:[/] {shown}{more} "
                      "(all listed in summary.json)", highlight=False)
