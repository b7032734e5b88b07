"""InstaFake fake-v1.0 (Akyon & Kalfaoglu, ASYU 2019): anonymised Instagram profiles.

``fakeAccountData.json`` and ``realAccountData.json``, each a JSON array of objects with
``userFollowerCount, userFollowingCount, userBiographyLength, userMediaCount,
userHasProfilPic, userIsPrivate, usernameDigitCount, usernameLength, isFake``.

Maps to followers_count, following_count, posts_count (media), ``bio_length``,
has_default_avatar (no profile picture), is_private, ``handle_length`` and
``handle_digit_share`` (digits / length). No creation date, name, URL or likes: the age,
rates per day and those features stay missing. There are no account ids: the record number in
its file stands for one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.ingest._common import iter_json, to_raw, unwrap
from pipeline.ingest._labelled import (
    LabelledSet,
    RowError,
    build,
    count,
    file_entry,
    flag,
    label,
)
from pipeline.schema import Reject

NAME = "instafake-2019"
PLATFORM = "instagram"
FILES = ("realAccountData.json", "fakeAccountData.json")


def fits(folder: Path) -> bool:
    """True for a folder holding the two InstaFake files."""
    return all((Path(folder) / name).is_file() for name in FILES)


def _row(obj: object) -> tuple[dict, int]:
    if not isinstance(obj, dict):
        raise RowError(f"expected a JSON object, got {type(obj).__name__}")
    length = count(obj, "usernameLength")
    digits = count(obj, "usernameDigitCount")
    if digits > length:
        raise RowError(f"usernameDigitCount {obj['usernameDigitCount']!r} exceeds "
                       f"usernameLength {obj['usernameLength']!r}")
    avatar = flag(obj, "userHasProfilPic")
    row = {
        "followers_count": count(obj, "userFollowerCount"),
        "following_count": count(obj, "userFollowingCount"),
        "posts_count": count(obj, "userMediaCount"),
        "bio_length": count(obj, "userBiographyLength"),
        "has_default_avatar": 1.0 - avatar,
        "is_private": flag(obj, "userIsPrivate"),
        "handle_length": length,
        "handle_digit_share": digits / length if length > 0 else np.nan,
    }
    return row, label(obj, "isFake")


def read(folder: Path) -> LabelledSet:
    """Both files of ``folder`` as one labelled set; unusable records become rejects."""
    folder = Path(folder)
    rows, labels, rejects, files = [], [], [], []
    for name in FILES:
        path = folder / name
        before, read_rows = len(rows), 0
        for item in iter_json(path):
            if item.error:
                read_rows += 1
                rejects.append(Reject(str(path), item.location, "accounts", item.error,
                                      item.raw))
                continue
            for where, obj in unwrap(item, ()):
                read_rows += 1
                try:
                    row, y = _row(obj)
                except RowError as exc:
                    rejects.append(Reject(str(path), where, "accounts", str(exc),
                                          to_raw(obj)))
                    continue
                rows.append({"account_id": f"{path.stem}:{where}", **row})
                labels.append(y)
        files.append(file_entry(path, read_rows, len(rows) - before))
    return build(NAME, PLATFORM, rows, labels, files, rejects)
