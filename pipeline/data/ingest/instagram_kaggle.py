"""Kaggle "Instagram fake spammer genuine accounts": ``train.csv`` and ``test.csv``.

Columns ``profile pic, nums/length username, fullname words, nums/length fullname,
name==username, description length, external URL, private, #posts, #followers, #follows,
fake`` (1 fake, 0 genuine). Provenance is weak (a Kaggle upload, re-published on GitHub).

Maps to has_default_avatar (no profile picture), ``handle_digit_share`` (digits / length of
the username), ``bio_length``, ``has_url``, is_private, posts_count, followers_count and
following_count. The username's length is not published (only its digit share), nor a
creation date, likes or listed counts: those features stay missing. The full-name columns
are kept out: they describe a name the other sources do not describe alike. Rows have no ids:
``<file>:line N`` stands for one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipeline.data.ingest._common import iter_csv
from pipeline.data.ingest._labelled import (
    LabelledSet,
    Record,
    count,
    flag,
    label,
    read_files,
    share,
)

NAME = "instagram-kaggle"
PLATFORM = "instagram"
FILES = ("train.csv", "test.csv")
REQUIRED = ("profile pic", "nums/length username", "description length", "external URL",
            "private", "#posts", "#followers", "#follows", "fake")


def fits(folder: Path) -> bool:
    """True for a folder whose train.csv has this set's header."""
    from pipeline.data.ingest._common import csv_header

    path = Path(folder) / FILES[0]
    return path.is_file() and set(REQUIRED) <= set(csv_header(path))


def _row(cells: dict[str, str]) -> tuple[dict, int]:
    row = {
        "has_default_avatar": 1.0 - flag(cells, "profile pic"),
        "handle_digit_share": share(cells, "nums/length username"),
        "bio_length": count(cells, "description length"),
        "has_url": flag(cells, "external URL"),
        "is_private": flag(cells, "private"),
        "posts_count": count(cells, "#posts"),
        "followers_count": count(cells, "#followers"),
        "following_count": count(cells, "#follows"),
    }
    return row, label(cells, "fake")


def _records(path: Path) -> Iterator[Record]:
    from pipeline.core.console import FollowbackError
    from pipeline.data.ingest._common import csv_header

    missing = [c for c in REQUIRED if c not in csv_header(path)]
    if missing:
        raise FollowbackError(f"{path}: not the Instagram Kaggle layout, its header lacks "
                              f"{', '.join(missing)}")
    for csv_row in iter_csv(path):
        where = f"line {csv_row.line}"
        if csv_row.error:
            yield Record(where, error=csv_row.error, raw=csv_row.raw)
        else:
            yield Record(where, csv_row.cells)


def read(folder: Path) -> LabelledSet:
    """Both files of ``folder`` (test.csv where there is one) as one labelled set;
    unreadable rows become rejects."""
    folder = Path(folder)
    paths = [folder / name for name in FILES if (folder / name).is_file()]
    return read_files(NAME, PLATFORM, paths, _records, _row,
                      lambda cells: ",".join(cells.values()))
