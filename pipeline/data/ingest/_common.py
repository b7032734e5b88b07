"""Helpers the format readers share: line-numbered CSV and JSON iteration, dates, HTML to text.

The readers only parse and map. Whether a value fits the contract (a count that is not a number,
a date nobody can read, a missing id) is decided once, by
:func:`pipeline.data.schema.validate_records`;
so a date these helpers cannot read is passed on unchanged, and validation rejects it with the
value in the reason.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.data.schema import RAW_LIMIT, TEXT_LIMIT, Record, Reject, truncate_raw

# The csv module refuses fields over 128 KiB ("field larger than field limit"), which lost the
# whole row; let fields through so the contract's one length rule (schema.TEXT_LIMIT) decides
# for CSV as for JSON, with the row kept in the reject.
csv.field_size_limit(max(csv.field_size_limit(), 64 * TEXT_LIMIT))

# A reject whose table is not known yet (a malformed line before any record said what the file
# holds); :func:`attribute` gives it the table of the file's records.
PENDING = ""

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# Twitter API v1.1 dates: "Fri Apr 29 15:01:43 +0000 2011". Parsed by hand, not with
# strptime's %a/%b, which follow the process locale.
_TWITTER_DATE = re.compile(
    r"^\s*[A-Za-z]{3} ([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) "
    r"([+-])(\d{2})(\d{2}) (\d{4})\s*$"
)
# Epoch numbers as some datasets print them, including Java's long suffix: "1183552203000L".
_EPOCH = re.compile(r"^\s*(-?\d+(?:\.\d+)?)[lL]?\s*$")
# Seconds have at most 10 digits (up to the year 2286), milliseconds 13 (2001 to 2286). An 11 or
# 12 digit number is either seconds after the year 5138 or milliseconds before 2001: no
# social-media date, so it is not guessed but left for validation to reject.
_SECONDS_BELOW = 1e10
_MS_FROM, _MS_BELOW = 1e12, 1e13


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """Drop absent values, so a missing required field is reported as missing."""
    return {k: v for k, v in data.items() if v is not None}


def truncate(text: str) -> str:
    return truncate_raw(text, RAW_LIMIT)


def to_raw(value: Any) -> str:
    """A bad record as text for the rejects file."""
    if isinstance(value, str):
        return truncate(value)
    return truncate(json.dumps(value, default=str, ensure_ascii=False))


# --------------------------------------------------------------------------- dates


def parse_twitter_date(value: Any) -> Any:
    """``Fri Apr 29 15:01:43 +0000 2011`` as an aware datetime; anything else unchanged."""
    if not isinstance(value, str):
        return value
    match = _TWITTER_DATE.match(value)
    if not match:
        return value
    mon, day, hh, mm, ss, sign, oh, om, year = match.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return value
    try:
        local = datetime(int(year), month, int(day), int(hh), int(mm), int(ss))
    except ValueError:
        return value
    offset = timedelta(hours=int(oh), minutes=int(om)) * (1 if sign == "+" else -1)
    return (local - offset).replace(tzinfo=UTC)


def parse_epoch(value: Any) -> Any:
    """Epoch seconds or milliseconds (``1183552203000L``) as an aware datetime; else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and (match := _EPOCH.match(value)):
        number = float(match.group(1))
    else:
        return value
    if abs(number) < _SECONDS_BELOW:
        seconds = number
    elif _MS_FROM <= abs(number) < _MS_BELOW:
        seconds = number / 1000
    else:
        return number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return value


def parse_date(value: Any) -> Any:
    """A date in any form the platforms use, as a datetime where recognised.

    ISO strings are left to the contract's own parser; an unrecognised value is returned
    unchanged so that validation rejects the record naming it.
    """
    if isinstance(value, str):
        parsed = parse_twitter_date(value)
        if parsed is not value:
            return parsed
    return parse_epoch(value)


