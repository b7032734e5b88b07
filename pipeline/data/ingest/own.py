"""The person's own texts in a ``followback fetch`` folder, with the platform's language tags.

What ``followback fetch`` proposes ``user.languages`` from after ``followback init``: your own
posts (Mastodon statuses that are not reblogs; Bluesky feed posts that are not reposts), then
your bio.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.data.ingest._common import html_to_text


def own_texts(folder: Path, platform: str) -> tuple[list[str], list[str | None]]:
    """The person's own texts in a fetch folder (their posts, then their bio) with the
    platform's language tag of each (None where there is none); reposts are not theirs."""
    texts: list[str] = []
    tags: list[str | None] = []
    for page in sorted(Path(folder).glob("me/posts-*.json")):
        try:
            data = json.loads(page.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if platform == "mastodon":
            for status in data if isinstance(data, list) else []:
                if isinstance(status, dict) and not status.get("reblog"):
                    texts.append(html_to_text(status.get("content")) or "")
                    tags.append(status.get("language"))
        else:
            for item in (data or {}).get("feed", []):
                if not isinstance(item, dict) or item.get("reason"):
                    continue
                record = (item.get("post") or {}).get("record") or {}
                texts.append(record.get("text") or "")
                langs = record.get("langs") or []
                tags.append(langs[0] if langs else None)
    try:
        profile = json.loads((Path(folder) / "me" / "profile.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        profile = {}
    bio = html_to_text(profile.get("note")) if platform == "mastodon" else \
        profile.get("description")
    if bio:
        texts.append(bio)
        tags.append(None)
    return texts, tags
