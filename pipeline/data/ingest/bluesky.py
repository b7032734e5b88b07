"""Bluesky (AT Protocol) JSON: profiles and feed posts.

Accepted shapes, as the XRPC endpoints return them or as JSON Lines of their items:

- profiles: one ``app.bsky.actor.defs#profileViewDetailed`` (``app.bsky.actor.getProfile``),
  ``{"profiles": [...]}`` (``getProfiles``), ``{"followers": [...]}`` / ``{"follows": [...]}``
  (``app.bsky.graph.getFollowers`` / ``getFollows``, whose profile views carry no counts:
  those stay null; the response's ``subject``, the person themself, is not an account to judge);
- posts: ``{"feed": [...]}`` of ``FeedViewPost`` (``app.bsky.feed.getAuthorFeed``),
  ``{"posts": [...]}`` of ``PostView`` (``getPosts``) and ``{"records": [...]}`` of repo records
  (``com.atproto.repo.listRecords`` on ``app.bsky.feed.post`` / ``repost`` / ``like``).

Profile -> accounts: ``did`` is the account id, ``followsCount`` -> following_count. Bluesky has
no private accounts (is_private stays null), no likes or list counts and no location. A profile
without ``avatar`` -> has_default_avatar True; a detailed profile (one with counts) without
``banner`` -> has_default_header True. ``verification.verifiedStatus`` -> is_verified. A handle
that is a domain of the account's own (not ``*.bsky.social``), which Bluesky accepts only once
the domain's DNS or web server names the account's DID, is Bluesky's verified link:
verified_links_count 1, else 0. Bluesky has no profile fields, servers a follower is local to,
directory or search opt-ins, or group accounts: fields_count, is_local, is_discoverable,
is_indexable and is_group stay null.
``indexedAt`` (when the app view indexed this version of the profile) is ``observed_at``.

is_bot_flagged: True when a label with a value in :data:`BOT_LABELS` is on the profile and not
negated (``neg``); False when the profile carries a ``labels`` list without one; null when the
source has no ``labels`` at all. Bluesky's own moderation service labels ``spam``; ``bot`` and
``automated`` are the values community labelers use for automated accounts. All labels are
kept in ``extra``.

Feed item -> posts: a ``reason`` of ``app.bsky.feed.defs#reasonRepost`` -> kind "repost" by
``reason.by`` (the reposter) at ``reason.indexedAt``, with the reposted text; ``record.reply``
-> "reply". The post's ``uri`` is the post id. Authors embedded in posts are not yielded as
accounts: their basic profile view lacks the counts and bio, and would replace a full profile
read from another file.

In a ``followback fetch`` folder (see :mod:`pipeline.data.fetch`) each file is read for its part:
``followers/`` and ``following/`` pages are snapshots taken at the fetch time, ``profiles/``
batches (``getProfiles``) are the followers' accounts, ``me/`` holds the person's own profile
(not an account to judge) and own feed (their posts and replies are own_posts, reposts are not),
``posts/`` the followers' feeds. Every record of the fetch is observed at the fetch time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
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
    iter_json,
    list_offset,
    parse_time,
    to_raw,
    unwrap,
)
from pipeline.data.schema import Record, Reject

SUFFIXES = (".json", ".jsonl", ".ndjson")
BOT_LABELS = frozenset({"spam", "bot", "automated"})
REPOST_REASON = "app.bsky.feed.defs#reasonRepost"
_WRAPPERS = ("profiles", "followers", "follows", "feed", "posts", "records")
_PROFILE_FIELDS = (
    "did", "handle", "displayName", "description", "followersCount", "followsCount",
    "postsCount", "createdAt",
)
_RECORD_KINDS = {
    "app.bsky.feed.post": "post",
    "app.bsky.feed.repost": "repost",
    "app.bsky.feed.like": "like",
}


def is_profile(obj: Any) -> bool:
    return isinstance(obj, dict) and "did" in obj and "handle" in obj


def _bot_flag(labels: Any) -> bool | None:
    if not isinstance(labels, list):
        return None
    negated = {lab.get("val") for lab in labels if isinstance(lab, dict) and lab.get("neg")}
    return any(
        isinstance(lab, dict) and not lab.get("neg") and lab.get("val") in BOT_LABELS
        and lab.get("val") not in negated
        for lab in labels
    )


def _verified(obj: dict[str, Any]) -> bool | None:
    verification = obj.get("verification")
    if not isinstance(verification, dict) or "verifiedStatus" not in verification:
        return None
    return verification["verifiedStatus"] == "valid"


# Handles Bluesky hands out under its own domain (and its marker for a handle that no longer
# resolves): no proof of a domain of the account's own.
HOSTED_HANDLE_SUFFIXES = (".bsky.social",)
INVALID_HANDLE = "handle.invalid"


def _own_domain_links(handle: Any) -> int | None:
    """1 for a handle on a domain of the account's own, 0 for a hosted one, None if absent."""
    if not isinstance(handle, str) or not handle.strip():
        return None
    handle = handle.strip().lstrip("@").lower()
    return int(handle != INVALID_HANDLE and not handle.endswith(HOSTED_HANDLE_SUFFIXES))


