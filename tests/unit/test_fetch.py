"""``followback fetch``: Mastodon.py and atproto against local servers in the APIs' shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.config import Source
from pipeline.core.console import FollowbackError
from pipeline.data.fetch import bluesky, mastodon
from pipeline.data.fetch._run import Transport, completed, run
from pipeline.data.ingest import ingest
from tests.servers import FakeBluesky, FakeMastodon, Fault, Sleeps, World

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = "tok-3f9a1c77e2b54d0e9c1a-secret"


def masto(server: FakeMastodon, token: str | None = TOKEN, account: str | None = None,
          retries: int = 2, sleep=None) -> mastodon.MastodonFetch:
    transport = Transport(mastodon.transient, retries, 0.001, sleep or Sleeps())
    return mastodon.MastodonFetch(server.url, token, account, transport)


def sky(server: FakeBluesky, password: str | None = None, retries: int = 2,
        sleep=None) -> bluesky.BlueskyFetch:
    transport = Transport(bluesky.transient, retries, 0.001, sleep or Sleeps())
    return bluesky.BlueskyFetch("maya.bsky.social", server.url, password, transport)


def fetch(api, out: Path, when: datetime = T0, **kwargs):
    return run(api, out / api.name, max_posts=30, own_posts=50, now=when,
               show_progress=False, **kwargs)


def files(folder: Path) -> dict[str, bytes]:
    """Every file of a fetch but its manifest (which holds times and request counts)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "fetch.json"}


def tables(path: Path, out: Path) -> dict[str, pd.DataFrame]:
    result = ingest([Source(path=path)], out)
    return {t: r.frame for t, r in result.tables.items()} | {"_rejects": result.rejects}


# --------------------------------------------------------------------------- pagination


def test_mastodon_list_of_exactly_two_full_pages_comes_out_whole(tmp_path):
    world = World.make(160, 30)
    with FakeMastodon(world, token=TOKEN) as server:
        result = fetch(masto(server), tmp_path)
        # Two full pages of 80, each with a next link, then the empty page that ends the list.
        assert server.requests_to("/api/v1/accounts/1/followers") == 3
    assert result.lists["followers"].received == 160 and result.lists["followers"].pages == 3
    assert result.lists["followers"].note == "" and result.posts_fetched == 160
    got = tables(result.folder.parent, tmp_path / "ingested")
    snaps = got["snapshots"]
    assert (snaps["taken_at"] == pd.Timestamp(T0)).all()
    followers = snaps[snaps.direction == "followers"]
    assert sorted(followers.account_id.astype(int)) == world.followers
    assert len(snaps[snaps.direction == "following"]) == 30
    assert len(got["accounts"]) == 160 and set(got["accounts"].platform) == {"mastodon"}
    # Own statuses are own posts (reblogs asked away); the person is no account to judge.
    assert len(got["own_posts"]) == 9 and "1" not in set(got["accounts"].account_id)
    assert got["posts"].groupby("account_id").size().max() == 4
    assert got["_rejects"] == []


def test_bluesky_list_of_exactly_two_full_pages_and_profiles_in_batches_of_25(tmp_path):
    world = World.make(200, 10)
    with FakeBluesky(world) as server:
        result = fetch(sky(server), tmp_path)
        assert server.requests_to("app.bsky.graph.getFollowers") == 3  # 100, 100, then empty
        assert server.requests_to("app.bsky.actor.getProfiles") == 8   # 200 / 25
    assert result.lists["followers"].received == 200
    got = tables(result.folder.parent, tmp_path / "ingested")
    assert len(got["snapshots"][got["snapshots"].direction == "followers"]) == 200
    accounts = got["accounts"].set_index("account_id")
    assert len(accounts) == 200 and accounts["followers_count"].notna().all()
    assert accounts.loc["did:plc:fake000116", "is_bot_flagged"]  # a "spam" label
    kinds = got["posts"]["kind"].value_counts().to_dict()
    assert kinds == {"post": 600, "repost": 200}


def test_a_cursor_that_repeats_stops_the_list_and_gives_no_snapshot(tmp_path):
    world = World.make(250, 5)
    with FakeBluesky(world, repeat_cursor=True) as server:
        result = fetch(sky(server), tmp_path)
        # Page 1 and page 2; page 2 names page 2's cursor again, and the guard stops there.
        assert server.requests_to("app.bsky.graph.getFollowers") == 2
    followers = result.lists["followers"]
    assert not followers.complete and followers.received == 200
    assert "did not advance after page 2" in followers.note
    manifest = completed(tmp_path / "bluesky")[0][1]
    assert manifest["lists"]["followers"]["complete"] is False
    got = tables(result.folder.parent, tmp_path / "ingested")
    assert set(got["snapshots"].direction) == {"following"}
    stuck = [r for r in got["_rejects"] if r.table == "snapshots"]
    assert len(stuck) == 200 and "incomplete" in stuck[0].reason


