"""caverlee-2011 social-honeypot accounts: ``legitimate_users.csv`` and ``content_polluters.csv``.

Lee, Eoff and Caverlee, "Seven months with the devils" (ICWSM 2011), as re-published without a
header: ``UserID, CreatedAt, CollectedAt, NumerOfFollowings, NumberOfFollowers,
NumberOfTweets, LengthOfScreenName, LengthOfDescriptionInUserProfile, label`` with dates as
``m/d/yyyy H:MM`` (UTC assumed) and the label 0 (legitimate) or 1 (content polluter).

Maps to following_count, followers_count, posts_count, created_at, ``handle_length`` and
``bio_length``. ``CollectedAt`` is when the account was observed: it is the "now" of the
account's age, as cresci-2017's crawl time is, and never a feature itself (its dates differ
by class). There is no name, avatar, URL, likes or listed count: those features stay missing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pipeline.data.ingest._common import open_text, truncate
from pipeline.data.ingest._labelled import (
    LabelledSet,
    Record,
    RowError,
    count,
    label,
    read_files,
)

NAME = "caverlee-2011"
PLATFORM = "twitter"
FILES = ("legitimate_users.csv", "content_polluters.csv")
COLUMNS = ("UserID", "CreatedAt", "CollectedAt", "NumerOfFollowings", "NumberOfFollowers",
           "NumberOfTweets", "LengthOfScreenName", "LengthOfDescriptionInUserProfile", "label")


def fits(folder: Path) -> bool:
    """True for a folder holding the two caverlee-2011 files."""
    return all((Path(folder) / name).is_file() for name in FILES)


def parse_date(value: str, column: str) -> datetime:
    """``9/18/2006 1:07`` as a UTC datetime; RowError otherwise."""
    text = value.strip()
    for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RowError(f"{column}: unparseable date {value!r}")


def _row(cells: dict[str, str]) -> tuple[dict, int, datetime]:
    if not cells["UserID"].strip():
        raise RowError("UserID: required field is missing")
    created = parse_date(cells["CreatedAt"], "CreatedAt")
    collected = parse_date(cells["CollectedAt"], "CollectedAt")
    row = {
        "account_id": cells["UserID"].strip(),
        "created_at": created,
        "following_count": count(cells, "NumerOfFollowings"),
        "followers_count": count(cells, "NumberOfFollowers"),
        "posts_count": count(cells, "NumberOfTweets"),
        "handle_length": count(cells, "LengthOfScreenName"),
        "bio_length": count(cells, "LengthOfDescriptionInUserProfile"),
    }
    return row, label(cells, "label"), collected


def _records(path: Path) -> Iterator[Record]:
    with open_text(path) as fh:
        for line, fields in enumerate(csv.reader(fh), start=1):
            if not fields:
                continue
            raw = truncate(",".join(fields))
            if len(fields) != len(COLUMNS):
                yield Record(f"line {line}", error=f"expected {len(COLUMNS)} fields, got "
                             f"{len(fields)}", raw=raw)
            else:
                yield Record(f"line {line}", dict(zip(COLUMNS, fields, strict=True)), raw=raw)


def read(folder: Path) -> LabelledSet:
    """Both files of ``folder`` as one labelled set; unreadable rows become rejects."""
    folder = Path(folder)
    return read_files(NAME, PLATFORM, [folder / name for name in FILES], _records, _row,
                      lambda cells: truncate(",".join(cells.values())))
