"""An Instagram data export ("Download your information", JSON): follower and following lists.

``connections/followers_and_following/followers_1.json`` (``followers_2.json``... for large
accounts) is a list of entries; ``following.json`` wraps them as
``{"relationships_following": [...]}``::

    {"title": "", "media_list_data": [],
     "string_list_data": [{"href": "https://www.instagram.com/some.user", "value": "some.user",
                           "timestamp": 1699999999}]}

Newer exports put the username in ``title`` and leave ``value`` out; both are read.

Instagram entries have no numeric account id: the **username is the account_id** (it changes
when the user renames, so a renamed account looks like a new one). The snapshot's ``extra``
says ``platform: instagram`` and keeps the profile link and ``followed_at``: the entry's
``timestamp`` is when the follow happened, not when the list was exported, so it is not the
snapshot time. The export carries no export time: ``taken_at`` comes from the ``taken_at``
option (``--taken-at``); without it every entry is rejected saying so.

Facebook's exporters write non-ASCII text as UTF-8 bytes escaped one by one (``\\u00c3\\u00a9``
for "é"); names are repaired.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.data.ingest._common import clean, iter_json, parse_epoch, to_raw, unwrap
from pipeline.data.schema import Record, Reject

SUFFIXES = (".json",)
FILE_NAMES = re.compile(r"^(followers(_\d+)?|following)\.json$", re.IGNORECASE)
_WRAPPERS = {"relationships_following": "following", "relationships_followers": "followers"}


def fix_mojibake(text: Any) -> Any:
    """Undo the export's per-byte escaping of UTF-8 text (``"Ã©"`` -> ``"é"``)."""
    if not isinstance(text, str) or text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _direction(path: Path, value: Any) -> str | None:
    if isinstance(value, dict):
        for key, direction in _WRAPPERS.items():
            if key in value:
                return direction
    name = path.name.lower()
    if name.startswith("followers"):
        return "followers"
    if name.startswith("following"):
        return "following"
    return None


def _username(entry: dict[str, Any], item: dict[str, Any]) -> Any:
    value = item.get("value") or entry.get("title")
    if not value and isinstance(item.get("href"), str):
        # "https://www.instagram.com/_u/some.user" or ".../some.user/"
        value = item["href"].rstrip("/").rsplit("/", 1)[-1] or None
    return fix_mojibake(value)


def read(path: Path, taken_at: datetime | str | None = None,
         **opts: Any) -> Iterator[Record | Reject]:
    """Snapshots from one Instagram followers or following file."""
    path = Path(path)
    source = str(path)
    for item in iter_json(path):
        direction = _direction(path, item.value)
        if item.error:
            yield Reject(source, item.location, "snapshots", item.error, item.raw)
            continue
        if direction is None:
            yield Reject(source, item.location, "snapshots",
                         "cannot tell followers from following: expected followers_N.json, "
                         "following.json or a 'relationships_following' list", to_raw(item.value))
            continue
        for location, entry in unwrap(item, _WRAPPERS):
            yield from _entry(entry, direction, taken_at, source, location)


def _entry(entry: Any, direction: str, taken_at: Any, source: str,
           location: str) -> Iterator[Record | Reject]:
    items = entry.get("string_list_data") if isinstance(entry, dict) else None
    if not isinstance(items, list) or not items:
        yield Reject(source, location, "snapshots",
                     "expected an entry with a non-empty 'string_list_data' list", to_raw(entry))
        return
    if taken_at is None:
        yield Reject(source, location, "snapshots",
                     "no snapshot time: an Instagram export does not say when it was made; "
                     "pass --taken-at", to_raw(entry))
        return
    # One entry lists one account; should an export ever list more, each is its own row.
    for number, item in enumerate(items, 1):
        where = location if len(items) == 1 else f"{location}, item {number}"
        item = item if isinstance(item, dict) else {}
        followed = parse_epoch(item.get("timestamp"))
        data = clean({"taken_at": taken_at, "direction": direction,
                      "account_id": _username(entry, item)})
        extra = clean({"platform": "instagram", "href": item.get("href"),
                       "followed_at": followed.isoformat() if isinstance(followed, datetime)
                       else followed})
        yield Record("snapshots", source, where, data, extra=extra)
