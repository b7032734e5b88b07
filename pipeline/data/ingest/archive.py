"""An X/Twitter archive ("Download an archive of your data"): follower and following lists.

The archive's ``data/`` folder holds JavaScript files such as ``follower.js``::

    window.YTD.follower.part0 = [
      { "follower" : { "accountId" : "1234",
                       "userLink" : "https://twitter.com/intent/user?user_id=1234" } },
      ...

``follower.js`` -> snapshots with direction "followers", ``following.js`` -> "following" (large
lists are split into ``follower-part1.js``...). ``tweets.js`` (``tweet.js`` in older archives), the
person's own tweets, -> own_posts.

The lists carry no time. A snapshot's ``taken_at`` is the archive's ``generationDate`` from
``manifest.js`` beside the file, else the ``taken_at`` option (``--taken-at``); with neither,
every entry is rejected saying so (the file's modification time is when it was unpacked or
copied, not when the lists were true). ``extra`` says which one was used (``taken_at_from``).
``manifest.js`` itself holds no records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.data.ingest._common import (
    clean,
    extras,
    iter_json_text,
    open_text,
    parse_time,
    parse_twitter_date,
    to_raw,
    truncate,
)
from pipeline.data.schema import Record, Reject

SUFFIXES = (".js",)
PREFIX = re.compile(r"\s*window\.YTD\.(\w+)\.part(\d+)\s*=\s*")
MANIFEST_PREFIX = re.compile(r"\s*window\.__THAR_CONFIG\s*=\s*")
# data type -> (table, snapshot direction)
DATA_TYPES: dict[str, tuple[str, str | None]] = {
    "follower": ("snapshots", "followers"),
    "following": ("snapshots", "following"),
    "tweets": ("own_posts", None),
    "tweet": ("own_posts", None),
}
_TWEET_FIELDS = ("id", "id_str", "created_at", "full_text", "text")


def data_type(text: str) -> str | None:
    """``follower`` for text starting ``window.YTD.follower.part0 =``; ``manifest``; else None."""
    if MANIFEST_PREFIX.match(text):
        return "manifest"
    match = PREFIX.match(text)
    return match.group(1) if match else None


def generation_date(manifest: Path) -> tuple[datetime | None, str]:
    """``archiveInfo.generationDate`` of a ``manifest.js``, and why not when it is None."""
    if not manifest.is_file():
        return None, f"no {manifest.name} beside the file"
    with open_text(manifest) as fh:
        text = fh.read()
    match = MANIFEST_PREFIX.match(text)
    try:
        config = json.loads(text[match.end():] if match else text)
        value = config["archiveInfo"]["generationDate"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return None, f"{manifest} has no readable archiveInfo.generationDate"
    when = parse_time(value)
    return when, "" if when else f"{manifest} has an unreadable generationDate {value!r}"


def read(path: Path, taken_at: datetime | str | None = None,
         **opts: Any) -> Iterator[Record | Reject]:
    """Snapshots (follower/following lists) or own posts from one archive data file."""
    path = Path(path)
    source = str(path)
    with open_text(path) as fh:
        text = fh.read()
    kind = data_type(text)
    if kind == "manifest":
        return
    if kind not in DATA_TYPES:
        table = "own_posts" if "tweet" in path.name else "snapshots"
        reason = (f"archive data type {kind!r} is not imported (only "
                  f"{', '.join(DATA_TYPES)})" if kind else
                  "not a Twitter archive data file: expected 'window.YTD.<type>.partN = [...]'")
        yield Reject(source, "line 1", table, reason, truncate(text[:500]))
        return
    table, direction = DATA_TYPES[kind]
    start = PREFIX.match(text).end()
    if table == "own_posts":
        yield from _tweets(text, start, source)
        return
    when, why = generation_date(path.parent / "manifest.js")
    origin = "manifest.js generationDate"
    if when is None and taken_at is not None:
        when, origin = taken_at, "--taken-at"
    for item in iter_json_text(text, start):
        if item.error:
            yield Reject(source, item.location, table, item.error, item.raw)
            continue
        if when is None:
            yield Reject(source, item.location, table,
                         f"no snapshot time: the list carries none, {why}, and no --taken-at "
                         "was given", to_raw(item.value))
            continue
        entry = item.value.get(kind) if isinstance(item.value, dict) else None
        if not isinstance(entry, dict):
            yield Reject(source, item.location, table,
                         f"expected {{\"{kind}\": {{\"accountId\": ...}}}}", to_raw(item.value))
            continue
        data = clean({"taken_at": when, "direction": direction,
                      "account_id": entry.get("accountId")})
        yield Record(table, source, item.location, data,
                     extra={**extras(entry, ("accountId",)), "taken_at_from": origin})


def _tweets(text: str, start: int, source: str) -> Iterator[Record | Reject]:
    for item in iter_json_text(text, start):
        if item.error:
            yield Reject(source, item.location, "own_posts", item.error, item.raw)
            continue
        tweet = item.value.get("tweet", item.value) if isinstance(item.value, dict) else None
        if not isinstance(tweet, dict):
            yield Reject(source, item.location, "own_posts",
                         'expected {"tweet": {...}}', to_raw(item.value))
            continue
        data = clean({
            "post_id": tweet.get("id_str") or tweet.get("id"),
            "created_at": parse_twitter_date(tweet.get("created_at")),
            "text": tweet.get("full_text") or tweet.get("text"),
        })
        yield Record("own_posts", source, item.location, data,
                     extra=clean(extras(tweet, _TWEET_FIELDS)))
