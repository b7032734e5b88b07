"""X/Twitter API v1.1 JSON: user objects and tweets.

Accepted shapes: a JSON array of users (``users/lookup``) or of tweets
(``statuses/user_timeline``), ``{"users": [...]}`` (``followers/list``), ``{"statuses": [...]}``
(``search/tweets``), one object, or JSON Lines of them (as the streaming API and most
collection tools write them). The Botometer Bot Repository layout, an array of
``{"created_at": ..., "user": {v1.1 user}}``, gives the user observed at ``created_at``.

User -> accounts: ``id_str`` is the account id, ``friends_count`` -> following_count,
``favourites_count`` -> likes_count, ``statuses_count`` -> posts_count, ``protected`` ->
is_private, ``default_profile_image`` -> has_default_avatar, the embedded latest ``status``
-> last_post_at, the expanded profile link (``entities.url``) where given, else ``url``.
Twitter has no bot flag in v1.1: is_bot_flagged stays null.

Tweet -> posts: ``retweeted_status`` -> kind "repost" with the retweeted text,
``in_reply_to_status_id`` -> "reply"; the text is ``full_text`` (extended mode),
``extended_tweet.full_text`` (streaming) or ``text``. The tweet's ``user`` is also yielded as
an accounts record, once per file (not the retweeted author, who is not the follower).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.data.ingest._common import (
    PENDING,
    attribute,
    clean,
    extras,
    guess_table,
    iter_json,
    parse_time,
    parse_twitter_date,
    to_raw,
    unwrap,
)
from pipeline.data.schema import Record, Reject

SUFFIXES = (".json", ".jsonl", ".ndjson")
_WRAPPERS = ("users", "statuses")
_USER_FIELDS = (
    "id", "id_str", "screen_name", "name", "description", "followers_count", "friends_count",
    "statuses_count", "favourites_count", "listed_count", "created_at", "protected",
    "verified", "default_profile_image", "url", "location",
)
_TWEET_FIELDS = (
    "id", "id_str", "created_at", "full_text", "text", "user", "retweeted_status",
    "extended_tweet",
)


def is_user(obj: Any) -> bool:
    return isinstance(obj, dict) and "screen_name" in obj


def is_observed_user(obj: Any) -> bool:
    """The Botometer Bot Repository layout: ``{"created_at": <when seen>, "user": {v1.1
    user}}``, no tweet text (every public Bot Repository dataset is published so)."""
    return (isinstance(obj, dict) and is_user(obj.get("user")) and "created_at" in obj
            and not is_tweet(obj))


def is_tweet(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        "full_text" in obj or "text" in obj or "retweeted_status" in obj
    ) and "screen_name" not in obj


def _id(obj: dict[str, Any]) -> Any:
    """``id_str``: ``id`` overflows 53-bit floats in JavaScript-made JSON."""
    value = obj.get("id_str")
    if value is None and obj.get("id") is not None:
        value = str(obj["id"]) if isinstance(obj["id"], int) else obj["id"]
    return value


def _expanded_url(obj: dict[str, Any]) -> Any:
    try:
        urls = obj["entities"]["url"]["urls"]
        return urls[0].get("expanded_url") or obj.get("url")
    except (KeyError, IndexError, TypeError, AttributeError):
        return obj.get("url")


def user_record(obj: dict[str, Any], source: str, location: str) -> Record:
    """One v1.1 user object as an accounts record."""
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    data = clean({
        "platform": "twitter",
        "account_id": _id(obj),
        "handle": obj.get("screen_name"),
        "display_name": obj.get("name"),
        "bio": obj.get("description"),
        "followers_count": obj.get("followers_count"),
        "following_count": obj.get("friends_count"),
        "posts_count": obj.get("statuses_count"),
        "likes_count": obj.get("favourites_count"),
        "listed_count": obj.get("listed_count"),
        "created_at": parse_twitter_date(obj.get("created_at")),
        "last_post_at": parse_twitter_date(status.get("created_at")),
        "is_private": obj.get("protected"),
        "is_verified": obj.get("verified"),
        "has_default_avatar": obj.get("default_profile_image"),
        "url": _expanded_url(obj),
        "location": obj.get("location"),
    })
    return Record("accounts", source, location, data,
                  extra=clean(extras(obj, _USER_FIELDS)))


def _text(tweet: dict[str, Any]) -> Any:
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and extended.get("full_text"):
        return extended["full_text"]
    return tweet.get("full_text") or tweet.get("text")


def _tweet_record(obj: dict[str, Any], source: str, location: str) -> Record:
    user = obj.get("user") if isinstance(obj.get("user"), dict) else {}
    retweeted = obj.get("retweeted_status")
    extra = extras(obj, _TWEET_FIELDS)
    if isinstance(retweeted, dict):
        # The retweet's own text is "RT @author: " plus a truncated copy.
        kind, text = "repost", _text(retweeted)
        author = retweeted.get("user") if isinstance(retweeted.get("user"), dict) else {}
        extra["retweeted_status"] = clean({"id_str": _id(retweeted),
                                           "screen_name": author.get("screen_name")})
    else:
        kind = "reply" if obj.get("in_reply_to_status_id") is not None or obj.get(
            "in_reply_to_status_id_str") else "post"
        text = _text(obj)
    data = clean({
        "account_id": _id(user) if user else None,
        "post_id": _id(obj),
        "created_at": parse_twitter_date(obj.get("created_at")),
        "text": text,
        "kind": kind,
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
            if is_user(obj):
                yield user_record(obj, source, location)
            elif is_observed_user(obj):
                # The record's created_at is when the user was observed, not a tweet's time.
                seen_at = parse_time(parse_twitter_date(obj.get("created_at")))
                yield replace(user_record(obj["user"], source, location), observed_at=seen_at)
            elif is_tweet(obj):
                yield _tweet_record(obj, source, location)
                user = obj.get("user")
                if is_user(user) and _id(user) not in seen:
                    seen.add(_id(user))
                    yield user_record(user, source, f"{location}, user")
            else:
                what = (f"object with keys {sorted(obj)[:8]}" if isinstance(obj, dict)
                        else type(obj).__name__)
                yield Reject(source, location, PENDING,
                             f"not a Twitter v1.1 user or tweet: {what}", to_raw(obj))


def read(path: Path, **opts: Any) -> Iterator[Record | Reject]:
    """Accounts and posts from Twitter API v1.1 JSON or JSON Lines."""
    path = Path(path)
    yield from attribute(_read(path), guess_table(path))
