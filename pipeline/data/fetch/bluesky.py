"""Bluesky through atproto (PyPI ``atproto``): the lists, profiles, author feeds, follows.

Followers, follows, profiles and feeds are public: by default the fetch does not log in and
asks the public AppView (``https://public.api.bsky.app``; ``--service`` names another server,
whose XRPC calls are under ``<service>/xrpc/``). With ``BLUESKY_APP_PASSWORD`` set it logs in
(against ``https://bsky.social`` unless ``--service`` says otherwise), which ``apply`` needs.

atproto's ``Client`` runs on an ``httpx`` client whose response hook hands every response to the
:class:`~pipeline.data.fetch._run.Transport` (raw bodies, ``RateLimit-*`` headers: 3,000 requests
per 5 minutes per IP). atproto raises on a 429 (``RateLimitExceededError``); the transport waits for
the ``ratelimit-reset`` it names, and retries 5xx and network errors with backoff.

``app.bsky.graph.getFollowers`` / ``getFollows`` pages of 100 follow the ``cursor`` until the
response has none; a cursor that comes back again stops the list (see ``_run``). The list
entries are ``profileView`` (no counts), so profiles are read with ``app.bsky.actor.getProfiles``
in batches of 25; an account deleted between the list and the batch is missing from it and is
reported as gone. Each follower's newest posts and reposts are one ``getAuthorFeed`` page.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.core.console import FollowbackError
from pipeline.data.fetch._run import Me, Retry, Transport, parse_reset

PUBLIC_APPVIEW = "https://public.api.bsky.app"
LOGIN_SERVICE = "https://bsky.social"
LIST_PAGE = 100     # the API's maximum for getFollowers / getFollows / getAuthorFeed
PROFILE_BATCH = 25  # and for getProfiles
# getAuthorFeed's answers for an account that cannot be read any more.
GONE_ERRORS = frozenset({"NotFound", "InvalidRequest", "AccountTakedown", "AccountDeactivated",
                         "BlockedActor", "BlockedByActor"})


def service_url(service: str | None, logged_in: bool) -> str:
    return (service or (LOGIN_SERVICE if logged_in else PUBLIC_APPVIEW)).rstrip("/")


def transient(exc: Exception) -> None:
    """Raise :class:`Retry` for a 429 (with the reset it names), 5xx and network errors."""
    import httpx
    from atproto_client.exceptions import NetworkError, RateLimitExceededError, RequestException

    if isinstance(exc, RateLimitExceededError):
        headers = exc.response.headers if exc.response is not None else {}
        wait = parse_reset(headers.get("ratelimit-reset"), headers.get("date"))
        if wait is None:
            wait = exc.retry_after
        raise Retry("rate limited (429)", wait)
    if isinstance(exc, NetworkError | httpx.TransportError):
        raise Retry("the connection failed" if getattr(exc, "response", None) is None
                    else f"the server answered {exc.response.status_code}")
    if isinstance(exc, RequestException) and exc.response is not None \
            and exc.response.status_code >= 500:
        raise Retry(f"the server answered {exc.response.status_code}")


def _error_name(exc: Exception) -> str | None:
    content = getattr(getattr(exc, "response", None), "content", None)
    return getattr(content, "error", None)


def client(service: str, transport: Transport):
    """atproto's client on ``service``, every response observed by ``transport``."""
    from atproto import Client
    from atproto_client.request import Request

    def hook(response) -> None:
        response.read()
        transport.observe(response.status_code, response.headers, response.content)

    return Client(base_url=service, request=Request(timeout=60,
                                                    event_hooks={"response": [hook]}))


def login(api, handle: str, password: str, transport: Transport) -> None:
    from atproto_client.exceptions import UnauthorizedError

    try:
        transport.call(api.login, handle, password)
    except UnauthorizedError:
        raise FollowbackError(f"the server refused the app password of {handle} (401): "
                              "create an app password in Settings > Privacy and security"
                              ) from None


