"""Fetch throughput and requests per account against a local server, with a bare-client baseline.

For each platform, a local server (``tests/servers.py``: Mastodon or Bluesky in the APIs'
documented shapes, on 127.0.0.1, rate limits high enough not to bind) serves ``--followers``
followers and a quarter as many followed accounts, ``--posts`` posts each. In one run:

1. ``followback fetch`` (``pipeline.data.fetch._run.run`` with the platform's real client): accounts
   per second and requests per follower, against the minimum the API allows: one list page per
   80 (Mastodon) or 100 (Bluesky) accounts of each list, one profile batch per 25 followers
   (Bluesky; Mastodon's lists carry the profiles), one feed page per follower, plus the
   person's profile and own posts.
2. The baseline (after an untimed warm-up of both clients on a few followers): the same calls
   through the bare client (Mastodon.py's ``fetch_next`` over the
   lists and ``account_statuses``; atproto's ``get_followers`` / ``get_profiles`` /
   ``get_author_feed``), keeping nothing: what the fetch's raw files, resume state and
   manifest cost on top.
3. A second fetch with nothing changed: requests and time of the incremental fetch (lists
   re-read, posts of unchanged followers not asked again).

    .venv/bin/python bench/fetch.py --followers 2000
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.data.fetch import bluesky, mastodon  # noqa: E402
from pipeline.data.fetch._run import Transport, run  # noqa: E402
from tests.servers import FakeBluesky, FakeMastodon, Sleeps, World  # noqa: E402

MAX_POSTS = 30
OWN_POSTS = 40


def minimum(platform: str, followers: int, following: int) -> int:
    page = mastodon.LIST_PAGE if platform == "mastodon" else bluesky.LIST_PAGE
    lists = math.ceil(followers / page) + math.ceil(following / page)
    profiles = math.ceil(followers / bluesky.PROFILE_BATCH) if platform == "bluesky" else 0
    return lists + profiles + followers + 2  # + your profile and one page of own posts


def bare_mastodon(url: str, token: str, first: int | None = None) -> tuple[float, int]:
    transport = Transport(mastodon.transient, 0, 0.0, Sleeps())
    api = mastodon.client(url, token, transport)
    started = time.perf_counter()
    me = api.account_verify_credentials()
    api.account_statuses(me["id"], limit=OWN_POSTS, exclude_reblogs=True)
    followers = []
    for method in (api.account_followers, api.account_following):
        page = method(me["id"], limit=mastodon.LIST_PAGE)
        while page:
            if method == api.account_followers:
                followers.extend(a["id"] for a in page)
            page = api.fetch_next(page)
    for account_id in followers[:first]:
        api.account_statuses(account_id, limit=MAX_POSTS)
    return time.perf_counter() - started, transport.requests


def bare_bluesky(url: str, first: int | None = None) -> tuple[float, int]:
    transport = Transport(bluesky.transient, 0, 0.0, Sleeps())
    api = bluesky.client(url, transport)
    started = time.perf_counter()
    me = api.app.bsky.actor.get_profile({"actor": "maya"})
    api.app.bsky.feed.get_author_feed({"actor": me.did, "limit": OWN_POSTS})
    followers = []
    for method in (api.app.bsky.graph.get_followers, api.app.bsky.graph.get_follows):
        cursor = None
        while True:
            params = {"actor": me.did, "limit": bluesky.LIST_PAGE}
            if cursor:
                params["cursor"] = cursor
            page = method(params)
            if method == api.app.bsky.graph.get_followers:
                followers.extend(p.did for p in page.followers)
            if not page.cursor:
                break
            cursor = page.cursor
    followers = followers[:first]
    for start in range(0, len(followers), bluesky.PROFILE_BATCH):
        api.app.bsky.actor.get_profiles({"actors": followers[start:start + 25]})
    for did in followers:
        api.app.bsky.feed.get_author_feed({"actor": did, "limit": MAX_POSTS})
    return time.perf_counter() - started, transport.requests


def bench(platform: str, n_followers: int, n_posts: int, work: Path) -> dict:
    world = World.make(n_followers, n_followers // 4, n_posts=n_posts)
    token = "bench-token"
    server = (FakeMastodon(world, token=token, rate_limit=10**9) if platform == "mastodon"
              else FakeBluesky(world, rate_limit=10**9))
    with server:
        def api():
            if platform == "mastodon":
                return mastodon.MastodonFetch(server.url, token, None,
                                              Transport(mastodon.transient, 3, 0.1))
            return bluesky.BlueskyFetch("maya", server.url, None,
                                        Transport(bluesky.transient, 3, 0.1))

        # Warm up: atproto builds its response models' schemas on first use (about 1.5 s).
        bare = ((lambda first=None: bare_mastodon(server.url, token, first))
                if platform == "mastodon" else (lambda first=None: bare_bluesky(server.url,
                                                                                first)))
        bare(first=5)
        when = datetime(2026, 5, 1, tzinfo=UTC)
        started = time.perf_counter()
        first = run(api(), work / platform, MAX_POSTS, OWN_POSTS, now=when, show_progress=False)
        seconds = time.perf_counter() - started
        bare_seconds, bare_requests = bare()
        started = time.perf_counter()
        second = run(api(), work / platform, MAX_POSTS, OWN_POSTS, now=when + timedelta(days=30),
                     show_progress=False)
        second_seconds = time.perf_counter() - started
    following = n_followers // 4
    return {"platform": platform, "followers": n_followers, "seconds": seconds,
            "requests": first.requests, "minimum": minimum(platform, n_followers, following),
            "bare_seconds": bare_seconds, "bare_requests": bare_requests,
            "second_seconds": second_seconds, "second_requests": second.requests,
            "second_unchanged": second.posts_unchanged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=20, help="posts per follower served")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for platform in ("mastodon", "bluesky"):
            rows.append(bench(platform, args.followers, args.posts, Path(tmp)))
    print(f"\n{args.followers:,} followers, {args.followers // 4:,} followed, {args.posts} posts "
          "each, local server on 127.0.0.1\n")
    print("| platform | fetch | bare client | fetch / bare | requests per follower "
          "(minimum) | second fetch, nothing changed |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        n = r["followers"]
        print(f"| {r['platform']} | {n / r['seconds']:,.0f} accounts/s ({r['seconds']:.1f} s) "
              f"| {n / r['bare_seconds']:,.0f} accounts/s ({r['bare_seconds']:.1f} s) "
              f"| {r['seconds'] / r['bare_seconds']:.2f}x time "
              f"| {r['requests'] / n:.3f} ({r['minimum'] / n:.3f}; bare "
              f"{r['bare_requests'] / n:.3f}) "
              f"| {r['second_requests']:,} requests in {r['second_seconds']:.1f} s, "
              f"{r['second_unchanged']:,} followers' posts kept |")


if __name__ == "__main__":
    main()
