"""Local stand-ins for a Mastodon server and a Bluesky AppView/PDS, on 127.0.0.1.

They answer in the APIs' documented shapes (Mastodon Account, Status and Relationship entities
with ``Link`` and ``X-RateLimit-*`` headers; Bluesky ``profileView(Detailed)``,
``app.bsky.graph.getFollowers`` pages with ``cursor``, ``getAuthorFeed`` ``feedViewPost`` items,
``RateLimit-*`` headers, XRPC errors), so that the real clients (Mastodon.py, atproto) run their
own request, pagination and error code against them. Faults can be planted: a 429 with a reset,
a 5xx, a dropped connection, a cursor that repeats (mid-list, or on the last page of a complete
list), an account deleted after the list was read. ``World.shaped`` generates an account shaped
like a real one (newest followers first, undecided newest, a mutual share, tiny or one-class).
Used by the fetch and apply tests and by ``bench/fetch.py``.
"""

from __future__ import annotations

import base64
import html
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BASE_TIME = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
TOPICS = [
    "Fed the sourdough starter and baked a rye loaf with an open crumb",
    "Rode 80 km along the river on the touring bike, headwind all the way",
    "The tomatoes in the community garden are finally turning red",
    "Best deals on sneakers today only, click the link in my bio",
    "Reading about the history of bread in medieval Europe",
]


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def tid(when: datetime, clock_id: int = 0) -> str:
    """An atproto TID (13 base32-sortable characters: microseconds since the epoch, then a
    10-bit clock id), as a client writes it into a record key when it creates the record."""
    value = (int(when.timestamp() * 1_000_000) << 10) | (clock_id & 1023)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


@dataclass
class Person:
    """One account of the fake world, rendered by each server in its platform's shape."""

    number: int
    handle: str
    name: str
    bio: str
    n_posts: int = 4
    locked: bool = False
    bot: bool = False
    hide_collections: bool = False
    followers_count: int = 0
    following_count: int = 0

    def posts(self) -> list[tuple[int, datetime, str, bool]]:
        """(number, time, text, is_repost) newest first."""
        out = []
        for k in range(self.n_posts):
            when = BASE_TIME - timedelta(hours=7 * k + self.number % 5)
            text = f"{TOPICS[(self.number + k) % len(TOPICS)]} ({self.handle}, #{k})"
            out.append((self.number * 1000 + self.n_posts - k, when, text, k % 4 == 3))
        return out