def _default_banner(obj: dict[str, Any]) -> bool | None:
    # List entries (profileView) carry no banner even when the account has one; only a
    # detailed view (with counts) can say there is none.
    if obj.get("banner"):
        return False
    return True if "followersCount" in obj or "postsCount" in obj else None


def _did_of(uri: Any) -> str | None:
    """``at://did:plc:abc/app.bsky.feed.post/3k...`` -> ``did:plc:abc``."""
    if isinstance(uri, str) and uri.startswith("at://"):
        return uri[5:].split("/", 1)[0] or None
    return None


def profile_record(obj: dict[str, Any], source: str, location: str) -> Record:
    """One profile view as an accounts record."""
    data = clean({
        "platform": "bluesky",
        "account_id": obj.get("did"),
        "handle": obj.get("handle"),
        "display_name": obj.get("displayName"),
        "bio": obj.get("description"),
        "followers_count": obj.get("followersCount"),
        "following_count": obj.get("followsCount"),
        "posts_count": obj.get("postsCount"),
        "created_at": obj.get("createdAt"),
        "is_verified": _verified(obj),
        "is_bot_flagged": _bot_flag(obj.get("labels")),
        "has_default_avatar": not obj.get("avatar"),
        "has_default_header": _default_banner(obj),
        "verified_links_count": _own_domain_links(obj.get("handle")),
    })
    return Record("accounts", source, location, data,
                  observed_at=parse_time(obj.get("indexedAt")),
                  extra=clean(extras(obj, _PROFILE_FIELDS)))


