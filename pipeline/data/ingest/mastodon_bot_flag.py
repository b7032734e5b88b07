"""mastodon-bot-flag: Mastodon Account entities labelled by their own ``bot`` flag (weak labels).

``bots.json`` (entities with ``bot == true``) and ``humans.json`` (a random sample of the rest),
each a JSON array of Mastodon REST Account entities from a crawl of mastodon.social (2024), and
``labels.csv`` (``account_id,label``). The label is the account's own ``bot`` flag: ``human``
only means "did not say it is a bot", so undeclared bots count as humans.

Maps like :func:`pipeline.data.ingest.mastodon.account_record` (``acct`` -> handle, ``note`` -> bio,
``statuses_count`` -> posts_count, ``locked`` -> is_private, a ``missing.png`` avatar ->
has_default_avatar), with what the data's README says a model must not learn left out:

- ``bot`` is the label: it is read as the label and never kept as ``is_bot_flagged``;
- ``created_at`` is cut to its day: part of the files come from an earlier crawl that wrote
  bare dates (``2016-10-06``) where the others write ``2016-10-06T00:00:00.000Z``, and that
  part holds three times as many bots;
- ``last_status_at``, ``indexable``, ``uri`` and the other keys only one file format has are
  not read, nor is the profile ``url`` (every account has one: it is not a website link).

An entity whose ``bot`` flag disagrees with its file (or is missing) is a reject. ``groups``
tells accounts of mastodon.social (``local``) from cached copies of other servers' accounts
(``remote``, an ``acct`` with ``@``), whose counters are what the remote server reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data.ingest._common import html_to_text, to_raw
from pipeline.data.ingest._labelled import (
    LabelledSet,
    Record,
    RowError,
    count,
    flag,
    json_records,
    read_files,
)

NAME = "mastodon-bot-flag"
PLATFORM = "mastodon"
FILES = ("humans.json", "bots.json")
FILE_LABELS = {"humans.json": 0, "bots.json": 1}
GROUPS = ("local", "remote")


def fits(folder: Path) -> bool:
    """True for a folder holding this set's two entity files."""
    return all((Path(folder) / name).is_file() for name in FILES)


def creation_day(value: Any) -> datetime:
    """``2016-10-06`` or ``2016-10-06T00:00:00.000Z`` as the same UTC midnight; else RowError."""
    if not isinstance(value, str) or len(value.strip()) < 10:
        raise RowError(f"created_at: not a date: {value!r}")
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d")
    except ValueError:
        raise RowError(f"created_at: not a date: {value!r}") from None
    return day.replace(tzinfo=UTC)


def _bio(note: Any) -> str:
    """The note (HTML) as text; an absent or null note is an empty bio, as on the profile."""
    return html_to_text(note) if isinstance(note, str) else ""


def _row(obj: Any, expected: int) -> tuple[dict, int]:
    if not isinstance(obj, dict):
        raise RowError(f"expected a JSON object, got {type(obj).__name__}")
    account_id = str(obj.get("id") or "").strip()
    if not account_id:
        raise RowError("id: required field is missing")
    handle = obj.get("acct") or obj.get("username")
    if not isinstance(handle, str) or not handle.strip():
        raise RowError("acct: required field is missing")
    bot = flag(obj, "bot")
    if np.isnan(bot):
        raise RowError("bot: the label is missing")
    if int(bot) != expected:
        raise RowError(f"bot is {obj['bot']!r} in a file of {'bots' if expected else 'humans'}")
    avatar = obj.get("avatar")
    row = {
        "account_id": account_id,
        "handle": handle.strip(),
        "display_name": obj.get("display_name") or None,
        "bio": _bio(obj.get("note")),
        "followers_count": count(obj, "followers_count"),
        "following_count": count(obj, "following_count"),
        "posts_count": count(obj, "statuses_count"),
        "created_at": creation_day(obj.get("created_at")),
        "is_private": flag(obj, "locked"),
        "has_default_avatar": (float(avatar.split("?", 1)[0].endswith("missing.png"))
                               if isinstance(avatar, str) and avatar else np.nan),
    }
    return row, int(bot)


def _records(path: Path) -> Iterator[Record]:
    """Each object with its file's label (the label is the file it is in)."""
    return json_records(path, lambda obj: (obj, FILE_LABELS[path.name]))


def read(folder: Path) -> LabelledSet:
    """Both files of ``folder`` as one labelled set; unusable entities become rejects."""
    folder = Path(folder)
    labelled = read_files(NAME, PLATFORM, [folder / name for name in FILES], _records,
                          lambda cells: _row(*cells), lambda cells: to_raw(cells[0]))
    remote = labelled.accounts["handle"].astype(str).str.contains("@", regex=False)
    labelled.groups = np.where(remote, "remote", "local").astype(object)
    return labelled
