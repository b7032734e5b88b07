"""The flat ``users.csv`` / ``tweets.csv`` tables that public Twitter bot-research datasets publish.

These are v1.1 objects flattened to CSV (cresci-2015/2017 and the datasets built on them), one
file per account group, e.g. ``genuine_accounts.users.csv``. The group is the label downstream,
so every record keeps the file path in ``Record.source``.

Users (a header with ``screen_name`` and ``followers_count``) -> accounts, mapped like the v1.1
JSON importer (``friends_count`` -> following_count, ``favourites_count`` -> likes_count,
``protected`` -> is_private, ``default_profile_image`` -> has_default_avatar).

Tweets (a header with ``user_id`` and ``text``) -> posts: ``retweeted_status_id`` other than
empty/0 -> "repost", ``in_reply_to_status_id`` other than empty/0 -> "reply".

The quirks of these exports, as published:

- booleans are ``1`` for true and an empty cell for false (the MySQL export wrote false as
  nothing), so an empty boolean cell is False; ``NULL`` means unknown, in any column;
- ``created_at`` is ``Fri Apr 29 15:01:43 +0000 2011`` or epoch milliseconds such as
  ``1183552203000L``;
- where ``default_profile_image`` is ``NULL`` (all of traditional_spambots_1), the default
  avatar is read from ``profile_image_url``: Twitter served its default avatars from
  ``.../default_profile_images/``, and in the groups that have both columns the flag and the URL
  agree on every row;
- ``crawled_at`` (else ``updated``) is when the row was collected: ``observed_at``, which
  decides between duplicates. ``timestamp`` is not used: in cresci-2017 it is ``created_at`` in
  local time, not a collection time.

Every other column (``lang``, ``time_zone``, ``default_profile``, ``geo_enabled``, colours, the
``test_set_*`` marks, ...) is kept in ``extra``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.data.ingest._common import csv_header, iter_csv, parse_date, parse_time
from pipeline.data.schema import Record, Reject

SUFFIXES = (".csv", ".tsv")
NULL = "NULL"
_OBSERVED = ("crawled_at", "updated")
_USER_MAP = {
    "id": "account_id",
    "screen_name": "handle",
    "name": "display_name",
    "description": "bio",
    "followers_count": "followers_count",
    "friends_count": "following_count",
    "statuses_count": "posts_count",
    "favourites_count": "likes_count",
    "listed_count": "listed_count",
    "url": "url",
    "location": "location",
}
_USER_FLAGS = {
    "protected": "is_private",
    "verified": "is_verified",
    "default_profile_image": "has_default_avatar",
}
_TWEET_USED = {"id", "user_id", "text", "created_at"}


def kind_of(header: list[str]) -> str | None:
    """``accounts`` for a users table, ``posts`` for a tweets table, else None."""
    columns = set(header)
    if "screen_name" in columns and columns & {"followers_count", "statuses_count"}:
        return "accounts"
    if {"user_id", "text"} <= columns:
        return "posts"
    return None


def _value(cell: str) -> str | None:
    return None if cell == NULL else cell


def _flag(cell: str) -> Any:
    if cell == NULL:
        return None
    if cell.strip() == "":
        return False
    return cell  # "1", "0", "true"...: the contract reads them, and rejects anything else


def _set(cell: str) -> bool:
    """An id cell that says "there is one": not empty, not 0, not NULL."""
    return cell.strip() not in ("", "0", NULL)


def _observed(cells: dict[str, str]) -> datetime | None:
    for column in _OBSERVED:
        if column in cells:
            observed = parse_time(_value(cells[column]))
            if observed is not None:
                return observed
    return None


def _user(cells: dict[str, str], source: str, location: str) -> Record:
    data: dict[str, Any] = {"platform": "twitter"}
    for column, field in _USER_MAP.items():
        if column in cells and (value := _value(cells[column])) not in (None, ""):
            data[field] = value
    for column, field in _USER_FLAGS.items():
        if column in cells and (value := _flag(cells[column])) is not None:
            data[field] = value
    if data.get("has_default_avatar") is None:
        image = _value(cells.get("profile_image_url", NULL) or NULL)
        if image:
            data["has_default_avatar"] = "default_profile_images" in image
    created = _value(cells.get("created_at", ""))
    if created not in (None, ""):
        data["created_at"] = parse_date(created)
    used = {*_USER_MAP, *_USER_FLAGS, "created_at"}
    extra = {k: _value(v) for k, v in cells.items() if k not in used}
    return Record("accounts", source, location, data, observed_at=_observed(cells),
                  extra=extra)


def _tweet(cells: dict[str, str], source: str, location: str) -> Record:
    if _set(cells.get("retweeted_status_id", "")):
        kind = "repost"
    elif _set(cells.get("in_reply_to_status_id", "")):
        kind = "reply"
    else:
        kind = "post"
    data: dict[str, Any] = {"kind": kind}
    for column, field in (("user_id", "account_id"), ("id", "post_id"), ("text", "text")):
        if (value := _value(cells.get(column, ""))) not in (None, ""):
            data[field] = value
    created = _value(cells.get("created_at", ""))
    if created not in (None, ""):
        data["created_at"] = parse_date(created)
    extra = {k: _value(v) for k, v in cells.items() if k not in _TWEET_USED}
    return Record("posts", source, location, data, observed_at=_observed(cells),
                  extra=extra)


def read(path: Path, **opts: Any) -> Iterator[Record | Reject]:
    """Accounts (users tables) or posts (tweets tables) of a research dataset, row by row."""
    path = Path(path)
    source = str(path)
    table = kind_of(csv_header(path))
    if table is None:
        from pipeline.core.console import FollowbackError

        raise FollowbackError(
            f"{path} is not a bot-research users or tweets table: its header has neither "
            "screen_name/followers_count nor user_id/text"
        )
    build = _user if table == "accounts" else _tweet
    for row in iter_csv(path):
        if row.error:
            yield Reject(source, f"line {row.line}", table, row.error, row.raw)
        else:
            yield build(row.cells, source, f"line {row.line}")
