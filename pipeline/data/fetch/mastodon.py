"""Mastodon through Mastodon.py (PyPI ``mastodon-py``): the lists, statuses, follows.

Requests go through Mastodon.py's own client on a ``requests.Session`` whose response hook
hands every response to the :class:`~pipeline.data.fetch._run.Transport` (raw bodies, rate-limit
headers). Mastodon.py runs in its ``wait`` mode, so a 429 sleeps until the reset the server
names and is retried by the client itself; the transport paces before the window runs out
(300 requests per 5 minutes by default, ``X-RateLimit-*``) and retries 5xx and network errors.

Pagination follows the ``Link`` headers, which Mastodon.py parses into each page's
``_pagination_next`` (its ``max_id``): pages of 80 accounts until a page comes back empty or
without a next link, so a list that is an exact multiple of 80 ends with one empty page and
nobody is lost. Account entities in the follower list are full profiles, so no profile requests
are needed; each follower's newest statuses (reblogs and replies included) are one request of at
most 40. Deleted or suspended accounts answer 404 or 410 and are reported as gone.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.core.console import FollowbackError
from pipeline.data.fetch._run import Me, Retry, Transport

LIST_PAGE = 80      # the API's maximum for follower and following lists
STATUS_PAGE = 40    # and for statuses
USER_AGENT = "followback (+https://pypi.org/project/mastodon-py/)"


def transient(exc: Exception) -> None:
    """Raise :class:`Retry` for the errors worth another try (5xx, network)."""
    from mastodon.errors import MastodonNetworkError, MastodonServerError

    if isinstance(exc, MastodonServerError):
        raise Retry(f"the server answered {_status(exc)}")
    if isinstance(exc, MastodonNetworkError):
        raise Retry("the connection failed")


def _status(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    return " ".join(str(a) for a in args[1:3]) if len(args) >= 3 else str(exc)


def client(instance: str, token: str | None, transport: Transport):
    """Mastodon.py's client on ``instance``, every response observed by ``transport``."""
    import requests
    from mastodon import Mastodon

    session = requests.Session()
    session.hooks["response"].append(
        lambda response, *args, **kwargs: transport.observe(
            response.status_code, response.headers, response.content))
    # version_check_mode "none" (Mastodon.py's default): with "created", a failing
    # /api/v1/instance (a revoked token answers 401 everywhere) sends Mastodon.py 2.3's version
    # check into endless recursion; the endpoints used here exist since Mastodon 3.4.
    return Mastodon(access_token=token, api_base_url=instance, session=session,
                    ratelimit_method="wait", version_check_mode="none",
                    request_timeout=60, user_agent=USER_AGENT)


def _load(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8")) if raw else None


def entries(raw: bytes) -> list[tuple[str, Any]]:
    """(id, fingerprint) of each Account of a list page: its status count and last status
    date change when it posts."""
    data = _load(raw)
    if not isinstance(data, list):
        return []
    return [(str(a["id"]), [a.get("statuses_count"), a.get("last_status_at")])
            for a in data if isinstance(a, dict) and "id" in a]


class MastodonFetch:
    """The :class:`~pipeline.data.fetch._run.Platform` of Mastodon."""

    name = "mastodon"
    profile_batch = None  # Account entities in the lists are full profiles

    def __init__(self, instance: str, token: str | None, account: str | None,
                 transport: Transport) -> None:
        self.server = instance.rstrip("/")
        self.token = token
        self.account = account
        self.transport = transport
        self.api = client(self.server, token, transport)

    def me(self) -> Me:
        from mastodon.errors import MastodonNotFoundError, MastodonUnauthorizedError

        call = self.transport.call
        try:
            if self.account:
                _, raw = call(self.api.account_lookup, self.account.lstrip("@"))
            elif self.token:
                _, raw = call(self.api.account_verify_credentials)
            else:
                raise FollowbackError(
                    "no account to fetch: give --account @you (public lists only), or set "
                    "MASTODON_ACCESS_TOKEN (or fetch.mastodon.token_file) to fetch your own")
        except MastodonUnauthorizedError:
            raise FollowbackError(f"{self.server} refused the access token (401): create a "
                                  "new one with the read scope") from None
        except MastodonNotFoundError:
            raise FollowbackError(f"no account {self.account!r} on {self.server}") from None
        account = _load(raw)
        return Me(raw, str(account["id"]), account.get("acct") or account.get("username"),
                  {"followers": account.get("followers_count"),
                   "following": account.get("following_count")},
                  hides_lists=bool(account.get("hide_collections")))

    def own_posts(self, account_id: str, limit: int) -> list[bytes]:
        return self._statuses(account_id, limit, exclude_reblogs=True) or []

    def list_page(self, direction: str, account_id: str,
                  cursor: str | None) -> tuple[bytes, str | None]:
        method = (self.api.account_followers if direction == "followers"
                  else self.api.account_following)
        page, raw = self.transport.call(method, account_id, max_id=cursor, limit=LIST_PAGE)
        # Mastodon.py read the Link header's next URL into the page's pagination info.
        cursor = (getattr(page, "_pagination_next", None) or {}).get("max_id")
        return raw, None if cursor is None else str(cursor)

    entries = staticmethod(entries)

    def posts(self, account_id: str, limit: int) -> list[bytes] | None:
        return self._statuses(account_id, limit)

    def _statuses(self, account_id: str, limit: int, **options: Any) -> list[bytes] | None:
        from mastodon.errors import MastodonAPIError, MastodonNotFoundError

        pages: list[bytes] = []
        got, max_id = 0, None
        while got < limit:
            try:
                page, raw = self.transport.call(
                    self.api.account_statuses, account_id, max_id=max_id,
                    limit=min(STATUS_PAGE, limit - got), **options)
            except MastodonNotFoundError:
                return None
            except MastodonAPIError as exc:
                if "410" in _status(exc):  # suspended: gone as well
                    return None
                raise
            pages.append(raw)
            got += len(page)
            max_id = (getattr(page, "_pagination_next", None) or {}).get("max_id")
            if not page or max_id is None:
                break
        return pages


class MastodonActions:
    """Follow and unfollow through Mastodon.py, for ``followback apply``."""

    name = "mastodon"
    # Mastodon allows 400 follows per account per 24 hours (its RateLimiter's ``follows``
    # family); unfollows are only under the general 300 requests per 5 minutes.
    budgets = ((400, 24 * 3600.0),)  # (points, seconds)
    cost = {"follow": 1, "unfollow": 0}
    pace_seconds = 1.0  # 300 writes per 5 minutes at most, whatever else the token does

    def __init__(self, instance: str, token: str, transport: Transport) -> None:
        self.transport = transport
        self.api = client(instance.rstrip("/"), token, transport)

    def relations(self, ids: list[str]) -> dict[str, str | None]:
        """Per account: "following" when the person follows it now (or asked to), else None."""
        out: dict[str, str | None] = {}
        for start in range(0, len(ids), 40):
            rels, _ = self.transport.call(self.api.account_relationships,
                                          ids[start:start + 40])
            for rel in rels:
                out[str(rel["id"])] = ("following" if rel.get("following") or
                                       rel.get("requested") else None)
        return out

    def follow(self, account_id: str) -> str | None:
        rel, _ = self.transport.call(self.api.account_follow, account_id)
        return "requested" if rel.get("requested") else None  # a locked account must accept

    def unfollow(self, account_id: str, ref: str | None = None) -> None:
        self.transport.call(self.api.account_unfollow, account_id)