def parse_time(value: Any) -> datetime | None:
    """A crawl or index time for ``Record.observed_at``; None when absent or unreadable."""
    value = parse_date(value)
    if isinstance(value, str) and value.strip():
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


# --------------------------------------------------------------------------- HTML


def html_to_text(value: Any) -> Any:
    """Mastodon's HTML (``note``, ``content``, field values) as plain text.

    ``<br>`` becomes a line break and paragraphs are separated by a blank line; links keep
    their full text (Mastodon hides parts of long URLs in ``<span class="invisible">``, which
    get_text includes).
    """
    if not isinstance(value, str) or ("<" not in value and "&" not in value):
        return value
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

    with warnings.catch_warnings():
        # Short notes such as "https://example.org" look like a URL to bs4, which warns.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(value, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4"]):
        block.append("\n\n")
    text = soup.get_text()
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class CsvRow:
    """One CSV row: where it starts, the cells by header name, or why it could not be read."""

    line: int
    cells: dict[str, str] | None
    error: str | None = None
    raw: str = ""


def _as_csv_line(fields: list[str]) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf).writerow(fields)
    return buf.getvalue().rstrip("\r\n")


def open_text(path: Path):
    # The encoding is told once per file (file_encoding). errors="replace" only for bytes that
    # no encoding could explain: one such byte must not stop a file.
    return open(path, encoding=file_encoding(path), errors="replace", newline="")


def file_encoding(path: Path) -> str:
    """The text encoding of a file: ``utf-8-sig`` when its bytes are valid UTF-8 (with or
    without a BOM), else ``cp1252`` (what spreadsheet programs write) when they decode as that,
    else charset-normalizer's best guess. :func:`decoded_as` says which, for the summary."""
    path = Path(path)
    stat = path.stat()
    return _encoding(str(path), stat.st_mtime_ns, stat.st_size)


def decoded_as(path: Path) -> str | None:
    """The encoding a file was read in when it was not UTF-8 (None for UTF-8)."""
    encoding = file_encoding(path)
    return None if encoding == "utf-8-sig" else encoding


@functools.lru_cache(maxsize=1024)
def _encoding(path: str, mtime_ns: int, size: int) -> str:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as fh:
        try:
            for block in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
        fh.seek(0)
        data = fh.read(16 << 20)
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best is not None else "utf-8-sig"


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (empty when the file is empty)."""
    with open_text(path) as fh:
        reader = csv.reader(fh, delimiter=_delimiter(path))
        try:
            return _unique([h.strip() for h in next(reader, [])])
        except csv.Error:
            return []


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _unique(header: list[str]) -> list[str]:
    """Header names made unique (``name``, ``name_2``): a repeated column must not overwrite."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


class _Lines:
    """The file's physical lines as the csv reader takes them, kept since the last row."""

    def __init__(self, fh) -> None:
        self.fh = fh
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.fh)
        self.taken.append(line)
        return line


def _alone(line: str, delimiter: str) -> list[str] | None:
    """The fields of one physical line parsed on its own (None when it is not one record)."""
    try:
        rows = list(csv.reader([line], delimiter=delimiter))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _unclosed(lines: list[str], width: int, delimiter: str) -> bool:
    """Whether a row read over several physical lines is really an unclosed quote that
    swallowed whole records: its first line has an odd number of quotes and a later line is a
    complete record of ``width`` fields on its own. A quoted bio over two lines is not."""
    if len(lines) < 2 or lines[0].count('"') % 2 == 0:
        return False
    return any((f := _alone(line, delimiter)) is not None and len(f) == width
               for line in lines[1:])