def test_a_cursor_pointing_back_at_the_last_page_keeps_a_complete_list(tmp_path):
    """The Bluesky AppView of Sep 2026: the last page of a complete list came with a cursor
    naming that page again. What came covers the profile's count: the snapshot is kept."""
    world = World.make(250, 5)
    with FakeBluesky(world, repeat_cursor="last") as server:
        result = fetch(sky(server), tmp_path)
        # 100, 100, 50 (with a cursor back at itself): not asked again
        assert server.requests_to("app.bsky.graph.getFollowers") == 3
    followers = result.lists["followers"]
    assert followers.complete and followers.received == 250
    assert "did not advance after page 3" in followers.note and "kept" in followers.note
    got = tables(result.folder.parent, tmp_path / "ingested")
    snaps = got["snapshots"]
    assert len(snaps[snaps.direction == "followers"]) == 250
    assert not [r for r in got["_rejects"] if r.table == "snapshots"]


def test_a_repeated_cursor_short_of_the_count_still_withholds_the_list(tmp_path):
    world = World.make(250, 5)
    with FakeBluesky(world, repeat_cursor=True) as server:
        result = fetch(sky(server), tmp_path, cursor_tolerance=0.5)
    # 200 of 250 is within a tolerance of half: kept; the default 2% would withhold it.
    assert result.lists["followers"].complete
    with FakeBluesky(World.make(250, 5), repeat_cursor=True) as server:
        result = fetch(sky(server), tmp_path / "strict", cursor_tolerance=0.02)
    assert not result.lists["followers"].complete


def test_snapshots_keep_the_list_order_newest_first(tmp_path):
    world = World.make(170, 30)
    with FakeMastodon(world, token=TOKEN) as server:
        result = fetch(masto(server), tmp_path)
    snaps = tables(result.folder.parent, tmp_path / "ingested")["snapshots"]
    followers = snaps[snaps.direction == "followers"].sort_values("list_position")
    # The server lists follows by id, descending: world.followers is newest first.
    assert followers["account_id"].astype(int).tolist() == world.followers
    assert followers["list_position"].tolist() == list(range(170))  # across three pages
    assert followers["followed_at"].isna().all()  # Mastodon's lists give no follow time


def test_bluesky_logged_in_gives_follow_times_from_the_follow_record_keys(tmp_path):
    world = World.make(120, 10)
    with FakeBluesky(world, password="app-pass-1234") as server:
        result = fetch(sky(server, password="app-pass-1234"), tmp_path)
    snaps = tables(result.folder.parent, tmp_path / "ingested")["snapshots"]
    followers = snaps[snaps.direction == "followers"].set_index("account_id")
    first = f"did:plc:fake{world.followers[0]:06d}"
    assert followers.loc[first, "list_position"] == 0
    assert followers.loc[first, "followed_at"] == pd.Timestamp(world.follow_time(
        world.followers[0]))
    times = followers.sort_values("list_position")["followed_at"]
    assert times.is_monotonic_decreasing and times.notna().all()
    with FakeBluesky(world) as server:  # the public AppView: no viewer state, no times
        public = fetch(sky(server), tmp_path / "public")
    snaps = tables(public.folder.parent, tmp_path / "ingested2")["snapshots"]
    assert snaps["followed_at"].isna().all() and snaps["list_position"].notna().all()


def test_an_empty_following_list_is_still_a_list(tmp_path):
    """You follow nobody: every follower is one you do not follow, on the first fetch too."""
    world = World.make(60, 0)
    with FakeMastodon(world, token=TOKEN) as server:
        result = fetch(masto(server), tmp_path)
    snaps = tables(result.folder.parent, tmp_path / "ingested")["snapshots"]
    following = snaps[snaps.direction == "following"]
    assert following["account_id"].tolist() == ["1"]  # the person stands in for the list
    from pipeline.data.undecided import Window
    from pipeline.stages.decisions import implicit_decisions

    labels = implicit_decisions(snaps, 14, Window(count=40, days=0))
    assert len(labels) == 20 and not labels["follow_back"].any()


# --------------------------------------------------------------------------- errors