def _load(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8")) if raw else None


def entries(raw: bytes) -> list[tuple[str, Any]]:
    """(DID, fingerprint) of each profile of a list page or profile batch: only profiles
    (``profileViewDetailed``) carry ``postsCount``, which changes when the account posts."""
    data = _load(raw) or {}
    for key in ("followers", "follows", "profiles"):
        if isinstance(data.get(key), list):
            return [(p["did"], p.get("postsCount") if key == "profiles" else None)
                    for p in data[key] if isinstance(p, dict) and "did" in p]
    return []


class BlueskyFetch:
    """The :class:`~pipeline.data.fetch._run.Platform` of Bluesky."""

    name = "bluesky"
    profile_batch = PROFILE_BATCH

    def __init__(self, handle: str, service: str | None, password: str | None,
                 transport: Transport) -> None:
        self.handle = handle.lstrip("@")
        self.server = service_url(service, password is not None)
        self.transport = transport
        self.api = client(self.server, transport)
        if password is not None:
            login(self.api, self.handle, password, transport)

    def me(self) -> Me:
        from atproto_client.exceptions import BadRequestError

        try:
            _, raw = self.transport.call(self.api.app.bsky.actor.get_profile,
                                         {"actor": self.handle})
        except BadRequestError as exc:
            raise FollowbackError(f"no Bluesky account {self.handle!r} on {self.server} "
                                  f"({_error_name(exc) or exc})") from None
        profile = _load(raw)
        return Me(raw, profile["did"], profile["handle"],
                  {"followers": profile.get("followersCount"),
                   "following": profile.get("followsCount")})

    def own_posts(self, account_id: str, limit: int) -> list[bytes]:
        return self._feed(account_id, limit, "posts_no_replies") or []

    def list_page(self, direction: str, account_id: str,
                  cursor: str | None) -> tuple[bytes, str | None]:
        graph = self.api.app.bsky.graph
        method = graph.get_followers if direction == "followers" else graph.get_follows
        params = {"actor": account_id, "limit": LIST_PAGE}
        if direction == "followers":
            # Newest follow first (the lexicon's "latest"; "top" would order by popularity):
            # the order that tells your newest followers apart (pipeline.undecided).
            params["sort"] = "latest"
        if cursor is not None:
            params["cursor"] = cursor
        page, raw = self.transport.call(method, params)
        return raw, page.cursor

    entries = staticmethod(entries)

    def profiles(self, ids: list[str]) -> bytes:
        _, raw = self.transport.call(self.api.app.bsky.actor.get_profiles, {"actors": ids})
        return raw

    def posts(self, account_id: str, limit: int) -> list[bytes] | None:
        return self._feed(account_id, limit, "posts_with_replies")

    def _feed(self, account_id: str, limit: int, kind: str) -> list[bytes] | None:
        from atproto_client.exceptions import BadRequestError

        pages: list[bytes] = []
        got, cursor = 0, None
        while got < limit:
            params = {"actor": account_id, "limit": min(LIST_PAGE, limit - got), "filter": kind}
            if cursor is not None:
                params["cursor"] = cursor
            try:
                page, raw = self.transport.call(self.api.app.bsky.feed.get_author_feed, params)
            except BadRequestError as exc:
                if _error_name(exc) in GONE_ERRORS:
                    return None
                raise
            pages.append(raw)
            got += len(page.feed)
            if not page.feed or not page.cursor or page.cursor == cursor:
                break
            cursor = page.cursor
        return pages


class BlueskyActions:
    """Follow and unfollow through atproto (logged in), for ``followback apply``."""

    name = "bluesky"
    # Bluesky's write limits per account: 5,000 points an hour and 35,000 a day; creating a
    # record (a follow) costs 3 points, deleting one (an unfollow) 1.
    budgets = ((5000, 3600.0), (35000, 24 * 3600.0))
    cost = {"follow": 3, "unfollow": 1}
    pace_seconds = 2.2  # 3 points every 2.2 s stays under 5,000 an hour however long it runs

    def __init__(self, handle: str, service: str | None, password: str,
                 transport: Transport) -> None:
        self.transport = transport
        self.api = client(service_url(service, True), transport)
        login(self.api, handle.lstrip("@"), password, transport)

    def relations(self, ids: list[str]) -> dict[str, str | None]:
        """Per account: the URI of the person's follow record, or None when not following."""
        out: dict[str, str | None] = {}
        for start in range(0, len(ids), PROFILE_BATCH):
            page, _ = self.transport.call(self.api.app.bsky.actor.get_profiles,
                                          {"actors": ids[start:start + PROFILE_BATCH]})
            for profile in page.profiles:
                viewer = profile.viewer
                out[profile.did] = viewer.following if viewer is not None else None
        return out

    def follow(self, account_id: str) -> str | None:
        created, _ = self.transport.call(self.api.follow, account_id)
        return created.uri

    def unfollow(self, account_id: str, ref: str | None = None) -> None:
        if ref is None:
            ref = self.relations([account_id]).get(account_id)
            if ref is None:
                raise FollowbackError(f"not following {account_id}: nothing to unfollow")
        self.transport.call(self.api.unfollow, ref)