def iter_csv(path: Path) -> Iterator[CsvRow]:
    """Stream a CSV file row by row with the line each row starts on (the header is line 1).

    A row with the wrong number of fields, or one the csv module cannot parse, comes back with
    an ``error`` instead of cells; blank lines are not rows and are skipped. An unclosed quote
    would swallow the records after it into one field: that line is an error row and each
    swallowed line is read as a record of its own, so every physical record is accounted for.
    """
    delimiter = _delimiter(path)
    with open_text(path) as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            yield CsvRow(1, None, f"unreadable header: {exc}")
            return
        if header is None:
            return
        header = _unique([h.strip() for h in header])
        previous = reader.line_num
        while True:
            start = previous + 1
            lines.taken = []
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                previous = reader.line_num
                yield CsvRow(start, None, f"malformed CSV: {exc}")
                continue
            previous = reader.line_num
            if not fields:
                continue
            taken = list(lines.taken)
            if _unclosed(taken, len(header), delimiter):
                yield CsvRow(start, None,
                             f"unclosed quote: the record ran over the next {len(taken) - 1} "
                             "line(s), which are read as records of their own",
                             truncate(taken[0].rstrip("\r\n")))
                for offset, line in enumerate(taken[1:], 1):
                    if not line.strip():
                        continue
                    alone = _alone(line, delimiter)
                    if alone is not None and len(alone) == len(header):
                        yield CsvRow(start + offset, dict(zip(header, alone, strict=True)))
                    else:
                        yield CsvRow(start + offset, None,
                                     "malformed CSV after an unclosed quote on line "
                                     f"{start}", truncate(line.rstrip("\r\n")))
                continue
            if len(fields) != len(header):
                yield CsvRow(start, None,
                             f"expected {len(header)} fields, got {len(fields)}",
                             truncate(_as_csv_line(fields)))
                continue
            yield CsvRow(start, dict(zip(header, fields, strict=True)))


# --------------------------------------------------------------------------- JSON


@dataclass(frozen=True)
class JsonItem:
    """One top-level JSON value, where it was, or why it could not be parsed."""

    location: str
    value: Any = None
    error: str | None = None
    raw: str = ""


def peek(path: Path, size: int = 65536) -> str:
    with open_text(path) as fh:
        return fh.read(size)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def iter_json_text(text: str, start: int = 0) -> Iterator[JsonItem]:
    """Parse a JSON document from ``text[start:]``; an array yields one item per element.

    A malformed array still yields the elements before the damage, then one error item saying
    from which record on (and at which line and column) the rest could not be read: after a
    syntax error there is no reliable way to find where the next element starts.
    """
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, start)
    if pos >= len(text):
        return
    if text[pos] != "[":
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield JsonItem("document",
                           error=f"malformed JSON: {exc.msg} (line {exc.lineno}, column "
                           f"{exc.colno}); nothing in this file could be read",
                           raw=truncate(text[pos:]))
            return
        if _skip_ws(text, end) < len(text):
            yield JsonItem("document", value)
            line = text.count("\n", 0, end) + 1
            yield JsonItem(f"line {line}", error="unexpected text after the JSON document",
                           raw=truncate(text[end:].strip()))
            return
        yield JsonItem("document", value)
        return
    pos += 1
    number = 0
    while True:
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == "]" and number == 0:
            return
        number += 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield JsonItem(f"record {number}",
                           error=f"malformed JSON: {exc.msg} (line {exc.lineno}, column "
                           f"{exc.colno}); this record and any after it could not be read",
                           raw=truncate(text[pos:pos + 500]))
            return
        yield JsonItem(f"record {number}", value)
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        yield JsonItem(f"record {number + 1}",
                       error=f"malformed JSON: expected ',' or ']' after record {number} (line "
                       f"{line}); the rest of the file could not be read",
                       raw=truncate(text[pos:pos + 500]))
        return


def _looks_like_json_lines(lines: list[str], probe: int = 5) -> bool:
    """Whether one of the first non-empty lines is a complete object or array on its own.

    Only asked of text that is not one valid JSON document. Several lines are probed so that
    a JSON Lines file whose first line is broken is still read line by line.
    """
    for line in lines:
        if not line.strip():
            continue
        try:
            if isinstance(json.loads(line), dict | list):
                return True
        except json.JSONDecodeError:
            pass
        probe -= 1
        if probe == 0:
            break
    return False


