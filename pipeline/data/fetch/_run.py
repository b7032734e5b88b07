"""What every platform's fetch shares: the request transport, the fetch folder, and the run.

A platform module (``mastodon.py``, ``bluesky.py``) only knows its API: it builds the platform's
own client on a :class:`Transport` and implements :class:`Platform`. Everything else is here,
once:

- :class:`Transport`: every HTTP response either client receives passes through
  :meth:`Transport.observe` (a response hook), which keeps the body as received, counts the
  request and reads the rate-limit headers (``X-RateLimit-*`` on Mastodon, ``RateLimit-*`` on
  Bluesky). :meth:`Transport.call` waits for the window's reset when the remaining requests run
  low (so a limit is not hit in the first place), retries 5xx and network errors with
  exponential backoff, and waits for the reset that a 429 names.
- :class:`FetchFolder`: a fetch is written into a hidden sibling ``.<time>.partial/`` (which
  ``followback ingest`` never reads) and renamed to ``<time>/`` when complete, so a folder
  appears complete or not at all. Its ``state.json`` says how far the lists got; a fetch started
  again for the same account resumes the partial folder instead of starting over.
- :func:`run`: the person's profile and own posts, the follower and following lists page by
  page (a cursor that does not advance stops the list; the list is kept when what came covers
  the profile's count within ``cursor_tolerance``, else marked incomplete), the followers'
  profiles where the lists do not carry them, and the newest posts of every follower that is new
  or changed since the last complete fetch (``full`` fetches all).
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pipeline.core.console import FollowbackError, console, progress
from pipeline.data import io

MANIFEST = "fetch.json"
FORMAT = "followback-fetch"
STATE = "state.json"
STAMP = "%Y-%m-%dT%H%M%SZ"  # folder names: no colons, sorted by time
DIRECTIONS = ("followers", "following")
# Requests kept in hand before a rate-limit window's reset: other apps of the same account
# (the person's phone) share the budget.
RATE_RESERVE = 5
MAX_WAIT = 15 * 60.0  # never sleep longer than this for one rate-limit window


# --------------------------------------------------------------------------- transport


class Retry(Exception):
    """Raised by a platform's ``transient`` to say: try again after ``wait`` seconds (None:
    the transport's backoff)."""

    def __init__(self, why: str, wait: float | None = None) -> None:
        super().__init__(why)
        self.wait = wait


def parse_reset(value: str | None, server_date: str | None = None) -> float | None:
    """Seconds from now until a rate-limit reset given as epoch seconds, seconds to go, or an
    ISO time (Mastodon); measured on the server's clock when its ``Date`` is known."""
    if not value:
        return None
    value = value.strip()
    now = time.time()
    if server_date:
        try:
            now = email.utils.parsedate_to_datetime(server_date).timestamp()
        except (TypeError, ValueError):
            pass
    if re.fullmatch(r"\d+(\.\d+)?", value):
        number = float(value)
        # Epoch seconds are large; a small number is seconds to go (Retry-After style).
        return max(0.0, number - now) if number > 1e9 else number
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@dataclass
class Captured:
    """One HTTP response as received."""

    status: int
    headers: dict[str, str]
    body: bytes