@dataclass
class World:
    """The person (``me``), their followers and whom they follow."""

    me: Person
    people: dict[int, Person]
    followers: list[int]   # newest follow first
    following: list[int]

    def follow_time(self, number: int) -> datetime:
        """When a follower followed: the newest an hour before BASE_TIME, one more hour per
        place down the list (the lists come newest first)."""
        return BASE_TIME - timedelta(hours=1 + self.followers.index(number))

    @classmethod
    def shaped(cls, n_followers: int, mutual_share: float, undecided: int = 0,
               n_posts: int = 4, seed: int = 0) -> World:
        """A world shaped like a real account (generated, never real data): followers newest
        first; the newest ``undecided`` not looked at yet (none followed back); among the
        older ones about ``mutual_share`` followed back, mostly those whose bio speaks of the
        person's interests (the rest have other bios or none), so a model can learn it.
        ``mutual_share`` 0 or 1 gives a one-class account."""
        import random

        rng = random.Random(seed)
        me = Person(1, "maya", "Maya", "Baker and cyclist in Leipzig", n_posts=12)
        bios = ["Bread, bikes and balconies", "Sourdough nerd and weekend cyclist",
                "Best deals every day, follow for follow", "", "Crypto signals, DM me"]
        people, followers, following = {}, [], []
        for i in range(n_followers):
            number = 100 + i
            bio = bios[rng.randrange(len(bios))]
            liked = bio in bios[:2]
            people[number] = Person(number, f"user{number}", f"User {number}", bio,
                                    n_posts=n_posts, bot=bio == bios[4],
                                    followers_count=10 + rng.randrange(400),
                                    following_count=20 + rng.randrange(600))
            followers.append(number)
            if i < undecided or mutual_share <= 0:
                continue
            if mutual_share >= 1:
                following.append(number)
                continue
            # followed back: mostly the liked ones, to the share asked for
            p = min(1.0, mutual_share * (1.6 if liked else 0.4))
            if rng.random() < p:
                following.append(number)
        me.followers_count, me.following_count = len(followers), len(following)
        return cls(me, people, followers, following)

    @classmethod
    def make(cls, n_followers: int, n_following: int = 0, n_posts: int = 4) -> World:
        me = Person(1, "maya", "Maya", "Baker and cyclist in Leipzig", n_posts=12)
        people = {}
        for i in range(n_followers + n_following):
            number = 100 + i
            people[number] = Person(
                number, f"user{number}", f"User {number}",
                "Bread, bikes and balconies" if i % 3 else "",
                n_posts=n_posts, bot=(i % 17 == 16),
                followers_count=10 + i % 50, following_count=20 + i % 70)
        followers = [100 + i for i in range(n_followers)]
        # The first half of whom the person follows also follows them; the rest does not.
        mutual = followers[:n_following // 2]
        following = mutual + [100 + n_followers + i for i in range(n_following - len(mutual))]
        me.followers_count, me.following_count = len(followers), len(following)
        return cls(me, people, followers, following)

    def person(self, number: int) -> Person:
        return self.me if number == self.me.number else self.people[number]


@dataclass
class Fault:
    """Answer matching requests (``path`` contains ``match``) with ``kind``: ``429``, a 5xx
    status, or ``drop`` (close the connection without answering); ``skip`` matching requests
    pass first, then ``times`` are hit."""

    match: str
    kind: str
    times: int = 1
    skip: int = 0
    reset_in: float = 1.0  # 429: seconds to the reset the answer names


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        app: FakeServer = self.server.app  # type: ignore[attr-defined]
        answer = app.dispatch(method, self.path, dict(self.headers), body)
        if answer is None:  # a dropped connection
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, headers, payload = answer
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with fault injection and a request log."""

    def __init__(self, world: World, rate_limit: int = 300, window: float = 300.0) -> None:
        self.world = world
        self.rate_limit = rate_limit
        self.window = window
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str]] = []
        self.statuses: list[int | None] = []  # each answer's status; None: dropped
        self.auth_headers: list[str] = []
        self.lock = threading.Lock()
        self._window_start = time.time()
        self._used = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.app = self  # type: ignore[attr-defined]
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_to(self, fragment: str) -> int:
        return sum(1 for _, path in self.log if fragment in path)

    def _fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.match in path and fault.times > 0:
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                return fault
        return None

    def _rate(self) -> tuple[int, float]:
        now = time.time()
        if now >= self._window_start + self.window:
            self._window_start, self._used = now, 0
        self._used += 1
        return self.rate_limit - self._used, self._window_start + self.window

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        with self.lock:
            answer = self._answer(method, raw_path, headers, body)
            self.statuses.append(None if answer is None else answer[0])
            return answer

    def _answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        url = urlparse(raw_path)
        url = url._replace(path=url.path.rstrip("/") or "/")
        query = parse_qs(url.query)
        self.log.append((method, raw_path))
        if "Authorization" in headers:
            self.auth_headers.append(headers["Authorization"])
        fault = self._fault(url.path)
        remaining, reset = self._rate()
        if fault is not None and fault.kind == "429":
            remaining, reset = 0, time.time() + fault.reset_in
        rate_headers = self.rate_headers(max(remaining, 0), reset)
        if fault is not None:
            if fault.kind == "drop":
                return None
            status = int(fault.kind)
            return status, rate_headers, self.error_body(status)
        if remaining < 0:
            return 429, rate_headers, self.error_body(429)
        status, extra, payload = self.route(method, url.path, query, headers, body)
        return status, {**rate_headers, **extra}, payload

    # Subclasses: rate_headers, error_body, route.


# --------------------------------------------------------------------------- Mastodon


class FakeMastodon(FakeServer):
    """A Mastodon 4.3 server: instance, accounts, followers/following, statuses, follows."""

    def __init__(self, world: World, token: str | None = None, **kwargs: Any) -> None:
        super().__init__(world, **kwargs)
        self.token = token
        self.gone: set[int] = set()  # accounts deleted after the list was read
        self.follow_ids = {n: 900000 + i for i, n in enumerate(reversed(world.followers))}
        self.following_ids = {n: 800000 + i for i, n in enumerate(reversed(world.following))}
        self.requested: set[int] = set()

    def rate_headers(self, remaining: int, reset: float) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).isoformat(
                    timespec="milliseconds").replace("+00:00", "Z")}

    def error_body(self, status: int) -> dict:
        return {"error": {429: "Too many requests", 404: "Record not found",
                          401: "The access token is invalid"}.get(status, "Internal error")}

    def account(self, person: Person) -> dict:
        base = self.url
        avatar = (f"{base}/avatars/original/missing.png" if person.number % 4 == 0
                  else f"{base}/system/accounts/avatars/{person.number}.png")
        return {
            "id": str(person.number), "username": person.handle, "acct": person.handle,
            "display_name": person.name, "locked": person.locked, "bot": person.bot,
            "discoverable": True, "indexable": True, "group": False,
            "created_at": _iso(BASE_TIME - timedelta(days=300 + person.number)),
            "note": f"<p>{html.escape(person.bio)}</p>" if person.bio else "",
            "url": f"{base}/@{person.handle}", "uri": f"{base}/users/{person.handle}",
            "avatar": avatar, "avatar_static": avatar,
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "followers_count": person.followers_count,
            "following_count": person.following_count,
            "statuses_count": person.n_posts,
            "last_status_at": (BASE_TIME - timedelta(days=person.number % 9)).strftime(
                "%Y-%m-%d"),
            "hide_collections": person.hide_collections, "noindex": False,
            "emojis": [], "roles": [],
            "fields": [{"name": "Web", "value": f'<a href="https://example.org/{person.handle}"'
                        f' rel="me">example.org/{person.handle}</a>', "verified_at": None}],
        }

    def status(self, person: Person, number: int, when: datetime, text: str,
               repost: bool) -> dict:
        base = self.url

        def entity(author: Person, sid: int, content: str | None, reblog: dict | None) -> dict:
            return {
                "id": str(sid), "created_at": _iso(when), "in_reply_to_id": None,
                "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
                "visibility": "public", "language": None if reblog else "en",
                "uri": f"{base}/users/{author.handle}/statuses/{sid}",
                "url": f"{base}/@{author.handle}/{sid}", "replies_count": 0,
                "reblogs_count": 0, "favourites_count": 0, "edited_at": None,
                "content": "" if content is None else f"<p>{html.escape(content)}</p>",
                "reblog": reblog, "application": None, "account": self.account(author),
                "media_attachments": [], "mentions": [], "tags": [], "emojis": [],
                "card": None, "poll": None,
            }

        if repost:
            original = entity(self.world.me, number + 500000, text, None)
            return entity(person, number, None, original)
        return entity(person, number, text, None)

    def _authorised(self, headers: dict[str, str]) -> bool:
        return self.token is not None and headers.get("Authorization") == f"Bearer {self.token}"

    def _link(self, path: str, query: dict, next_max: int | None, prev_min: int | None) -> str:
        limit = query.get("limit", ["40"])[0]
        links = []
        if next_max is not None:
            links.append(f'<{self.url}{path}?limit={limit}&max_id={next_max}>; rel="next"')
        if prev_min is not None:
            links.append(f'<{self.url}{path}?limit={limit}&min_id={prev_min}>; rel="prev"')
        return ", ".join(links)

    def _page(self, path: str, query: dict, rows: list[tuple[int, Any]], cap: int):
        """Rows (pagination id, entity), newest (highest id) first, cut at max_id and limit."""
        limit = min(int(query.get("limit", ["40"])[0]), cap)
        if "max_id" in query:
            rows = [r for r in rows if r[0] < int(query["max_id"][0])]
        page = rows[:limit]
        headers = {}
        if page:
            link = self._link(path, query, page[-1][0] if len(page) == limit else None,
                              page[0][0])
            if link:
                headers["Link"] = link
        return 200, headers, [entity for _, entity in page]

    def route(self, method: str, path: str, query: dict, headers: dict, body: bytes):
        world = self.world
        if self.token is not None and "Authorization" in headers and not self._authorised(
                headers):
            return 401, {}, self.error_body(401)
        if path == "/api/v1/instance":
            return 200, {}, {"uri": "127.0.0.1", "title": "Fake Mastodon",
                             "version": "4.3.2", "urls": {}, "stats": {}}
        if path == "/api/v2/instance":
            return 200, {}, {"domain": "127.0.0.1", "title": "Fake Mastodon",
                             "version": "4.3.2", "api_versions": {"mastodon": 2},
                             "configuration": {}}
        if path == "/api/v1/accounts/verify_credentials":
            if not self._authorised(headers):
                return 401, {}, self.error_body(401)
            return 200, {}, {**self.account(world.me),
                             "source": {"privacy": "public", "note": world.me.bio}}
        if path == "/api/v1/accounts/lookup":
            acct = query.get("acct", [""])[0].split("@")[0]
            for person in [world.me, *world.people.values()]:
                if person.handle == acct:
                    return 200, {}, self.account(person)
            return 404, {}, self.error_body(404)
        if path == "/api/v1/accounts/relationships":
            ids = [int(i) for i in query.get("id[]", [])]
            return 200, {}, [{"id": str(i), "following": i in world.following,
                              "followed_by": i in world.followers,
                              "requested": i in self.requested, "showing_reblogs": True,
                              "notifying": False, "blocking": False, "muting": False,
                              "domain_blocking": False, "endorsed": False, "note": ""}
                             for i in ids]
        parts = path.strip("/").split("/")
        if len(parts) == 5 and parts[:3] == ["api", "v1", "accounts"]:
            number, what = int(parts[3]), parts[4]
            if method == "POST" and what in ("follow", "unfollow"):
                if not self._authorised(headers):
                    return 401, {}, self.error_body(401)
                person = world.person(number)
                if what == "follow" and number not in world.following:
                    if person.locked:
                        self.requested.add(number)
                    else:
                        world.following.insert(0, number)
                        self.following_ids[number] = 800000 + len(self.following_ids)
                if what == "unfollow":
                    if number in world.following:
                        world.following.remove(number)
                    self.requested.discard(number)
                return 200, {}, {"id": str(number), "following": number in world.following,
                                 "requested": number in self.requested,
                                 "followed_by": number in world.followers}
            if number in self.gone:
                return 404, {}, self.error_body(404)
            person = world.person(number)
            if what in ("followers", "following"):
                if person.hide_collections and not self._authorised(headers):
                    return 200, {}, []
                if number != world.me.number:
                    return 200, {}, []
                ids = self.follow_ids if what == "followers" else self.following_ids
                members = world.followers if what == "followers" else world.following
                rows = sorted(((ids[n], self.account(world.person(n))) for n in members),
                              key=lambda r: -r[0])
                return self._page(path, query, rows, 80)
            if what == "statuses":
                rows = [(sid, self.status(person, sid, when, text, repost))
                        for sid, when, text, repost in person.posts()
                        if not (repost and "exclude_reblogs" in query)]
                return self._page(path, query, rows, 40)
        return 404, {}, self.error_body(404)


# --------------------------------------------------------------------------- Bluesky


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def fake_jwt(did: str, scope: str) -> str:
    now = int(time.time())
    return ".".join([_b64({"typ": "at+jwt", "alg": "HS256"}),
                     _b64({"scope": scope, "sub": did, "iat": now, "exp": now + 7200,
                           "aud": "did:web:127.0.0.1"}), "c2lnbmF0dXJl"])


class FakeBluesky(FakeServer):
    """A Bluesky AppView (and PDS, for login and follow records) over XRPC."""

    def __init__(self, world: World, password: str | None = None,
                 repeat_cursor: bool | str = False, **kwargs: Any) -> None:
        super().__init__(world, **kwargs)
        self.password = password
        self.repeat_cursor = repeat_cursor
        self.gone: set[int] = set()
        self.records: dict[int, str] = {}  # followed account -> rkey of the person's follow
        for i, number in enumerate(world.following):
            self.records[number] = f"3kfollow{i:05d}"
        self.sessions: set[str] = set()

    @staticmethod
    def did(person: Person) -> str:
        return f"did:plc:fake{person.number:06d}"

    def number_of(self, actor: str) -> int | None:
        for person in [self.world.me, *self.world.people.values()]:
            if actor in (self.did(person), person.handle, f"{person.handle}.bsky.social"):
                return person.number
        return None

    def rate_headers(self, remaining: int, reset: float) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.rate_limit), "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": str(int(reset + 0.999)),
                "RateLimit-Policy": f"{self.rate_limit};w={int(self.window)}"}

    def error_body(self, status: int) -> dict:
        if status == 429:
            return {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        return {"error": "InternalServerError", "message": "Internal Server Error"}

    def _viewer(self, person: Person, headers: dict) -> dict:
        viewer: dict[str, Any] = {"muted": False, "blockedBy": False}
        if headers.get("Authorization", "").removeprefix("Bearer ") in self.sessions:
            me = self.did(self.world.me)
            if person.number in self.world.following and person.number in self.records:
                viewer["following"] = (f"at://{me}/app.bsky.graph.follow/"
                                       f"{self.records[person.number]}")
            if person.number in self.world.followers:
                # The follower's follow record of the person, keyed by the TID of its time.
                viewer["followedBy"] = (f"at://{self.did(person)}/app.bsky.graph.follow/"
                                        f"{tid(self.world.follow_time(person.number))}")
        return viewer

    def basic(self, person: Person, headers: dict) -> dict:
        view = {"did": self.did(person), "handle": f"{person.handle}.bsky.social",
                "displayName": person.name, "viewer": self._viewer(person, headers),
                "labels": [], "createdAt": _iso(BASE_TIME - timedelta(days=200 + person.number))}
        if person.number % 4:
            view["avatar"] = f"https://cdn.bsky.app/img/avatar/plain/{self.did(person)}/a@jpeg"
        return view

    def profile(self, person: Person, headers: dict) -> dict:
        view = {**self.basic(person, headers),
                "indexedAt": _iso(BASE_TIME - timedelta(days=person.number % 30))}
        if person.bio:
            view["description"] = person.bio
        if person.bot:
            view["labels"] = [{"src": "did:plc:ar7c4by46qjdydhdevvrndac",
                               "uri": self.did(person), "val": "spam", "neg": False,
                               "cts": _iso(BASE_TIME)}]
        return view

    def detailed(self, person: Person, headers: dict) -> dict:
        return {**self.profile(person, headers), "followersCount": person.followers_count,
                "followsCount": person.following_count, "postsCount": person.n_posts}

    def feed_item(self, person: Person, number: int, when: datetime, text: str,
                  repost: bool, headers: dict) -> dict:
        author = person
        if repost:  # someone else's post: the person's, or for the person a follower's
            others = [p for n, p in sorted(self.world.people.items()) if p is not person]
            author = self.world.me if person is not self.world.me or not others else others[0]
        rkey = f"3kpost{number:08d}"
        post = {"uri": f"at://{self.did(author)}/app.bsky.feed.post/{rkey}",
                "cid": f"bafyreib{number:020d}", "author": self.basic(author, headers),
                "record": {"$type": "app.bsky.feed.post", "createdAt": _iso(when),
                           "langs": ["en"], "text": text},
                "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
                "indexedAt": _iso(when), "viewer": {}, "labels": []}
        item: dict[str, Any] = {"post": post}
        if repost:
            item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost",
                              "by": self.basic(person, headers),
                              "indexedAt": _iso(when + timedelta(minutes=3))}
        return item

    def _cursor_page(self, rows: list, query: dict, cap: int) -> tuple[list, str | None]:
        limit = min(int(query.get("limit", ["50"])[0]), cap)
        start = int(query.get("cursor", ["c0"])[0][1:])
        page = rows[start:start + limit]
        cursor = f"c{start + limit}" if len(page) == limit else None
        if self.repeat_cursor == "last" and start > 0 and cursor is None:
            # The AppView of Sep 2026: the last page of a complete list named itself again.
            cursor = f"c{start}"
        elif self.repeat_cursor is True and start > 0 and cursor is not None:
            cursor = f"c{start}"  # a broken server: the cursor stops advancing
        return page, cursor

    def _bad(self, error: str, message: str, status: int = 400):
        return status, {}, {"error": error, "message": message}

    def route(self, method: str, path: str, query: dict, headers: dict, body: bytes):
        world = self.world
        nsid = path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession":
            data = json.loads(body or b"{}")
            if self.password is None or data.get("password") != self.password:
                return self._bad("AuthenticationRequired", "Invalid identifier or password",
                                 401)
            access = fake_jwt(self.did(world.me), "com.atproto.access")
            self.sessions.add(access)
            return 200, {}, {"accessJwt": access,
                             "refreshJwt": fake_jwt(self.did(world.me), "com.atproto.refresh"),
                             "handle": f"{world.me.handle}.bsky.social",
                             "did": self.did(world.me), "active": True}
        if nsid in ("com.atproto.repo.createRecord", "com.atproto.repo.deleteRecord"):
            if headers.get("Authorization", "").removeprefix("Bearer ") not in self.sessions:
                return self._bad("AuthenticationRequired", "Authentication Required", 401)
            data = json.loads(body or b"{}")
            if nsid.endswith("createRecord"):
                number = self.number_of(data["record"]["subject"])
                rkey = f"3knew{len(self.records):05d}"
                self.records[number] = rkey
                if number not in world.following:
                    world.following.insert(0, number)
                return 200, {}, {"uri": f"at://{data['repo']}/{data['collection']}/{rkey}",
                                 "cid": f"bafyreinew{len(self.records):012d}",
                                 "validationStatus": "valid"}
            for number, rkey in list(self.records.items()):
                if rkey == data["rkey"]:
                    del self.records[number]
                    if number in world.following:
                        world.following.remove(number)
            return 200, {}, {"commit": {"cid": "bafyreicommit", "rev": "3kcommit"}}
        if nsid == "app.bsky.actor.getProfile":
            number = self.number_of(query.get("actor", [""])[0])
            if number is None or number in self.gone:
                return self._bad("InvalidRequest", "Profile not found")
            return 200, {}, self.detailed(world.person(number), headers)
        if nsid == "app.bsky.actor.getProfiles":
            numbers = [self.number_of(a) for a in query.get("actors", [])]
            return 200, {}, {"profiles": [self.detailed(world.person(n), headers)
                                          for n in numbers if n is not None
                                          and n not in self.gone]}
        if nsid in ("app.bsky.graph.getFollowers", "app.bsky.graph.getFollows"):
            number = self.number_of(query.get("actor", [""])[0])
            if number is None:
                return self._bad("InvalidRequest", "Profile not found")
            members = world.followers if nsid.endswith("Followers") else world.following
            members = members if number == world.me.number else []
            rows = [self.profile(world.person(n), headers) for n in members]
            page, cursor = self._cursor_page(rows, query, 100)
            key = "followers" if nsid.endswith("Followers") else "follows"
            answer = {"subject": self.profile(world.person(number), headers), key: page}
            if cursor is not None:
                answer["cursor"] = cursor
            return 200, {}, answer
        if nsid == "app.bsky.feed.getAuthorFeed":
            number = self.number_of(query.get("actor", [""])[0])
            if number is None or number in self.gone:
                return self._bad("InvalidRequest", "Profile not found")
            person = world.person(number)
            # The fake's posts are no replies, so every filter gives the same feed.
            rows = [self.feed_item(person, *post, headers) for post in person.posts()]
            page, cursor = self._cursor_page(rows, query, 100)
            answer = {"feed": page}
            if cursor is not None:
                answer["cursor"] = cursor
            return 200, {}, answer
        return self._bad("MethodNotImplemented", f"Method Not Implemented: {nsid}", 501)


@dataclass
class Sleeps:
    """A stand-in for ``time.sleep`` that records the waits instead of sleeping."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
