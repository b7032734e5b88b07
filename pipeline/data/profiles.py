"""Where to see an account: its profile page and avatar, as links (nothing is downloaded).

The profile page is the ingested accounts' ``url`` (Mastodon's ``url``; for a Bluesky account,
``https://bsky.app/profile/<handle>`` is built from the handle). The contract keeps no avatar, so
it comes from the latest complete fetch of each platform (``fetch.out_dir/<platform>/``): the
Mastodon Account entity's ``avatar`` (not the instance's ``missing.png`` placeholder), the
Bluesky profile view's ``avatar``. Only ``http`` and ``https`` links are kept: a page that shows
them cannot be made to run a ``javascript:`` link a stranger wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import pandas as pd

from pipeline.data import io


def safe_link(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value.strip()


def _avatars(platform: str, folder: Path) -> dict[str, str]:
    """account id -> avatar URL from one fetch folder's list pages and profile batches."""
    out: dict[str, str] = {}
    for page in sorted(folder.glob("**/*.json")):
        try:
            data = json.loads(page.read_bytes())
        except (OSError, ValueError):
            continue
        if platform == "mastodon":
            items = data if isinstance(data, list) else []
            key = "id"
        else:
            items = []
            if isinstance(data, dict):
                for name in ("followers", "follows", "profiles"):
                    if isinstance(data.get(name), list):
                        items = data[name]
            key = "did"
        for item in items:
            if not isinstance(item, dict) or key not in item:
                continue
            avatar = safe_link(item.get("avatar"))
            if avatar and not avatar.endswith("/missing.png"):
                out[str(item[key])] = avatar
    return out


def profile_links(cfg) -> dict[str, dict[str, str | None]]:
    """account id -> {"url": profile page, "avatar": avatar image}, each None when unknown."""
    from pipeline.data.fetch._run import completed

    links: dict[str, dict[str, str | None]] = {}
    path = io.table_path(cfg.ingest.out_dir, "accounts")
    if path.is_file():
        accounts = pd.read_parquet(path, columns=["account_id", "platform", "handle", "url"])
        for row in accounts.itertuples(index=False):
            url = safe_link(row.url)
            if url is None and str(row.platform) == "bluesky" and isinstance(row.handle, str):
                url = f"https://bsky.app/profile/{quote(row.handle.lstrip('@'), safe='.:-')}"
            links[str(row.account_id)] = {"url": url, "avatar": None}
    for platform in ("mastodon", "bluesky"):
        fetches = completed(Path(cfg.fetch.out_dir) / platform)
        if not fetches:
            continue
        for account_id, avatar in _avatars(platform, fetches[-1][0]).items():
            links.setdefault(account_id, {"url": None, "avatar": None})["avatar"] = avatar
    return links