class Transport:
    """Raw capture, rate-limit pacing and retries for one client's requests.

    Parameters
    ----------
    transient : maps an exception of the client to :class:`Retry` (raised) or returns to let
        it propagate.
    max_retries : attempts after the first, per call, for 5xx and network errors.
    backoff : first backoff wait in seconds; it doubles each attempt (capped at 60 s).
    sleep : the sleep function (tests pass one that records).
    """

    def __init__(self, transient: Callable[[Exception], None], max_retries: int = 5,
                 backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.transient = transient
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep
        self.last: Captured | None = None
        self.requests = 0
        self.retries = 0
        self.rate_waits = 0
        self.waited = 0.0
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_in: float | None = None
        self._seen_at = 0.0

    def observe(self, status: int, headers: Any, body: bytes) -> None:
        """The response hook: every response either client receives comes through here."""
        plain = {str(k).lower(): str(v) for k, v in dict(headers).items()}
        self.last = Captured(status, plain, bytes(body))
        self.requests += 1
        remaining = plain.get("x-ratelimit-remaining", plain.get("ratelimit-remaining"))
        limit = plain.get("x-ratelimit-limit", plain.get("ratelimit-limit"))
        reset = plain.get("x-ratelimit-reset", plain.get("ratelimit-reset"))
        if remaining is not None and remaining.strip().isdigit():
            self.remaining = int(remaining)
            self._seen_at = time.monotonic()
            self.reset_in = parse_reset(reset, plain.get("date"))
        if limit is not None and limit.strip().split(";")[0].isdigit():
            self.limit = int(limit.strip().split(";")[0])

    def _pace(self) -> None:
        """Wait for the window's reset when the remaining requests are down to the reserve."""
        if self.remaining is None or self.reset_in is None:
            return
        reserve = min(RATE_RESERVE, max(1, (self.limit or 100) // 50))
        if self.remaining > reserve:
            return
        wait = self.reset_in - (time.monotonic() - self._seen_at)
        if wait > 0:
            self._wait(min(wait, MAX_WAIT))
        self.remaining = None  # the next response says how many the new window has

    def _wait(self, seconds: float) -> None:
        self.rate_waits += 1
        self.waited += seconds
        self.sleep(seconds)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, bytes]:
        """``fn(*args, **kwargs)`` through the client, with pacing and retries; returns its
        result and the raw body of the response it came from."""
        attempt = 0
        while True:
            self._pace()
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the platform says which are transient
                try:
                    self.transient(exc)
                except Retry as retry:
                    if retry.wait is not None:  # a 429 with the reset it names
                        self._wait(min(retry.wait, MAX_WAIT))
                        continue
                    attempt += 1
                    if attempt > self.max_retries:
                        raise FollowbackError(
                            f"{retry} (gave up after {self.max_retries} retries); run the same "
                            "command again to resume where it stopped") from exc
                    self.retries += 1
                    self.sleep(min(self.backoff * 2 ** (attempt - 1), 60.0))
                    continue
                raise
            return result, (self.last.body if self.last is not None else b"")


# --------------------------------------------------------------------------- platform


@dataclass
class Me:
    """The person's own account as the platform shows it."""

    raw: bytes
    account_id: str
    handle: str
    counts: dict[str, int | None]  # followers / following as the profile says
    hides_lists: bool = False


class Platform(Protocol):
    """One platform's API, as :func:`run` needs it. Each method makes the client's calls
    through the platform's :class:`Transport` and returns raw response bodies."""

    name: str
    server: str
    transport: Transport
    profile_batch: int | None  # None: the lists carry full profiles

    def me(self) -> Me: ...

    def own_posts(self, account_id: str, limit: int) -> list[bytes]: ...

    def list_page(self, direction: str, account_id: str,
                  cursor: str | None) -> tuple[bytes, str | None]: ...

    def entries(self, raw: bytes) -> list[tuple[str, Any]]:
        """(account id, fingerprint) of each account in a list page or profile batch; the
        fingerprint changes when the account has posted since (None: unknown)."""
        ...

    def profiles(self, ids: list[str]) -> bytes: ...

    def posts(self, account_id: str, limit: int) -> list[bytes] | None:
        """The account's newest posts, a raw page each; None when the account is gone."""
        ...


# --------------------------------------------------------------------------- folder


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime(STAMP)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_name(account_id: str) -> str:
    """A file name for an account id (a Bluesky DID has colons)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", account_id)


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def completed(platform_dir: Path, account_id: str | None = None) -> list[tuple[Path, dict]]:
    """The complete fetches in ``platform_dir`` (of one account), oldest first."""
    out = []
    if not Path(platform_dir).is_dir():
        return out
    for folder in sorted(p for p in Path(platform_dir).iterdir()
                         if p.is_dir() and not p.name.startswith(".")):
        manifest = read_manifest(folder)
        if manifest and (account_id is None
                         or manifest.get("account", {}).get("id") == account_id):
            out.append((folder, manifest))
    return out


class FetchFolder:
    """The partial folder of one fetch; :meth:`finish` renames it into place."""

    def __init__(self, path: Path, state: dict) -> None:
        self.path = path
        self.state = state

    @classmethod
    def open(cls, platform_dir: Path, platform: str, server: str, me: Me,
             now: datetime) -> FetchFolder:
        """Resume this account's partial fetch, or start one timed ``now``."""
        platform_dir = Path(platform_dir)
        platform_dir.mkdir(parents=True, exist_ok=True)
        for partial in sorted(platform_dir.glob(".*.partial"), reverse=True):
            try:
                state = json.loads((partial / STATE).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            if (state.get("platform"), state.get("server"), state.get("account_id")) == (
                    platform, server, me.account_id):
                state["resumed"] = state.get("resumed", 0) + 1
                return cls(partial, state)
        path = platform_dir / f".{stamp(now)}.partial"
        path.mkdir()
        state = {"platform": platform, "server": server, "account_id": me.account_id,
                 "handle": me.handle, "fetched_at": iso(now), "lists": {}, "resumed": 0}
        folder = cls(path, state)
        folder.save()
        return folder

    @property
    def fetched_at(self) -> datetime:
        return datetime.fromisoformat(self.state["fetched_at"].replace("Z", "+00:00"))

    @property
    def final(self) -> Path:
        return self.path.parent / stamp(self.fetched_at)

    def file(self, rel: str) -> Path:
        return self.path / rel

    def write(self, rel: str, body: bytes) -> None:
        with io.atomic_path(self.path / rel) as tmp:
            tmp.write_bytes(body)

    def save(self) -> None:
        io.write_text(self.path / STATE, json.dumps(self.state, indent=1) + "\n")

    def finish(self, manifest: dict) -> Path:
        final = self.final
        if final.exists():
            raise FollowbackError(f"{final} exists already: two fetches in the same second?")
        io.write_text(self.path / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False)
                      + "\n")
        (self.path / STATE).unlink(missing_ok=True)
        os.replace(self.path, final)
        return final


# --------------------------------------------------------------------------- run


@dataclass
class ListResult:
    direction: str
    expected: int | None
    received: int
    pages: int
    complete: bool
    note: str = ""


@dataclass
class FetchResult:
    """What one fetch got, for the summary and the manifest."""

    folder: Path
    platform: str
    fetched_at: datetime
    handle: str
    lists: dict[str, ListResult] = field(default_factory=dict)
    posts_fetched: int = 0
    posts_unchanged: int = 0
    gone: list[str] = field(default_factory=list)
    own_posts_pages: int = 0
    requests: int = 0
    retries: int = 0
    rate_waits: int = 0
    resumed: int = 0
    seconds: float = 0.0


def _pages(folder: FetchFolder, prefix: str) -> list[Path]:
    return sorted(folder.path.glob(f"{prefix}/page-*.json"))


def _fetch_list(platform: Platform, folder: FetchFolder, me: Me, direction: str,
                bar, task, tolerance: float = 0.02) -> ListResult:
    state = folder.state["lists"].setdefault(direction, {"pages": 0, "cursor": None,
                                                         "done": False, "seen": []})
    received = {i for p in _pages(folder, direction) for i, _ in platform.entries(p.read_bytes())}
    bar.update(task, completed=len(received))
    while not state["done"]:
        raw, cursor = platform.list_page(direction, me.account_id, state["cursor"])
        state["pages"] += 1
        folder.write(f"{direction}/page-{state['pages']:04d}.json", raw)
        ids = [i for i, _ in platform.entries(raw)]
        received.update(ids)
        bar.update(task, completed=len(received))
        if cursor is None or not ids:
            state["done"] = True
        elif cursor == state["cursor"] or cursor in state["seen"]:
            state.update(done=True, loop=f"the cursor did not advance after page "
                                         f"{state['pages']} ({cursor!r} came back)")
        else:
            state["seen"].append(cursor)
            state["cursor"] = cursor
        folder.save()
    expected = me.counts.get(direction)
    note = ""
    complete = not state.get("loop")
    if state.get("loop") and covers(len(received), expected, tolerance):
        # A server can hand back a cursor to the last page of a list that is complete (the
        # Bluesky AppView did so in 2026): what came covers the profile's count, so keep it.
        complete = True
        note = (f"{state['loop']}, but the {len(received):,} received cover the profile's "
                f"{expected:,} (within {tolerance:.0%}): the list is kept as complete")
    elif state.get("loop"):
        have = "" if expected is None else f" ({len(received):,} of the profile's {expected:,})"
        note = (f"stopped: {state['loop']}{have}; the list is incomplete, so this fetch gives "
                f"no {direction} snapshot")
    elif expected is not None and len(received) < expected:
        why = ("the account hides its follower and following lists" if me.hides_lists else
               "the server listed fewer than the profile counts (accounts hidden, suspended "
               "or on other servers it does not know)")
        note = f"{expected - len(received):,} fewer than the profile's {expected:,}: {why}"
    return ListResult(direction, expected, len(received), state["pages"], complete, note)


def covers(received: int, expected: int | None, tolerance: float) -> bool:
    """Whether ``received`` accounts are the whole list the profile counts ``expected``,
    allowing ``tolerance`` (a share of it) for accounts counted but not listed (deleted,
    suspended, taken down)."""
    return expected is not None and received >= expected * (1.0 - tolerance)


def _unique(pages: list[Path], platform: Platform) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for page in pages:
        for account_id, fingerprint in platform.entries(page.read_bytes()):
            out.setdefault(account_id, fingerprint)
    return out


def _previous_posts(previous: dict | None, platform_dir: Path) -> dict[str, dict]:
    """Per account of the last complete fetch: its fingerprint and where its posts are, where
    that file still exists."""
    if not previous:
        return {}
    out = {}
    for account_id, entry in previous.get("accounts", {}).items():
        posts = entry.get("posts")
        if posts and (platform_dir / posts).is_file():
            out[account_id] = entry
    return out


def run(platform: Platform, platform_dir: Path, max_posts: int, own_posts: int,
        full: bool = False, now: datetime | None = None,
        show_progress: bool | None = None, cursor_tolerance: float = 0.02) -> FetchResult:
    """Fetch one account's lists, its followers' profiles and posts into a new folder."""
    started = time.monotonic()
    platform_dir = Path(platform_dir)
    me = platform.me()
    folder = FetchFolder.open(platform_dir, platform.name, platform.server, me,
                              now or datetime.now(UTC))
    result = FetchResult(folder.final, platform.name, folder.fetched_at, me.handle,
                         resumed=folder.state["resumed"])
    if result.resumed:
        console.print(f"resuming the fetch of {folder.state['fetched_at']} "
                      f"({folder.path.name})", highlight=False)
    folder.write("me/profile.json", me.raw)
    history = completed(platform_dir, me.account_id)
    previous = _previous_posts(history[-1][1] if history else None, platform_dir)

    with progress("accounts", disable=None if show_progress is None else not show_progress) \
            as bar:
        if not folder.state.get("own_posts_done"):
            for number, raw in enumerate(platform.own_posts(me.account_id, own_posts), 1):
                folder.write(f"me/posts-{number:04d}.json", raw)
            folder.state["own_posts_done"] = True
            folder.save()
        result.own_posts_pages = len(list(folder.path.glob("me/posts-*.json")))

        for direction in DIRECTIONS:
            task = bar.add_task(f"{direction} list", total=me.counts.get(direction))
            result.lists[direction] = _fetch_list(platform, folder, me, direction, bar, task,
                                                  cursor_tolerance)
        followers = _unique(_pages(folder, "followers"), platform)

        if platform.profile_batch:
            ids = list(followers)
            batches = [ids[i:i + platform.profile_batch]
                       for i in range(0, len(ids), platform.profile_batch)]
            task = bar.add_task("profiles", total=len(ids))
            for number, batch in enumerate(batches, 1):
                rel = f"profiles/batch-{number:04d}.json"
                if not folder.file(rel).is_file():
                    folder.write(rel, platform.profiles(batch))
                bar.advance(task, len(batch))
            found = _unique(sorted(folder.path.glob("profiles/batch-*.json")), platform)
            result.gone = [i for i in ids if i not in found]
            followers = {i: found[i] for i in ids if i in found}

        accounts: dict[str, dict] = {}
        todo = []
        for account_id, fingerprint in followers.items():
            rel = f"posts/{safe_name(account_id)}.json"
            before = previous.get(account_id)
            if folder.file(rel).is_file():
                accounts[account_id] = {"fingerprint": fingerprint,
                                        "posts": f"{folder.final.name}/{rel}"}
            elif (not full and before is not None and fingerprint is not None
                  and before.get("fingerprint") == fingerprint):
                accounts[account_id] = {"fingerprint": fingerprint, "posts": before["posts"]}
                result.posts_unchanged += 1
            else:
                todo.append((account_id, fingerprint, rel))
        task = bar.add_task("followers' posts", total=len(todo))
        for account_id, fingerprint, rel in todo:
            pages = platform.posts(account_id, max_posts)
            if pages is None:
                result.gone.append(account_id)
                accounts[account_id] = {"fingerprint": fingerprint, "posts": None}
            else:
                # Later pages first: the first page's file says the account is done.
                for number, raw in reversed(list(enumerate(pages, 1))):
                    suffix = "" if number == 1 else f"~{number}"
                    folder.write(rel.replace(".json", f"{suffix}.json"), raw)
                accounts[account_id] = {"fingerprint": fingerprint,
                                        "posts": f"{folder.final.name}/{rel}"}
            bar.advance(task)
        result.posts_fetched = sum(1 for a in accounts.values()
                                   if a["posts"] and a["posts"].startswith(folder.final.name))

    transport = platform.transport
    result.requests, result.retries = transport.requests, transport.retries
    result.rate_waits = transport.rate_waits
    result.seconds = time.monotonic() - started
    manifest = {
        "format": FORMAT,
        "version": 1,
        "platform": platform.name,
        "server": platform.server,
        "account": {"id": me.account_id, "handle": me.handle},
        "fetched_at": folder.state["fetched_at"],
        "finished_at": iso(datetime.now(UTC)),
        "full": full,
        "max_posts": max_posts,
        "lists": {d: {"expected": r.expected, "received": r.received, "pages": r.pages,
                      "complete": r.complete, "note": r.note}
                  for d, r in result.lists.items()},
        "gone": result.gone,
        "posts_fetched": result.posts_fetched,
        "posts_unchanged": result.posts_unchanged,
        # This run's requests only: a resumed fetch's earlier runs are not counted.
        "requests": result.requests,
        "retries": result.retries,
        "rate_limit_waits": result.rate_waits,
        "resumed": result.resumed,
        "accounts": accounts,
    }
    result.folder = folder.finish(manifest)
    return result


def discard_partials(platform_dir: Path) -> Iterator[Path]:
    """Remove unfinished fetches (``--restart``); yields each folder removed."""
    for partial in sorted(Path(platform_dir).glob(".*.partial")):
        shutil.rmtree(partial)
        yield partial
