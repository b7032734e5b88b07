"""Mastodon REST API JSON: Account entities and Status entities.

Accepted shapes: a JSON array of entities (``/api/v1/accounts/:id/followers``,
``/api/v1/accounts/:id/statuses``), one entity, a search response (``{"accounts": [...],
"statuses": [...]}``), or JSON Lines of entities.

Account -> accounts: ``acct`` is the handle (``user@instance`` for remote accounts), ``note``
(HTML) the bio as text, ``locked`` -> is_private, ``bot`` -> is_bot_flagged, an ``avatar``
ending in ``missing.png`` (the instance's placeholder) -> has_default_avatar,
``last_status_at`` (a date) -> last_post_at. ``discoverable`` -> is_discoverable, ``indexable``
-> is_indexable, ``group`` -> is_group, a ``header`` ending in ``missing.png`` ->
has_default_header; ``fields`` (profile metadata) -> fields_count, and those of its fields whose
link the server verified (``verified_at`` set: the linked page links back with ``rel="me"``) ->
verified_links_count. ``acct`` is ``user`` for an account of the server that answered and
``user@domain`` for one elsewhere: is_local says which (the server that answers a ``followback
fetch`` is the person's own). Mastodon has no likes or list counts, no location and no verified
badge: those stay null. ``fields`` (values as text) and every other field go to ``extra``.

Status -> posts: ``reblog`` -> kind "repost" with the reblogged text, ``in_reply_to_id`` ->
"reply". The status's own ``account`` (the poster) is also yielded as an accounts record, once
per file; the author of a reblogged status is not (they are not the follower), only their
``acct`` is kept in ``extra``.

In a ``followback fetch`` folder (see :mod:`pipeline.data.fetch`) each file is read for its part:
the follower list's Account entities are accounts and, like the following list's, snapshots taken
at the fetch time; ``me/`` holds the person's own profile (not an account to judge) and own
statuses (own_posts); ``posts/`` the followers' statuses. Every record of the fetch is observed
at the fetch time, so a later fetch's profile of the same account replaces an earlier one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.data.ingest._common import (
    PENDING,
    FetchContext,
    attribute,
    clean,
    empty_following,
    extras,
    fetch_context,
    fetched_snapshot,
    guess_table,
    html_to_text,
    iter_json,
    list_offset,
    to_raw,
    unwrap,
)
from pipeline.data.schema import Record, Reject

SUFFIXES = (".json", ".jsonl", ".ndjson")
_WRAPPERS = ("accounts", "statuses")
_ACCOUNT_FIELDS = (
    "id", "acct", "display_name", "note", "followers_count", "following_count",
    "statuses_count", "created_at", "last_status_at", "locked", "bot", "url", "discoverable",
    "indexable", "group",
)
_STATUS_FIELDS = ("id", "created_at", "content", "account", "reblog", "language")


def is_account(obj: Any) -> bool:
    return isinstance(obj, dict) and ("acct" in obj or "username" in obj) and "content" not in obj


def is_status(obj: Any) -> bool:
    return isinstance(obj, dict) and ("content" in obj or "reblog" in obj)


def _default_avatar(avatar: Any) -> bool | None:
    """An avatar or header URL: True for the server's placeholder image (``missing.png``)."""
    if not isinstance(avatar, str) or not avatar:
        return None
    return avatar.split("?", 1)[0].endswith("missing.png")


def _is_local(acct: Any) -> bool | None:
    """``user`` -> True (the answering server's own account), ``user@domain`` -> False."""
    if not isinstance(acct, str) or not acct.strip():
        return None
    return "@" not in acct.strip().lstrip("@")


def _field_counts(fields: Any) -> tuple[int | None, int | None]:
    """(profile fields, of them verified links) of an Account's ``fields``; None if absent."""
    if not isinstance(fields, list):
        return None, None
    entries = [f for f in fields if isinstance(f, dict)]
    return len(entries), sum(1 for f in entries if f.get("verified_at"))


def _fields(fields: Any) -> Any:
    if not isinstance(fields, list):
        return fields
    return [
        {**f, "value": html_to_text(f.get("value"))} if isinstance(f, dict) else f
        for f in fields
    ]


def account_record(obj: dict[str, Any], source: str, location: str) -> Record:
    """One Account entity as an accounts record."""
    n_fields, n_verified = _field_counts(obj.get("fields"))
    data = clean({
        "platform": "mastodon",
        "account_id": obj.get("id"),
        "handle": obj.get("acct") or obj.get("username"),
        "display_name": obj.get("display_name"),
        "bio": html_to_text(obj.get("note")),
        "followers_count": obj.get("followers_count"),
        "following_count": obj.get("following_count"),
        "posts_count": obj.get("statuses_count"),
        "created_at": obj.get("created_at"),
        "last_post_at": obj.get("last_status_at"),
        "is_private": obj.get("locked"),
        "is_bot_flagged": obj.get("bot"),
        "has_default_avatar": _default_avatar(obj.get("avatar")),
        "url": obj.get("url"),
        "is_local": _is_local(obj.get("acct")),
        "is_discoverable": obj.get("discoverable"),
        "is_indexable": obj.get("indexable"),
        "is_group": obj.get("group"),
        "has_default_header": _default_avatar(obj.get("header")),
        "fields_count": n_fields,
        "verified_links_count": n_verified,
    })
    extra = clean(extras(obj, _ACCOUNT_FIELDS))
    if "fields" in extra:
        extra["fields"] = _fields(extra["fields"])
    return Record("accounts", source, location, data, extra=extra)


