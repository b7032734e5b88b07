"""A Facebook data export ("Download your information", JSON): follower and following lists.

The layout, as public parsers of these exports read it (no official schema is published):

- ``connections/followers/people_who_followed_you.json`` (``_1``, ``_2``... for large lists):
  ``{"followers_v3": [{"name": "Jana Nováková", "timestamp": 1690000000}, ...]}``;
- ``connections/followers/who_you've_followed.json``: ``{"following_v3": [...]}`` of the same
  entries (older exports: ``who_you_follow.json`` and ``friends_and_followers/following.json``
  with ``following_v2`` / ``followers_v2``).

Only the four keys ``followers_v2``, ``followers_v3``, ``following_v2`` and ``following_v3`` are
read, the direction taken from the key; a list under any other key is not guessed at.

Facebook's entries carry a display name and nothing else: no username, id or profile link. The
**display name is the account_id**, so two people of the same name are one account, and a
renamed one looks like someone new. ``timestamp`` is when the follow happened (kept in
``extra`` as ``followed_at``), not when the list was exported; the export carries no export
time, so ``taken_at`` comes from ``--taken-at``, as for Instagram. Non-ASCII names are repaired
from the export's per-byte escaping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.data.ingest._common import clean, iter_json, parse_epoch, to_raw, unwrap
from pipeline.data.ingest.instagram import fix_mojibake
from pipeline.data.schema import Record, Reject

SUFFIXES = (".json",)
KEYS = {"followers_v3": "followers", "followers_v2": "followers",
        "following_v3": "following", "following_v2": "following"}


def read(path: Path, taken_at: datetime | str | None = None,
         **opts: Any) -> Iterator[Record | Reject]:
    """Snapshots from one Facebook followers or following file."""
    path = Path(path)
    source = str(path)
    for item in iter_json(path):
        if item.error:
            yield Reject(source, item.location, "snapshots", item.error, item.raw)
            continue
        value = item.value if isinstance(item.value, dict) else {}
        key = next((k for k in KEYS if isinstance(value.get(k), list)), None)
        if key is None:
            yield Reject(source, item.location, "snapshots",
                         f"expected a list under one of {', '.join(KEYS)}", to_raw(item.value))
            continue
        for location, entry in unwrap(item, (key,)):
            yield _entry(entry, KEYS[key], taken_at, source, location)


def _entry(entry: Any, direction: str, taken_at: Any, source: str,
           location: str) -> Record | Reject:
    name = entry.get("name") if isinstance(entry, dict) else None
    if not isinstance(name, str) or not name.strip():
        return Reject(source, location, "snapshots", "expected an entry with a 'name'",
                      to_raw(entry))
    if taken_at is None:
        return Reject(source, location, "snapshots",
                      "no snapshot time: a Facebook export does not say when it was made; "
                      "pass --taken-at", to_raw(entry))
    followed = parse_epoch(entry.get("timestamp"))
    data = {"taken_at": taken_at, "direction": direction, "account_id": fix_mojibake(name)}
    extra = clean({"platform": "facebook",
                   "followed_at": followed.isoformat() if isinstance(followed, datetime)
                   else followed})
    return Record("snapshots", source, location, data, extra=extra)