def _first_line_complete(path: Path) -> bool:
    """Whether the first non-empty line is a whole object or array (never when pretty-printed)."""
    with open_text(path) as fh:
        for line in fh:
            if line.strip():
                try:
                    return isinstance(json.loads(line), dict | list)
                except json.JSONDecodeError:
                    return False
    return False


def _json_lines(lines: Iterable[str]) -> Iterator[JsonItem]:
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield JsonItem(f"line {number}",
                           error=f"malformed JSON: {exc.msg} (column {exc.colno})",
                           raw=truncate(line))
            continue
        yield JsonItem(f"line {number}", value)


def iter_json(path: Path) -> Iterator[JsonItem]:
    """Top-level values of a JSON document or of a JSON Lines file.

    ``.jsonl``/``.ndjson`` files, and files whose first line is a complete object, are
    streamed line by line ("line N"). Other files are API responses of a page or a few: read
    whole; an array yields "record N" per element. Text that is not one valid document is
    read as JSON Lines when its lines hold complete objects (a JSON Lines file whose first
    line is broken), and otherwise salvaged up to the damage by :func:`iter_json_text`.
    """
    if path.suffix.lower() in (".jsonl", ".ndjson") or _first_line_complete(path):
        with open_text(path) as fh:
            yield from _json_lines(fh)
        return
    with open_text(path) as fh:
        text = fh.read()
    try:
        json.loads(text)
    except json.JSONDecodeError:
        lines = text.splitlines()
        if _looks_like_json_lines(lines):
            yield from _json_lines(lines)
            return
    yield from iter_json_text(text)


def sub_location(location: str, number: int) -> str:
    """Where an element of a wrapped list is: "record 3", or "line 2, record 3" in JSON Lines."""
    if location in ("document", ""):
        return f"record {number}"
    return f"{location}, record {number}"


def unwrap(item: JsonItem, keys: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """Objects of an API response: the list under one of ``keys``, a list, or the value itself."""
    value = item.value
    if isinstance(value, dict):
        for key in keys:
            if isinstance(value.get(key), list):
                for number, element in enumerate(value[key], 1):
                    yield sub_location(item.location, number), element
                return
    if isinstance(value, list) and item.location.startswith("line"):
        for number, element in enumerate(value, 1):
            yield sub_location(item.location, number), element
        return
    yield ("record 1" if item.location == "document" else item.location), value


def attribute(items: Iterable[Record | Reject], default: str) -> Iterator[Record | Reject]:
    """Give parse failures the table of the file's records.

    A malformed line says nothing about what it held; the file's other records do. Failures
    seen before the first record wait for it; with no record at all they get ``default``.
    """
    pending: list[Reject] = []
    table: str | None = None
    for item in items:
        if isinstance(item, Record) and table is None:
            table = item.table
            for reject in pending:
                yield replace(reject, table=table)
            pending.clear()
        if isinstance(item, Reject) and item.table == PENDING:
            if table is None:
                pending.append(item)
                continue
            item = replace(item, table=table)
        yield item
    for reject in pending:
        yield replace(reject, table=default)


def guess_table(path: Path) -> str:
    """The table a platform file most likely holds, from its name (only for unreadable files)."""
    name = path.name.lower()
    if any(word in name for word in ("status", "post", "toot", "tweet", "feed", "timeline")):
        return "posts"
    return "accounts"


def extras(obj: dict[str, Any], used: Iterable[str]) -> dict[str, Any]:
    """The platform fields the contract has no column for."""
    used = set(used)
    return {k: v for k, v in obj.items() if k not in used}


# --------------------------------------------------------------------------- fetch folders


@dataclass(frozen=True)
class FetchContext:
    """Where a file sits in a ``followback fetch`` folder, and what its manifest says."""

    platform: str
    fetched_at: datetime
    account_id: str
    role: str  # "manifest", or the subfolder: "me", "followers", "following", "profiles", "posts"
    folder: str
    complete: tuple[str, ...]  # the lists that came out whole (a stuck cursor leaves one short)


@functools.lru_cache(maxsize=256)
def _manifest(folder: str, mtime_ns: int) -> dict | None:
    from pipeline.data.fetch._run import read_manifest

    return read_manifest(Path(folder))


def fetch_context(path: Path) -> FetchContext | None:
    """The fetch a file belongs to (``<fetch>/fetch.json`` or ``<fetch>/<role>/<file>``)."""
    from pipeline.data.fetch._run import MANIFEST

    path = Path(path)
    if path.name == MANIFEST:
        folder, role = path.parent, "manifest"
    else:
        folder, role = path.parent.parent, path.parent.name
    manifest_path = folder / MANIFEST
    try:
        mtime = manifest_path.stat().st_mtime_ns
    except OSError:
        return None
    manifest = _manifest(str(folder), mtime)
    if manifest is None:
        return None
    when = parse_time(manifest.get("fetched_at"))
    if when is None:
        return None
    lists = manifest.get("lists", {})
    return FetchContext(str(manifest.get("platform")), when,
                        str(manifest.get("account", {}).get("id")), role, folder.name,
                        tuple(d for d, info in lists.items() if info.get("complete")))


_LIST_KEYS = ("followers", "follows", "accounts")


def _page_length(path: Path) -> int:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    if isinstance(data, dict):
        data = next((data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)), [])
    return len(data) if isinstance(data, list) else 0