def _status_record(obj: dict[str, Any], source: str, location: str) -> Record:
    account = obj.get("account") if isinstance(obj.get("account"), dict) else {}
    reblog = obj.get("reblog") if isinstance(obj.get("reblog"), dict) else None
    if reblog is not None:
        kind, text = "repost", reblog.get("content")
    else:
        kind = "reply" if obj.get("in_reply_to_id") else "post"
        text = obj.get("content")
    data = clean({
        "account_id": account.get("id"),
        "post_id": obj.get("id"),
        "created_at": obj.get("created_at"),
        "text": html_to_text(text),
        "kind": kind,
        # A reblog's own ``language`` is null; the reblogged status carries it.
        "language": obj.get("language") or (reblog or {}).get("language"),
    })
    extra = extras(obj, _STATUS_FIELDS)
    if reblog is not None:
        author = reblog.get("account") if isinstance(reblog.get("account"), dict) else {}
        extra["reblog"] = clean({
            "id": reblog.get("id"), "url": reblog.get("url"), "acct": author.get("acct"),
            "created_at": reblog.get("created_at"), "language": reblog.get("language"),
        })
    return Record("posts", source, location, data, extra=clean(extra))


def _read(path: Path) -> Iterator[Record | Reject]:
    source = str(path)
    seen: set[Any] = set()
    for item in iter_json(path):
        if item.error:
            yield Reject(source, item.location, PENDING, item.error, item.raw)
            continue
        for location, obj in unwrap(item, _WRAPPERS):
            if is_status(obj):
                yield _status_record(obj, source, location)
                account = obj.get("account")
                if is_account(account) and account.get("id") not in seen:
                    seen.add(account.get("id"))
                    yield account_record(account, source, f"{location}, account")
            elif is_account(obj):
                yield account_record(obj, source, location)
            else:
                what = (f"object with keys {sorted(obj)[:8]}" if isinstance(obj, dict)
                        else type(obj).__name__)
                yield Reject(source, location, PENDING,
                             f"not a Mastodon Account or Status entity: {what}", to_raw(obj))


_ROLE_TABLES = {"me": "own_posts", "followers": "accounts", "following": "snapshots",
                "posts": "posts"}


def _own_post(obj: dict[str, Any], source: str, location: str) -> Record | Reject:
    if isinstance(obj.get("reblog"), dict):
        return Reject(source, location, "own_posts", "a reblog is not one of your own posts",
                      to_raw(obj))
    data = clean({"post_id": obj.get("id"), "created_at": obj.get("created_at"),
                  "text": html_to_text(obj.get("content"))})
    return Record("own_posts", source, location, data,
                  extra=clean(extras(obj, ("id", "created_at", "content", "account"))))


def _read_fetched(path: Path, ctx: FetchContext) -> Iterator[Record | Reject]:
    source = str(path)
    if ctx.role == "manifest" or path.name == "profile.json":
        return  # the manifest, and the person's own profile: nobody to judge
    table = _ROLE_TABLES.get(ctx.role, PENDING)
    # The lists come newest first (follows by id, descending): each account's place in them.
    position = list_offset(path) if ctx.role in ("followers", "following") else 0
    marker = empty_following(path, ctx)
    if marker is not None:
        yield marker
    for item in iter_json(path):
        if item.error:
            yield Reject(source, item.location, table, item.error, item.raw)
            continue
        for location, obj in unwrap(item, _WRAPPERS):
            if ctx.role in ("followers", "following") and is_account(obj):
                if ctx.role == "followers":
                    yield replace(account_record(obj, source, location),
                                  observed_at=ctx.fetched_at)
                yield fetched_snapshot(ctx, obj.get("id"), source, location, position)
                position += 1
            elif ctx.role == "me" and is_status(obj):
                yield _own_post(obj, source, location)
            elif ctx.role == "posts" and is_status(obj):
                # The poster's profile comes from the follower list of the fetch, not from here.
                yield replace(_status_record(obj, source, location), observed_at=ctx.fetched_at)
            else:
                what = (f"object with keys {sorted(obj)[:8]}" if isinstance(obj, dict)
                        else type(obj).__name__)
                yield Reject(source, location, table,
                             f"not what a fetch's {ctx.role}/ folder holds: {what}", to_raw(obj))


def read(path: Path, **opts: Any) -> Iterator[Record | Reject]:
    """Accounts and posts from a Mastodon API response saved as JSON or JSON Lines; a file of a
    ``followback fetch`` folder is read for its part of the fetch."""
    path = Path(path)
    ctx = fetch_context(path)
    if ctx is not None:
        yield from _read_fetched(path, ctx)
        return
    yield from attribute(_read(path), guess_table(path))