def _post_extra(post: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    extra = extras(post, ("uri", "author", "record"))
    extra.update(extras(record, ("$type", "text", "createdAt")))
    return clean(extra)


def first_lang(langs: Any) -> str | None:
    """The first of a post record's ``langs`` (BCP 47 tags its client set), or None."""
    if isinstance(langs, list) and langs and isinstance(langs[0], str) and langs[0].strip():
        return langs[0].strip()
    return None


def _feed_record(item: dict[str, Any], source: str, location: str) -> Record:
    post = item.get("post") if isinstance(item.get("post"), dict) else {}
    return _post_view_record(post, item.get("reason"), source, location)


def _post_view_record(post: dict[str, Any], reason: Any, source: str,
                      location: str) -> Record:
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    extra = _post_extra(post, record)
    if isinstance(reason, dict) and reason.get("$type") == REPOST_REASON:
        by = reason.get("by") if isinstance(reason.get("by"), dict) else {}
        account_id, created_at, kind = by.get("did"), reason.get("indexedAt"), "repost"
        extra["reposted_from"] = author.get("handle")
    else:
        account_id = author.get("did") or _did_of(post.get("uri"))
        created_at = record.get("createdAt")
        kind = "reply" if record.get("reply") else "post"
        if isinstance(reason, dict):
            extra["reason"] = reason.get("$type")  # e.g. reasonPin: still the author's post
    data = clean({
        "account_id": account_id,
        "post_id": post.get("uri"),
        "created_at": created_at,
        "text": record.get("text"),
        "kind": kind,
        "language": first_lang(record.get("langs")),
    })
    return Record("posts", source, location, data, extra=clean(extra))


def _repo_record(obj: dict[str, Any], source: str, location: str) -> Record | Reject:
    value = obj.get("value") if isinstance(obj.get("value"), dict) else {}
    kind = _RECORD_KINDS.get(value.get("$type"))
    if kind is None:
        return Reject(source, location, "posts",
                      f"repo record of type {value.get('$type')!r} is not a post, repost or like",
                      to_raw(obj))
    if kind == "post" and value.get("reply"):
        kind = "reply"
    data = clean({
        "account_id": _did_of(obj.get("uri")),
        "post_id": obj.get("uri"),
        "created_at": value.get("createdAt"),
        "text": value.get("text"),
        "kind": kind,
        "language": first_lang(value.get("langs")),
    })
    extra = clean({**extras(obj, ("uri", "value")),
                   **extras(value, ("$type", "text", "createdAt"))})
    return Record("posts", source, location, data, extra=extra)


def _read(path: Path) -> Iterator[Record | Reject]:
    source = str(path)
    for item in iter_json(path):
        if item.error:
            yield Reject(source, item.location, PENDING, item.error, item.raw)
            continue
        for location, obj in unwrap(item, _WRAPPERS):
            if not isinstance(obj, dict):
                yield Reject(source, location, PENDING,
                             f"expected a JSON object, got {type(obj).__name__}", to_raw(obj))
            elif isinstance(obj.get("post"), dict):
                yield _feed_record(obj, source, location)
            elif "record" in obj and "author" in obj:
                yield _post_view_record(obj, None, source, location)
            elif "value" in obj and "uri" in obj:
                yield _repo_record(obj, source, location)
            elif is_profile(obj) or "did" in obj or "handle" in obj:
                yield profile_record(obj, source, location)
            else:
                yield Reject(source, location, PENDING,
                             f"not a Bluesky profile, feed item or post record: object with "
                             f"keys {sorted(obj)[:8]}", to_raw(obj))


_ROLE_TABLES = {"me": "own_posts", "followers": "snapshots", "following": "snapshots",
                "profiles": "accounts", "posts": "posts"}


def _own_post(item: dict[str, Any], me: str, source: str, location: str) -> Record | Reject:
    post = item.get("post") if isinstance(item.get("post"), dict) else {}
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    reason = item.get("reason") if isinstance(item.get("reason"), dict) else {}
    if reason.get("$type") == REPOST_REASON or author.get("did") != me:
        return Reject(source, location, "own_posts", "a repost is not one of your own posts",
                      to_raw(item))
    data = clean({"post_id": post.get("uri"), "created_at": record.get("createdAt"),
                  "text": record.get("text")})
    return Record("own_posts", source, location, data, extra=_post_extra(post, record))


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable (atproto TID spec)


def tid_time(rkey: str | None) -> datetime | None:
    """The time a TID record key encodes (13 base32-sortable characters: 53 bits of
    microseconds since the epoch, then 10 bits of clock id); None for anything else."""
    if not isinstance(rkey, str) or len(rkey) != 13 or rkey[0] not in _TID_ALPHABET[:16]:
        return None
    value = 0
    for char in rkey:
        index = _TID_ALPHABET.find(char)
        if index < 0:
            return None
        value = value * 32 + index
    try:
        return datetime.fromtimestamp((value >> 10) / 1e6, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def follow_time(profile: dict[str, Any], role: str) -> datetime | None:
    """When the follow behind a list entry was made, from the viewer's follow record key.

    Logged in as the person, a follower's ``viewer.followedBy`` is the URI of its follow
    record of the person, and a followed account's ``viewer.following`` the person's own
    follow record (``at://<did>/app.bsky.graph.follow/<TID>``); the public AppView gives
    neither."""
    viewer = profile.get("viewer") if isinstance(profile.get("viewer"), dict) else {}
    uri = viewer.get("followedBy" if role == "followers" else "following")
    if not isinstance(uri, str) or "/app.bsky.graph.follow/" not in uri:
        return None
    return tid_time(uri.rsplit("/", 1)[-1])


def _read_fetched(path: Path, ctx: FetchContext) -> Iterator[Record | Reject]:
    source = str(path)
    if ctx.role == "manifest" or path.name == "profile.json":
        return  # the manifest, and the person's own profile: nobody to judge
    table = _ROLE_TABLES.get(ctx.role, PENDING)
    # The lists come newest first (follow records by sortAt, descending): each account's place.
    position = list_offset(path) if ctx.role in ("followers", "following") else 0
    marker = empty_following(path, ctx)
    if marker is not None:
        yield marker
    for item in iter_json(path):
        if item.error:
            yield Reject(source, item.location, table, item.error, item.raw)
            continue
        for location, obj in unwrap(item, _WRAPPERS):
            if ctx.role in ("followers", "following") and is_profile(obj):
                yield fetched_snapshot(ctx, obj.get("did"), source, location, position,
                                       follow_time(obj, ctx.role))
                position += 1
            elif ctx.role == "profiles" and is_profile(obj):
                yield replace(profile_record(obj, source, location), observed_at=ctx.fetched_at)
            elif ctx.role == "me" and isinstance(obj, dict) and isinstance(obj.get("post"), dict):
                yield _own_post(obj, ctx.account_id, source, location)
            elif ctx.role == "posts" and isinstance(obj, dict) and isinstance(obj.get("post"),
                                                                              dict):
                yield replace(_feed_record(obj, source, location), observed_at=ctx.fetched_at)
            else:
                what = (f"object with keys {sorted(obj)[:8]}" if isinstance(obj, dict)
                        else type(obj).__name__)
                yield Reject(source, location, table,
                             f"not what a fetch's {ctx.role}/ folder holds: {what}", to_raw(obj))


def read(path: Path, **opts: Any) -> Iterator[Record | Reject]:
    """Accounts and posts from a Bluesky XRPC response saved as JSON or JSON Lines; a file of a
    ``followback fetch`` folder is read for its part of the fetch."""
    path = Path(path)
    ctx = fetch_context(path)
    if ctx is not None:
        yield from _read_fetched(path, ctx)
        return
    yield from attribute(_read(path), guess_table(path))