@functools.lru_cache(maxsize=256)
def _list_offsets(folder: str, mtime_ns: int) -> dict[str, int]:
    offsets, total = {}, 0
    for page in sorted(Path(folder).glob("page-*.json")):
        offsets[page.name] = total
        total += _page_length(page)
    return offsets


def list_offset(path: Path) -> int:
    """How many accounts the pages before ``path`` hold, in a fetch's ``followers/`` or
    ``following/`` folder: the list position of the page's first account."""
    path = Path(path)
    try:
        mtime = path.parent.stat().st_mtime_ns
    except OSError:
        return 0
    return _list_offsets(str(path.parent), mtime).get(path.name, 0)


def empty_following(path: Path, ctx: FetchContext) -> Record | None:
    """A following list that came out whole and empty (you follow nobody) still says, for
    every follower, that you do not follow it; with no row it would look like no list at all.
    Its first page gives one row for the person themselves (nobody's follower), so the
    snapshot time holds both lists."""
    path = Path(path)
    if ctx.role != "following" or "following" not in ctx.complete \
            or not path.name.startswith("page-"):
        return None
    offsets = _list_offsets(str(path.parent), path.parent.stat().st_mtime_ns)
    if min(offsets, default=None) != path.name:
        return None
    if sum(_page_length(p) for p in sorted(path.parent.glob("page-*.json"))):
        return None
    return Record("snapshots", str(path), "empty list", clean({
        "taken_at": ctx.fetched_at, "direction": "following", "account_id": ctx.account_id}),
        observed_at=ctx.fetched_at,
        extra={"platform": ctx.platform, "fetch": ctx.folder, "empty_list": True})


def fetched_snapshot(ctx: FetchContext, account_id: Any, source: str, location: str,
                     position: int | None = None,
                     followed_at: datetime | None = None) -> Record | Reject:
    """One account of a fetched follower or following list as a snapshot at the fetch time,
    with its place in the list (0 = the newest follow) and, where known, the follow time."""
    data = clean({"taken_at": ctx.fetched_at, "direction": ctx.role, "account_id": account_id,
                  "list_position": position, "followed_at": followed_at})
    if ctx.role not in ctx.complete:
        return Reject(source, location, "snapshots",
                      f"the {ctx.role} list of the fetch {ctx.folder} is incomplete (its cursor "
                      "stopped advancing; see fetch.json), so it is no snapshot",
                      to_raw(data))
    return Record("snapshots", source, location, data, observed_at=ctx.fetched_at,
                  extra={"platform": ctx.platform, "fetch": ctx.folder})