def test_mastodon_429_waits_for_the_named_reset_then_succeeds(tmp_path):
    world = World.make(20, 3)
    with FakeMastodon(world, token=TOKEN) as server:
        server.faults.append(Fault("/followers", "429", reset_in=1.0))
        started = datetime.now(UTC)
        result = fetch(masto(server), tmp_path)
        waited = (datetime.now(UTC) - started).total_seconds()
        assert server.requests_to("/api/v1/accounts/1/followers") == 2  # the 429, then the page
    # Mastodon.py's wait mode slept until the reset the 429 named, and did not hit it again.
    assert waited >= 0.5 and result.lists["followers"].received == 20
    assert result.retries == 0


def test_bluesky_429_waits_for_the_reset_it_names_then_succeeds(tmp_path):
    world = World.make(20, 3)
    sleeps = Sleeps()
    with FakeBluesky(world) as server:
        server.faults.append(Fault("getFollowers", "429", reset_in=30.0))
        result = fetch(sky(server, sleep=sleeps), tmp_path)
    assert result.lists["followers"].received == 20 and result.rate_waits >= 1
    assert any(20 <= w <= 31 for w in sleeps.waits)  # the reset the server named


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_a_500_then_success_is_retried(tmp_path, platform):
    world = World.make(12, 2)
    if platform == "mastodon":
        server, path = FakeMastodon(world), "/statuses"
    else:
        server, path = FakeBluesky(world), "getAuthorFeed"
    with server:
        server.faults.append(Fault(path, "500", times=2, skip=3))
        api = masto(server, token=None, account="maya") if platform == "mastodon" else sky(server)
        result = fetch(api, tmp_path)
        assert server.statuses.count(500) == 2
    assert result.retries == 2 and result.posts_fetched == 12


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_a_dropped_connection_then_a_resumed_run_gives_the_same_data(tmp_path, platform):
    world = World.make(100, 20)
    server_cls, path = ((FakeMastodon, "/statuses") if platform == "mastodon"
                        else (FakeBluesky, "getAuthorFeed"))
    with server_cls(world, **({"token": TOKEN} if platform == "mastodon" else {})) as server:
        make = masto if platform == "mastodon" else sky
        whole = fetch(make(server), tmp_path / "whole")
        # The connection drops on the 40th follower's posts and stays down past the retries.
        server.faults.append(Fault(path, "drop", times=3, skip=40))
        with pytest.raises(FollowbackError, match="resume"):
            fetch(make(server), tmp_path / "cut", when=T0 + timedelta(hours=1))
        platform_dir = tmp_path / "cut" / platform
        assert [p.name for p in platform_dir.iterdir()] == [".2026-05-01T130000Z.partial"]
        assert completed(platform_dir) == []  # nothing a reader would take for a fetch
        before = len(server.log)
        resumed = fetch(make(server), tmp_path / "cut", when=T0 + timedelta(hours=2))
        requests = len(server.log) - before
    assert resumed.resumed == 1 and resumed.folder.name == "2026-05-01T130000Z"
    assert files(resumed.folder) == files(whole.folder)
    assert requests < whole.requests - 30  # the posts already fetched were not asked again
    assert [p.name for p in platform_dir.iterdir()] == ["2026-05-01T130000Z"]


def test_a_protected_follower_list_is_reported_not_hidden(tmp_path):
    world = World.make(0, 0)
    world.people[500] = hidden = World.make(1).people[100]
    hidden.number, hidden.handle, hidden.hide_collections = 500, "quiet", True
    hidden.followers_count = 120
    with FakeMastodon(world) as server:
        result = fetch(masto(server, token=None, account="@quiet"), tmp_path)
    followers = result.lists["followers"]
    assert (followers.expected, followers.received) == (120, 0)
    assert "120 fewer than the profile's 120: the account hides" in followers.note


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_an_account_deleted_between_the_list_and_its_profile(tmp_path, platform):
    world = World.make(30, 4)
    server_cls = FakeMastodon if platform == "mastodon" else FakeBluesky
    with server_cls(world, **({"token": TOKEN} if platform == "mastodon" else {})) as server:
        server.gone = {107, 121}
        result = fetch(masto(server) if platform == "mastodon" else sky(server), tmp_path)
    ids = sorted(result.gone)
    assert len(ids) == 2 and result.posts_fetched == 28
    got = tables(result.folder.parent, tmp_path / "ingested")
    posted = set(got["posts"].account_id)
    assert not posted & set(ids) and len(posted) == 28
    # Both were in the list the server gave, so both are in the snapshot.
    assert set(ids) <= set(got["snapshots"].account_id)


# --------------------------------------------------------------------------- incremental


