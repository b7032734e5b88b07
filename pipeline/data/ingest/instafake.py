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

from pipeline.data.ingest._common import to_raw
from pipeline.data.ingest._labelled import (
    LabelledSet,
    RowError,
    count,
    flag,
    json_records,
    label,
    read_files,
)

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
    return read_files(NAME, PLATFORM, [folder / name for name in FILES], json_records, _row,
                      to_raw)