def test_a_later_fetch_rereads_the_lists_but_only_changed_accounts_posts(tmp_path):
    world = World.make(50, 10)
    with FakeMastodon(world, token=TOKEN) as server:
        first = fetch(masto(server), tmp_path)
        world.people[103].n_posts = 6          # posted since
        world.followers.insert(0, 180)         # a new follower
        world.people[180] = World.make(1).people[100]
        world.people[180].number, world.people[180].handle = 180, "newcomer"
        server.follow_ids[180] = 999999
        world.followers.remove(110)            # an unfollow
        before = server.requests_to("/statuses")
        second = fetch(masto(server), tmp_path, when=T0 + timedelta(days=30))
        assert server.requests_to("/statuses") - before == 2 + 1  # 103, 180, own posts
        full = fetch(masto(server), tmp_path, when=T0 + timedelta(days=31), full=True)
    assert first.posts_fetched == 50
    assert (second.posts_fetched, second.posts_unchanged) == (2, 48)
    assert (full.posts_fetched, full.posts_unchanged) == (50, 0)
    got = tables(tmp_path / "mastodon", tmp_path / "ingested")
    snaps = got["snapshots"][got["snapshots"].direction == "followers"]
    assert snaps.groupby("taken_at").size().tolist() == [50, 50, 50]
    assert "110" not in set(snaps[snaps.taken_at == pd.Timestamp(second.fetched_at)].account_id)
    # Unchanged followers' posts come from the first fetch: nobody lost their posts.
    assert got["posts"].account_id.nunique() == 51


# --------------------------------------------------------------------------- the command


def params(tmp_path: Path, **fetch_cfg) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"fetch": {"out_dir": str(tmp_path / "raw"),
                                              "backoff_seconds": 0.001, **fetch_cfg}}))
    return path


def test_the_token_appears_in_no_output_or_file(tmp_path):
    world = World.make(25, 5)
    with FakeMastodon(world, token=TOKEN) as server:
        server.faults.append(Fault("/statuses", "500", skip=4))  # an error message, too
        result = CliRunner().invoke(
            app, ["fetch", "mastodon", "--instance", server.url, "--params",
                  str(params(tmp_path))], env={"MASTODON_ACCESS_TOKEN": TOKEN})
        sent = set(server.auth_headers)
    assert result.exit_code == 0, result.output
    assert sent == {f"Bearer {TOKEN}"}  # the server got it, so the check below can fail
    assert "received" in result.output and "25" in result.output
    assert TOKEN not in result.output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 30
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path


def test_the_bluesky_app_password_appears_in_no_output_or_file(tmp_path):
    password = "abcd-efgh-ijkl-mnop"
    world = World.make(10, 2)
    with FakeBluesky(world, password=password) as server:
        result = CliRunner().invoke(
            app, ["fetch", "bluesky", "--handle", "maya.bsky.social", "--service", server.url,
                  "--params", str(params(tmp_path))], env={"BLUESKY_APP_PASSWORD": password})
        logged_in = server.requests_to("com.atproto.server.createSession")
    assert result.exit_code == 0, result.output
    assert logged_in == 1 and password not in result.output
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert password.encode() not in path.read_bytes(), path


def test_a_token_file_named_in_params_and_readable_errors(tmp_path):
    world = World.make(5, 1)
    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN + "\n")
    runner = CliRunner()
    with FakeMastodon(world, token=TOKEN) as server:
        ok = runner.invoke(app, ["fetch", "mastodon", "--instance", server.url, "--params",
                                 str(params(tmp_path, mastodon={"token_file": str(token_file)}))],
                           env={"MASTODON_ACCESS_TOKEN": ""})
        bad = runner.invoke(app, ["fetch", "mastodon", "--instance", server.url, "--params",
                                  str(params(tmp_path))], env={"MASTODON_ACCESS_TOKEN": "wrong"})
        nobody = runner.invoke(app, ["fetch", "mastodon", "--instance", server.url,
                                     "--params", str(params(tmp_path))],
                               env={"MASTODON_ACCESS_TOKEN": ""})
    assert ok.exit_code == 0, ok.output
    assert bad.exit_code == 2 and "refused the access token" in bad.output
    assert "wrong" not in bad.output
    assert nobody.exit_code == 2 and "--account" in nobody.output


def test_rate_limits_are_kept_to_without_a_429(tmp_path):
    world = World.make(30, 3)
    with FakeBluesky(world, rate_limit=15, window=1.0) as server:
        transport = Transport(bluesky.transient, 2, 0.001)  # real sleeps: the window resets
        api = bluesky.BlueskyFetch("maya", server.url, None, transport)
        result = fetch(api, tmp_path)
        served = list(server.statuses)
    assert result.posts_fetched == 30 and result.rate_waits >= 2
    assert len(served) == result.requests and 429 not in served
